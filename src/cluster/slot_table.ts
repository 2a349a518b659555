/**
 * Runs of owned slots read from `ClusterState.slots`, computed in one pass over the table for every node
 * (CLUSTER NODES, SLOTS, SHARDS print the same ranges). Assigning slots is `ClusterState.setSlotOwner`.
 */
import { CLUSTER_SLOTS, type ClusterNode } from "./node.ts";
import type { ClusterState } from "./state.ts";

/**
 * The contiguous runs of slots each node owns, as flat `[start1, end1, start2, end2, ...]` lists in slot order,
 * from one pass over the slot table. Nodes owning nothing are absent from the map.
 */
export function slotRangesByNode(state: ClusterState): Map<ClusterNode, number[]> {
  const ranges = new Map<ClusterNode, number[]>();
  for (const run of ownedRuns(state)) {
    const list = ranges.get(run.owner);
    if (list === undefined) ranges.set(run.owner, [run.start, run.end]);
    else list.push(run.start, run.end);
  }
  return ranges;
}

/** The runs of slots one node owns (flat start/end pairs), scanning the table once. */
export function slotRangesOf(state: ClusterState, node: ClusterNode): number[] {
  const out: number[] = [];
  const slots = state.slots;
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
    if (slots[slot] !== node) continue;
    const start = slot;
    while (slot + 1 < CLUSTER_SLOTS && slots[slot + 1] === node) slot++;
    out.push(start, slot);
  }
  return out;
}

/** A maximal run of consecutive slots with the same owner. */
export interface SlotRun {
  start: number;
  end: number;
  owner: ClusterNode;
}

/** Every run of slots with the same owner, in slot order (unassigned slots skipped): CLUSTER SLOTS' grouping. */
export function ownedRuns(state: ClusterState): SlotRun[] {
  const runs: SlotRun[] = [];
  const slots = state.slots;
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
    const owner = slots[slot];
    if (owner === null) continue;
    const start = slot;
    while (slot + 1 < CLUSTER_SLOTS && slots[slot + 1] === owner) slot++;
    runs.push({ start, end: slot, owner });
  }
  return runs;
}
