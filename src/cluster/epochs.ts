/**
 * Epochs and slot ownership (`reference/cluster-bus.md` sections 15 and 16): configEpoch
 * collisions, bumping without consensus, and adopting slot claims with a greater configEpoch.
 */
import type { ClusterState } from "./state.ts";
import { CLUSTER_SLOTS, type ClusterNode, NODE_MASTER, NODE_MIGRATE_TO, NODE_SLAVE } from "./node.ts";
import { slotBit } from "./bus/message.ts";
import { updateClusterState } from "./failure.ts";
import { resetManualFailover } from "./manual_failover.ts";

/** The greatest configEpoch known, or currentEpoch when greater (clusterGetMaxEpoch). */
export function maxEpoch(state: ClusterState): number {
  let max = 0;
  for (const n of state.nodes.values()) if (n.configEpoch > max) max = n.configEpoch;
  return Math.max(max, state.currentEpoch);
}

/**
 * Gives myself a new configEpoch without agreement when mine is 0 or not the greatest
 * (clusterBumpConfigEpochWithoutConsensus); true when it changed.
 */
export function bumpEpochWithoutConsensus(state: ClusterState): boolean {
  const me = state.myself;
  const max = maxEpoch(state);
  if (me.configEpoch !== 0 && me.configEpoch === max) return false;
  state.currentEpoch++;
  me.configEpoch = state.currentEpoch;
  state.persist(true);
  state.log("warning", `New configEpoch set to ${me.configEpoch}`);
  return true;
}

/**
 * Two masters with the same configEpoch: the one with the smaller id moves to a new epoch, so
 * every collision resolves (clusterHandleConfigEpochCollision).
 */
export function handleConfigEpochCollision(state: ClusterState, sender: ClusterNode): void {
  const me = state.myself;
  if (sender.configEpoch !== me.configEpoch || !state.isMaster(sender) || !state.isMaster(me)) return;
  if (sender.id <= me.id) return;
  state.currentEpoch++;
  me.configEpoch = state.currentEpoch;
  state.persist(true);
  state.log("verbose", `WARNING: configEpoch collision with node ${sender.id}. configEpoch set to ${me.configEpoch}`);
}

function notClaiming(state: ClusterState, slot: number): boolean {
  return (state.ownerNotClaiming[slot >> 3] & (1 << (slot & 7))) !== 0;
}

function setNotClaiming(state: ClusterState, slot: number): void {
  state.ownerNotClaiming[slot >> 3] |= 1 << (slot & 7);
}

/** Whether a slot has no owner, or an owner that stopped claiming it (isSlotUnclaimed). */
export function isSlotUnclaimed(state: ClusterState, slot: number): boolean {
  return state.slots[slot] === null || notClaiming(state, slot);
}

/**
 * Adopts a master's slot claim where its configEpoch wins (clusterUpdateSlotsConfigWith): slots
 * move to it; if my master (or I) lost every slot to it, I become its replica; keys of slots I
 * lost otherwise are deleted.
 */
export function updateSlotsConfigWith(
  state: ClusterState,
  sender: ClusterNode,
  senderConfigEpoch: number,
  claimed: Uint8Array,
  now: number,
  fromUpdateMessage = false,
): void {
  const me = state.myself;
  if (sender === me) {
    state.log("notice", "Discarding UPDATE message about myself.");
    return;
  }
  const curMaster = state.isMaster(me) ? me : state.myMaster();
  let newPrimary: ClusterNode | null = null;
  let senderSlots = 0;
  let migratedOurSlots = 0;
  const dirty: number[] = [];
  let changed = false;
  /** The slot rules of clusterUpdateSlotsConfigWith for one slot; true when its owner changed. */
  const applyClaim = (slot: number): boolean => {
    const owner = state.slots[slot];
    if (slotBit(claimed, slot)) {
      if (owner === sender) {
        state.ownerNotClaiming[slot >> 3] &= ~(1 << (slot & 7));
        return false;
      }
      // An importing slot must be closed by the administrator (redis-cli) first.
      if (state.importingFrom[slot] !== null) return false;
      if (owner === null || notClaiming(state, slot) || owner.configEpoch < senderConfigEpoch) {
        if (owner === me && state.data.countKeysInSlot(slot) > 0 && sender !== me) dirty.push(slot);
        if (owner !== null && owner === curMaster) {
          newPrimary = sender;
          migratedOurSlots++;
        }
        state.setSlotOwner(slot, sender);
        return true;
      }
    } else if (owner === sender && !fromUpdateMessage) {
      // Kept assigned during migrations; an UPDATE (authoritative) clears the mark instead.
      setNotClaiming(state, slot);
    }
    return false;
  };
  // A byte at a time against the sender's own bitmap: where the claim is exactly what it owns (nearly everywhere)
  // only the not-claiming marks clear; the slot-by-slot rules run where the two differ.
  const owned = sender.slotBits;
  for (let byte = 0; byte < claimed.length; byte++) {
    const claim = claimed[byte];
    const mine = owned[byte];
    for (let bits = claim; bits !== 0; bits &= bits - 1) senderSlots++;
    if (claim === mine) {
      state.ownerNotClaiming[byte] &= ~claim;
      continue;
    }
    for (let slot = byte << 3; slot < (byte + 1) << 3; slot++) {
      if (applyClaim(slot)) changed = true;
    }
  }
  if (!changed) return;
  updateClusterState(state, now);
  state.persistSoon(true);

  if (
    newPrimary !== null && curMaster !== null && curMaster.numSlots === 0 &&
    (state.settings.allowReplicaMigration || senderSlots === migratedOurSlots)
  ) {
    state.log("warning", `Configuration change detected. Reconfiguring myself as a replica of ${sender.id}`);
    setMyMaster(state, sender, now);
  } else if (
    state.myMaster() !== null && (state.myMaster()!.flags & NODE_SLAVE) !== 0 &&
    state.myMaster()!.masterId !== me.id
  ) {
    const grand = state.myMaster()!.masterId;
    const grandNode = grand === null ? null : state.nodes.get(grand) ?? null;
    if (grandNode !== null) {
      state.log("notice", `I'm a sub-replica! Reconfiguring myself as a replica of ${grandNode.id}`);
      setMyMaster(state, grandNode, now);
    }
  } else if (dirty.length > 0) {
    for (const slot of dirty) state.log("notice", `Deleting keys in dirty slot ${slot}`);
    state.emit({ kind: "delete-slot-keys", slots: dirty });
  }
}

/** Makes myself a replica of `master` (clusterSetMaster): my slots are dropped, replication restarts. */
export function setMyMaster(state: ClusterState, master: ClusterNode, now: number): void {
  const me = state.myself;
  if (state.isMaster(me)) {
    me.flags = (me.flags & ~(NODE_MASTER | NODE_MIGRATE_TO)) | NODE_SLAVE;
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
      if (state.slots[slot] === me) state.setSlotOwner(slot, null);
      state.importingFrom[slot] = null;
      state.migratingTo[slot] = null;
    }
  }
  state.attachReplica(me, master);
  state.replicatingFrom = master.id;
  state.emit({ kind: "replicate", masterId: master.id });
  resetManualFailover(state);
  updateClusterState(state, now);
  state.persist(true);
}
