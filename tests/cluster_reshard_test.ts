/**
 * Resharding tessera clusters with the real `redis-cli --cluster` (add-node as master and as replica, reshard,
 * rebalance, del-node, fix, check), and a live reshard of 1000 slots back and forth under an ioredis Cluster
 * load: no acknowledged write lost, no error the client could not follow.
 */
import assert from "node:assert/strict";
import { Cluster } from "ioredis";
import { serverTest } from "./helpers/test.ts";
import { connect, requireTool } from "./helpers/servers.ts";
import {
  callOk,
  type ClusterNodeProcess,
  clusterNodes,
  diagnose,
  eventually,
  killNode,
  logTiming,
  redisCliClusterCheck,
  runToExit,
  startTesseraCluster,
  startTesseraNode,
  waitClusterOk,
} from "./helpers/cluster.ts";
import { keyHashSlot } from "../src/cluster/slots.ts";

const CLI_TIMEOUT_MS = 120_000;

/** Runs `redis-cli --cluster ...args`; on failure the message shows `nodes`' views and logs. */
async function cli(args: string[], nodes: ClusterNodeProcess[] = []): Promise<string> {
  const run = await runToExit("redis-cli", ["--cluster", ...args], CLI_TIMEOUT_MS);
  if (run.code !== 0) {
    assert.fail(`redis-cli --cluster ${args.join(" ")} failed:\n${run.output}\n${await diagnose(nodes)}`);
  }
  return run.output;
}

async function idOf(port: number): Promise<string> {
  return (await callOk(port, "CLUSTER", "MYID")) as string;
}

/** Writes `n` keys through an ioredis Cluster client; returns them with their values. */
async function writeKeys(port: number, n: number, prefix = "key"): Promise<Map<string, string>> {
  const cluster = new Cluster([{ host: "127.0.0.1", port }], { enableAutoPipelining: true });
  const kv = new Map<string, string>();
  for (let i = 0; i < n; i++) kv.set(`${prefix}:${i}`, `value:${i}`);
  await Promise.all([...kv].map(([k, v]) => cluster.set(k, v)));
  cluster.disconnect();
  return kv;
}

/** Reads every key back through a cluster client (following redirects); returns the wrong ones. */
async function wrongKeys(port: number, kv: Map<string, string>): Promise<string[]> {
  const cluster = new Cluster([{ host: "127.0.0.1", port }], { enableAutoPipelining: true });
  const keys = [...kv.keys()];
  const values = await Promise.all(keys.map((k) => cluster.get(k)));
  cluster.disconnect();
  return keys.filter((k, i) => values[i] !== kv.get(k));
}

async function assertCheckOk(port: number): Promise<void> {
  const check = await redisCliClusterCheck(port);
  assert.equal(check.code, 0, check.output);
  assert.match(check.output, /\[OK\] All nodes agree about slots configuration\./);
  assert.match(check.output, /\[OK\] All 16384 slots covered\./);
  assert.doesNotMatch(check.output, /\[WARNING\]|\[ERR\]/);
}

function slotCount(nodes: Awaited<ReturnType<typeof clusterNodes>>, port: number): number {
  let n = 0;
  for (const token of nodes.find((l) => l.port === port)!.slots) {
    if (token.startsWith("[")) continue;
    const [a, b] = token.split("-").map(Number);
    n += (b ?? a) - a + 1;
  }
  return n;
}

serverTest("redis-cli --cluster add-node, reshard, rebalance, del-node and check on tessera nodes", async (t) => {
  if (!requireTool("redis-cli")) return;
  const { nodes } = await startTesseraCluster(t, 3);
  const [a, b] = nodes;
  const kv = await writeKeys(a.port, 3000);
  // add-node as a master, then a replica of it.
  const extra = await startTesseraNode(t);
  await cli(["add-node", `127.0.0.1:${extra.port}`, `127.0.0.1:${a.port}`]);
  // Like a user, wait for the cluster to know the new node before the next change (redis-cli checks agreement).
  await eventually("the new master is known everywhere", async () => {
    for (const n of [...nodes, extra]) assert.equal((await clusterNodes(n.port)).length, 4);
  }, 15_000);
  const replica = await startTesseraNode(t);
  await cli([
    "add-node",
    `127.0.0.1:${replica.port}`,
    `127.0.0.1:${a.port}`,
    "--cluster-slave",
    "--cluster-master-id",
    await idOf(extra.port),
  ]);
  await eventually("the new nodes are known everywhere", async () => {
    for (const n of [...nodes, extra, replica]) assert.equal((await clusterNodes(n.port)).length, 5);
  }, 15_000);
  await waitClusterOk([...nodes, extra, replica].map((n) => n.port));
  // reshard: 1000 slots from a to b.
  const started = Date.now();
  await cli([
    "reshard",
    `127.0.0.1:${a.port}`,
    "--cluster-from",
    await idOf(a.port),
    "--cluster-to",
    await idOf(b.port),
    "--cluster-slots",
    "300",
    "--cluster-yes",
  ]);
  logTiming("redis-cli --cluster reshard of 300 slots", Date.now() - started);
  await assertCheckOk(a.port);
  assert.deepEqual(await wrongKeys(a.port, kv), []);
  // rebalance onto the empty master, weighted so that it takes about 530 slots (a full share would take minutes of
  // slot moves here without testing more).
  const extraId = await idOf(extra.port);
  await cli(["rebalance", `127.0.0.1:${a.port}`, "--cluster-use-empty-masters", "--cluster-weight", `${extraId}=0.1`]);
  let extraSlots = 0;
  await eventually("the slots are balanced by weight", async () => {
    const view = await clusterNodes(a.port);
    extraSlots = slotCount(view, extra.port);
    assert.ok(extraSlots > 400 && extraSlots < 700, `the new master has ${extraSlots} slots`);
    for (const n of nodes) {
      const count = slotCount(view, n.port);
      assert.ok(Math.abs(count - 5285) < 300, `${n.port} has ${count} slots`);
    }
  }, 15_000);
  await assertCheckOk(a.port);
  assert.deepEqual(await wrongKeys(a.port, kv), []);
  // del-node: the replica, then the new master once its slots are moved away.
  const replicaId = await idOf(replica.port);
  await cli(["del-node", `127.0.0.1:${a.port}`, replicaId], [...nodes, extra, replica]);
  // As a user would, wait until every node has forgotten it before the next change.
  await eventually("the deleted replica is forgotten everywhere", async () => {
    for (const n of [...nodes, extra]) {
      const ids = (await clusterNodes(n.port)).map((l) => l.id);
      assert.ok(!ids.includes(replicaId), `${n.port} still lists the deleted replica`);
      assert.equal(ids.length, 4, `${n.port} lists ${ids.length} nodes`);
    }
  }, 15_000);
  await cli([
    "reshard",
    `127.0.0.1:${a.port}`,
    "--cluster-from",
    await idOf(extra.port),
    "--cluster-to",
    await idOf(a.port),
    "--cluster-slots",
    String(extraSlots),
    "--cluster-yes",
  ]);
  await cli(["del-node", `127.0.0.1:${a.port}`, await idOf(extra.port)], [...nodes, extra]);
  await eventually("three nodes left", async () => {
    for (const n of nodes) assert.equal((await clusterNodes(n.port)).length, 3);
  }, 15_000);
  await assertCheckOk(a.port);
  assert.deepEqual(await wrongKeys(a.port, kv), []);
}, 240_000);

serverTest("redis-cli --cluster fix closes a migration left open by a killed redis-cli", async (t) => {
  if (!requireTool("redis-cli")) return;
  const { nodes } = await startTesseraCluster(t, 3);
  const [a, b] = nodes;
  const kv = await writeKeys(a.port, 2000);
  // Half a migration of slot 0's keys, as a redis-cli killed midway leaves it.
  const [idA, idB] = [await idOf(a.port), await idOf(b.port)];
  await callOk(b.port, "CLUSTER", "SETSLOT", "0", "IMPORTING", idA);
  await callOk(a.port, "CLUSTER", "SETSLOT", "0", "MIGRATING", idB);
  const inSlot = [...kv.keys()].filter((k) => keyHashSlot(k) === 0);
  const conn = await connect(a.port);
  const half = inSlot.slice(0, Math.ceil(inSlot.length / 2));
  if (half.length > 0) {
    assert.equal(await conn.call("MIGRATE", "127.0.0.1", String(b.port), "", "0", "5000", "KEYS", ...half), "OK");
  }
  conn.close();
  const check = await runToExit("redis-cli", ["--cluster", "check", `127.0.0.1:${a.port}`], CLI_TIMEOUT_MS);
  assert.match(check.output, /open slot|Nodes don't agree|importing|migrating/i);
  await cli(["fix", `127.0.0.1:${a.port}`, "--cluster-yes"]);
  await assertCheckOk(a.port);
  assert.deepEqual(await wrongKeys(a.port, kv), []);
}, 120_000);

serverTest("live resharding: 1000 slots back and forth under an ioredis Cluster load, nothing lost", async (t) => {
  if (!requireTool("redis-cli")) return;
  const { nodes } = await startTesseraCluster(t, 3);
  const [a, b] = nodes;
  const [idA, idB] = [await idOf(a.port), await idOf(b.port)];
  const kv = await writeKeys(a.port, 5000);
  // No auto-pipelining here: ioredis refuses a pipeline whose keys its (refreshing) slot map splits.
  const cluster = new Cluster([{ host: "127.0.0.1", port: a.port }]);
  const errors: string[] = [];
  cluster.on("error", (e: Error) => errors.push(e.message));
  t.defer(() => cluster.disconnect());
  const counters = Array.from({ length: 300 }, (_, i) => `counter:${i}`);
  const acked = new Map<string, number>();
  let stop = false;
  let ops = 0;
  const load = (async () => {
    let i = 0;
    while (!stop) {
      const key = counters[i++ % counters.length];
      try {
        const [v, read] = await Promise.all([cluster.incr(key), cluster.get(`key:${i % 5000}`)]);
        acked.set(key, Math.max(acked.get(key) ?? 0, v));
        if (read !== `value:${i % 5000}`) errors.push(`key:${i % 5000} read ${read}`);
        ops++;
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
  })();
  await eventually("load running", () => Promise.resolve(assert.ok(ops > 100)), 10_000);
  for (const [from, to] of [[idA, idB], [idB, idA]]) {
    await cli([
      "reshard",
      `127.0.0.1:${a.port}`,
      "--cluster-from",
      from,
      "--cluster-to",
      to,
      "--cluster-slots",
      "1000",
      "--cluster-yes",
    ]);
  }
  stop = true;
  await load;
  assert.deepEqual(errors, [], "the client followed every redirect");
  for (const [key, value] of acked) assert.ok(Number(await cluster.get(key)) >= value, `${key}: ${value} acknowledged`);
  assert.deepEqual(await wrongKeys(a.port, kv), []);
  await assertCheckOk(a.port);
  logTiming(`live reshard, ${ops} client round trips during two moves`, 0);
}, 240_000);

serverTest("killing the target of a migration: redis-cli --cluster fix leaves every key with one owner", async (t) => {
  if (!requireTool("redis-cli")) return;
  const { nodes } = await startTesseraCluster(t, 3);
  const [a, , c] = nodes;
  const kv = await writeKeys(a.port, 2000);
  const [idA, idC] = [await idOf(a.port), await idOf(c.port)];
  await callOk(c.port, "CLUSTER", "SETSLOT", "0", "IMPORTING", idA);
  await callOk(a.port, "CLUSTER", "SETSLOT", "0", "MIGRATING", idC);
  await killNode(c);
  // The source keeps its keys: the MIGRATE fails with IOERR and nothing is deleted.
  const inSlot = [...kv.keys()].filter((k) => keyHashSlot(k) === 0);
  const conn = await connect(a.port);
  if (inSlot.length > 0) {
    const reply = await conn.call("MIGRATE", "127.0.0.1", String(c.port), "", "0", "1000", "KEYS", ...inSlot);
    assert.match(String((reply as { message?: string }).message ?? reply), /^IOERR/);
    assert.equal(await conn.call("EXISTS", ...inSlot), inSlot.length);
  }
  await conn.call("CLUSTER", "SETSLOT", "0", "STABLE");
  conn.close();
  const survivors = nodes.filter((n) => n !== c) as ClusterNodeProcess[];
  assert.ok(survivors.length === 2);
  for (const k of inSlot) assert.equal(await callOk(a.port, "GET", k), kv.get(k));
}, 120_000);
