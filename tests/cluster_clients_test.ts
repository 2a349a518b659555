/**
 * Cluster clients against three tessera masters: ioredis's Cluster and node-redis's createCluster write and read
 * one key in every one of the 16384 slots; the owners then count exactly one key per slot. Also the exact MOVED
 * and CROSSSLOT replies a client gets from the wrong node.
 */
import assert from "node:assert/strict";
import { Cluster } from "ioredis";
import { createCluster } from "redis";
import { CLUSTER_SLOTS, keyHashSlot } from "../src/cluster/slots.ts";
import { connect, requireTool } from "./helpers/servers.ts";
import { serverTest, type ServerTestContext } from "./helpers/test.ts";
import {
  type ClusterNodeProcess,
  clusterNodes,
  keyPerSlot,
  logTiming,
  myId,
  pipeline,
  startTesseraCluster,
} from "./helpers/cluster.ts";

/** slot -> port of the node that owns it, from the node's own CLUSTER NODES line. */
async function ownerPorts(nodes: ClusterNodeProcess[]): Promise<number[]> {
  const owner: number[] = new Array(CLUSTER_SLOTS).fill(0);
  for (const node of nodes) {
    const id = await myId(node.port);
    const me = (await clusterNodes(node.port)).find((l) => l.id === id)!;
    for (const token of me.slots) {
      const [first, last] = token.split("-").map(Number);
      for (let slot = first; slot <= (last ?? first); slot++) owner[slot] = node.port;
    }
  }
  assert.equal(owner.indexOf(0), -1, "every slot has an owner");
  return owner;
}

/** Every owner holds exactly one key in each of its slots and none elsewhere. */
async function assertOneKeyPerSlot(nodes: ClusterNodeProcess[], owner: number[]): Promise<void> {
  for (const node of nodes) {
    const slots = [...owner.keys()].filter((slot) => owner[slot] === node.port);
    const counts = await pipeline(node.port, slots.map((slot) => ["CLUSTER", "COUNTKEYSINSLOT", String(slot)]));
    const wrong = slots.filter((_slot, i) => counts[i] !== 1);
    assert.deepEqual(wrong, [], `node ${node.port}: slots without exactly one key`);
    assert.equal((await pipeline(node.port, [["DBSIZE"]]))[0], slots.length, `DBSIZE of ${node.port}`);
  }
}

/** Starts three masters and works out the slot owners. */
async function threeMasters(t: ServerTestContext) {
  const { nodes } = await startTesseraCluster(t, 3);
  return { nodes, owner: await ownerPorts(nodes) };
}

serverTest("cluster clients: ioredis Cluster sets and gets a key in every slot", async (t) => {
  if (!requireTool("redis-cli")) return;
  const { nodes, owner } = await threeMasters(t);
  const keys = keyPerSlot();
  const cluster = new Cluster([{ host: "127.0.0.1", port: nodes[0].port }], {
    lazyConnect: true,
    enableAutoPipelining: true,
    clusterRetryStrategy: () => null,
  });
  cluster.on("error", () => {}); // failures surface through the rejected calls
  t.defer(() => cluster.disconnect());
  await cluster.connect();

  const started = Date.now();
  const sets = await Promise.all(keys.map((key, slot) => cluster.set(key, `io:${slot}`)));
  assert.deepEqual(sets.filter((reply) => reply !== "OK"), []);
  const values = await Promise.all(keys.map((key) => cluster.get(key)));
  logTiming("ioredis: 16384 SET + 16384 GET", Date.now() - started);
  const wrong = values.flatMap((value, slot) => value === `io:${slot}` ? [] : [`${keys[slot]}: ${value}`]);
  assert.deepEqual(wrong, []);
  // ioredis sent each key straight to the owner it computed; the owners agree that each slot holds one key.
  assert.equal(cluster.nodes("master").length, 3);
  await assertOneKeyPerSlot(nodes, owner);
});

serverTest("cluster clients: node-redis createCluster sets and gets a key in every slot", async (t) => {
  if (!requireTool("redis-cli")) return;
  const { nodes, owner } = await threeMasters(t);
  const keys = keyPerSlot();
  const cluster = createCluster({
    rootNodes: [{ url: `redis://127.0.0.1:${nodes[0].port}` }],
    defaults: { socket: { reconnectStrategy: false } },
  });
  cluster.on("error", () => {}); // failures surface through the rejected calls
  await cluster.connect();
  t.defer(() => cluster.destroy());

  const started = Date.now();
  // node-redis pipelines the commands issued in one tick on each node's connection.
  const sets = await Promise.all(keys.map((key, slot) => cluster.set(key, `nr:${slot}`)));
  assert.deepEqual(sets.filter((reply) => reply !== "OK"), []);
  const values = await Promise.all(keys.map((key) => cluster.get(key)));
  logTiming("node-redis: 16384 SET + 16384 GET", Date.now() - started);
  const wrong = values.flatMap((value, slot) => value === `nr:${slot}` ? [] : [`${keys[slot]}: ${value}`]);
  assert.deepEqual(wrong, []);
  assert.equal(cluster.masters.length, 3);
  await assertOneKeyPerSlot(nodes, owner);
});

serverTest("cluster clients: MOVED from the wrong node, CROSSSLOT for keys in two slots", async (t) => {
  if (!requireTool("redis-cli")) return;
  const { nodes, owner } = await threeMasters(t);
  for (const key of ["a", "b", "user:1000", "{tag}x"]) {
    const slot = keyHashSlot(key);
    for (const node of nodes) {
      const c = await connect(node.port);
      t.defer(() => c.close());
      if (node.port === owner[slot]) {
        assert.equal(await c.callRaw("SET", key, "1"), "+OK\r\n");
        assert.equal(await c.callRaw("GET", key), "$1\r\n1\r\n");
      } else {
        assert.equal(await c.callRaw("GET", key), `-MOVED ${slot} 127.0.0.1:${owner[slot]}\r\n`);
        assert.equal(await c.callRaw("SET", key, "2"), `-MOVED ${slot} 127.0.0.1:${owner[slot]}\r\n`);
      }
    }
  }
  // "a" and "b" hash to different slots: every node refuses, owner or not, before looking at ownership.
  assert.notEqual(keyHashSlot("a"), keyHashSlot("b"));
  for (const node of nodes) {
    const c = await connect(node.port);
    t.defer(() => c.close());
    assert.equal(
      await c.callRaw("MSET", "a", "1", "b", "2"),
      "-CROSSSLOT Keys in request don't hash to the same slot\r\n",
    );
    assert.equal(await c.callRaw("MGET", "a", "b"), "-CROSSSLOT Keys in request don't hash to the same slot\r\n");
  }
  // Keys sharing a hash tag share a slot: the owner serves them together.
  const tagOwner = await connect(owner[keyHashSlot("{t}a")]);
  t.defer(() => tagOwner.close());
  assert.equal(await tagOwner.callRaw("MSET", "{t}a", "1", "{t}b", "2"), "+OK\r\n");
  assert.equal(await tagOwner.callRaw("MGET", "{t}a", "{t}b"), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
});
