/**
 * Minority write fencing (tessera only, `cluster-write-fence-percent`). A master cut off from the majority
 * keeps acknowledging writes in Redis until node_timeout passes, and loses them all when its replica is
 * promoted on the other side. Here a master with slots refuses writes once it has not been in contact with a
 * majority of the sized masters (itself included) for `percent`% of node_timeout.
 *
 * Contact with a master X means: X answered a PING of ours sent at time s (we record s, so X heard from us
 * at or after s). To elect my replica, a majority must flag me FAIL, which needs PFAIL from a majority of
 * masters: each of them heard nothing from me for node_timeout. One of them is in my contact majority, so
 * no election can start before s + node_timeout (+ the election's base delay) while I fence from
 * s + percent% × node_timeout: with percent <= 100 I always stop writing first.
 */
import type { ClusterState } from "./state.ts";
import { NODE_HANDSHAKE } from "./node.ts";

/**
 * Recomputes `state.writeFenceAt`: the unix ms from which writes are refused given the contacts known
 * now (Infinity when fencing is off or does not apply). Contacts only move it later, so between calls the
 * deadline stays exact; routing compares it with the clock.
 */
export function updateWriteFence(state: ClusterState): void {
  const me = state.myself;
  const percent = state.settings.writeFencePercent;
  if (percent <= 0 || !state.isMaster(me) || me.numSlots === 0) {
    state.writeFenceAt = Infinity;
    return;
  }
  const windowMs = (state.settings.nodeTimeoutMs * percent) / 100;
  const contacts: number[] = [];
  let size = 0;
  for (const node of state.nodes.values()) {
    if (!state.isMaster(node) || node.numSlots === 0 || (node.flags & NODE_HANDSHAKE) !== 0) continue;
    size++;
    if (node !== me) contacts.push(node.fenceContactAt);
  }
  // I count for myself; I need quorum - 1 others, and the (quorum-1)-th most recent contact expires last.
  const othersNeeded = Math.floor(size / 2);
  if (othersNeeded === 0) {
    state.writeFenceAt = Infinity;
    return;
  }
  contacts.sort((a, b) => b - a);
  const pivot = contacts[othersNeeded - 1] ?? 0;
  state.writeFenceAt = pivot === 0 ? 0 : pivot + windowMs;
}

/** Whether writes are fenced at `now` (routing's check; cheap). */
export function isWriteFenced(state: ClusterState, now: number): boolean {
  return now >= state.writeFenceAt;
}
