/**
 * Failover and full-sync benchmarks, tessera and redis-server side by side.
 *
 * Failover: a fresh cluster of 3 masters + 3 replicas per round (created with the same commands for both kinds,
 * scripts/cluster/create.ts), node timeout 2000 ms; a master is killed with SIGKILL, then three times are taken from
 * the kill: until its replica says it is a master, until every surviving node says cluster_state:ok and gives the
 * killed master's slots to the replica (without the second condition the nodes would still say ok before they have
 * noticed the death), and until a SET to one of those slots succeeds on the replica.
 *
 * Full sync: a master holding N keys (DEBUG POPULATE), a fresh replica told REPLICAOF; the time until the replica says
 * master_link_status:up, with its DBSIZE checked afterwards.
 */
import { type ServerProcess, startRedis, startTessera } from "../../tests/helpers/servers.ts";
import { clusterArgs, freeClusterPort } from "../../tests/helpers/cluster.ts";
import { keyHashSlot } from "../../src/cluster/slots.ts";
import { RespError } from "../../src/resp/reply_parser.ts";
import { createCluster, ReplicateUnsupportedError } from "../cluster/create.ts";
import { type ClusterLayout, layoutPorts } from "../cluster/layout.ts";
import { callWithin, parseInfoFields } from "../cluster/rpc.ts";
import { viewOf } from "../cluster/snapshot.ts";

/** The node timeout of the failover figures. */
export const FAILOVER_NODE_TIMEOUT_MS = 2000;
/** How often the clocks are checked after the kill. */
const POLL_MS = 20;
/** Bound for one call while polling: shorter than a poll would be pointless, longer hides a stall. */
const POLL_CALL_TIMEOUT_MS = 1000;
/** A failover that takes longer than this fails the round (Redis needs about 4 s at node timeout 2000). */
const FAILOVER_TIMEOUT_MS = 60_000;
/** Time the cluster runs after the create before the kill, so every node has its steady ping schedule. */
const SETTLE_MS = 1000;
const CREATE_TIMEOUT_MS = 60_000;
const SYNC_TIMEOUT_MS = 300_000;
const MASTERS = 3;

/** Which server the nodes run. */
export type FailoverServer = "tessera" | "redis-server";

/** The three clocks of one failover round, in ms from the kill. */
export interface FailoverRound {
  promotedMs: number;
  allOkMs: number;
  writeMs: number;
}

/** Same for both kinds: no persistence, and no 5 s wait for more replicas before a diskless sync (Redis's default). */
const COMMON_ARGS = ["--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0"];

async function startNode(kind: FailoverServer, port: number, extra: string[], dirs: string[]): Promise<ServerProcess> {
  if (kind === "redis-server") {
    const args = ["--cluster-enabled", "yes", "--cluster-node-timeout", `${FAILOVER_NODE_TIMEOUT_MS}`];
    return await startRedis([...args, ...COMMON_ARGS, ...extra], { port });
  }
  const dir = await Deno.makeTempDir({ prefix: "tessera-failover-" });
  dirs.push(dir);
  return await startTessera([...clusterArgs(port, dir, FAILOVER_NODE_TIMEOUT_MS, COMMON_ARGS), ...extra], { port });
}

/** A key whose slot the node on `port` serves, per its own CLUSTER NODES line. */
async function keyServedBy(port: number): Promise<string> {
  const view = await viewOf(port, POLL_CALL_TIMEOUT_MS);
  const ranges = view.slots.map((t) => t.split("-").map(Number)).map(([a, b]) => [a, b ?? a]);
  for (let i = 0;; i++) {
    const slot = keyHashSlot(`failover:${i}`);
    if (ranges.some(([a, b]) => slot >= a && slot <= b)) return `failover:${i}`;
  }
}

/** Polls until `check` holds; the time from `t0` (performance.now()) when it first did. */
async function timeUntil(what: string, t0: number, check: () => Promise<boolean>): Promise<number> {
  for (;;) {
    try {
      if (await check()) return performance.now() - t0;
    } catch {
      // a node busy failing over may not answer in time: look again
    }
    if (performance.now() - t0 > FAILOVER_TIMEOUT_MS) {
      throw new Error(`${what}: not within ${FAILOVER_TIMEOUT_MS} ms of the kill`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * One failover round of one kind on a fresh cluster (`extra`: more directives for every node, e.g. tessera's election
 * tuning): kill master number `victimIndex` (mod 3, so successive rounds rotate), time the three clocks.
 */
export async function measureFailoverRound(
  kind: FailoverServer,
  victimIndex: number,
  extra: string[],
): Promise<FailoverRound> {
  const procs = new Map<number, ServerProcess>();
  const dirs: string[] = [];
  try {
    const ports = Array.from({ length: MASTERS * 2 }, () => freeClusterPort());
    const layout: ClusterLayout = {
      masterPorts: ports.slice(0, MASTERS),
      replicaOf: new Map(ports.slice(MASTERS).map((p, i) => [p, ports[i]])),
    };
    for (const port of layoutPorts(layout)) procs.set(port, await startNode(kind, port, extra, dirs));
    try {
      await createCluster(layout, { host: "127.0.0.1", timeoutMs: CREATE_TIMEOUT_MS, progress: () => {} });
    } catch (err) {
      if (err instanceof ReplicateUnsupportedError) {
        throw new Error(`${kind} has no CLUSTER REPLICATE yet: the failover benchmark needs the replication stage`);
      }
      throw err;
    }
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const victim = layout.masterPorts[victimIndex % MASTERS];
    const replica = [...layout.replicaOf].find(([, m]) => m === victim)![0];
    const survivors = layoutPorts(layout).filter((p) => p !== victim);
    const key = await keyServedBy(victim);
    const replicaId = (await viewOf(replica, POLL_CALL_TIMEOUT_MS)).id;
    const victimProc = procs.get(victim)!;

    const t0 = performance.now();
    Deno.kill(victimProc.pid, "SIGKILL");
    await victimProc.child.status;
    procs.delete(victim);

    const promoted = timeUntil(`${kind}: replica ${replica} of ${victim} promoted`, t0, async () => {
      return (await viewOf(replica, POLL_CALL_TIMEOUT_MS)).role === "master";
    });
    const allOk = timeUntil(`${kind}: cluster_state:ok with ${replica} owning the slots`, t0, async () => {
      const views = await Promise.all(survivors.map((p) => viewOf(p, POLL_CALL_TIMEOUT_MS)));
      return views.every((v) =>
        v.state === "ok" && v.nodes.some((l) => l.id === replicaId && l.flags.includes("master") && l.slots.length > 0)
      );
    });
    const write = timeUntil(`${kind}: SET ${key} on ${replica}`, t0, async () => {
      return await callWithin(replica, POLL_CALL_TIMEOUT_MS, "SET", key, "after-failover") === "OK";
    });
    const [promotedMs, allOkMs, writeMs] = await Promise.all([promoted, allOk, write]);
    return { promotedMs, allOkMs, writeMs };
  } finally {
    await Promise.all([...procs.values()].map((p) => p.stop()));
    for (const dir of dirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function startStandalone(kind: FailoverServer, extra: string[], dirs: string[]): Promise<ServerProcess> {
  const args = [...COMMON_ARGS, "--enable-debug-command", "yes", ...extra];
  if (kind === "redis-server") return await startRedis(args);
  const dir = await Deno.makeTempDir({ prefix: "tessera-sync-" });
  dirs.push(dir);
  return await startTessera([...args, "--dir", dir]);
}

/** Milliseconds for a fresh replica to reach master_link_status:up from a master holding `keys` keys. */
export async function measureFullSync(kind: FailoverServer, keys: number, extra: string[]): Promise<number> {
  const dirs: string[] = [];
  const procs: ServerProcess[] = [];
  try {
    const master = await startStandalone(kind, extra, dirs);
    procs.push(master);
    const populated = await callWithin(master.port, SYNC_TIMEOUT_MS, "DEBUG", "POPULATE", `${keys}`);
    if (populated instanceof RespError) throw new Error(`${kind}: DEBUG POPULATE: ${populated.message}`);
    const replica = await startStandalone(kind, extra, dirs);
    procs.push(replica);
    const t0 = performance.now();
    const reply = await callWithin(replica.port, POLL_CALL_TIMEOUT_MS, "REPLICAOF", "127.0.0.1", `${master.port}`);
    if (reply instanceof RespError) {
      throw new Error(`${kind}: REPLICAOF failed (${reply.message}): the sync benchmark needs the replication stage`);
    }
    for (;;) {
      try {
        const info = await callWithin(replica.port, POLL_CALL_TIMEOUT_MS, "INFO", "replication");
        if (parseInfoFields(String(info)).master_link_status === "up") break;
      } catch {
        // busy loading: look again
      }
      if (performance.now() - t0 > SYNC_TIMEOUT_MS) {
        throw new Error(`${kind}: the replica did not reach master_link_status:up within ${SYNC_TIMEOUT_MS} ms`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const ms = performance.now() - t0;
    const size = await callWithin(replica.port, POLL_CALL_TIMEOUT_MS, "DBSIZE");
    if (size !== keys) throw new Error(`${kind}: the replica holds ${size} keys after the sync, not ${keys}`);
    return ms;
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    for (const dir of dirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
