/**
 * The simulator's end-of-run checks, as pure functions over the live nodes' states. Each returns the
 * problems it found (empty when the invariant holds), worded with short node names (`n3`).
 */
import {
  CLUSTER_SLOTS,
  NODE_FAIL,
  NODE_HANDSHAKE,
  NODE_MASTER,
  NODE_NOADDR,
  NODE_PFAIL,
} from "../../src/cluster/node.ts";
import type { ClusterState } from "../../src/cluster/state.ts";

/** A running node as the checks see it. */
export interface LiveNode {
  name: string;
  id: string;
  ip: string;
  port: number;
  cport: number;
  state: ClusterState;
}

/** What the checks compare against. */
export interface ClusterFacts {
  live: LiveNode[];
  /** Short name of every simulated node id. */
  names: Map<string, string>;
  /** Owner id of every slot as created (no failover or resharding happens, so it must never change). */
  expectedOwners: string[] | null;
}

/** Problems are capped to keep reports short. */
const MAX_PROBLEMS = 6;

class Problems {
  readonly list: string[] = [];
  private more = 0;

  add(text: string): void {
    if (this.list.length < MAX_PROBLEMS) this.list.push(text);
    else this.more++;
  }

  done(): string[] {
    return this.more > 0 ? [...this.list, `... and ${this.more} more`] : this.list;
  }
}

function nameOf(facts: ClusterFacts, id: string): string {
  return facts.names.get(id) ?? `?${id.slice(0, 8)}`;
}

/**
 * Invariant 1: every live node knows every other live node at its address, as a healthy master (not in
 * handshake, not PFAIL/FAIL), knows no stranger, agrees on currentEpoch, on each master's configEpoch and
 * on the owner of every slot.
 */
export function checkViews(facts: ClusterFacts): string[] {
  const problems = new Problems();
  for (const v of facts.live) {
    const me = v.state.myself;
    if (me.ip !== v.ip) problems.add(`${v.name} thinks its own ip is '${me.ip}'`);
    for (const w of facts.live) {
      if (w === v) continue;
      const entry = v.state.nodes.get(w.id);
      if (entry === undefined) {
        problems.add(`${v.name} does not know ${w.name}`);
        continue;
      }
      if ((entry.flags & (NODE_HANDSHAKE | NODE_NOADDR | NODE_PFAIL | NODE_FAIL)) !== 0) {
        problems.add(`${v.name} sees ${w.name} with flags ${entry.flags}`);
      }
      if ((entry.flags & NODE_MASTER) === 0) problems.add(`${v.name} does not see ${w.name} as a master`);
      if (entry.ip !== w.ip || entry.port !== w.port || entry.cport !== w.cport) {
        problems.add(`${v.name} has ${w.name} at ${entry.ip}:${entry.port}@${entry.cport}`);
      }
      if (entry.configEpoch !== w.state.myself.configEpoch) {
        problems.add(
          `${v.name} has configEpoch ${entry.configEpoch} for ${w.name}, which has ${w.state.myself.configEpoch}`,
        );
      }
    }
    for (const entry of v.state.nodes.values()) {
      if (!facts.names.has(entry.id)) {
        problems.add(
          `${v.name} knows a stranger ${entry.id.slice(0, 8)} (flags ${entry.flags}, ${entry.ip}:${entry.port})`,
        );
      }
    }
  }
  const epochs = new Set(facts.live.map((n) => n.state.currentEpoch));
  if (epochs.size > 1) {
    problems.add(`currentEpoch differs: ${facts.live.map((n) => `${n.name}=${n.state.currentEpoch}`).join(" ")}`);
  }
  const reference = facts.live[0];
  if (reference !== undefined) {
    for (const v of facts.live.slice(1)) {
      for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
        const a = reference.state.slots[slot]?.id ?? null;
        const b = v.state.slots[slot]?.id ?? null;
        if (a !== b) {
          problems.add(
            `slot ${slot}: ${reference.name} says ${a === null ? "none" : nameOf(facts, a)}, ` +
              `${v.name} says ${b === null ? "none" : nameOf(facts, b)}`,
          );
          break;
        }
      }
    }
  }
  return problems.done();
}

/**
 * Invariant 2: in every live view all 16384 slots have an owner, a master, the one it was created with, and
 * every node's slot count matches the table.
 */
export function checkSlots(facts: ClusterFacts): string[] {
  const problems = new Problems();
  for (const v of facts.live) {
    const counted = new Map<string, number>();
    let unassigned = 0;
    let firstWrong = -1;
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
      const owner = v.state.slots[slot];
      if (owner === null) {
        unassigned++;
        continue;
      }
      counted.set(owner.id, (counted.get(owner.id) ?? 0) + 1);
      if (firstWrong < 0 && facts.expectedOwners !== null && owner.id !== facts.expectedOwners[slot]) firstWrong = slot;
      if ((owner.flags & NODE_MASTER) === 0) {
        problems.add(`${v.name}: slot ${slot} is owned by non-master ${nameOf(facts, owner.id)}`);
      }
    }
    if (unassigned > 0) problems.add(`${v.name}: ${unassigned} slots unassigned`);
    if (firstWrong >= 0) {
      problems.add(
        `${v.name}: slot ${firstWrong} owned by ${nameOf(facts, v.state.slots[firstWrong]!.id)}, ` +
          `created with ${nameOf(facts, facts.expectedOwners![firstWrong])}`,
      );
    }
    for (const node of v.state.nodes.values()) {
      const n = counted.get(node.id) ?? 0;
      if (node.numSlots !== n) {
        problems.add(`${v.name}: ${nameOf(facts, node.id)} has numSlots ${node.numSlots}, owns ${n}`);
      }
    }
  }
  return problems.done();
}

/** Invariant 3: in every live view, masters' configEpochs are unique. */
export function checkEpochs(facts: ClusterFacts): string[] {
  const problems = new Problems();
  for (const v of facts.live) {
    const byEpoch = new Map<number, string>();
    for (const node of v.state.nodes.values()) {
      if ((node.flags & NODE_MASTER) === 0 || (node.flags & NODE_HANDSHAKE) !== 0) continue;
      const other = byEpoch.get(node.configEpoch);
      if (other !== undefined) {
        problems.add(`${v.name}: ${other} and ${nameOf(facts, node.id)} share configEpoch ${node.configEpoch}`);
      }
      byEpoch.set(node.configEpoch, nameOf(facts, node.id));
    }
  }
  return problems.done();
}

/** Invariant 4: every live node flags every stopped node FAIL. Returns the pairs still missing. */
export function checkStoppedMarkedFail(facts: ClusterFacts, stoppedIds: string[]): string[] {
  const problems = new Problems();
  for (const v of facts.live) {
    for (const id of stoppedIds) {
      const entry = v.state.nodes.get(id);
      if (entry === undefined) problems.add(`${v.name} does not know stopped ${nameOf(facts, id)}`);
      else if ((entry.flags & NODE_FAIL) === 0) {
        problems.add(`${v.name} does not flag stopped ${nameOf(facts, id)} FAIL (flags ${entry.flags})`);
      }
    }
  }
  return problems.done();
}

/** Invariant 4b: every live node's cluster_state is ok. */
export function checkStateOk(facts: ClusterFacts): string[] {
  const problems = new Problems();
  for (const v of facts.live) if (v.state.state !== "ok") problems.add(`${v.name}: cluster_state ${v.state.state}`);
  return problems.done();
}
