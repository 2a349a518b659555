/**
 * The cluster cron (`reference/cluster-bus.md` section 12), run every 100 ms with `now`: handshake
 * timeouts, (re)connecting links, Redis's ping schedule, PFAIL, and the cluster state.
 */
import type { ClusterState } from "./state.ts";
import {
  NODE_FAIL,
  NODE_HANDSHAKE,
  NODE_MYSELF,
  NODE_NOADDR,
  NODE_NOFAILOVER,
  NODE_PFAIL,
  NODE_SLAVE,
} from "./node.ts";
import { MSG_PING } from "./bus/message.ts";
import { sendPing } from "./gossip.ts";
import { updateClusterState } from "./failure.ts";
import { handleReplicaFailover } from "./election.ts";
import { checkManualFailoverTimeout, handleManualFailover } from "./manual_failover.ts";
import { handleReplicaMigration, migrationCounts } from "./replica_migration.ts";
import { fenceNeedsPing, logWriteFenceChange, updateWriteFence } from "./write_fence.ts";

/** The cron period the schedule below assumes. */
export const CLUSTER_CRON_PERIOD_MS = 100;
/** Handshakes never time out faster than this. */
const MIN_HANDSHAKE_TIMEOUT_MS = 1000;
/** Every this many ticks (about once a second) a random node is pinged. */
const RANDOM_PING_EVERY_TICKS = 10;
/** Nodes sampled for that ping; the one with the oldest PONG wins. */
const RANDOM_PING_SAMPLES = 5;

/** One cron tick (clusterCron). */
export function clusterTick(state: ClusterState, now: number): void {
  const timeout = state.settings.nodeTimeoutMs;
  const handshakeTimeout = Math.max(timeout, MIN_HANDSHAKE_TIMEOUT_MS);
  state.cronIterations++;
  updateMyselfFlags(state);

  let pfail = 0;
  for (const node of [...state.nodes.values()]) {
    if ((node.flags & (NODE_MYSELF | NODE_NOADDR)) !== 0) continue;
    if ((node.flags & NODE_PFAIL) !== 0) pfail++;
    if ((node.flags & NODE_HANDSHAKE) !== 0 && now - node.createdAt > handshakeTimeout) {
      state.deleteNode(node);
      continue;
    }
    if (node.link === null && now >= node.nextConnectAt) state.openLink(node, now);
  }
  state.pfailNodes = pfail;

  if (state.cronIterations % RANDOM_PING_EVERY_TICKS === 0) {
    let oldest = null;
    const nodes = [...state.nodes.values()];
    for (let i = 0; i < RANDOM_PING_SAMPLES && nodes.length > 0; i++) {
      const node = nodes[Math.floor(state.rng() * nodes.length)];
      if (node.link === null || node.pingSent !== 0) continue;
      if ((node.flags & (NODE_MYSELF | NODE_HANDSHAKE)) !== 0) continue;
      if (oldest === null || node.pongReceived < oldest.pongReceived) oldest = node;
    }
    if (oldest !== null) {
      const link = state.links.get(oldest.link!);
      if (link !== undefined) sendPing(state, link, MSG_PING, now);
    }
  }

  for (const node of state.nodes.values()) {
    if ((node.flags & (NODE_MYSELF | NODE_NOADDR | NODE_HANDSHAKE)) !== 0) continue;
    const link = node.link === null ? undefined : state.links.get(node.link);
    // A link that is up but silent while a ping waits: drop it, the next tick reconnects. Silent means no PONG on
    // it (Redis counts any data from the node, so a peer that keeps pinging us kept a dead link of ours alive).
    if (
      link !== undefined && now - link.createdAt > timeout && node.pingSent !== 0 &&
      now - node.pingSent > timeout / 2 && now - node.pongReceived > timeout / 2
    ) {
      state.freeLink(link.id);
    }
    if (node.link !== null && node.pingSent === 0 && now - node.pongReceived > timeout / 2) {
      const current = state.links.get(node.link);
      if (current !== undefined) sendPing(state, current, MSG_PING, now);
      continue;
    }
    // The write fence needs fresh answers from the masters: a quarter of the node timeout keeps them well inside
    // the fence window even when answers are slow (Redis's half-timeout rule alone left contacts up to 0.9 old).
    if ((node.flags & (NODE_PFAIL | NODE_FAIL)) === 0 && fenceNeedsPing(state, node, now)) {
      const current = state.links.get(node.link!);
      if (current !== undefined && current.connected) sendPing(state, current, MSG_PING, now);
    }
    // A master in a manual failover pings the replica every tick: each header carries its paused offset.
    if (state.mfEnd !== 0 && state.mfReplica === node && state.isMaster(state.myself) && node.link !== null) {
      const current = state.links.get(node.link);
      if (current !== undefined && current.connected) sendPing(state, current, MSG_PING, now);
      continue;
    }
    if (node.pingSent !== 0) {
      const delay = Math.min(now - node.pingSent, now - node.dataReceived);
      if (delay > timeout && (node.flags & (NODE_PFAIL | NODE_FAIL)) === 0) {
        state.log("debug", `*** NODE ${node.id} possibly failing`);
        node.flags |= NODE_PFAIL;
      }
    }
  }
  replicateIfNeeded(state);
  checkManualFailoverTimeout(state, now);
  if ((state.myself.flags & NODE_SLAVE) !== 0) {
    handleManualFailover(state);
    handleReplicaFailover(state, now);
    const counts = migrationCounts(state);
    if (counts.orphanedMasters > 0 && counts.maxReplicas >= 2 && counts.myMasterReplicas === counts.maxReplicas) {
      handleReplicaMigration(state, counts.maxReplicas, now);
    }
  }
  // Redis recomputes only after changes; every tick is as cheap here and also ends the start-up delay on time.
  updateClusterState(state, now);
  updateWriteFence(state);
  logWriteFenceChange(state, now);
}

/** NOFAILOVER on myself follows `cluster-replica-no-failover` (clusterUpdateMyselfFlags). */
function updateMyselfFlags(state: ClusterState): void {
  const me = state.myself;
  const flags = state.settings.replicaNoFailover ? me.flags | NODE_NOFAILOVER : me.flags & ~NODE_NOFAILOVER;
  if (flags !== me.flags) {
    me.flags = flags;
    state.persist();
  }
}

/**
 * A replica whose master has an address asks the shell to replicate from it once (after start-up from
 * nodes.conf, or when its master became known): Redis's cron does this when replication is not set up.
 */
function replicateIfNeeded(state: ClusterState): void {
  const me = state.myself;
  if ((me.flags & NODE_SLAVE) === 0 || me.masterId === null || state.replicatingFrom === me.masterId) return;
  const master = state.myMaster();
  if (master === null || (master.flags & NODE_NOADDR) !== 0 || master.port === 0) return;
  state.replicatingFrom = master.id;
  state.emit({ kind: "replicate", masterId: master.id });
}
