/**
 * The state changes behind CLUSTER subcommands (ADDSLOTS, DELSLOTS, FLUSHSLOTS, FORGET, RESET,
 * SET-CONFIG-EPOCH, BUMPEPOCH, MEET, REPLICATE). Each returns Redis's error text, or null when done; argument
 * parsing stays in `commands/cluster.ts`.
 */
import type { ClusterState } from "./state.ts";
import { CLUSTER_SLOTS, NODE_MASTER, NODE_MIGRATE_TO, NODE_SLAVE, randomNodeId } from "./node.ts";
import { bumpEpochWithoutConsensus, setMyMaster } from "./epochs.ts";
import { updateClusterState } from "./failure.ts";
import { isBlacklisted, startHandshake } from "./gossip.ts";
import { cString } from "../resp/latin1.ts";

/** CLUSTER FORGET keeps gossip about the forgotten id out for this long. */
export const FORGET_BLACKLIST_TTL_MS = 60_000;

/** The first conflict among slots to add (busy) or delete (unassigned), or a slot named twice; null if none. */
export function slotConflict(state: ClusterState, slots: readonly number[], add: boolean): string | null {
  const seen = new Uint8Array(CLUSTER_SLOTS);
  for (const slot of slots) {
    const owner = state.slots[slot];
    if (add && owner !== null) return `ERR Slot ${slot} is already busy`;
    if (!add && owner === null) return `ERR Slot ${slot} is already unassigned`;
    if (seen[slot]++ === 1) return `ERR Slot ${slot} specified multiple times`;
  }
  return null;
}

/** ADDSLOTS / ADDSLOTSRANGE (`add`) and DELSLOTS / DELSLOTSRANGE: all slots are checked before any changes. */
export function changeSlots(state: ClusterState, slots: number[], add: boolean, now: number): string | null {
  const conflict = slotConflict(state, slots, add);
  if (conflict !== null) return conflict;
  for (const slot of slots) {
    if (add) {
      // Taking a slot by hand closes an import of it.
      state.importingFrom[slot] = null;
      state.setSlotOwner(slot, state.myself);
    } else {
      state.migratingTo[slot] = null;
      state.importingFrom[slot] = null;
      state.setSlotOwner(slot, null);
    }
  }
  updateClusterState(state, now);
  state.persist(true);
  return null;
}

/** FLUSHSLOTS: drops every slot of mine; the node must hold no keys. */
export function flushSlots(state: ClusterState, now: number): string | null {
  if (state.data.dbSize() !== 0) return "ERR DB must be empty to perform CLUSTER FLUSHSLOTS.";
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
    if (state.slots[slot] === state.myself) state.setSlotOwner(slot, null);
  }
  updateClusterState(state, now);
  state.persist(true);
  return null;
}

/** FORGET: removes a node and ignores gossip about it for a minute. */
export function forgetNode(state: ClusterState, id: string, now: number): string | null {
  const node = state.nodes.get(id);
  if (node === undefined) {
    // Already forgotten through another node's forgotten-node extension (which Redis 7.0 does not have): what the
    // caller wants is done, and redis-cli's del-node, which sends FORGET to every node in turn, must not fail. A
    // second FORGET of an id forgotten by FORGET is unknown, as in Redis.
    if (!state.forgottenByPeers.has(id) || !isBlacklisted(state, id, now)) return `ERR Unknown node ${cString(id)}`;
    state.forgottenByPeers.delete(id);
    state.blacklist.set(id, now + FORGET_BLACKLIST_TTL_MS);
    return null;
  }
  if (node === state.myself) return "ERR I tried hard but I can't forget myself...";
  if ((state.myself.flags & NODE_SLAVE) !== 0 && state.myself.masterId === id) return "ERR Can't forget my master!";
  state.blacklist.set(id, now + FORGET_BLACKLIST_TTL_MS);
  state.forgottenByPeers.delete(id);
  state.deleteNode(node);
  updateClusterState(state, now);
  state.persist(true);
  return null;
}

/** RESET [HARD|SOFT]: forget every node and slot; HARD also takes a new id and zeroes the epochs. */
export function resetCluster(state: ClusterState, hard: boolean, now: number): string | null {
  const me = state.myself;
  if ((me.flags & NODE_MASTER) !== 0 && state.data.dbSize() !== 0) {
    return "ERR CLUSTER RESET can't be called with master nodes containing keys";
  }
  if ((me.flags & NODE_SLAVE) !== 0) {
    me.flags = (me.flags & ~NODE_SLAVE) | NODE_MASTER | NODE_MIGRATE_TO;
    state.detachReplica(me);
    state.replicatingFrom = null;
    state.emit({ kind: "replicate", masterId: null });
  }
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
    state.migratingTo[slot] = null;
    state.importingFrom[slot] = null;
    state.setSlotOwner(slot, null);
  }
  for (const node of [...state.nodes.values()]) if (node !== me) state.deleteNode(node);
  if (hard) {
    state.currentEpoch = 0;
    state.lastVoteEpoch = 0;
    me.configEpoch = 0;
    state.log("warning", "configEpoch set to 0 via CLUSTER RESET HARD");
    state.renameNode(me, randomNodeId(state.rng));
    state.log("notice", `Node hard reset, now I'm ${me.id}`);
  }
  updateClusterState(state, now);
  state.persist(true);
  return null;
}

/** SET-CONFIG-EPOCH: only on a node that knows nobody else and has no configEpoch yet. */
export function setConfigEpoch(state: ClusterState, epoch: number): string | null {
  if (state.nodes.size > 1) {
    return "ERR The user can assign a config epoch only when the node does not know any other node.";
  }
  if (state.myself.configEpoch !== 0) return "ERR Node config epoch is already non-zero";
  state.myself.configEpoch = epoch;
  state.log("warning", `configEpoch set to ${epoch} via CLUSTER SET-CONFIG-EPOCH`);
  if (state.currentEpoch < epoch) state.currentEpoch = epoch;
  state.persist(true);
  return null;
}

/** BUMPEPOCH: `BUMPED <epoch>` when my configEpoch changed, `STILL <epoch>` when it already was the greatest. */
export function bumpEpoch(state: ClusterState): string {
  const bumped = bumpEpochWithoutConsensus(state);
  return `${bumped ? "BUMPED" : "STILL"} ${state.myself.configEpoch}`;
}

/** MEET: starts a handshake (the address was validated by the command). */
export function meet(state: ClusterState, ip: string, port: number, cport: number, now: number): void {
  startHandshake(state, ip, port, cport, now);
}

/** REPLICATE: makes me a replica of a master (clusterCommand REPLICATE's checks, then clusterSetMaster). */
export function replicate(state: ClusterState, id: string, now: number): string | null {
  const node = state.nodes.get(id);
  if (node === undefined) return `ERR Unknown node ${id}`;
  if (node === state.myself) return "ERR Can't replicate myself";
  if ((node.flags & NODE_SLAVE) !== 0) return "ERR I can only replicate a master, not a replica.";
  const me = state.myself;
  if ((me.flags & NODE_MASTER) !== 0 && (me.numSlots !== 0 || state.data.dbSize() !== 0)) {
    return "ERR To set a master the node must be empty and without assigned slots.";
  }
  setMyMaster(state, node, now);
  return null;
}
