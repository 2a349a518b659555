/**
 * CLUSTER SETSLOT's state changes (Redis 7.0.15's clusterCommand SETSLOT branch): open a slot for migration
 * (MIGRATING on the source, IMPORTING on the target), close it (STABLE), or hand it over (NODE). Argument parsing
 * stays in `commands/cluster.ts`; each action returns Redis's error text, or null when done.
 */
import type { ClusterState } from "./state.ts";
import { NODE_SLAVE } from "./node.ts";
import { bumpEpochWithoutConsensus, setMyMaster } from "./epochs.ts";
import { updateClusterState } from "./failure.ts";
import { broadcastPong } from "./gossip.ts";
import { cString } from "../resp/latin1.ts";

/** The SETSLOT actions, as the command names them (lowercase). */
export type SetSlotAction = "migrating" | "importing" | "stable" | "node";

/** Refusal of SETSLOT on a replica (checked before the slot is parsed, as Redis does). */
export const ERR_SETSLOT_REPLICA = "ERR Please use SETSLOT only with masters.";

/**
 * Applies `CLUSTER SETSLOT <slot> <action> [<nodeId>]` to my state; `nodeId` is ignored for STABLE. The caller
 * checked that I am a master and that the slot and action are valid. The cluster state is re-evaluated and nodes.conf
 * saved after every change, as Redis's CLUSTER_TODO_SAVE_CONFIG | UPDATE_STATE (the save in the background).
 */
export function setSlot(
  state: ClusterState,
  slot: number,
  action: SetSlotAction,
  nodeId: string,
  now: number,
): string | null {
  const me = state.myself;
  if (action === "stable") {
    state.importingFrom[slot] = null;
    state.migratingTo[slot] = null;
    return done(state, now);
  }
  if (action === "migrating" && state.slots[slot] !== me) return `ERR I'm not the owner of hash slot ${slot}`;
  if (action === "importing" && state.slots[slot] === me) return `ERR I'm already the owner of hash slot ${slot}`;
  const node = state.nodes.get(nodeId);
  if (node === undefined) {
    return action === "node" ? `ERR Unknown node ${cString(nodeId)}` : `ERR I don't know about node ${cString(nodeId)}`;
  }
  if ((node.flags & NODE_SLAVE) !== 0) return "ERR Target node is not a master";
  if (action === "migrating") {
    state.migratingTo[slot] = node;
    return done(state, now);
  }
  if (action === "importing") {
    state.importingFrom[slot] = node;
    return done(state, now);
  }

  // NODE: a slot I served may leave only once its keys have moved.
  const keys = state.data.countKeysInSlot(slot);
  if (state.slots[slot] === me && node !== me && keys !== 0) {
    return `ERR Can't assign hashslot ${slot} to a different node while I still hold keys for this hash slot.`;
  }
  // Giving away a migrating slot without keys left closes the migration.
  if (keys === 0 && state.migratingTo[slot] !== null) state.migratingTo[slot] = null;
  const slotWasMine = state.slots[slot] === me;
  state.setSlotOwner(slot, node);

  // A master left without slots follows the node that took the last one (cluster-allow-replica-migration).
  if (slotWasMine && node !== me && me.numSlots === 0 && state.settings.allowReplicaMigration) {
    state.log("warning", `Configuration change detected. Reconfiguring myself as a replica of ${node.id}`);
    setMyMaster(state, node, now);
  }
  // Closing an import on myself: a new configEpoch makes my claim win everywhere, and a PONG spreads it now.
  if (node === me && state.importingFrom[slot] !== null) {
    if (bumpEpochWithoutConsensus(state)) state.log("warning", `configEpoch updated after importing slot ${slot}`);
    state.importingFrom[slot] = null;
    broadcastPong(state, now);
  }
  return done(state, now);
}

function done(state: ClusterState, now: number): null {
  updateClusterState(state, now);
  // Saved without fsync, as Redis's SETSLOT does (CLUSTER_TODO_SAVE_CONFIG), but after the reply; an epoch bump
  // is saved (with fsync) before it.
  state.persistSoon(false);
  return null;
}
