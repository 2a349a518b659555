/**
 * Replication inside a cluster of real tessera processes built by `redis-cli --cluster create
 * --cluster-replicas 1`: replicas hold their master's data, and a manual CLUSTER FAILOVER under a
 * continuous write load loses no acknowledged write.
 */
import assert from "node:assert/strict";
import { serverTest, type ServerTestContext } from "./helpers/test.ts";
import { connect, requireTool } from "./helpers/servers.ts";
import {
  call,
  callOk,
  type ClusterNodeProcess,
  clusterNodes,
  diagnose,
  eventually,
  type NodesLine,
  redisCliClusterCheck,
  startReplicatedCluster,
  startTesseraNode,
} from "./helpers/cluster.ts";
import { keyHashSlot } from "../src/cluster/slots.ts";
import { RespError } from "../src/resp/reply_parser.ts";

const NODE_TIMEOUT_MS = 2000;
const NODE_ARGS = ["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"];

/** Six tessera nodes made 3 masters + 3 replicas by redis-cli. */
function startReplicated(t: ServerTestContext): Promise<ClusterNodeProcess[]> {
  return startReplicatedCluster(t, (t) => startTesseraNode(t, { nodeTimeoutMs: NODE_TIMEOUT_MS, args: NODE_ARGS }));
}

/** A key whose slot the master `line` serves. */
function keyServedBy(line: NodesLine, prefix: string): string {
  const [lo, hi] = line.slots[0].split("-").map(Number);
  for (let i = 0;; i++) {
    const key = `${prefix}${i}`;
    const slot = keyHashSlot(key);
    if (slot >= lo && slot <= (hi ?? lo)) return key;
  }
}

serverTest("redis-cli --cluster create --cluster-replicas 1: replicas hold their master's data", async (t) => {
  if (!requireTool("redis-cli")) return;
  const nodes = await startReplicated(t);
  const lines = await clusterNodes(nodes[0].port);
  const masters = lines.filter((l) => l.flags.includes("master"));
  for (const m of masters) {
    const c = await connect(m.port);
    for (let i = 0; i < 200; i++) {
      const key = keyServedBy(m, `k${i}:`);
      await c.call("SET", key, `v${i}`);
      await c.call("RPUSH", `{${key}}:list`, "a", "b");
    }
    assert.equal(await c.call("WAIT", "1", "5000"), 1, "WAIT 1 after writes");
    c.close();
  }
  for (const r of lines.filter((l) => l.flags.includes("slave"))) {
    const master = masters.find((m) => m.id === r.master)!;
    await eventually(`replica ${r.port} equals master ${master.port}`, async () => {
      assert.equal(await callOk(r.port, "DEBUG", "DIGEST"), await callOk(master.port, "DEBUG", "DIGEST"));
    }, 10_000);
    const key = keyServedBy(master, "k0:");
    const moved = await call(r.port, "GET", key);
    assert.ok(moved instanceof RespError && moved.message.startsWith("MOVED "), "a replica redirects reads by default");
    const c = await connect(r.port);
    await c.call("READONLY");
    assert.equal(await c.call("GET", key), "v0", "READONLY reads on the replica");
    c.close();
  }
  const check = await redisCliClusterCheck(nodes[0].port);
  assert.equal(check.code, 0, check.output);
  assert.match(check.output, /\[OK\] All 16384 slots covered/);
}, 120_000);

serverTest("CLUSTER FAILOVER under a continuous write load loses no acknowledged write", async (t) => {
  if (!requireTool("redis-cli")) return;
  const nodes = await startReplicated(t);
  const lines = await clusterNodes(nodes[0].port);
  const master = lines.find((l) => l.flags.includes("master"))!;
  const replica = lines.find((l) => l.master === master.id)!;
  const key = keyServedBy(master, "counter:");
  let acked = 0;
  let redirects = 0;
  let stop = false;
  let port = master.port;
  const writer = (async () => {
    while (!stop) {
      const conn = await connect(port);
      try {
        while (!stop) {
          const reply = await conn.call("INCR", key);
          if (reply instanceof RespError) {
            // MOVED after the handover (or a brief CLUSTERDOWN / TRYAGAIN): follow it, nothing was written.
            const m = reply.message.match(/^MOVED \d+ [^:]+:(\d+)$/);
            if (m !== null) {
              port = Number(m[1]);
              redirects++;
              break;
            }
            await new Promise((r) => setTimeout(r, 20));
            continue;
          }
          acked++;
          assert.equal(reply, acked, "each INCR acknowledges the next value");
        }
      } finally {
        conn.close();
      }
    }
  })();
  writer.catch(() => {}); // handled: awaited below, or reported by the catch
  try {
    await eventually("writes flowing", () => Promise.resolve(assert.ok(acked > 200)), 10_000);
    assert.equal(await callOk(replica.port, "CLUSTER", "FAILOVER"), "OK");
    await eventually("the replica is master", async () => {
      const me = (await clusterNodes(replica.port)).find((l) => l.flags.includes("myself"))!;
      assert.ok(me.flags.includes("master"), me.flags.join(","));
    }, 15_000);
    await eventually("writes reach the new master", () => Promise.resolve(assert.equal(port, replica.port)), 10_000);
    const after = acked;
    await eventually("more writes after the handover", () => Promise.resolve(assert.ok(acked > after + 200)), 10_000);
  } catch (err) {
    // Stop the writer before the nodes go, and report its own failure with this one instead of as an uncaught error.
    stop = true;
    const writerError = await writer.then(() => "none", (e) => (e as Error).message);
    throw new Error(`${(err as Error).message}\nwriter: ${writerError}\n${await diagnose(nodes)}`);
  }
  stop = true;
  await writer;
  assert.equal(Number(await callOk(replica.port, "GET", key)), acked, "every acknowledged INCR is there");
  assert.ok(redirects >= 1);
  // The old master follows the new one.
  await eventually("old master replicates the new one", async () => {
    const old = (await clusterNodes(master.port)).find((l) => l.flags.includes("myself"))!;
    assert.ok(old.flags.includes("slave") && old.master === replica.id, old.flags.join(","));
    assert.equal(await callOk(master.port, "DEBUG", "DIGEST"), await callOk(replica.port, "DEBUG", "DIGEST"));
  }, 15_000);
  const c = await connect(replica.port);
  await c.call("INCR", key);
  assert.equal(await c.call("WAIT", "1", "5000"), 1, "WAIT 1 after a write on the new master");
  c.close();
}, 120_000);
