/**
 * Cluster benchmarks: idle gossip per node (messages and bytes per second on the bus) in a
 * 6-master cluster, and `redis-benchmark --cluster -t set,get` on 3 masters; tessera and
 * redis-server clusters of the same shape, one after the other in the same run.
 */
import { type ServerProcess, startRedis, startTessera } from "../../tests/helpers/servers.ts";
import { clusterArgs, freeClusterPort } from "../../tests/helpers/cluster.ts";
import { RespConnection } from "../../src/resp/connection.ts";
import { parseBenchmarkCsv } from "./redis_benchmark.ts";

/** Default node timeout of Redis: the ping schedule (and so the idle gossip rate) follows it. */
const NODE_TIMEOUT_MS = 15000;
/** Gossip is counted after the cluster has settled for this long. */
const SETTLE_MS = 3000;
const STATE_OK_TIMEOUT_MS = 30000;
const BUS_PORT_OFFSET = 10000;

export type ClusterServerName = "tessera" | "redis-server";

/** Idle gossip of one cluster: per-node averages. */
export interface GossipResult {
  messagesPerSecond: number;
  bytesPerSecond: number;
}

/** A running cluster of nodes of one kind. */
interface Cluster {
  ports: number[];
  procs: ServerProcess[];
  dirs: string[];
}

async function command(port: number, ...args: string[]): Promise<unknown> {
  const conn = await RespConnection.connect(port);
  try {
    return await conn.call(...args);
  } finally {
    conn.close();
  }
}

async function startCluster(kind: ClusterServerName, size: number): Promise<Cluster> {
  const cluster: Cluster = { ports: [], procs: [], dirs: [] };
  try {
    for (let i = 0; i < size; i++) {
      const port = freeClusterPort();
      const persistence = ["--save", "", "--appendonly", "no"];
      if (kind === "tessera") {
        const dir = await Deno.makeTempDir({ prefix: "tessera-bench-" });
        cluster.dirs.push(dir);
        cluster.procs.push(await startTessera([...clusterArgs(port, dir, NODE_TIMEOUT_MS), ...persistence], { port }));
      } else {
        const args = ["--cluster-enabled", "yes", "--cluster-node-timeout", String(NODE_TIMEOUT_MS), ...persistence];
        cluster.procs.push(await startRedis(args, { port }));
      }
      cluster.ports.push(port);
    }
    const create = new Deno.Command("redis-cli", {
      args: ["--cluster", "create", ...cluster.ports.map((p) => `127.0.0.1:${p}`), "--cluster-yes"],
      stdout: "piped",
      stderr: "piped",
    });
    const out = await create.output();
    if (!out.success) throw new Error(`redis-cli --cluster create failed:\n${new TextDecoder().decode(out.stdout)}`);
    const deadline = Date.now() + STATE_OK_TIMEOUT_MS;
    for (const port of cluster.ports) {
      while (!String(await command(port, "CLUSTER", "INFO")).includes("cluster_state:ok")) {
        if (Date.now() > deadline) throw new Error(`cluster_state not ok on ${port}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return cluster;
  } catch (err) {
    await stopCluster(cluster);
    throw err;
  }
}

async function stopCluster(cluster: Cluster): Promise<void> {
  await Promise.all(cluster.procs.map((p) => p.stop()));
  for (const dir of cluster.dirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/** Bus messages sent by a node so far (CLUSTER INFO cluster_stats_messages_sent). */
async function messagesSent(port: number): Promise<number> {
  const info = String(await command(port, "CLUSTER", "INFO"));
  const m = info.match(/cluster_stats_messages_sent:(\d+)/);
  return m ? Number(m[1]) : 0;
}

/**
 * Bytes sent on bus sockets per process, from `ss -tnip` (bytes_sent of every established TCP
 * socket of that pid whose local or peer port is one of the cluster's bus ports).
 */
async function busBytesSent(pids: number[], busPorts: Set<number>): Promise<Map<string, number>> {
  const out = await new Deno.Command("ss", { args: ["-tnipH", "state", "established"], stdout: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  const bytes = new Map<string, number>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const head = lines[i].trim().split(/\s+/);
    if (head.length < 5) continue;
    const pid = Number(lines[i].match(/pid=(\d+)/)?.[1]);
    if (!pids.includes(pid)) continue;
    const local = Number(head[2].split(":").pop());
    const peer = Number(head[3].split(":").pop());
    if (!busPorts.has(local) && !busPorts.has(peer)) continue;
    const sent = Number((lines[i + 1] ?? "").match(/bytes_sent:(\d+)/)?.[1] ?? 0);
    bytes.set(`${pid} ${head[2]} ${head[3]}`, sent);
  }
  return bytes;
}

/** Idle gossip of a 6-master cluster over `seconds`. */
export async function measureIdleGossip(kind: ClusterServerName, seconds: number): Promise<GossipResult> {
  const cluster = await startCluster(kind, 6);
  try {
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const pids = cluster.procs.map((p) => p.pid);
    const busPorts = new Set(cluster.ports.map((p) => p + BUS_PORT_OFFSET));
    const sentBefore = await Promise.all(cluster.ports.map(messagesSent));
    const bytesBefore = await busBytesSent(pids, busPorts);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const elapsed = (performance.now() - t0) / 1000;
    const sentAfter = await Promise.all(cluster.ports.map(messagesSent));
    const bytesAfter = await busBytesSent(pids, busPorts);
    let messages = 0;
    for (let i = 0; i < sentAfter.length; i++) messages += sentAfter[i] - sentBefore[i];
    let bytes = 0;
    // Sockets that lived through the window (bus links are long-lived when idle).
    for (const [key, after] of bytesAfter) bytes += after - (bytesBefore.get(key) ?? after);
    const nodes = cluster.ports.length;
    return { messagesPerSecond: messages / elapsed / nodes, bytesPerSecond: bytes / elapsed / nodes };
  } finally {
    await stopCluster(cluster);
  }
}

/** `redis-benchmark --cluster -t set,get` on a 3-master cluster: requests/s of each test. */
export async function measureClusterThroughput(
  kind: ClusterServerName,
  requests: number,
  clients: number,
): Promise<Map<string, number>> {
  const cluster = await startCluster(kind, 3);
  try {
    const run = new Deno.Command("redis-benchmark", {
      args: [
        "--cluster",
        "-p",
        String(cluster.ports[0]),
        "-t",
        "set,get",
        "-n",
        String(requests),
        "-c",
        String(clients),
        "--csv",
      ],
      stdout: "piped",
      stderr: "piped",
    });
    const out = await run.output();
    const results = parseBenchmarkCsv(new TextDecoder().decode(out.stdout));
    return new Map(results.map((r) => [r.test, r.rps]));
  } finally {
    await stopCluster(cluster);
  }
}
