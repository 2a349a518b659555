/** The bus codec against a real redis-server 7.0: our PING gets a PONG that decodes to the node's own header. */
import assert from "node:assert/strict";
import { BusFrameReader, decodeMessage, encodeMessage, FrameError } from "../src/cluster/bus/codec.ts";
import { emptyMessage, MSG_PING, MSG_PONG, MSGFLAG0_EXT_DATA } from "../src/cluster/bus/message.ts";
import { NODE_MASTER, NODE_MYSELF } from "../src/cluster/node.ts";
import { connect, freePort, requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";

function randomHexId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(20)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Reads from the connection until the framer yields one whole frame. */
async function readFrame(conn: Deno.TcpConn): Promise<Uint8Array> {
  const reader = new BusFrameReader();
  const buffer = new Uint8Array(16 * 1024);
  while (true) {
    const frame = reader.next();
    if (frame instanceof FrameError) throw new Error(frame.reason);
    if (frame !== null) return frame;
    const n = await conn.read(buffer);
    if (n === null) throw new Error("bus connection closed before a whole message arrived");
    reader.push(buffer.subarray(0, n));
  }
}

serverTest("a real redis-server answers our encoded PING with a PONG we decode", async (t) => {
  if (!requireTool("redis-server")) return;
  const dir = await Deno.makeTempDir({ prefix: "tessera-bus-codec-" });
  t.defer(() => Deno.remove(dir, { recursive: true }));
  // An explicit cluster-port from the OS, so a busy port+10000 cannot make the start-up flaky.
  const busPort = freePort();
  const redis = await t.redis([
    "--cluster-enabled",
    "yes",
    "--cluster-config-file",
    `${dir}/nodes.conf`,
    "--cluster-port",
    String(busPort),
    "--cluster-announce-hostname",
    "node1.example",
  ]);
  const client = await connect(redis.port);
  const myId = await client.call("CLUSTER", "MYID");
  client.close();

  const ping = emptyMessage(MSG_PING);
  ping.sender = randomHexId();
  ping.flags = NODE_MASTER;
  ping.port = 7200;
  ping.cport = 17200;
  ping.state = 1;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: busPort });
  t.defer(() => conn.close());
  const bytes = encodeMessage(ping);
  for (let sent = 0; sent < bytes.length;) sent += await conn.write(bytes.subarray(sent));

  const result = decodeMessage(await readFrame(conn));
  if (!result.ok) assert.fail(`the PONG did not decode: ${result.reason}`);
  const pong = result.msg;
  assert.equal(pong.type, MSG_PONG);
  assert.equal(pong.sender, myId);
  assert.equal(pong.flags & (NODE_MYSELF | NODE_MASTER), NODE_MYSELF | NODE_MASTER);
  assert.equal(pong.port, redis.port);
  assert.equal(pong.cport, busPort);
  assert.equal(pong.slaveof, null);
  assert.equal(pong.gossip.length, 0, "a lone node has nobody to gossip about");
  assert.equal(pong.hostname, "node1.example", "the hostname extension");
  assert.equal(pong.mflags & MSGFLAG0_EXT_DATA, MSGFLAG0_EXT_DATA);
  assert.equal(pong.state, 1, "a node without slots reports the cluster as failed");
});
