/**
 * Stream tests beyond the scripted differential ones: XADD `*` IDs, DUMP / RESTORE in both
 * directions with redis-server (equal DEBUG DIGEST-VALUE and XINFO STREAM FULL, byte-identical
 * payloads for redis-server's own streams), DEBUG RELOAD, corrupt payloads, and blocking
 * XREAD / XREADGROUP compared with redis-server transcript for transcript.
 */
import assert from "node:assert/strict";
import { serverTest } from "./helpers/test.ts";
import { connect, requireTool } from "./helpers/servers.ts";
import { blockedClients, both, Peer } from "./helpers/blocking.ts";
import { Crc64 } from "../src/persistence/crc64.ts";
import { bytesToLatin1, latin1ToBytes } from "../src/resp/latin1.ts";
import { Mulberry32 } from "./helpers/rng.ts";
import type { RespConnection } from "../src/resp/connection.ts";
import { RdbBuffer } from "../src/persistence/rdb_writer.ts";
import { encodeListpack } from "../src/persistence/listpack.ts";
import { idKeyBytes, makeStreamId } from "../src/store/types/stream.ts";

const DEBUG_ARGS = ["--save", "", "--enable-debug-command", "yes"];

/** A stream with several nodes, SAMEFIELDS and plain entries, tombstones, groups, PEL and consumers. */
async function buildStream(c: RespConnection, key: string): Promise<void> {
  await c.call("CONFIG", "SET", "stream-node-max-entries", "4");
  for (let i = 1; i <= 13; i++) {
    const fields = i % 3 === 0 ? ["other", String(i)] : ["f", `v${i}`, "n", String(i * 1000)];
    await c.call("XADD", key, `${i}-${i % 2}`, ...fields);
  }
  await c.call("XDEL", key, "2-0", "6-0", "7-1");
  await c.call("XGROUP", "CREATE", key, "g", "0");
  await c.call("XGROUP", "CREATE", key, "idle-group", "$", "ENTRIESREAD", "5");
  await c.call("XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", key, ">");
  await c.call("XREADGROUP", "GROUP", "g", "bob", "COUNT", "2", "STREAMS", key, ">");
  await c.call("XGROUP", "CREATECONSUMER", key, "g", "carol");
  await c.call("XCLAIM", key, "g", "carol", "0", "3-1", "RETRYCOUNT", "9");
  await c.call("XDEL", key, "4-0");
  await c.call("CONFIG", "SET", "stream-node-max-entries", "100");
}

/** What must survive a DUMP / RESTORE or reload: digest, full info, groups, pending entries. */
async function snapshot(c: RespConnection, key: string): Promise<string[]> {
  return [
    await c.callRaw("DEBUG", "DIGEST-VALUE", key),
    await c.callRaw("XINFO", "STREAM", key, "FULL"),
    await c.callRaw("XINFO", "GROUPS", key),
    await c.callRaw("XPENDING", key, "g"),
    await c.callRaw("XRANGE", key, "-", "+"),
  ];
}

/** DUMP's payload as bytes. */
async function dump(c: RespConnection, key: string): Promise<Uint8Array> {
  const v = await c.call("DUMP", key);
  assert.equal(typeof v, "string");
  return latin1ToBytes(v as string);
}

serverTest("streams: XADD * generates increasing time-based IDs", async (t) => {
  const c = await connect((await t.tessera(["--save", ""])).port);
  t.defer(() => c.close());
  const before = Date.now();
  const ids: string[] = [];
  for (let i = 0; i < 50; i++) ids.push(String(await c.call("XADD", "s", "*", "f", String(i))));
  const after = Date.now();
  let previous = [0n, 0n];
  for (const id of ids) {
    const m = /^(\d+)-(\d+)$/.exec(id);
    assert.ok(m, id);
    const [ms, seq] = [BigInt(m[1]), BigInt(m[2])];
    assert.ok(ms >= BigInt(before) && ms <= BigInt(after), `${id} outside [${before}, ${after}]`);
    assert.ok(ms > previous[0] || (ms === previous[0] && seq > previous[1]), `${id} after ${previous.join("-")}`);
    if (ms > previous[0]) assert.equal(seq, 0n);
    previous = [ms, seq];
  }
  // A last ID in the future: * continues from it with seq + 1, ms-* too.
  await c.call("XADD", "f", "99999999999999-5", "a", "b");
  assert.equal(await c.call("XADD", "f", "*", "a", "b"), "99999999999999-6");
  assert.equal(await c.call("XADD", "f", "99999999999999-*", "a", "b"), "99999999999999-7");
  assert.equal(await c.call("XADD", "f", "100000000000000-*", "a", "b"), "100000000000000-0");
  await c.call("XSETID", "f", "18446744073709551615-18446744073709551614");
  assert.equal(await c.call("XADD", "f", "*", "a", "b"), "18446744073709551615-18446744073709551615");
  assert.match(String(await c.callRaw("XADD", "f", "*", "a", "b")), /exhausted the last possible ID/);
  assert.equal(await c.call("XLEN", "f"), 5);
});

serverTest("streams: DUMP from tessera restores in redis-server with equal values", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tp, rp] = await Promise.all([t.tessera(DEBUG_ARGS), t.redis(DEBUG_ARGS)]);
  const [tc, rc] = await Promise.all([connect(tp.port), connect(rp.port)]);
  t.defer(() => {
    tc.close();
    rc.close();
  });
  await buildStream(tc, "s");
  await tc.call("XADD", "empty", "5-5", "a", "b");
  await tc.call("XDEL", "empty", "5-5");
  for (const key of ["s", "empty"]) {
    const payload = bytesToLatin1(await dump(tc, key));
    assert.equal(await rc.call("RESTORE", key, "0", payload), "OK");
    assert.deepEqual(await snapshot(rc, key), await snapshot(tc, key), key);
    assert.deepEqual(await rc.call("XINFO", "STREAM", key), await tc.call("XINFO", "STREAM", key));
  }
  // The restored stream keeps working the same way on both (new nodes, group reads).
  for (const c of [tc, rc]) {
    await c.call("XADD", "s", "20-0", "f", "x", "n", "1");
    await c.call("XREADGROUP", "GROUP", "g", "dave", "STREAMS", "s", ">");
  }
  assert.deepEqual(
    (await snapshot(rc, "s")).slice(0, 1).concat(await rc.callRaw("XINFO", "STREAM", "s")),
    (await snapshot(tc, "s")).slice(0, 1).concat(await tc.callRaw("XINFO", "STREAM", "s")),
  );
});

serverTest("streams: DUMP from redis-server restores in tessera and dumps back byte for byte", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tp, rp] = await Promise.all([t.tessera(DEBUG_ARGS), t.redis(DEBUG_ARGS)]);
  const [tc, rc] = await Promise.all([connect(tp.port), connect(rp.port)]);
  t.defer(() => {
    tc.close();
    rc.close();
  });
  await buildStream(rc, "s");
  await rc.call("XADD", "big", "1-1", "long", "x".repeat(300), "n", "123");
  for (let i = 2; i < 300; i++) await rc.call("XADD", "big", `1-${i}`, "long", "x".repeat(300), "n", String(i));
  await rc.call("XTRIM", "big", "MAXLEN", "250");
  // A tombstone above the last ID, then smaller IDs appended after it in the same node.
  for (const cmd of [["XADD", "odd", "1-0", "a", "1"], ["XADD", "odd", "5-0", "a", "5"], ["XDEL", "odd", "5-0"]]) {
    await rc.call(...cmd);
  }
  await rc.call("XSETID", "odd", "2-0");
  await rc.call("XADD", "odd", "3-0", "a", "3");
  for (const key of ["s", "big", "odd"]) {
    const payload = await dump(rc, key);
    assert.equal(await tc.call("RESTORE", key, "0", bytesToLatin1(payload)), "OK");
    assert.deepEqual(await snapshot(tc, key), await snapshot(rc, key), key);
    assert.deepEqual(await tc.call("XINFO", "STREAM", key), await rc.call("XINFO", "STREAM", key));
    assert.deepEqual(await dump(tc, key), payload, `${key}: tessera's DUMP differs from redis-server's`);
  }
});

serverTest("streams: DEBUG RELOAD keeps streams, groups and pending entries", async (t) => {
  // DEBUG RELOAD writes dump.rdb in the working directory: a temporary one.
  const dir = await Deno.makeTempDir({ prefix: "tessera-streams-" });
  t.defer(() => Deno.remove(dir, { recursive: true }));
  const c = await connect((await t.tessera(DEBUG_ARGS, { cwd: dir })).port);
  t.defer(() => c.close());
  await buildStream(c, "s");
  await c.call("XGROUP", "CREATE", "e", "g", "$", "MKSTREAM");
  const before = [...await snapshot(c, "s"), await c.callRaw("XINFO", "STREAM", "e", "FULL")];
  assert.equal(await c.call("DEBUG", "RELOAD"), "OK");
  const after = [...await snapshot(c, "s"), await c.callRaw("XINFO", "STREAM", "e", "FULL")];
  assert.deepEqual(after, before);
  assert.equal(await c.call("TYPE", "s"), "stream");
});

serverTest("streams: corrupt RESTORE payloads are refused, never crash", async (t) => {
  const c = await connect((await t.tessera(DEBUG_ARGS)).port);
  t.defer(() => c.close());
  await buildStream(c, "s");
  // Compressed nodes fail in LZF; uncompressed ones reach the listpack and stream checks.
  for (const compression of ["yes", "no"]) {
    await c.call("CONFIG", "SET", "rdbcompression", compression);
    const good = await dump(c, "s");
    const rng = new Mulberry32(2024);
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      const bad = good.slice();
      const body = bad.length - 10;
      // The first payload is the good one with its CRC rewritten: a control that must restore.
      const flips = i === 0 ? 0 : 1 + Math.floor(rng.next() * 3);
      for (let k = 0; k < flips; k++) bad[Math.floor(rng.next() * body)] = Math.floor(rng.next() * 256);
      let payload = bad;
      if (i > 0 && rng.next() < 0.2) {
        // Truncated value, footer rebuilt.
        const cut = Math.floor(rng.next() * body);
        payload = new Uint8Array(cut + 10);
        payload.set(bad.subarray(0, cut));
        payload.set(bad.subarray(body, body + 2), cut);
      }
      const end = payload.length - 8;
      new Crc64().update(payload, 0, end).writeLE(payload, end);
      const reply = await c.callRaw("RESTORE", `k${compression}${i}`, "0", bytesToLatin1(payload));
      assert.ok(reply === "+OK\r\n" || reply.startsWith("-ERR Bad data format"), reply);
      if (i === 0) assert.equal(reply, "+OK\r\n");
      if (reply !== "+OK\r\n") refused++;
      else await c.callRaw("XINFO", "STREAM", `k${compression}${i}`, "FULL");
    }
    assert.ok(refused > 0, `${refused} of 400 refused`);
  }
  assert.equal(await c.call("PING"), "PONG");
});

/** Blocking XREAD / XREADGROUP scenarios; returns every reply in order. */
export async function blockingScenario(port: number, out: string[] = []): Promise<string[]> {
  {
    const admin = await Peer.open(port);
    const a = await Peer.open(port);
    const b = await Peer.open(port);
    // Timeout, and $ meaning the last ID at block time.
    await a.call("XADD", "s", "1-0", "f", "1");
    out.push(await a.call("XREAD", "BLOCK", "50", "STREAMS", "s", "$"));
    // Woken by another client's XADD; with two keys, the one that got data answers.
    await b.send("XREAD", "BLOCK", "0", "STREAMS", "other", "s", "$", "$");
    await blockedClients(admin, 1);
    await a.call("XADD", "s", "2-0", "f", "2");
    out.push(await b.reply());
    // An XADD inside MULTI/EXEC wakes it after EXEC.
    await b.send("XREAD", "BLOCK", "0", "COUNT", "1", "STREAMS", "s", "2-0");
    await blockedClients(admin, 1);
    await a.call("MULTI");
    await a.call("XADD", "s", "3-0", "f", "3");
    await a.call("XADD", "s", "4-0", "f", "4");
    out.push(await a.call("EXEC"));
    out.push(await b.reply());
    // A key of another type does not wake it; a stream created later does.
    await b.send("XREAD", "BLOCK", "0", "STREAMS", "later", "0");
    await blockedClients(admin, 1);
    await a.call("SET", "later", "x");
    await a.call("DEL", "later");
    await a.call("XADD", "later", "9-9", "z", "z");
    out.push(await b.reply());
    // XREADGROUP: woken by XADD, creates the PEL entry.
    await a.call("XGROUP", "CREATE", "s", "g", "$");
    await b.send("XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "STREAMS", "s", ">");
    await blockedClients(admin, 1);
    await a.call("XADD", "s", "5-0", "f", "5");
    out.push(await b.reply());
    out.push(await a.call("XPENDING", "s", "g"));
    // Two consumers blocked: one XADD serves the first; the second times out.
    const c = await Peer.open(port);
    await b.send("XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "STREAMS", "s", ">");
    await blockedClients(admin, 1);
    await c.send("XREADGROUP", "GROUP", "g", "carol", "BLOCK", "300", "STREAMS", "s", ">");
    await blockedClients(admin, 2);
    await a.call("XADD", "s", "6-0", "f", "6");
    out.push(await b.reply());
    out.push(await c.reply());
    // The group destroyed while a consumer waits: NOGROUP.
    await b.send("XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "STREAMS", "s", ">");
    await blockedClients(admin, 1);
    await a.call("XGROUP", "DESTROY", "s", "g");
    out.push(await b.reply());
    // NOACK: no pending entry.
    await a.call("XGROUP", "CREATE", "s", "h", "$");
    await b.send("XREADGROUP", "GROUP", "h", "bob", "NOACK", "BLOCK", "0", "STREAMS", "s", ">");
    await blockedClients(admin, 1);
    await a.call("XADD", "s", "7-0", "f", "7");
    out.push(await b.reply());
    out.push(await a.call("XPENDING", "s", "h"));
    out.push(await a.call("XINFO", "GROUPS", "s"));
    // Inside MULTI a blocking read answers at once.
    await a.call("MULTI");
    await a.call("XREAD", "BLOCK", "0", "STREAMS", "s", "$");
    await a.call("XREADGROUP", "GROUP", "h", "bob", "BLOCK", "0", "STREAMS", "s", ">");
    out.push(await a.call("EXEC"));
    // CLIENT UNBLOCK, with and without error.
    const bid = /^:(\d+)/.exec(await b.call("CLIENT", "ID"))![1];
    for (const mode of ["TIMEOUT", "ERROR"]) {
      await b.send("XREAD", "BLOCK", "0", "STREAMS", "s", "$");
      await blockedClients(admin, 1);
      out.push(await admin.call("CLIENT", "UNBLOCK", bid, mode));
      out.push(await b.reply());
    }
    for (const p of [admin, a, b, c]) p.close();
    return out;
  }
}

serverTest("streams: blocking XREAD and XREADGROUP behave as redis-server's", async (t) => {
  let which = "";
  await both(t, async (port) => {
    const out: string[] = [];
    try {
      return await blockingScenario(port, out);
    } catch (e) {
      which += `port ${port}: ${(e as Error).stack} after ${JSON.stringify(out)}\n`;
      throw new Error(which);
    }
  });
});

serverTest("streams: XREADGROUP blocked on a key that is deleted, replaced or expired", async (t) => {
  await both(t, async (port) => {
    const admin = await Peer.open(port);
    const a = await Peer.open(port);
    const b = await Peer.open(port);
    const out: string[] = [];
    await a.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM");
    await b.send("XREADGROUP", "GROUP", "g", "bob", "BLOCK", "200", "STREAMS", "s", ">");
    await blockedClients(admin, 1);
    out.push(await a.call("DEL", "s"));
    await a.call("XADD", "s", "1-0", "f", "1");
    out.push(await b.reply());
    await a.call("XGROUP", "CREATE", "s", "g", "$");
    await b.send("XREADGROUP", "GROUP", "g", "bob", "BLOCK", "200", "STREAMS", "s", ">");
    await blockedClients(admin, 1);
    await a.call("SET", "s", "x");
    out.push(await b.reply());
    // Expired by the active expiry cycle while the consumer waits.
    await a.call("DEL", "s");
    await a.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM");
    await a.call("PEXPIRE", "s", "100");
    await b.send("XREADGROUP", "GROUP", "g", "bob", "BLOCK", "3000", "STREAMS", "s", ">");
    out.push(await b.reply());
    for (const p of [admin, a, b]) p.close();
    return out;
  });
});

/** A RESTORE payload of the old stream type 15 (no first ID, tombstone or read counters), written by hand. */
function type15Payload(): string {
  const out = new RdbBuffer(256);
  out.byte(15);
  out.len(1);
  out.len(16);
  out.raw(idKeyBytes(makeStreamId(1n, 1n)));
  out.blob(encodeListpack([
    ...["2", "1", "1", "f", "0"],
    ...["2", "0", "0", "v1", "4"],
    ...["3", "0", "1", "v2", "4"],
    ...["0", "1", "-1", "1", "g", "x", "6"],
  ]));
  out.len(2);
  out.len(2);
  out.len(0);
  out.len(1);
  out.string("grp");
  out.len(1);
  out.len(1);
  out.len(1);
  out.raw(idKeyBytes(makeStreamId(1n, 1n)));
  out.int64LE(1000);
  out.len(2);
  out.len(1);
  out.string("alice");
  out.int64LE(500);
  out.len(1);
  out.raw(idKeyBytes(makeStreamId(1n, 1n)));
  out.byte(10);
  out.byte(0);
  const end = out.pos;
  out.raw(new Uint8Array(8));
  new Crc64().update(out.buf, 0, end).writeLE(out.buf, end);
  return bytesToLatin1(out.bytes());
}

serverTest("streams: the old type 15 loads as redis-server loads it", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tp, rp] = await Promise.all([t.tessera(DEBUG_ARGS), t.redis(DEBUG_ARGS)]);
  const [tc, rc] = await Promise.all([connect(tp.port), connect(rp.port)]);
  t.defer(() => {
    tc.close();
    rc.close();
  });
  const payload = type15Payload();
  assert.equal(await rc.call("RESTORE", "s", "0", payload), "OK");
  assert.equal(await tc.call("RESTORE", "s", "0", payload), "OK");
  for (const cmd of [["XINFO", "STREAM", "s", "FULL"], ["XINFO", "GROUPS", "s"], ["DEBUG", "DIGEST-VALUE", "s"]]) {
    assert.equal(await tc.callRaw(...cmd), await rc.callRaw(...cmd), cmd.join(" "));
  }
  // And it dumps back as type 19, byte for byte as redis-server does.
  assert.deepEqual(await dump(tc, "s"), await dump(rc, "s"));
});

serverTest("streams: keyspace notifications are those of redis-server", async (t) => {
  await both(t, async (port) => {
    const a = await Peer.open(port);
    const sub = await Peer.open(port);
    await a.call("CONFIG", "SET", "notify-keyspace-events", "KEA");
    await sub.call("PSUBSCRIBE", "__keyevent@0__:*");
    const commands = [
      ["XADD", "s", "1-0", "a", "1"],
      ["XADD", "s", "MAXLEN", "1", "2-0", "b", "2"],
      ["XTRIM", "s", "MAXLEN", "0"],
      ["XTRIM", "s", "MAXLEN", "0"],
      ["XADD", "s", "3-0", "c", "3"],
      ["XDEL", "s", "3-0"],
      ["XDEL", "s", "9-9"],
      ["XSETID", "s", "10-0"],
      ["XGROUP", "CREATE", "s", "g", "$"],
      ["XGROUP", "CREATE", "x", "g", "$", "MKSTREAM"],
      ["XGROUP", "SETID", "s", "g", "0"],
      ["XGROUP", "CREATECONSUMER", "s", "g", "c1"],
      ["XGROUP", "CREATECONSUMER", "s", "g", "c1"],
      ["XADD", "s", "11-0", "d", "4"],
      ["XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", ">"],
      ["XCLAIM", "s", "g", "c3", "0", "11-0"],
      ["XAUTOCLAIM", "s", "g", "c4", "0", "0"],
      ["XGROUP", "DELCONSUMER", "s", "g", "c1"],
      ["XGROUP", "DELCONSUMER", "s", "g", "nobody"],
      ["XGROUP", "DESTROY", "s", "g"],
      ["XGROUP", "DESTROY", "s", "g"],
      ["XADD", "s", "MAXLEN", "~", "0", "12-0", "e", "5"],
      ["DEL", "s"],
      ["XADD", "s", "NOMKSTREAM", "1-0", "a", "b"],
    ];
    for (const cmd of commands) await a.call(...cmd);
    await a.call("PUBLISH", "__keyevent@0__:zz-end", "x");
    const events: string[] = [];
    for (;;) {
      const { raw } = await sub.conn.readReply();
      events.push(raw);
      if (raw.includes("zz-end")) break;
    }
    a.close();
    sub.close();
    return events;
  });
});
