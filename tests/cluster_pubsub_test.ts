/**
 * Pub/sub across a cluster: PUBLISH on one node reaches subscribers on every node over the bus (also from
 * a redis-server node to a tessera subscriber and back); SSUBSCRIBE / SPUBLISH are routed to the shard
 * channel's slot owner.
 */
import assert from "node:assert/strict";
import { RespConnection } from "../src/resp/connection.ts";
import { RespError, type RespValue } from "../src/resp/reply_parser.ts";
import { keyHashSlot } from "../src/cluster/slots.ts";
import { requireTool } from "./helpers/servers.ts";
import { serverTest, type ServerTestContext } from "./helpers/test.ts";
import {
  call,
  callOk,
  clusterNodes,
  eventually,
  startRedisNode,
  startTesseraCluster,
  startTesseraNode,
} from "./helpers/cluster.ts";

/** How long a frame that must arrive may take (one bus hop on loopback). */
const FRAME_TIMEOUT_MS = 3000;

/** Reads the next reply or push frame, failing after FRAME_TIMEOUT_MS. */
async function next(conn: RespConnection, what: string): Promise<RespValue> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return (await Promise.race([
      conn.readReply(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: nothing within ${FRAME_TIMEOUT_MS} ms`)), FRAME_TIMEOUT_MS);
      }),
    ])).value;
  } finally {
    clearTimeout(timer);
  }
}

/** Opens a connection (closed at the end of the test) and sends `args` on it; returns the first reply. */
async function open(t: ServerTestContext, port: number, ...args: string[]): Promise<[RespConnection, RespValue]> {
  const conn = await RespConnection.connect(port);
  t.defer(() => conn.close());
  return [conn, await conn.call(...args)];
}

/** The client port of the node serving `slot`, from a CLUSTER NODES view. */
async function ownerPort(anyPort: number, slot: number): Promise<number> {
  for (const line of await clusterNodes(anyPort)) {
    for (const token of line.slots) {
      if (token.startsWith("[")) continue;
      const [from, to] = token.split("-").map(Number);
      if (slot >= from && slot <= (to ?? from)) return line.port;
    }
  }
  throw new Error(`nobody serves slot ${slot}`);
}

serverTest(
  "cluster: PUBLISH on one node reaches subscribers on every node; sharded pub/sub on the owner",
  async (t) => {
    if (!requireTool("redis-cli")) return;
    const { nodes } = await startTesseraCluster(t, 3);
    const [a, b, c] = nodes.map((n) => n.port);

    const [subA, ackA] = await open(t, a, "SUBSCRIBE", "news");
    assert.deepEqual(ackA, ["subscribe", "news", 1]);
    const [subC, ackC] = await open(t, c, "PSUBSCRIBE", "n*");
    assert.deepEqual(ackC, ["psubscribe", "n*", 1]);
    // Redis 7.0 counts only this node's receivers: none on B.
    assert.equal(await call(b, "PUBLISH", "news", "from b"), 0);
    assert.deepEqual(await next(subA, "message on A"), ["message", "news", "from b"]);
    assert.deepEqual(await next(subC, "pmessage on C"), ["pmessage", "n*", "news", "from b"]);
    // A local subscriber counts; the remote one still gets it.
    assert.equal(await call(a, "PUBLISH", "news", "from a"), 1);
    assert.deepEqual(await next(subA, "own node"), ["message", "news", "from a"]);
    assert.deepEqual(await next(subC, "remote pattern"), ["pmessage", "n*", "news", "from a"]);

    // Shard channels live on their slot's owner: elsewhere MOVED, there a normal subscription.
    const channel = "orders{7}";
    const slot = keyHashSlot(channel);
    const owner = await ownerPort(a, slot);
    const other = [a, b, c].find((p) => p !== owner)!;
    const moved = await call(other, "SSUBSCRIBE", channel);
    assert.ok(moved instanceof RespError);
    assert.equal(moved.message, `MOVED ${slot} 127.0.0.1:${owner}`);
    const movedPublish = await call(other, "SPUBLISH", channel, "x");
    assert.ok(movedPublish instanceof RespError && movedPublish.message.startsWith("MOVED "));
    const cross = await call(owner, "SSUBSCRIBE", channel, "elsewhere{1}");
    assert.ok(cross instanceof RespError);
    assert.equal(cross.message, "CROSSSLOT Keys in request don't hash to the same slot");
    const [shardSub, shardAck] = await open(t, owner, "SSUBSCRIBE", channel);
    assert.deepEqual(shardAck, ["ssubscribe", channel, 1]);
    assert.equal(await call(owner, "SPUBLISH", channel, "sharded"), 1);
    assert.deepEqual(await next(shardSub, "smessage"), ["smessage", channel, "sharded"]);
    assert.deepEqual(await callOk(owner, "PUBSUB", "SHARDCHANNELS"), [channel]);
    assert.deepEqual(await callOk(other, "PUBSUB", "SHARDCHANNELS"), []);
    // Sharded messages do not reach global subscribers or patterns anywhere.
    assert.equal(await call(a, "PUBLISH", "news", "marker"), 1);
    assert.deepEqual(await next(subA, "marker"), ["message", "news", "marker"]);
    assert.deepEqual(await next(subC, "marker via pattern"), ["pmessage", "n*", "news", "marker"]);
  },
);

serverTest("cluster: PUBLISH crosses between redis-server and tessera nodes over the bus", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([startTesseraNode(t), startRedisNode(t)]);
  assert.equal(await callOk(redis.port, "CLUSTER", "MEET", "127.0.0.1", String(tessera.port)), "OK");
  // Publishes go to every node whose handshake is done and whose link is up.
  await eventually("both nodes know each other, links connected", async () => {
    for (const node of [tessera, redis]) {
      const view = await clusterNodes(node.port);
      assert.equal(view.length, 2);
      for (const line of view) {
        assert.ok(!line.flags.includes("handshake"), `${node.kind}: ${line.flags}`);
        assert.equal(line.linkState, "connected");
      }
    }
  }, 10_000);

  const [ours] = await open(t, tessera.port, "SUBSCRIBE", "mixed");
  const [theirs] = await open(t, redis.port, "SUBSCRIBE", "mixed");
  const binary = "b\x00\xff\r\n";
  await eventually("redis-server's PUBLISH reaches the tessera subscriber", async () => {
    assert.equal(await call(redis.port, "PUBLISH", "mixed", binary), 1);
    assert.deepEqual(await next(theirs, "redis local"), ["message", "mixed", binary]);
    assert.deepEqual(await next(ours, "tessera remote"), ["message", "mixed", binary]);
  }, 5000);
  assert.equal(await call(tessera.port, "PUBLISH", "mixed", "back"), 1);
  assert.deepEqual(await next(ours, "tessera local"), ["message", "mixed", "back"]);
  assert.deepEqual(await next(theirs, "redis remote"), ["message", "mixed", "back"]);
});

serverTest(
  "cluster pub/sub: a node that stops serving a slot unsubscribes its shard channels, as redis-server",
  async (t) => {
    if (!requireTool("redis-server")) return;
    const channel = "news";
    const slot = keyHashSlot(channel);
    const frames: RespValue[][] = [];
    for (
      const node of [await startTesseraNode(t, { nodeTimeoutMs: 500 }), await startRedisNode(t, { nodeTimeoutMs: 500 })]
    ) {
      await callOk(node.port, "CLUSTER", "ADDSLOTSRANGE", "0", "16383");
      const sub = await RespConnection.connect(node.port);
      t.defer(() => sub.close());
      const seen: RespValue[] = [];
      seen.push(await sub.call("SSUBSCRIBE", channel, "other{news}"), await next(sub, "second ssubscribe ack"));
      await callOk(node.port, "CLUSTER", "DELSLOTS", String(slot));
      seen.push(await next(sub, "sunsubscribe after DELSLOTS"), await next(sub, "second sunsubscribe"));
      seen.push(await call(node.port, "PUBSUB", "SHARDCHANNELS"));
      frames.push(seen);
    }
    assert.deepEqual(frames[0], frames[1]);
    assert.deepEqual(frames[0][2], ["sunsubscribe", channel, 1]);
  },
);
