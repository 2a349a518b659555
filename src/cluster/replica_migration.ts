/**
 * Replica migration (`reference/cluster-bus.md` section 20, Redis's clusterHandleSlaveMigration): when a
 * master with slots has no working replica left (orphaned), one replica of the best-covered master moves to
 * it, as long as its own master keeps more than `cluster-migration-barrier` working replicas.
 */
import type { ClusterState } from "./state.ts";
import { type ClusterNode, NODE_FAIL, NODE_MIGRATE_TO, NODE_PFAIL, NODE_SLAVE } from "./node.ts";
import { setMyMaster } from "./epochs.ts";

/** A master must have been orphaned this long before a replica migrates to it (CLUSTER_SLAVE_MIGRATION_DELAY). */
const MIGRATION_DELAY_MS = 5000;

/** Replicas of a master not flagged FAIL (clusterCountNonFailingSlaves). */
export function countNonFailingReplicas(state: ClusterState, master: ClusterNode): number {
  let ok = 0;
  for (const replica of state.replicasOf(master)) if ((replica.flags & NODE_FAIL) === 0) ok++;
  return ok;
}

/** What the cron counted for replica migration: orphaned masters, the best replica count, my master's count. */
export interface MigrationCounts {
  orphanedMasters: number;
  maxReplicas: number;
  myMasterReplicas: number;
}

/** The cron's census of masters (only a replica needs it). */
export function migrationCounts(state: ClusterState): MigrationCounts {
  const counts: MigrationCounts = { orphanedMasters: 0, maxReplicas: 0, myMasterReplicas: 0 };
  for (const node of state.nodes.values()) {
    if (node === state.myself || !state.isMaster(node) || (node.flags & NODE_FAIL) !== 0) continue;
    const ok = countNonFailingReplicas(state, node);
    if (ok === 0 && node.numSlots > 0 && (node.flags & NODE_MIGRATE_TO) !== 0) counts.orphanedMasters++;
    if (ok > counts.maxReplicas) counts.maxReplicas = ok;
    if (state.myself.masterId === node.id) counts.myMasterReplicas = ok;
  }
  return counts;
}

/** Moves me to an orphaned master if I am the chosen replica (clusterHandleSlaveMigration). */
export function handleReplicaMigration(state: ClusterState, maxReplicas: number, now: number): void {
  if (state.state !== "ok" || !state.settings.allowReplicaMigration) return;
  const myMaster = state.myMaster();
  if (myMaster === null || (state.myself.flags & NODE_SLAVE) === 0) return;
  let okReplicas = 0;
  for (const replica of state.replicasOf(myMaster)) {
    if ((replica.flags & (NODE_FAIL | NODE_PFAIL)) === 0) okReplicas++;
  }
  if (okReplicas <= state.settings.migrationBarrier) return;

  // The candidate is the replica with the smallest id among the best-covered masters' replicas.
  let candidate: ClusterNode = state.myself;
  let target: ClusterNode | null = null;
  for (const node of state.nodes.values()) {
    let ok = 0;
    let orphaned = state.isMaster(node) && (node.flags & NODE_FAIL) === 0 && (node.flags & NODE_MIGRATE_TO) !== 0;
    if (state.isMaster(node)) ok = countNonFailingReplicas(state, node);
    if (ok > 0) orphaned = false;
    if (orphaned) {
      if (target === null && node.numSlots > 0) target = node;
      if (node.orphanedTime === 0) node.orphanedTime = now;
    } else {
      node.orphanedTime = 0;
    }
    if (ok === maxReplicas) {
      for (const replica of state.replicasOf(node)) if (replica.id < candidate.id) candidate = replica;
    }
  }
  if (target !== null && candidate === state.myself && now - target.orphanedTime > MIGRATION_DELAY_MS) {
    state.log("warning", `Migrating to orphaned master ${target.id}`);
    setMyMaster(state, target, now);
  }
}
