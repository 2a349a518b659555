/**
 * Failure detection (`reference/cluster-bus.md` sections 13 and 14): failure reports from masters,
 * PFAIL -> FAIL once a majority agrees, FAIL cleared by Redis's rules, and the cluster state.
 */
import type { ClusterState } from "./state.ts";
import { CLUSTER_SLOTS, type ClusterNode, NODE_FAIL, NODE_MASTER, NODE_PFAIL } from "./node.ts";
import { MSG_FAIL } from "./bus/message.ts";

/** Failure reports stay valid for this many node timeouts. */
const FAIL_REPORT_VALIDITY_MULT = 2;
/** A master with slots marked FAIL is cleared only after this many node timeouts. */
const FAIL_UNDO_TIME_MULT = 2;
/** A master waits this long after its first state evaluation before declaring the cluster ok (reboot protection). */
const CLUSTER_WRITABLE_DELAY_MS = 2000;
/** Bounds of the delay a master that was in a minority waits before rejoining (clamped node timeout). */
const MIN_REJOIN_DELAY_MS = 500;
const MAX_REJOIN_DELAY_MS = 5000;

/** Adds or refreshes `sender`'s report that `node` is failing; true when the report is new. */
export function addFailureReport(node: ClusterNode, sender: ClusterNode, now: number): boolean {
  const isNew = !node.failReports.has(sender.id);
  node.failReports.set(sender.id, now);
  return isNew;
}

/** Removes `sender`'s report about `node`; true when there was one. */
export function deleteFailureReport(state: ClusterState, node: ClusterNode, sender: ClusterNode, now: number): boolean {
  cleanupFailureReports(state, node, now);
  return node.failReports.delete(sender.id);
}

/** Drops reports older than the validity window. */
function cleanupFailureReports(state: ClusterState, node: ClusterNode, now: number): void {
  const maxAge = state.settings.nodeTimeoutMs * FAIL_REPORT_VALIDITY_MULT;
  for (const [reporter, at] of node.failReports) if (now - at > maxAge) node.failReports.delete(reporter);
}

/** Number of valid failure reports about a node (CLUSTER COUNT-FAILURE-REPORTS). */
export function countFailureReports(state: ClusterState, node: ClusterNode, now: number): number {
  cleanupFailureReports(state, node, now);
  return node.failReports.size;
}

/** The number of masters needed for a majority. */
export function failureQuorum(state: ClusterState): number {
  return Math.floor(state.countSizedMasters() / 2) + 1;
}

/** Marks a PFAIL node FAIL when enough masters report it (markNodeAsFailingIfNeeded), and broadcasts FAIL. */
export function markNodeAsFailingIfNeeded(state: ClusterState, node: ClusterNode, now: number): void {
  if ((node.flags & NODE_PFAIL) === 0 || (node.flags & NODE_FAIL) !== 0) return;
  let failures = countFailureReports(state, node, now);
  if (state.isMaster(state.myself)) failures++;
  if (failures < failureQuorum(state)) return;
  state.log("notice", `Marking node ${node.id} as failing (quorum reached).`);
  node.flags = (node.flags & ~NODE_PFAIL) | NODE_FAIL;
  node.failTime = now;
  // Replicas broadcast too: they only count masters' reports, and help the news spread.
  const msg = state.buildMessage(MSG_FAIL);
  msg.failing = node.id;
  state.broadcast(msg);
  updateClusterState(state, now);
  state.persistSoon(true);
}

/** Clears FAIL for a node that answers again, by Redis's rules (clearNodeFailureIfNeeded). */
export function clearNodeFailureIfNeeded(state: ClusterState, node: ClusterNode, now: number): void {
  if ((node.flags & NODE_FAIL) === 0) return;
  if (!state.isMaster(node) || node.numSlots === 0) {
    const what = state.isMaster(node) ? "master without slots" : "replica";
    state.log("notice", `Clear FAIL state for node ${node.id}: ${what} is reachable again.`);
    node.flags &= ~NODE_FAIL;
    state.persistSoon();
    return;
  }
  if (now - node.failTime > state.settings.nodeTimeoutMs * FAIL_UNDO_TIME_MULT) {
    state.log(
      "notice",
      `Clear FAIL state for node ${node.id}: is reachable again and nobody is serving its slots after some time.`,
    );
    node.flags &= ~NODE_FAIL;
    state.persistSoon();
  }
}

/** Recomputes `state.state` and `state.size` (clusterUpdateState). */
export function updateClusterState(state: ClusterState, now: number): void {
  const me = state.myself;
  const iAmMaster = (me.flags & NODE_MASTER) !== 0;
  if (state.firstStateCheckAt === 0) state.firstStateCheckAt = now;
  if (iAmMaster && state.state === "fail" && now - state.firstStateCheckAt < CLUSTER_WRITABLE_DELAY_MS) return;

  let next: "ok" | "fail" = "ok";
  if (state.settings.requireFullCoverage) {
    // Every slot has an owner not marked FAIL exactly when those owners' slot counts add up to all slots.
    let covered = 0;
    for (const n of state.nodes.values()) if ((n.flags & NODE_FAIL) === 0) covered += n.numSlots;
    if (covered !== CLUSTER_SLOTS) next = "fail";
  }
  let size = 0;
  let reachable = 0;
  for (const n of state.nodes.values()) {
    if ((n.flags & NODE_MASTER) === 0 || n.numSlots === 0) continue;
    size++;
    // A peer counts as reachable once it has been heard from since start-up: a node restarted in a
    // minority must not call the cluster ok (and accept writes) on the strength of its saved config.
    if ((n.flags & (NODE_FAIL | NODE_PFAIL)) === 0 && (n === me || n.dataReceived !== 0)) reachable++;
  }
  state.size = size;
  if (reachable < Math.floor(size / 2) + 1) {
    next = "fail";
    state.amongMinorityAt = now;
  }
  if (next === state.state) return;
  const rejoinDelay = Math.min(MAX_REJOIN_DELAY_MS, Math.max(MIN_REJOIN_DELAY_MS, state.settings.nodeTimeoutMs));
  if (next === "ok" && iAmMaster && now - state.amongMinorityAt < rejoinDelay) return;
  state.log("warning", `Cluster state changed: ${next}`);
  state.state = next;
}
