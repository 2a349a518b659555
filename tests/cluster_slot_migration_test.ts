/**
 * Atomic slot migration (CLUSTER MIGRATESLOTS, tessera only) with real processes: every type moves with its
 * TTL, the whole cluster agrees on the new owner, clients never see ASK; an ioredis Cluster client writing
 * all along loses nothing while 1000 slots go back and forth; a crash of the target or of the source before
 * the handoff leaves every slot with its old owner and the target without copies.
 */
import assert from "node:assert/strict";
import { Cluster } from "ioredis";
import { serverTest, type ServerTestContext } from "./helpers/test.ts";
import { connect, requireTool } from "./helpers/servers.ts";
import {
  callOk,
  type ClusterNodeProcess,
  clusterNodes,
  eventually,
  killNode,
  logTiming,
  startTesseraCluster,
} from "./helpers/cluster.ts";
import { keyHashSlot } from "../src/cluster/slots.ts";
import { RespError } from "../src/resp/reply_parser.ts";

const MOVED_RANGE = { start: 0, end: 999 };

/** Three masters; returns them ordered by their first slot (the first owns 0-5460). */
async function threeMasters(t: ServerTestContext, args: string[] = []): Promise<ClusterNodeProcess[]> {
  const { nodes } = await startTesseraCluster(t, 3, { args: ["--enable-debug-command", "yes", ...args] });
  const lines = await clusterNodes(nodes[0].port);
  const first = (port: number) => Number(lines.find((l) => l.port === port)!.slots[0].split("-")[0]);
  return nodes.sort((a, b) => first(a.port) - first(b.port));
}

/** Keys (one per slot of `range`, several types) written on `port`. */
async function fill(port: number, range: { start: number; end: number }, perSlot = 1): Promise<string[]> {
  const c = await connect(port);
  const keys: string[] = [];
  for (let i = 0; keys.length < (range.end - range.start + 1) * perSlot; i++) {
    const key = `k${i}`;
    const slot = keyHashSlot(key);
    if (slot < range.start || slot > range.end) continue;
    keys.push(key);
    switch (i % 5) {
      case 0:
        await c.call("SET", key, `v${i}`, "PX", "600000");
        break;
      case 1:
        await c.call("RPUSH", key, "a", "b", String(i));
        break;
      case 2:
        await c.call("HSET", key, "f", String(i), "g", "x".repeat(100));
        break;
      case 3:
        await c.call("SADD", key, "1", "2", String(i));
        break;
      default:
        await c.call("ZADD", key, "1", "a", String(i), "b");
    }
  }
  c.close();
  return keys;
}

async function idOf(port: number): Promise<string> {
  return (await callOk(port, "CLUSTER", "MYID")) as string;
}

/** Waits until the export job on `port` ended; returns its state. */
async function exportEnded(port: number, timeoutMs = 30_000): Promise<string> {
  const { value } = await eventually("the migration ended", async () => {
    const jobs = (await callOk(port, "CLUSTER", "GETSLOTMIGRATIONS")) as string[][];
    const job = jobs.find((j) => j[3] === "EXPORT");
    assert.ok(job !== undefined && !["connecting", "snapshot", "handoff"].includes(job[9]), JSON.stringify(jobs));
    return job[9];
  }, timeoutMs);
  return value;
}

async function ownerOf(port: number, slot: number): Promise<number> {
  const lines = await clusterNodes(port);
  for (const l of lines) {
    for (const token of l.slots) {
      const [lo, hi] = token.split("-").map(Number);
      if (slot >= lo && slot <= (hi ?? lo) && !token.startsWith("[")) return l.port;
    }
  }
  return -1;
}

function askErrors(info: string): number {
  const m = info.match(/^errorstat_ASK:count=(\d+)/m);
  return m === null ? 0 : Number(m[1]);
}

serverTest("atomic slot migration moves every type with its TTL; all nodes agree; no ASK", async (t) => {
  if (!requireTool("redis-cli")) return;
  const [a, b, c] = await threeMasters(t);
  const keys = await fill(a.port, MOVED_RANGE);
  const digests = (await callOk(a.port, "DEBUG", "DIGEST-VALUE", ...keys)) as string[];
  const ttls = await Promise.all(keys.map((k) => callOk(a.port, "PTTL", k)));
  const started = Date.now();
  assert.equal(
    await callOk(a.port, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", "999", "NODE", await idOf(b.port)),
    "OK",
  );
  assert.equal(await exportEnded(a.port), "success");
  logTiming(`atomic migration of 1000 slots, ${keys.length} keys`, Date.now() - started);
  for (const node of [a, b, c]) {
    await eventually(`node ${node.port} sees the new owner`, async () => {
      assert.equal(await ownerOf(node.port, 0), b.port);
      assert.equal(await ownerOf(node.port, 999), b.port);
      assert.equal(await ownerOf(node.port, 1000), a.port);
    }, 10_000);
  }
  assert.deepEqual(await callOk(b.port, "DEBUG", "DIGEST-VALUE", ...keys), digests);
  const moved = await Promise.all(keys.map((k) => callOk(b.port, "PTTL", k)));
  assert.ok(ttls.some((ttl) => (ttl as number) > 0), "some keys have a TTL");
  for (let i = 0; i < keys.length; i++) {
    assert.equal(moved[i] === -1, ttls[i] === -1, `${keys[i]}: TTL ${ttls[i]} -> ${moved[i]}`);
    if (ttls[i] !== -1) assert.ok(Math.abs((moved[i] as number) - (ttls[i] as number)) < 5000);
  }
  assert.equal(await callOk(a.port, "CLUSTER", "COUNTKEYSINSLOT", String(keyHashSlot(keys[0]))), 0);
  const redirect = await connect(a.port).then(async (conn) => {
    const reply = await conn.call("GET", keys[0]);
    conn.close();
    return reply;
  });
  assert.ok(redirect instanceof RespError && redirect.message.startsWith(`MOVED ${keyHashSlot(keys[0])} `));
  for (const node of [a, b, c]) assert.equal(askErrors((await callOk(node.port, "INFO", "errorstats")) as string), 0);
  // Errors as the command states them.
  const err = await connect(a.port).then(async (conn) => {
    const replies = [
      await conn.call("CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", "10", "NODE", await idOf(b.port)),
      await conn.call("CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "2000", "1000", "NODE", await idOf(b.port)),
      await conn.call("CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "1000", "1001", "NODE", "nosuchnode"),
      await conn.call("CLUSTER", "MIGRATESLOTS", "SLOTS", "1000", "1001", "NODE", await idOf(b.port)),
    ];
    conn.close();
    return replies.map((r) => (r as RespError).message);
  });
  assert.deepEqual(err, [
    "ERR I'm not the owner of hash slot 0",
    "ERR Invalid or out of range slot",
    "ERR Unknown node nosuchnode",
    "ERR syntax error",
  ]);
}, 90_000);

serverTest(
  "atomic slot migration under an ioredis Cluster write load: 1000 slots back and forth, nothing lost",
  async (t) => {
    if (!requireTool("redis-cli")) return;
    const [a, b] = await threeMasters(t);
    const [idA, idB] = [await idOf(a.port), await idOf(b.port)];
    const counters = Array.from({ length: 400 }, (_, i) => `{c${i}}`).filter((k) => keyHashSlot(k) <= 2000);
    assert.ok(counters.filter((k) => keyHashSlot(k) <= MOVED_RANGE.end).length >= 10, "counters in the moving slots");
    const cluster = new Cluster([{ host: "127.0.0.1", port: a.port }], { enableAutoPipelining: true });
    const errors: string[] = [];
    cluster.on("error", (e: Error) => errors.push(e.message));
    t.defer(() => cluster.disconnect());
    const acked = new Map<string, number>();
    let stop = false;
    const writer = (async () => {
      let i = 0;
      while (!stop) {
        const key = counters[i++ % counters.length];
        try {
          const v = await cluster.incr(key);
          acked.set(key, Math.max(acked.get(key) ?? 0, v));
          await cluster.get(key);
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
    })();
    await eventually("writes flowing", () => Promise.resolve(assert.ok(acked.size > 10)), 10_000);
    for (let round = 0; round < 3; round++) {
      for (const [from, to] of [[a, idB], [b, idA]] as const) {
        assert.equal(await callOk(from.port, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", "999", "NODE", to), "OK");
        assert.equal(await exportEnded(from.port), "success");
        // Every node must know the new owner before the next move starts from it.
        await eventually("owner agreed", async () => {
          for (const n of [a, b]) assert.equal(await ownerOf(n.port, 0), from === a ? b.port : a.port);
        }, 10_000);
      }
    }
    stop = true;
    await writer;
    assert.deepEqual(errors, [], "the client saw no error");
    for (const [key, value] of acked) {
      assert.ok(Number(await cluster.get(key)) >= value, `${key}: acknowledged ${value}`);
    }
    for (const n of [a, b]) assert.equal(askErrors((await callOk(n.port, "INFO", "errorstats")) as string), 0);
  },
  120_000,
);

serverTest("a crash of the target or the source during an atomic migration leaves no half-migrated slot", async (t) => {
  if (!requireTool("redis-cli")) return;
  // Slow snapshots (2 ms a key) so the crash lands in the middle.
  const [a, b, c] = await threeMasters(t, ["--cluster-slot-migration-key-delay-us", "2000"]);
  const keys = await fill(a.port, MOVED_RANGE, 2);
  // The target dies: the source keeps the slots and every key.
  assert.equal(
    await callOk(a.port, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", "999", "NODE", await idOf(c.port)),
    "OK",
  );
  await new Promise((r) => setTimeout(r, 500));
  await killNode(c);
  assert.equal(await exportEnded(a.port), "failed");
  assert.equal(await ownerOf(a.port, 0), a.port);
  const present = await callOk(a.port, "EXISTS", ...keys.filter((k) => keyHashSlot(k) === keyHashSlot(keys[0])));
  assert.ok((present as number) > 0);
  let total = 0;
  for (let slot = 0; slot <= 999; slot++) {
    total += (await callOk(a.port, "CLUSTER", "COUNTKEYSINSLOT", String(slot))) as number;
  }
  assert.equal(total, keys.length, "every key still on the source");
  // The source dies: the target drops its copies and never owns the slots.
  assert.equal(
    await callOk(a.port, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", "999", "NODE", await idOf(b.port)),
    "OK",
  );
  await eventually(
    "copies arriving on the target",
    async () => {
      const n = (await callOk(b.port, "CLUSTER", "COUNTKEYSINSLOT", String(keyHashSlot(keys[0])))) as number;
      assert.ok(n > 0 || (await callOk(b.port, "DBSIZE")) as number > 0);
    },
    10_000,
    20,
  );
  await killNode(a);
  await eventually("the target dropped its copies", async () => {
    const jobs = (await callOk(b.port, "CLUSTER", "GETSLOTMIGRATIONS")) as string[][];
    assert.equal(jobs.find((j) => j[3] === "IMPORT")?.[9], "failed", JSON.stringify(jobs));
    let copies = 0;
    for (let slot = 0; slot <= 999; slot += 37) {
      copies += (await callOk(b.port, "CLUSTER", "COUNTKEYSINSLOT", String(slot))) as number;
    }
    assert.equal(copies, 0);
  }, 10_000);
  assert.notEqual(await ownerOf(b.port, 0), b.port);
}, 120_000);
