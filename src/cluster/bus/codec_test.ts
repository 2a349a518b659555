import assert from "node:assert/strict";
import fc from "fast-check";
import { BusFrameReader, decodeMessage, type DecodeResult, encodeMessage, FrameError, headerType } from "./codec.ts";
import {
  type BusMessage,
  emptyMessage,
  type GossipEntry,
  HEADER_BYTES,
  MSG_FAIL,
  MSG_FAILOVER_AUTH_ACK,
  MSG_FAILOVER_AUTH_REQUEST,
  MSG_MEET,
  MSG_MFSTART,
  MSG_MODULE,
  MSG_PING,
  MSG_PONG,
  MSG_PUBLISH,
  MSG_PUBLISHSHARD,
  MSG_UPDATE,
  MSGFLAG0_EXT_DATA,
  MSGFLAG0_FORCEACK,
  MSGFLAG0_PAUSED,
  setSlotBit,
  SLOT_BITMAP_BYTES,
} from "./message.ts";
import { NODE_MASTER, NODE_MIGRATE_TO, NODE_MYSELF, NODE_SLAVE } from "../node.ts";

const ID_A = "0123456789abcdef0123456789abcdef01234567";
const ID_B = "545cf9e593f39db70cfcea134b0b3073dac6f9a0";
const ID_C = "4e6ce4c1c5ea3589a17261a35cdcf6f60c2f48cb";

/** "52 43 6d 62" -> bytes. */
function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, "");
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function expectOk(result: DecodeResult): BusMessage {
  if (!result.ok) assert.fail(`decode failed: ${result.reason}`);
  return result.msg;
}

function expectFail(result: DecodeResult): { reason: string; ignore?: boolean } {
  if (result.ok) assert.fail("decode unexpectedly succeeded");
  return result;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function gossip(nodeId: string, port: number, flags: number, pongReceivedSec = 0): GossipEntry {
  return { nodeId, pingSentSec: 0, pongReceivedSec, ip: "127.0.0.1", port, cport: port + 10000, flags, pport: 0 };
}

/** The message of worked example 21.1. */
function example211(): BusMessage {
  const msg = emptyMessage(MSG_PING);
  msg.sender = ID_A;
  msg.port = 7200;
  msg.cport = 17200;
  msg.flags = NODE_MASTER;
  msg.state = 1;
  return msg;
}

/** The message of worked example 21.2. */
function example212(): BusMessage {
  const msg = emptyMessage(MSG_MEET);
  msg.port = 7001;
  msg.cport = 17001;
  msg.currentEpoch = 5;
  msg.configEpoch = 5;
  msg.offset = 526;
  msg.sender = ID_C;
  for (let slot = 0; slot <= 5460; slot++) setSlotBit(msg.myslots, slot);
  msg.flags = NODE_MIGRATE_TO | NODE_MYSELF | NODE_MASTER;
  msg.gossip = [
    gossip(ID_B, 7004, NODE_SLAVE, 1795317857),
    gossip("a".repeat(40), 7002, NODE_MASTER),
    gossip("b".repeat(40), 7003, NODE_MASTER),
  ];
  msg.hostname = "node1.example";
  return msg;
}

Deno.test("21.1: the minimal PING encodes byte for byte as the reference lists it, and decodes back", () => {
  const expected = new Uint8Array(2256);
  const put = (offset: number, bytes: string) => expected.set(hex(bytes), offset);
  put(0x000, "52 43 6d 62");
  put(0x004, "00 00 08 d0");
  put(0x008, "00 01");
  put(0x00a, "1c 20");
  put(0x028, "30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66");
  put(0x038, "30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66");
  put(0x048, "30 31 32 33 34 35 36 37");
  put(0x8c8, "43 30");
  put(0x8ca, "00 01");
  put(0x8cc, "01");
  const bytes = encodeMessage(example211());
  assert.deepEqual(bytes, expected);
  assert.deepEqual(bytes.subarray(0x8c0, 0x8d0), hex("0000 0000 0000 0000 4330 0001 0100 0000"));
  assert.deepEqual(expectOk(decodeMessage(expected)), example211());
  assert.equal(headerType(expected), MSG_PING);
});

Deno.test("21.2: a MEET with 3 gossip entries and hostname node1.example has the captured layout", () => {
  const bytes = encodeMessage(example212());
  assert.equal(bytes.length, 2592);
  assert.deepEqual(bytes.subarray(0, 0x10), hex("52436d62 00000a20 0001 1b59 0002 0003"));
  assert.deepEqual(bytes.subarray(0x10, 0x28), hex("0000000000000005 0000000000000005 000000000000020e"));
  assert.deepEqual(bytes.subarray(0x28, 0x50), ascii(ID_C));
  assert.ok(bytes.subarray(0x50, 0x50 + 682).every((b) => b === 0xff));
  assert.equal(bytes[0x50 + 682], 0x1f);
  assert.ok(bytes.subarray(0x50 + 683, 0x850).every((b) => b === 0));
  assert.ok(bytes.subarray(0x850, 0x8a6).every((b) => b === 0), "slaveof and myip are zero");
  assert.deepEqual(bytes.subarray(0x8a6, 0x8a8), hex("0001"));
  assert.deepEqual(bytes.subarray(0x8c6, 0x8d0), hex("0000 4269 0111 00 04 0000"));
  // Gossip #1 at 0x8d0.
  assert.deepEqual(bytes.subarray(0x8d0, 0x8f8), ascii(ID_B));
  assert.deepEqual(bytes.subarray(0x8f8, 0x900), hex("00000000 6b026061"));
  assert.deepEqual(bytes.subarray(0x900, 0x909), ascii("127.0.0.1"));
  assert.ok(bytes.subarray(0x909, 0x92e).every((b) => b === 0));
  assert.deepEqual(bytes.subarray(0x92e, 0x938), hex("1b5c 426c 0002 0000 0000"));
  assert.deepEqual(bytes.subarray(0x938, 0x938 + 40), ascii("a".repeat(40)));
  assert.deepEqual(bytes.subarray(0x9a0, 0x9a0 + 40), ascii("b".repeat(40)));
  // Hostname extension at 0xa08, length 24.
  assert.deepEqual(bytes.subarray(0xa08), hex("00000018 0000 0000 6e6f6465312e6578616d706c65 000000"));

  const decoded = expectOk(decodeMessage(bytes));
  assert.deepEqual(decoded, { ...example212(), mflags: MSGFLAG0_EXT_DATA });
  assert.equal(decoded.hostname, "node1.example");
  assert.equal(decoded.gossip[0].pongReceivedSec, 1795317857);
});

/** One message of each type with non-zero fields everywhere. */
function sampleMessages(): BusMessage[] {
  const base = (type: number): BusMessage => {
    const msg = emptyMessage(type);
    msg.port = 30001;
    msg.cport = 40001;
    msg.pport = 30101;
    msg.currentEpoch = 2 ** 40 + 7;
    msg.configEpoch = 3;
    msg.offset = Number.MAX_SAFE_INTEGER;
    msg.sender = ID_A;
    setSlotBit(msg.myslots, 0);
    setSlotBit(msg.myslots, 16383);
    msg.slaveof = ID_B;
    msg.myip = "10.1.2.3";
    msg.flags = NODE_MYSELF | NODE_SLAVE;
    msg.state = 1;
    msg.mflags = MSGFLAG0_PAUSED | MSGFLAG0_FORCEACK;
    return msg;
  };
  const ping = base(MSG_PING);
  ping.gossip = [gossip(ID_B, 7000, NODE_MASTER, 12345), { ...gossip(ID_C, 7001, NODE_SLAVE), pingSentSec: 4e9 }];
  ping.hostname = "host-7001.example";
  ping.mflags |= MSGFLAG0_EXT_DATA;
  const pong = base(MSG_PONG);
  pong.gossip = [gossip(ID_C, 7002, NODE_MASTER)];
  const meet = base(MSG_MEET);
  meet.hostname = "h";
  meet.mflags |= MSGFLAG0_EXT_DATA;
  const fail = base(MSG_FAIL);
  fail.failing = ID_C;
  const publish = base(MSG_PUBLISH);
  publish.channel = "chan";
  publish.message = "h\u00e9llo\u0000\u00ff\r\n";
  const shard = base(MSG_PUBLISHSHARD);
  shard.channel = "";
  shard.message = "x".repeat(70000);
  const update = base(MSG_UPDATE);
  const slots = new Uint8Array(SLOT_BITMAP_BYTES);
  setSlotBit(slots, 5461);
  update.update = { configEpoch: 9, nodeId: ID_C, slots };
  const unknown = base(42);
  return [
    ping,
    pong,
    meet,
    fail,
    publish,
    base(MSG_FAILOVER_AUTH_REQUEST),
    base(MSG_FAILOVER_AUTH_ACK),
    update,
    base(MSG_MFSTART),
    base(MSG_MODULE),
    shard,
    unknown,
  ];
}

Deno.test("every type round-trips and has the length of section 6", () => {
  const expectedLength: Record<number, number> = {
    [MSG_PING]: 2256 + 2 * 104 + 32,
    [MSG_PONG]: 2256 + 104,
    [MSG_MEET]: 2256 + 16,
    [MSG_FAIL]: 2296,
    [MSG_PUBLISH]: 2264 + 4 + 9,
    [MSG_FAILOVER_AUTH_REQUEST]: 2256,
    [MSG_FAILOVER_AUTH_ACK]: 2256,
    [MSG_UPDATE]: 4352,
    [MSG_MFSTART]: 2256,
    [MSG_MODULE]: 2269,
    [MSG_PUBLISHSHARD]: 2264 + 70000,
    42: 2256,
  };
  for (const msg of sampleMessages()) {
    const bytes = encodeMessage(msg);
    assert.equal(bytes.length, expectedLength[msg.type], `type ${msg.type}`);
    assert.equal(viewOf(bytes).getUint32(4), bytes.length);
    assert.deepEqual(expectOk(decodeMessage(bytes)), msg, `type ${msg.type}`);
  }
});

Deno.test("encode: PUBLISH body matches the captured 7.0.15 PUBLISH", () => {
  const msg = emptyMessage(MSG_PUBLISH);
  msg.channel = "chan";
  msg.message = "hello";
  const bytes = encodeMessage(msg);
  assert.equal(bytes.length, 2273);
  assert.deepEqual(bytes.subarray(2256), concat(hex("00000004 00000005"), ascii("chanhello")));
});

Deno.test("encode: EXT_DATA and extensions follow the hostname, count is 0 outside the ping family", () => {
  const ping = emptyMessage(MSG_PING);
  ping.mflags = MSGFLAG0_EXT_DATA | MSGFLAG0_PAUSED;
  ping.hostname = "";
  let bytes = encodeMessage(ping);
  assert.equal(bytes.length, HEADER_BYTES, "empty hostname: no extension, no padding");
  assert.equal(bytes[2253], MSGFLAG0_PAUSED);
  assert.equal(viewOf(bytes).getUint16(2214), 0);
  assert.equal(expectOk(decodeMessage(bytes)).hostname, null);

  ping.mflags = 0;
  ping.hostname = "1234567"; // 7 chars + NUL = exactly 8 data bytes
  bytes = encodeMessage(ping);
  assert.equal(bytes.length, HEADER_BYTES + 16);
  assert.equal(bytes[2253], MSGFLAG0_EXT_DATA);
  assert.equal(viewOf(bytes).getUint16(2214), 1);

  const fail = emptyMessage(MSG_FAIL);
  fail.gossip = [gossip(ID_B, 1, 1)];
  fail.hostname = "ignored";
  fail.mflags = MSGFLAG0_EXT_DATA;
  bytes = encodeMessage(fail);
  assert.equal(bytes.length, 2296);
  assert.equal(viewOf(bytes).getUint16(14), 0);
  assert.equal(viewOf(bytes).getUint16(2214), 0);
  assert.equal(bytes[2253], 0);
});

Deno.test("encode: u64 fields, slaveof null and ip padding", () => {
  const msg = emptyMessage(MSG_PONG);
  msg.currentEpoch = 2 ** 32 + 1;
  msg.offset = -1; // wraps like a C cast
  msg.slaveof = null;
  msg.myip = "::1";
  const bytes = encodeMessage(msg);
  assert.deepEqual(bytes.subarray(16, 24), hex("00000001 00000001"));
  assert.deepEqual(bytes.subarray(32, 40), hex("ffffffff ffffffff"));
  assert.ok(bytes.subarray(2128, 2168).every((b) => b === 0));
  assert.deepEqual(bytes.subarray(2168, 2214), concat(ascii("::1"), new Uint8Array(43)));
});

Deno.test("encode: unrepresentable messages throw RangeError", () => {
  const msg = emptyMessage(MSG_PING);
  msg.hostname = "h".repeat(70000);
  assert.throws(() => encodeMessage(msg), RangeError);
});

/** A PING with `count` gossip entries and raw extension bytes appended; header fields set as asked. */
function pingWithExtensions(
  extensionBytes: Uint8Array,
  opts: { extensions: number; extData: boolean; count?: number },
): Uint8Array {
  const msg = emptyMessage(MSG_PING);
  msg.sender = ID_A;
  msg.gossip = Array.from({ length: opts.count ?? 0 }, (_, i) => gossip(ID_B, 7000 + i, NODE_MASTER));
  const bytes = concat(encodeMessage(msg), extensionBytes);
  const view = viewOf(bytes);
  view.setUint32(4, bytes.length);
  view.setUint16(2214, opts.extensions);
  bytes[2253] = opts.extData ? MSGFLAG0_EXT_DATA : 0;
  return bytes;
}

/** An extension: header (length, type) and data. */
function extension(length: number, type: number, data: Uint8Array): Uint8Array {
  const ext = new Uint8Array(8 + data.length);
  viewOf(ext).setUint32(0, length);
  viewOf(ext).setUint16(4, type);
  ext.set(data, 8);
  return ext;
}

const HOSTNAME_DATA = concat(ascii("node1.example"), new Uint8Array(3));

Deno.test("validate: wrong length by type, with Redis's log text", () => {
  const ping = concat(encodeMessage(emptyMessage(MSG_PING)), new Uint8Array(44));
  viewOf(ping).setUint32(4, 2300);
  assert.equal(
    expectFail(decodeMessage(ping)).reason,
    "Received invalid ping packet of length 2300 but expected length 2256",
  );

  const pong = encodeMessage({ ...emptyMessage(MSG_PONG), gossip: [gossip(ID_B, 1, 1)] });
  viewOf(pong).setUint16(14, 2); // count says 2, one entry present
  assert.equal(
    expectFail(decodeMessage(pong)).reason,
    "Received invalid pong packet of length 2360 but expected length 2464",
  );

  const cases: [number, number, string][] = [
    [MSG_FAIL, 2300, "Received invalid fail packet of length 2300 but expected length 2296"],
    [MSG_UPDATE, 4360, "Received invalid update packet of length 4360 but expected length 4352"],
    [MSG_FAILOVER_AUTH_REQUEST, 2264, "Received invalid auth-req packet of length 2264 but expected length 2256"],
    [MSG_FAILOVER_AUTH_ACK, 2257, "Received invalid auth-ack packet of length 2257 but expected length 2256"],
    [MSG_MFSTART, 2260, "Received invalid mfstart packet of length 2260 but expected length 2256"],
    [MSG_FAIL, 2256, "Received invalid fail packet of length 2256 but expected length 2296"],
    [MSG_MODULE, 2260, "Received invalid module packet of length 2260 but expected length 2269"],
    [MSG_PUBLISH, 2260, "Received invalid publish packet of length 2260 but expected length 2264"],
  ];
  for (const [type, totlen, reason] of cases) {
    const bytes = new Uint8Array(totlen);
    bytes.set(encodeMessage(emptyMessage(type)).subarray(0, Math.min(totlen, HEADER_BYTES)));
    viewOf(bytes).setUint32(4, totlen);
    const failure = expectFail(decodeMessage(bytes));
    assert.equal(failure.reason, reason);
    assert.notEqual(failure.ignore, true);
  }

  const publish = encodeMessage({ ...emptyMessage(MSG_PUBLISHSHARD), channel: "ab", message: "cde" });
  viewOf(publish).setUint32(2260, 4); // message_len 4 but 3 bytes present
  assert.equal(
    expectFail(decodeMessage(publish)).reason,
    "Received invalid publishshard packet of length 2269 but expected length 2270",
  );
  // Lengths whose u32 sum wraps are dropped rather than read past the end.
  viewOf(publish).setUint32(2256, 0xffffffff);
  viewOf(publish).setUint32(2260, 6);
  assert.equal(decodeMessage(publish).ok, false);

  const module = concat(encodeMessage(emptyMessage(MSG_MODULE)), ascii("xyz"));
  viewOf(module).setUint32(4, module.length);
  viewOf(module).setUint32(2264, 3);
  assert.equal(expectOk(decodeMessage(module)).type, MSG_MODULE);
});

Deno.test("validate: version != 1 and truncated messages are ignored silently", () => {
  const bytes = encodeMessage(example211());
  viewOf(bytes).setUint16(8, 2);
  assert.equal(expectFail(decodeMessage(bytes)).ignore, true);
  viewOf(bytes).setUint16(8, 0);
  assert.equal(expectFail(decodeMessage(bytes)).ignore, true);

  const truncated = encodeMessage(example212()).subarray(0, 2500);
  assert.equal(expectFail(decodeMessage(truncated)).ignore, true);
});

Deno.test("validate: short input, bad signature, small totlen and trailing bytes are rejected", () => {
  assert.equal(decodeMessage(new Uint8Array(0)).ok, false);
  assert.equal(decodeMessage(encodeMessage(example211()).subarray(0, 2255)).ok, false);
  const badSig = encodeMessage(example211());
  badSig[3] = 0x63;
  assert.equal(decodeMessage(badSig).ok, false);
  const smallTotlen = encodeMessage(example211());
  viewOf(smallTotlen).setUint32(4, 2255);
  assert.equal(decodeMessage(smallTotlen).ok, false);
  const trailing = concat(encodeMessage(example211()), new Uint8Array(8));
  assert.equal(decodeMessage(trailing).ok, false);
});

Deno.test("validate: extension padding, overlong extensions and the EXT_DATA flag", () => {
  const good = extension(24, 0, HOSTNAME_DATA);
  assert.equal(
    expectOk(decodeMessage(pingWithExtensions(good, { extensions: 1, extData: true, count: 2 }))).hostname,
    "node1.example",
  );

  const unpadded = extension(20, 0, ascii("node1.example\0\0\0"));
  assert.equal(
    expectFail(decodeMessage(pingWithExtensions(unpadded, { extensions: 1, extData: true }))).reason,
    "Received a ping packet without proper padding (20 bytes)",
  );

  const overlong = extension(32, 0, HOSTNAME_DATA);
  assert.equal(
    expectFail(decodeMessage(pingWithExtensions(overlong, { extensions: 1, extData: true }))).reason,
    "Received invalid ping packet with extension data that exceeds total packet length (2280)",
  );

  // The count says two extensions but only one follows: the second header lies past the end.
  assert.match(
    expectFail(decodeMessage(pingWithExtensions(good, { extensions: 2, extData: true }))).reason,
    /exceeds total packet length/,
  );

  // Extension bytes without EXT_DATA are not walked, so the length check fails.
  assert.equal(
    expectFail(decodeMessage(pingWithExtensions(good, { extensions: 1, extData: false }))).reason,
    "Received invalid ping packet of length 2280 but expected length 2256",
  );

  // EXT_DATA with zero extensions: nothing to walk, accepted, no hostname.
  const flagOnly = expectOk(decodeMessage(pingWithExtensions(new Uint8Array(0), { extensions: 0, extData: true })));
  assert.equal(flagOnly.hostname, null);
  assert.equal(flagOnly.mflags, MSGFLAG0_EXT_DATA);

  // A count without EXT_DATA and without data: extensions are not read.
  const countOnly = expectOk(decodeMessage(pingWithExtensions(new Uint8Array(0), { extensions: 3, extData: false })));
  assert.equal(countOnly.hostname, null);
});

Deno.test("validate: extension lengths are checked as 16 bits but stepped over as 32 bits (7.0.15 quirk)", () => {
  // 0x00010018 passes as 24 bytes; the data is read from the 24-byte extension.
  const quirky = extension(0x00010018, 0, HOSTNAME_DATA);
  const msg = expectOk(decodeMessage(pingWithExtensions(quirky, { extensions: 1, extData: true })));
  assert.equal(msg.hostname, "node1.example");
  // 0x00010014 is checked as 20: not a multiple of 8.
  const unpadded = extension(0x00010014, 0, HOSTNAME_DATA);
  assert.match(
    expectFail(decodeMessage(pingWithExtensions(unpadded, { extensions: 1, extData: true }))).reason,
    /without proper padding \(20 bytes\)/,
  );
  // A second extension would start 0x10018 bytes later, past the message: dropped, not read out of bounds.
  const two = concat(quirky, extension(24, 0, HOSTNAME_DATA));
  assert.match(
    expectFail(decodeMessage(pingWithExtensions(two, { extensions: 2, extData: true }))).reason,
    /exceeds total packet length/,
  );
});

Deno.test("validate: unknown extension types are skipped; the last hostname wins; text stops at NUL", () => {
  const unknown = extension(16, 3, ascii("abcdefgh"));
  const bytes = pingWithExtensions(concat(unknown, extension(24, 0, HOSTNAME_DATA)), { extensions: 2, extData: true });
  assert.equal(expectOk(decodeMessage(bytes)).hostname, "node1.example");

  const onlyUnknown = pingWithExtensions(unknown, { extensions: 1, extData: true });
  assert.equal(expectOk(decodeMessage(onlyUnknown)).hostname, null);

  const twoNames = concat(extension(16, 0, ascii("first\0\0\0")), extension(16, 0, ascii("second\0\0")));
  assert.equal(
    expectOk(decodeMessage(pingWithExtensions(twoNames, { extensions: 2, extData: true }))).hostname,
    "second",
  );

  // A hostname without a NUL ends with its extension.
  const noNul = pingWithExtensions(extension(16, 0, ascii("abcdefgh")), { extensions: 1, extData: true });
  assert.equal(expectOk(decodeMessage(noNul)).hostname, "abcdefgh");
});

Deno.test("validate: unknown types are accepted with any length, header only", () => {
  const msg = emptyMessage(11);
  msg.sender = ID_A;
  msg.port = 6379;
  const bytes = concat(encodeMessage(msg), ascii("whatever follows"));
  viewOf(bytes).setUint32(4, bytes.length);
  viewOf(bytes).setUint16(14, 9); // count is meaningless for unknown types
  assert.deepEqual(expectOk(decodeMessage(bytes)), msg);
  assert.equal(headerType(bytes), 11);
  assert.equal(headerType(bytes.subarray(0, 13)), null);
});

Deno.test("decode: slaveof all zeros is null, partial ids are kept raw, myip stops at NUL", () => {
  const bytes = encodeMessage(example211());
  bytes[2128 + 39] = 0x31;
  bytes.set(ascii("10.0.0.1"), 2168);
  bytes[2168 + 9] = 0x39; // after the NUL: ignored
  const msg = expectOk(decodeMessage(bytes));
  assert.equal(msg.slaveof, "\0".repeat(39) + "1");
  assert.equal(msg.myip, "10.0.0.1");
});

// ---- framer ----

function drain(reader: BusFrameReader): (Uint8Array | FrameError)[] {
  const out: (Uint8Array | FrameError)[] = [];
  for (let item = reader.next(); item !== null; item = reader.next()) {
    out.push(item);
    if (item instanceof FrameError) break;
  }
  return out;
}

Deno.test("framer: two concatenated messages split at every byte boundary", () => {
  const first = encodeMessage(example212());
  const second = encodeMessage(sampleMessages()[4]);
  const stream = concat(first, second);
  for (let cut = 0; cut <= stream.length; cut++) {
    const reader = new BusFrameReader();
    const chunk = stream.slice(); // the caller's read buffer, scribbled over after each push
    reader.push(chunk.subarray(0, cut));
    const early = drain(reader);
    chunk.fill(0xee, 0, cut);
    reader.push(stream.subarray(cut));
    const frames = [...early, ...drain(reader)];
    assert.equal(frames.length, 2, `cut ${cut}`);
    assert.deepEqual(frames[0], first, `cut ${cut}`);
    assert.deepEqual(frames[1], second, `cut ${cut}`);
    assert.equal(reader.next(), null);
    assert.equal(reader.pendingBytes, 0);
  }
});

Deno.test("framer: one byte at a time, and many frames in one chunk", () => {
  const messages = sampleMessages().map(encodeMessage);
  const stream = concat(...messages);
  const reader = new BusFrameReader();
  const frames: (Uint8Array | FrameError)[] = [];
  for (let i = 0; i < stream.length; i++) {
    reader.push(stream.subarray(i, i + 1));
    frames.push(...drain(reader));
  }
  assert.deepEqual(frames, messages);

  const bulk = new BusFrameReader();
  bulk.push(concat(stream, stream.subarray(0, 100)));
  assert.deepEqual(drain(bulk), messages);
  assert.equal(bulk.pendingBytes, 100);
});

Deno.test("framer: bad signature or length is a sticky error after the good frames", () => {
  const good = encodeMessage(example211());
  const badSig = encodeMessage(example211());
  badSig[0] = 0x72;
  const reader = new BusFrameReader();
  reader.push(concat(good, badSig));
  const out = drain(reader);
  assert.equal(out.length, 2);
  assert.deepEqual(out[0], good);
  assert.ok(out[1] instanceof FrameError);
  assert.equal((out[1] as FrameError).reason, "Bad message length or signature received from Cluster bus.");
  reader.push(good);
  assert.ok(reader.next() instanceof FrameError, "stays failed");

  for (const totlen of [0, 2255, 0x10000001, 0xffffffff]) {
    const r = new BusFrameReader();
    r.push(concat(ascii("RCmb"), hex(totlen.toString(16).padStart(8, "0"))));
    assert.ok(r.next() instanceof FrameError, `totlen ${totlen}`);
  }
  const ok = new BusFrameReader();
  ok.push(concat(ascii("RCmb"), hex("000008d0")));
  assert.equal(ok.next(), null, "a valid prefix waits for the rest");
});

Deno.test("framer: a large frame grows as its bytes arrive", () => {
  const big = encodeMessage({ ...emptyMessage(MSG_PUBLISH), message: "z".repeat(1_000_000) });
  const reader = new BusFrameReader();
  for (let at = 0; at < big.length; at += 1000) reader.push(big.subarray(at, at + 1000));
  assert.deepEqual(reader.next(), big);
});

// ---- properties ----

const hexChar = fc.constantFrom(..."0123456789abcdef");
const nodeIdArb = fc.string({ unit: hexChar, minLength: 40, maxLength: 40 });
const latin1Char = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
const textArb = (maxLength: number) =>
  fc.string({ unit: fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c)), maxLength });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.maxSafeNat();
const bitmapArb = fc.uint8Array({ minLength: SLOT_BITMAP_BYTES, maxLength: SLOT_BITMAP_BYTES });

const gossipArb: fc.Arbitrary<GossipEntry> = fc.record({
  nodeId: nodeIdArb,
  pingSentSec: u32,
  pongReceivedSec: u32,
  ip: textArb(46),
  port: u16,
  cport: u16,
  flags: u16,
  pport: u16,
}, { noNullPrototype: true });

const messageArb: fc.Arbitrary<BusMessage> = fc.record({
  type: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 11, max: 0xffff })),
  port: u16,
  cport: u16,
  pport: u16,
  currentEpoch: u64,
  configEpoch: u64,
  offset: u64,
  sender: nodeIdArb,
  myslots: bitmapArb,
  slaveof: fc.option(nodeIdArb),
  myip: textArb(46),
  flags: u16,
  state: fc.integer({ min: 0, max: 255 }),
  mflags: fc.integer({ min: 0, max: 255 }),
  gossip: fc.array(gossipArb, { maxLength: 6 }),
  hostname: fc.option(textArb(300)),
  forgotten: fc.array(
    fc.record({ nodeId: nodeIdArb, ttlSec: fc.integer({ min: 0, max: 2 ** 40 }) }, { noNullPrototype: true }),
    { maxLength: 3 },
  ),
  failing: nodeIdArb,
  channel: fc.string({ unit: latin1Char, maxLength: 50 }),
  message: fc.string({ unit: latin1Char, maxLength: 300 }),
  update: fc.option(fc.record({ configEpoch: u64, nodeId: nodeIdArb, slots: bitmapArb }, { noNullPrototype: true }), {
    nil: null,
  }),
}, { noNullPrototype: true });

/** What survives a round trip: the fields the message's type carries (section 6). */
function carriedFields(msg: BusMessage): BusMessage {
  const pingFamily = msg.type === MSG_PING || msg.type === MSG_PONG || msg.type === MSG_MEET;
  const publish = msg.type === MSG_PUBLISH || msg.type === MSG_PUBLISHSHARD;
  const hostname = pingFamily && msg.hostname ? msg.hostname : null;
  const update = msg.type === MSG_UPDATE
    ? msg.update ?? { configEpoch: 0, nodeId: "\0".repeat(40), slots: new Uint8Array(SLOT_BITMAP_BYTES) }
    : null;
  return {
    ...msg,
    mflags: hostname === null && (!pingFamily || msg.forgotten.length === 0)
      ? msg.mflags & ~MSGFLAG0_EXT_DATA
      : msg.mflags | MSGFLAG0_EXT_DATA,
    gossip: pingFamily ? msg.gossip : [],
    hostname,
    forgotten: pingFamily ? msg.forgotten : [],
    failing: msg.type === MSG_FAIL ? msg.failing : "",
    channel: publish ? msg.channel : "",
    message: publish ? msg.message : "",
    update,
  };
}

Deno.test("property: encode/decode round-trips random valid messages", () => {
  fc.assert(
    fc.property(messageArb, (msg) => {
      const bytes = encodeMessage(msg);
      assert.equal(new DataView(bytes.buffer).getUint32(4), bytes.length);
      assert.deepEqual(expectOk(decodeMessage(bytes)), carriedFields(msg));
    }),
    { numRuns: 300 },
  );
});

/** A decode result is either a reason or a message that agrees with the header it came from. */
function assertWellFormed(bytes: Uint8Array, result: DecodeResult): void {
  if (!result.ok) {
    assert.equal(typeof result.reason, "string");
    return;
  }
  assert.equal(result.msg.type, headerType(bytes));
  const pingFamily = result.msg.type === MSG_PING || result.msg.type === MSG_PONG || result.msg.type === MSG_MEET;
  if (pingFamily) assert.equal(result.msg.gossip.length, viewOf(bytes).getUint16(14));
  assert.equal(result.msg.myslots.length, SLOT_BITMAP_BYTES);
}

Deno.test("property: decodeMessage never throws on random bytes", () => {
  // Random bytes, half of them shaped like a header (signature, totlen, version 1, small type/count/extensions).
  const randomFrame = fc.record({
    bytes: fc.uint8Array({ maxLength: 3000, size: "max" }),
    shaped: fc.boolean(),
    type: fc.integer({ min: 0, max: 12 }),
    count: fc.integer({ min: 0, max: 4 }),
    extensions: fc.integer({ min: 0, max: 3 }),
    mflags: fc.integer({ min: 0, max: 255 }),
  }).map(({ bytes, shaped, type, count, extensions, mflags }) => {
    if (!shaped || bytes.length < HEADER_BYTES) return bytes;
    const view = viewOf(bytes);
    bytes.set(ascii("RCmb"));
    view.setUint32(4, bytes.length);
    view.setUint16(8, 1);
    view.setUint16(12, type);
    view.setUint16(14, count);
    view.setUint16(2214, extensions);
    bytes[2253] = mflags;
    return bytes;
  });
  let accepted = 0;
  fc.assert(
    fc.property(randomFrame, (bytes) => {
      const result = decodeMessage(bytes);
      if (result.ok) accepted++;
      assertWellFormed(bytes, result);
    }),
    { numRuns: 1000 },
  );
  assert.ok(accepted > 0, "some random frames get through validation");
});

/** A mutation: overwrite bytes (biased to the header fields that steer parsing), truncate or extend. */
const mutationArb = fc.oneof(
  fc.record({ kind: fc.constant("byte" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant("field" as const),
    at: fc.constantFrom(4, 6, 8, 12, 13, 14, 15, 2214, 2215, 2253, 2256, 2259, 2260, 2263, 2360, 2362, 2363),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat(), value: fc.constant(0) }),
  fc.record({ kind: fc.constant("extend" as const), at: fc.nat({ max: 64 }), value: fc.integer({ min: 0, max: 255 }) }),
);

Deno.test("property: decodeMessage never throws on mutations of valid messages", () => {
  fc.assert(
    fc.property(messageArb, fc.array(mutationArb, { minLength: 1, maxLength: 6 }), fc.boolean(), (msg, muts, fix) => {
      let bytes = encodeMessage(msg);
      for (const m of muts) {
        if (m.kind === "truncate") bytes = bytes.slice(0, m.at % (bytes.length + 1));
        else if (m.kind === "extend") bytes = concat(bytes, new Uint8Array(m.at).fill(m.value));
        else if (bytes.length > 0) bytes[m.at % bytes.length] = m.value;
      }
      // Half the time make totlen agree with the length, to get past the framing checks.
      if (fix && bytes.length >= 8) new DataView(bytes.buffer, bytes.byteOffset).setUint32(4, bytes.length);
      assertWellFormed(bytes, decodeMessage(bytes));
    }),
    { numRuns: 1000 },
  );
});

Deno.test("property: the framer yields exactly the messages, however the stream is cut", () => {
  fc.assert(
    fc.property(
      fc.array(messageArb, { minLength: 1, maxLength: 4 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (msgs, cuts) => {
        const frames = msgs.map(encodeMessage);
        const stream = concat(...frames);
        const points = [...new Set(cuts.map((c) => c % stream.length))].sort((a, b) => a - b);
        const reader = new BusFrameReader();
        const out: (Uint8Array | FrameError)[] = [];
        let prev = 0;
        for (const point of [...points, stream.length]) {
          reader.push(stream.subarray(prev, point));
          out.push(...drain(reader));
          prev = point;
        }
        assert.deepEqual(out, frames);
      },
    ),
    { numRuns: 100 },
  );
});
