/**
 * Bad input on the cluster bus: garbage, a wrong signature, short or lying lengths, unknown types,
 * huge gossip counts and messages from unknown senders are dropped and their link closed; the node
 * stays up and keeps serving clients and its healthy peers.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { serverTest } from "./helpers/test.ts";
import { BUS_PORT_OFFSET, callOk, startTesseraNode } from "./helpers/cluster.ts";
import { encodeMessage } from "../src/cluster/bus/codec.ts";
import { emptyMessage, MSG_FAIL, MSG_PING, MSG_UPDATE } from "../src/cluster/bus/message.ts";
import { NODE_MASTER } from "../src/cluster/node.ts";

/** How long a bad link may stay open before the test calls it "not closed". */
const CLOSE_WAIT_MS = 2000;

/** Sends bytes on a fresh bus connection; resolves true once the node closes it. */
async function sendAndExpectClose(busPort: number, bytes: Uint8Array): Promise<boolean> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: busPort });
  try {
    await conn.write(bytes).catch(() => {});
    const buf = new Uint8Array(65536);
    const deadline = Date.now() + CLOSE_WAIT_MS;
    while (Date.now() < deadline) {
      const read = await Promise.race([
        conn.read(buf).catch(() => null),
        new Promise<"wait">((r) => setTimeout(() => r("wait"), deadline - Date.now())),
      ]);
      if (read === null) return true;
      if (read === "wait") return false;
    }
    return false;
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the node
    }
  }
}

function ping(sender: string): Uint8Array {
  const msg = emptyMessage(MSG_PING);
  msg.sender = sender;
  msg.flags = NODE_MASTER;
  msg.port = 1;
  msg.cport = 2;
  return encodeMessage(msg);
}

const UNKNOWN_ID = "f".repeat(40);

serverTest("cluster bus: bad frames and unknown senders close the link, the node keeps serving", async (t) => {
  const node = await startTesseraNode(t, { nodeTimeoutMs: 2000 });
  const busPort = node.port + BUS_PORT_OFFSET;
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

  const badSignature = ping(UNKNOWN_ID);
  badSignature[0] = 0x58;
  assert.ok(await sendAndExpectClose(busPort, badSignature), "wrong signature");

  const shortLength = ping(UNKNOWN_ID);
  view(shortLength).setUint32(4, 100);
  assert.ok(await sendAndExpectClose(busPort, shortLength), "totlen below the header size");

  const lyingCount = ping(UNKNOWN_ID);
  view(lyingCount).setUint16(14, 60000); // 60000 gossip entries announced, none present
  assert.ok(await sendAndExpectClose(busPort, lyingCount), "gossip count larger than the message");

  const unknownType = ping(UNKNOWN_ID);
  view(unknownType).setUint16(12, 99);
  assert.ok(await sendAndExpectClose(busPort, unknownType), "unknown message type");

  for (const type of [MSG_FAIL, MSG_UPDATE]) {
    const msg = emptyMessage(type);
    msg.sender = UNKNOWN_ID;
    msg.failing = UNKNOWN_ID;
    msg.update = { configEpoch: 1, nodeId: UNKNOWN_ID, slots: new Uint8Array(2048) };
    assert.ok(await sendAndExpectClose(busPort, encodeMessage(msg)), `type ${type} from an unknown sender`);
  }

  // A PING from an unknown sender is part of a handshake: it is answered with a PONG, the link stays.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: busPort });
  await conn.write(ping(UNKNOWN_ID));
  const header = new Uint8Array(16);
  let got = 0;
  while (got < header.length) {
    const n = await conn.read(header.subarray(got));
    assert.notEqual(n, null, "the node closed the link instead of answering the PING");
    got += n!;
  }
  assert.equal(new TextDecoder().decode(header.subarray(0, 4)), "RCmb");
  assert.equal(view(header).getUint16(12), 1, "a PONG answers the PING");
  conn.close();

  // Random garbage from many connections: every one ends, the node stays up.
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 6000 }), async (bytes) => {
      if (bytes.length >= 4) bytes.set([0x52, 0x43, 0x6d, 0x62].slice(0, bytes[0] % 5), 0);
      const c = await Deno.connect({ hostname: "127.0.0.1", port: busPort });
      await c.write(bytes).catch(() => {});
      c.close();
    }),
    { numRuns: 200 },
  );
  assert.equal(await callOk(node.port, "PING"), "PONG");
  const info = String(await callOk(node.port, "CLUSTER", "INFO"));
  assert.match(info, /cluster_known_nodes:1\r\n/, "no node was added by garbage or unknown senders");
}, 60_000);
