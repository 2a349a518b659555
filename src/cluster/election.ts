/**
 * Replica elections (`reference/cluster-bus.md` sections 17 and 18): a replica of a FAIL master (or in a
 * manual failover) ranks itself by replication offset, waits its delay, asks every master for a vote in a
 * new epoch, and with a majority takes its master's slots with that epoch (Redis's clusterGetSlaveRank,
 * clusterHandleSlaveFailover, clusterFailoverReplaceYourMaster); masters vote by Redis's rules
 * (clusterSendFailoverAuthIfNeeded). The delay's three terms are tessera directives (Redis: 500 + 0..499 + rank × 1000).
 */
import type { ClusterState } from "./state.ts";
import { CLUSTER_SLOTS, type ClusterNode, NODE_FAIL, NODE_NOFAILOVER, NODE_SLAVE } from "./node.ts";
import {
  type BusMessage,
  MSG_FAILOVER_AUTH_ACK,
  MSG_FAILOVER_AUTH_REQUEST,
  MSG_PONG,
  MSGFLAG0_FORCEACK,
  slotBit,
} from "./bus/message.ts";
import { updateClusterState } from "./failure.ts";
import { broadcastPong, sendPing } from "./gossip.ts";
import { resetManualFailover } from "./manual_failover.ts";

/** Why a replica cannot fail over now (Redis's CLUSTER_CANT_FAILOVER_*), for the rate-limited log. */
const CANT_FAILOVER_NONE = 0;
const CANT_FAILOVER_DATA_AGE = 1;
const CANT_FAILOVER_WAITING_DELAY = 2;
const CANT_FAILOVER_EXPIRED = 3;
const CANT_FAILOVER_WAITING_VOTES = 4;
/** The same reason is logged again only after this long (CLUSTER_CANT_FAILOVER_RELOG_PERIOD, 10 s). */
const CANT_FAILOVER_RELOG_PERIOD_MS = 10_000;
/** Nothing is logged until the master has been FAIL for node_timeout plus this long. */
const CANT_FAILOVER_QUIET_MS = 5000;
/** An election waits for votes at least this long (auth_timeout = max(2 × node_timeout, this)). */
const MIN_AUTH_TIMEOUT_MS = 2000;

const CANT_FAILOVER_TEXT: Record<number, string> = {
  [CANT_FAILOVER_DATA_AGE]:
    "Disconnected from master for longer than allowed. Please check the 'cluster-replica-validity-factor' configuration option.",
  [CANT_FAILOVER_WAITING_DELAY]: "Waiting the delay before I can start a new failover.",
  [CANT_FAILOVER_EXPIRED]: "Failover attempt expired.",
  [CANT_FAILOVER_WAITING_VOTES]: "Waiting for votes, but majority still not reached.",
};

/**
 * My rank among my master's replicas (clusterGetSlaveRank): how many others that may fail over advertised
 * a greater replication offset than mine. Rank 0 starts first.
 */
export function replicaRank(state: ClusterState): number {
  const master = state.myMaster();
  if (master === null) return 0;
  const mine = state.data.replOffset();
  let rank = 0;
  for (const replica of state.replicasOf(master)) {
    if (replica === state.myself || (replica.flags & NODE_NOFAILOVER) !== 0) continue;
    if (replica.replOffset > mine) rank++;
  }
  return rank;
}

/** Logs why the failover cannot proceed, rate-limited as Redis does (clusterLogCantFailover). */
function logCantFailover(state: ClusterState, reason: number, now: number): void {
  if (reason === state.cantFailoverReason && now - state.cantFailoverLoggedAt < CANT_FAILOVER_RELOG_PERIOD_MS) return;
  state.cantFailoverReason = reason;
  // Right after the master failed the reasons are expected: stay quiet for a while.
  const master = state.myMaster();
  const quietFor = state.settings.nodeTimeoutMs + CANT_FAILOVER_QUIET_MS;
  if (master !== null && (master.flags & NODE_FAIL) !== 0 && now - master.failTime < quietFor) return;
  state.cantFailoverLoggedAt = now;
  state.log("warning", `Currently unable to failover: ${CANT_FAILOVER_TEXT[reason]}`);
}

/** Election timing: how long a vote request waits for a majority (auth_timeout). */
export function authTimeoutMs(state: ClusterState): number {
  return Math.max(2 * state.settings.nodeTimeoutMs, MIN_AUTH_TIMEOUT_MS);
}

/** PONG to the other replicas of my master, so they learn my offset (CLUSTER_BROADCAST_LOCAL_SLAVES). */
function pongSiblings(state: ClusterState, now: number): void {
  const master = state.myMaster();
  if (master === null) return;
  for (const node of state.replicasOf(master)) {
    if (node === state.myself || node.link === null) continue;
    const link = state.links.get(node.link);
    if (link !== undefined && link.connected) sendPing(state, link, MSG_PONG, now);
  }
}

/**
 * The replica side of an election, run by the cron and whenever a vote arrives (clusterHandleSlaveFailover):
 * schedule, ask for votes, count them, take over.
 */
export function handleReplicaFailover(state: ClusterState, now: number): void {
  const me = state.myself;
  const settings = state.settings;
  const master = state.myMaster();
  const manual = state.mfEnd !== 0 && state.mfCanStart;
  const authTimeout = authTimeoutMs(state);
  const authRetryTime = authTimeout * 2;
  const authAge = now - state.failoverAuthTime;
  if (
    state.isMaster(me) || master === null || ((master.flags & NODE_FAIL) === 0 && !manual) ||
    (settings.replicaNoFailover && !manual) || master.numSlots === 0
  ) {
    state.cantFailoverReason = CANT_FAILOVER_NONE;
    return;
  }

  // Data age: a replica cut from its master for too long has data too old to serve.
  let dataAge = state.data.masterLinkIdleMs?.(now) ?? 0;
  if (dataAge > settings.nodeTimeoutMs) dataAge -= settings.nodeTimeoutMs;
  const maxAge = settings.replPingReplicaPeriodMs + settings.nodeTimeoutMs * settings.replicaValidityFactor;
  if (settings.replicaValidityFactor !== 0 && dataAge > maxAge && !manual) {
    logCantFailover(state, CANT_FAILOVER_DATA_AGE, now);
    return;
  }

  if (authAge > authRetryTime) {
    state.failoverAuthCount = 0;
    state.failoverAuthSent = false;
    state.failoverAuthRank = replicaRank(state);
    state.failoverAuthTime = now + settings.electionBaseDelayMs +
      Math.floor(state.rng() * settings.electionRandomDelayMs) +
      state.failoverAuthRank * settings.electionRankDelayMs;
    if (state.mfEnd !== 0) {
      state.failoverAuthTime = now;
      state.failoverAuthRank = 0;
    }
    state.log(
      "warning",
      `Start of election delayed for ${
        state.failoverAuthTime - now
      } milliseconds (rank #${state.failoverAuthRank}, offset ${state.data.replOffset()}).`,
    );
    pongSiblings(state, now);
    // A manual failover starts at once (Redis: the before-sleep pass right after this cron).
    if (state.mfEnd === 0) return;
  }

  if (!state.failoverAuthSent && state.mfEnd === 0) {
    const rank = replicaRank(state);
    if (rank > state.failoverAuthRank) {
      const added = (rank - state.failoverAuthRank) * settings.electionRankDelayMs;
      state.failoverAuthTime += added;
      state.failoverAuthRank = rank;
      state.log("warning", `Replica rank updated to #${rank}, added ${added} milliseconds of delay.`);
    }
  }

  if (now < state.failoverAuthTime) {
    logCantFailover(state, CANT_FAILOVER_WAITING_DELAY, now);
    return;
  }
  if (now - state.failoverAuthTime > authTimeout) {
    logCantFailover(state, CANT_FAILOVER_EXPIRED, now);
    return;
  }

  if (!state.failoverAuthSent) {
    state.currentEpoch++;
    state.failoverAuthEpoch = state.currentEpoch;
    state.log("warning", `Starting a failover election for epoch ${state.currentEpoch}.`);
    const request = state.buildMessage(MSG_FAILOVER_AUTH_REQUEST);
    if (state.mfEnd !== 0) request.mflags |= MSGFLAG0_FORCEACK;
    state.broadcast(request);
    state.failoverAuthSent = true;
    state.persist(true);
    updateClusterState(state, now);
    return;
  }

  if (state.failoverAuthCount >= Math.floor(state.size / 2) + 1) {
    state.log("warning", "Failover election won: I'm the new master.");
    if (me.configEpoch < state.failoverAuthEpoch) {
      me.configEpoch = state.failoverAuthEpoch;
      state.log("warning", `configEpoch set to ${me.configEpoch} after successful failover`);
    }
    failoverReplaceMyMaster(state, now);
  } else {
    logCantFailover(state, CANT_FAILOVER_WAITING_VOTES, now);
  }
}

/** A vote arrived (FAILOVER_AUTH_ACK): counted if a master with slots sent it in my election's epoch or later. */
export function handleAuthAck(state: ClusterState, sender: ClusterNode, msg: BusMessage, now: number): void {
  if (!state.isMaster(sender) || sender.numSlots === 0 || msg.currentEpoch < state.failoverAuthEpoch) return;
  state.failoverAuthCount++;
  handleReplicaFailover(state, now);
}

/**
 * Promotion (clusterFailoverReplaceYourMaster): I become a master, stop replicating, take every slot of my
 * old master, save, and tell everyone with a PONG.
 */
export function failoverReplaceMyMaster(state: ClusterState, now: number): void {
  const me = state.myself;
  const old = state.myMaster();
  if (state.isMaster(me) || old === null) return;
  state.setNodeAsMaster(me);
  state.replicatingFrom = null;
  state.emit({ kind: "replicate", masterId: null });
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) if (state.slots[slot] === old) state.setSlotOwner(slot, me);
  updateClusterState(state, now);
  state.persist(true);
  broadcastPong(state, now);
  resetManualFailover(state);
}

/** The master side: vote for a replica's election if Redis's rules allow (clusterSendFailoverAuthIfNeeded). */
export function handleAuthRequest(state: ClusterState, node: ClusterNode, msg: BusMessage, now: number): void {
  const me = state.myself;
  if (!state.isMaster(me) || me.numSlots === 0) return;
  const master = node.masterId === null ? null : state.nodes.get(node.masterId) ?? null;
  const forceAck = (msg.mflags & MSGFLAG0_FORCEACK) !== 0;
  const deny = (why: string) => state.log("warning", `Failover auth denied to ${node.id}: ${why}`);
  if (msg.currentEpoch < state.currentEpoch) {
    return deny(`reqEpoch (${msg.currentEpoch}) < curEpoch(${state.currentEpoch})`);
  }
  if (state.lastVoteEpoch === state.currentEpoch) return deny(`already voted for epoch ${state.currentEpoch}`);
  if ((node.flags & NODE_SLAVE) === 0) return deny("it is a master node");
  if (master === null) return deny("I don't know its master");
  if ((master.flags & NODE_FAIL) === 0 && !forceAck) return deny("its master is up");
  const sinceVote = now - master.votedTime;
  const voteGap = state.settings.nodeTimeoutMs * 2;
  if (sinceVote < voteGap) {
    return deny(`can't vote about this master before ${voteGap - sinceVote} milliseconds`);
  }
  // The claimed slots must not be served by a newer configuration than the request's.
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
    if (!slotBit(msg.myslots, slot)) continue;
    const owner = state.slots[slot];
    if (owner === null || owner.configEpoch <= msg.configEpoch) continue;
    return deny(`slot ${slot} epoch (${owner.configEpoch}) > reqEpoch (${msg.configEpoch})`);
  }
  state.lastVoteEpoch = state.currentEpoch;
  master.votedTime = now;
  state.persist(true);
  if (node.link !== null) state.send(node.link, state.buildMessage(MSG_FAILOVER_AUTH_ACK));
  state.log("warning", `Failover auth granted to ${node.id} for epoch ${state.currentEpoch}`);
}
