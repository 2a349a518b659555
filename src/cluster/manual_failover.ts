/**
 * Manual failover (`reference/cluster-bus.md` section 19, Redis's CLUSTER FAILOVER, MFSTART handling,
 * resetManualFailover, manualFailoverCheckTimeout, clusterHandleManualFailover). The replica asks its master
 * to pause writes (MFSTART), waits until its replication offset equals the paused master's, then runs an
 * election the masters vote for although its master is up (FORCEACK). FORCE skips the offset agreement,
 * TAKEOVER skips the election.
 */
import type { ClusterState, Link } from "./state.ts";
import { type ClusterNode, NODE_FAIL } from "./node.ts";
import { MSG_MFSTART, MSG_PING } from "./bus/message.ts";
import { bumpEpochWithoutConsensus } from "./epochs.ts";
import { failoverReplaceMyMaster, handleReplicaFailover } from "./election.ts";
import { sendPing } from "./gossip.ts";

/** How long a manual failover may take (CLUSTER_MF_TIMEOUT). */
export const MF_TIMEOUT_MS = 5000;
/** The master pauses writes for this many MF timeouts (CLUSTER_MF_PAUSE_MULT). */
const MF_PAUSE_MULT = 2;

/** Ends any manual failover (resetManualFailover); a master that paused its clients unpauses them. */
export function resetManualFailover(state: ClusterState): void {
  // Only a master sets mfReplica: it paused its clients and resumes them, even if it just turned replica.
  if (state.mfEnd !== 0 && state.mfReplica !== null) {
    state.emit({ kind: "pause-writes", untilMs: 0 });
  }
  state.mfEnd = 0;
  state.mfCanStart = false;
  state.mfReplica = null;
  state.mfMasterOffset = -1;
}

/** Aborts a manual failover past its deadline (manualFailoverCheckTimeout). */
export function checkManualFailoverTimeout(state: ClusterState, now: number): void {
  if (state.mfEnd !== 0 && state.mfEnd < now) {
    state.log("warning", "Manual failover timed out.");
    resetManualFailover(state);
  }
}

/** Replica: the election may start once my offset reached the paused master's (clusterHandleManualFailover). */
export function handleManualFailover(state: ClusterState): void {
  if (state.mfEnd === 0 || state.mfCanStart || state.mfMasterOffset === -1) return;
  if (state.mfMasterOffset === state.data.replOffset()) {
    state.mfCanStart = true;
    state.log("warning", "All master replication stream processed, manual failover can start.");
  }
}

/**
 * CLUSTER FAILOVER [FORCE|TAKEOVER] on this node: Redis's checks and error texts; null when accepted.
 * `mode` is "" for the default.
 */
export function startManualFailover(state: ClusterState, mode: "" | "force" | "takeover", now: number): string | null {
  const me = state.myself;
  const force = mode !== "";
  if (state.isMaster(me)) return "ERR You should send CLUSTER FAILOVER to a replica";
  const master = state.myMaster();
  if (master === null) return "ERR I'm a replica but my master is unknown to me";
  if (!force && ((master.flags & NODE_FAIL) !== 0 || master.link === null)) {
    return "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE";
  }
  resetManualFailover(state);
  state.mfEnd = now + MF_TIMEOUT_MS;
  if (mode === "takeover") {
    // No election: a configEpoch greater than any other wins the slots on its own.
    state.log("warning", "Taking over the master (user request).");
    bumpEpochWithoutConsensus(state);
    failoverReplaceMyMaster(state, now);
  } else if (mode === "force") {
    state.log("warning", "Forced failover user request accepted.");
    state.mfCanStart = true;
    handleReplicaFailover(state, now);
  } else {
    state.log("warning", "Manual failover user request accepted.");
    if (master.link !== null) state.send(master.link, state.buildMessage(MSG_MFSTART));
  }
  return null;
}

/** Master: one of my replicas sent MFSTART; pause writes and tell it my offset (PAUSED pings). */
export function handleMfStart(state: ClusterState, sender: ClusterNode, link: Link, now: number): void {
  if (sender.masterId !== state.myself.id || !state.isMaster(state.myself)) return;
  resetManualFailover(state);
  state.mfEnd = now + MF_TIMEOUT_MS;
  state.mfReplica = sender;
  state.emit({ kind: "pause-writes", untilMs: now + MF_TIMEOUT_MS * MF_PAUSE_MULT });
  state.log("warning", `Manual failover requested by replica ${sender.id}.`);
  // The offset travels in this PING's header, flagged PAUSED; the cron repeats it every tick.
  sendPing(state, link, MSG_PING, now);
}

/** Replica: a header from my paused master carries the offset to reach before the election. */
export function noteMasterPausedOffset(state: ClusterState, offset: number): void {
  if (state.mfEnd === 0 || state.mfMasterOffset !== -1) return;
  state.mfMasterOffset = offset;
  state.log("warning", `Received replication offset for paused master manual failover: ${offset}`);
  handleManualFailover(state);
}
