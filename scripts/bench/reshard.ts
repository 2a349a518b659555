/**
 * Resharding benchmarks, tessera and redis-server side by side: a fresh cluster of 3 masters holding N small keys
 * (written to their owners), then 1000 slots moved from the first master to the second, timed from the command to
 * its end, reported as keys moved per second:
 * - `redis-cli --cluster reshard` (SETSLOT IMPORTING / MIGRATING, MIGRATE in batches, SETSLOT NODE), both kinds;
 * - tessera's atomic CLUSTER MIGRATESLOTS of the same slots (until its job says success).
 */
import { type ServerProcess, startRedis, startTessera } from "../../tests/helpers/servers.ts";
import { clusterArgs, freeClusterPort, runToExit } from "../../tests/helpers/cluster.ts";
import { keyHashSlot } from "../../src/cluster/slots.ts";
import { encodeCommand } from "../../src/resp/connection.ts";
import { createCluster } from "../cluster/create.ts";
import { callOk } from "../cluster/rpc.ts";
import { viewOf } from "../cluster/snapshot.ts";
import { Buffer } from "node:buffer";

/** Slots moved per round, as in the figure (1000 slots of a 100k-key set). */
export const RESHARD_SLOTS = 1000;
const MASTERS = 3;
const CREATE_TIMEOUT_MS = 60_000;
const RESHARD_TIMEOUT_MS = 600_000;
/** Keys written per pipelined batch while loading. */
const LOAD_BATCH = 1000;
const COMMON_ARGS = ["--save", "", "--appendonly", "no", "--cluster-node-timeout", "5000"];

/** Which way the slots move. */
export type ReshardMethod = "redis-cli reshard" | "MIGRATESLOTS";

/** One timed move. */
export interface ReshardResult {
  keys: number;
  ms: number;
}

async function startNode(kind: "tessera" | "redis-server", port: number, dirs: string[]): Promise<ServerProcess> {
  if (kind === "redis-server") return await startRedis(["--cluster-enabled", "yes", ...COMMON_ARGS], { port });
  const dir = await Deno.makeTempDir({ prefix: "tessera-reshard-" });
  dirs.push(dir);
  return await startTessera(clusterArgs(port, dir, 5000, COMMON_ARGS), { port });
}

/** Writes `keys` small keys, each to the master that owns its slot (pipelined). */
async function load(ports: number[], keys: number): Promise<void> {
  const owner: number[] = new Array(16384);
  for (const port of ports) {
    const view = await viewOf(port, 2000);
    for (const token of view.slots) {
      const [a, b] = token.split("-").map(Number);
      for (let s = a; s <= (b ?? a); s++) owner[s] = port;
    }
  }
  const batches = new Map<number, string[][]>(ports.map((p) => [p, []]));
  const flush = async (port: number) => {
    const cmds = batches.get(port)!;
    if (cmds.length === 0) return;
    batches.set(port, []);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(Buffer.concat(cmds.map(encodeCommand)));
    // Each reply is +OK (5 bytes): read them all back.
    let left = cmds.length * 5;
    const buf = new Uint8Array(65536);
    while (left > 0) {
      const n = await conn.read(buf);
      if (n === null) throw new Error(`port ${port} closed while loading`);
      left -= n;
    }
    conn.close();
  };
  for (let i = 0; i < keys; i++) {
    const key = `key:${i}`;
    const port = owner[keyHashSlot(key)];
    batches.get(port)!.push(["SET", key, `value:${i}`]);
    if (batches.get(port)!.length >= LOAD_BATCH) await flush(port);
  }
  for (const port of ports) await flush(port);
}

async function keysIn(port: number, from: number, to: number): Promise<number> {
  let n = 0;
  for (let slot = from; slot <= to; slot++) n += Number(await callOk(port, "CLUSTER", "COUNTKEYSINSLOT", String(slot)));
  return n;
}

/** One round: a fresh cluster of `kind`, `keys` keys, 1000 slots moved from master 0 to master 1 by `method`. */
export async function measureReshard(
  kind: "tessera" | "redis-server",
  method: ReshardMethod,
  keys: number,
): Promise<ReshardResult> {
  const procs: ServerProcess[] = [];
  const dirs: string[] = [];
  try {
    const ports = Array.from({ length: MASTERS }, () => freeClusterPort());
    for (const port of ports) procs.push(await startNode(kind, port, dirs));
    await createCluster({ masterPorts: ports, replicaOf: new Map() }, {
      host: "127.0.0.1",
      timeoutMs: CREATE_TIMEOUT_MS,
      progress: () => {},
    });
    await load(ports, keys);
    const [from, to] = [await viewOf(ports[0], 2000), await viewOf(ports[1], 2000)];
    // Master 0 serves 0-5460: redis-cli takes the first 1000 of its slots, MIGRATESLOTS gets them named.
    const moving = await keysIn(ports[0], 0, RESHARD_SLOTS - 1);
    const t0 = performance.now();
    if (method === "redis-cli reshard") {
      const run = await runToExit("redis-cli", [
        "--cluster",
        "reshard",
        `127.0.0.1:${ports[0]}`,
        "--cluster-from",
        from.id,
        "--cluster-to",
        to.id,
        "--cluster-slots",
        String(RESHARD_SLOTS),
        "--cluster-yes",
      ], RESHARD_TIMEOUT_MS);
      if (run.code !== 0) throw new Error(`redis-cli --cluster reshard failed:\n${run.output.slice(-2000)}`);
    } else {
      await callOk(ports[0], "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", String(RESHARD_SLOTS - 1), "NODE", to.id);
      for (;;) {
        const jobs = await callOk(ports[0], "CLUSTER", "GETSLOTMIGRATIONS") as string[][];
        const state = jobs[0]?.[9];
        if (state === "success") break;
        if (state === "failed" || state === "cancelled") throw new Error(`MIGRATESLOTS ${state}: ${jobs[0][11]}`);
        if (performance.now() - t0 > RESHARD_TIMEOUT_MS) throw new Error("MIGRATESLOTS did not finish");
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const ms = performance.now() - t0;
    const arrived = await keysIn(ports[1], 0, RESHARD_SLOTS - 1);
    if (arrived !== moving) throw new Error(`${moving} keys in the moved slots, ${arrived} arrived`);
    return { keys: moving, ms };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    for (const dir of dirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
