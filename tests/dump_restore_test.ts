/**
 * DUMP / RESTORE against a real redis-server 7.0.15: payloads both ways for every type and encoding
 * (redis-server deep-checks with sanitize-dump-payload yes), byte-equal DUMP output where 7.0.15 is
 * deterministic, RESTORE's options and errors byte for byte, and a seeded fuzz of corrupt payloads.
 */
import assert from "node:assert/strict";
import { requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import { buildFixtures, fixtures } from "./helpers/rdb_fixtures.ts";
import { RespConnection } from "../src/resp/connection.ts";
import { RespError } from "../src/resp/reply_parser.ts";
import { Rng } from "./helpers/rng.ts";
import { Crc64 } from "../src/persistence/crc64.ts";
import { bytesToLatin1, latin1ToBytes } from "../src/resp/latin1.ts";

const DEBUG = ["--enable-debug-command", "yes"];
const hasRedis = requireTool("redis-server");

/** Re-seals a payload whose body was changed: new CRC64 over everything but the last 8 bytes. */
function reseal(payload: Uint8Array): Uint8Array {
  const out = payload.slice();
  if (out.length >= 10) new Crc64().update(out, 0, out.length - 8).writeLE(out, out.length - 8);
  return out;
}

/** A payload from its body (type byte + value): version 10 and CRC appended. */
function payloadOf(body: number[]): string {
  return bytesToLatin1(reseal(Uint8Array.from([...body, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0])));
}

serverTest(
  "DUMP/RESTORE: every type and encoding round-trips with redis-server, byte-equal where deterministic",
  async (ctx) => {
    if (!hasRedis) return;
    const t = await ctx.tessera(DEBUG);
    const r = await ctx.redis([...DEBUG, "--sanitize-dump-payload", "yes"]);
    const ct = await RespConnection.connect(t.port);
    const cr = await RespConnection.connect(r.port);
    ctx.defer(() => (ct.close(), cr.close()));
    const list = fixtures();
    await buildFixtures(ct, list);
    await buildFixtures(cr, list);
    for (const f of list) {
      const fromTessera = await ct.call("DUMP", f.key);
      const fromRedis = await cr.call("DUMP", f.key);
      assert.equal(typeof fromTessera, "string", f.key);
      if (f.sameBytes) assert.equal(fromTessera, fromRedis, `DUMP ${f.key} differs from redis-server's`);
      // tessera's payload into redis-server (deep-checked there) and redis-server's into tessera.
      assert.equal(await cr.call("RESTORE", `${f.key}:t`, "0", fromTessera as string), "OK", `redis RESTORE ${f.key}`);
      assert.equal(await ct.call("RESTORE", `${f.key}:r`, "0", fromRedis as string), "OK", `tessera RESTORE ${f.key}`);
      const want = await cr.call("DEBUG", "DIGEST-VALUE", f.key);
      assert.deepEqual(await cr.call("DEBUG", "DIGEST-VALUE", `${f.key}:t`), want, `digest ${f.key} in redis`);
      assert.deepEqual(await ct.call("DEBUG", "DIGEST-VALUE", `${f.key}:r`), want, `digest ${f.key} in tessera`);
      assert.equal(await ct.call("OBJECT", "ENCODING", `${f.key}:r`), f.encoding, `encoding ${f.key} in tessera`);
      assert.equal(await cr.call("OBJECT", "ENCODING", `${f.key}:t`), f.encoding, `encoding ${f.key} in redis`);
      // A tessera payload read back by tessera gives the same value again.
      assert.equal(await ct.call("RESTORE", `${f.key}:tt`, "0", fromTessera as string), "OK");
      assert.deepEqual(await ct.call("DEBUG", "DIGEST-VALUE", `${f.key}:tt`), want);
    }
  },
);

serverTest("DUMP/RESTORE: Redis 6 ziplist payloads (types 10, 12, 13, 14) load as in redis-server", async (ctx) => {
  if (!hasRedis) return;
  const t = await ctx.tessera(DEBUG);
  const r = await ctx.redis(DEBUG);
  const ct = await RespConnection.connect(t.port);
  const cr = await RespConnection.connect(r.port);
  ctx.defer(() => (ct.close(), cr.close()));
  // A ziplist of "f1", "v1", "f2", 2 written by hand from rdb.md section 10.
  const entries = [[0x02, 0x66, 0x31], [0x02, 0x76, 0x31], [0x02, 0x66, 0x32], [0xf3]];
  const body: number[] = [];
  let prev = 0;
  let lastStart = 10;
  for (const e of entries) {
    lastStart = 10 + body.length;
    body.push(prev, ...e);
    prev = e.length + 1;
  }
  const total = 10 + body.length + 1;
  const zl = [total, 0, 0, 0, lastStart, 0, 0, 0, entries.length, 0, ...body, 0xff];
  const cases: [string, number[]][] = [
    ["hash13", [13, zl.length, ...zl]],
    ["list10", [10, zl.length, ...zl]],
    ["list14", [14, 2, zl.length, ...zl, zl.length, ...zl]],
    ["zset12", [12, zl.length, ...zl]], // "v1" as a score reads as 0, as strtod does
  ];
  for (const [key, bodyBytes] of cases) {
    const payload = payloadOf(bodyBytes);
    const a = await ct.callRaw("RESTORE", key, "0", payload);
    const b = await cr.callRaw("RESTORE", key, "0", payload);
    assert.equal(a, b, `RESTORE ${key}`);
    assert.deepEqual(await ct.call("DEBUG", "DIGEST-VALUE", key), await cr.call("DEBUG", "DIGEST-VALUE", key), key);
    assert.equal(await ct.call("OBJECT", "ENCODING", key), await cr.call("OBJECT", "ENCODING", key), key);
  }
});

serverTest("RESTORE: options and errors match redis-server byte for byte", async (ctx) => {
  if (!hasRedis) return;
  const t = await ctx.tessera(DEBUG);
  const r = await ctx.redis(DEBUG);
  const ct = await RespConnection.connect(t.port);
  const cr = await RespConnection.connect(r.port);
  ctx.defer(() => (ct.close(), cr.close()));
  for (const c of [ct, cr]) await c.call("SET", "src", "hello");
  const good = await cr.call("DUMP", "src") as string;
  // Version 11 (Redis 7.2) with a valid CRC: still refused.
  const newer = bytesToLatin1(reseal(latin1ToBytes(good.slice(0, -10) + "\x0b" + good.slice(-9))));
  const badCrc = good.slice(0, -1) + String.fromCharCode(good.charCodeAt(good.length - 1) ^ 1);
  const past = String(Date.now() - 10_000);
  const scripts: string[][] = [
    ["DUMP", "nosuchkey"],
    ["RESTORE", "k", "0", good],
    ["GET", "k"],
    ["RESTORE", "k", "0", good],
    ["RESTORE", "k", "-1", good],
    ["RESTORE", "k2", "-1", good],
    ["RESTORE", "k2", "abc", good],
    ["RESTORE", "k2", "0", "garbage"],
    ["RESTORE", "k2", "0", ""],
    ["RESTORE", "k2", "0", badCrc],
    ["RESTORE", "k2", "0", newer],
    ["RESTORE", "k2", "0", good, "FOO"],
    ["RESTORE", "k2", "0", good, "IDLETIME"],
    ["RESTORE", "k2", "0", good, "IDLETIME", "-1"],
    ["RESTORE", "k2", "0", good, "IDLETIME", "x"],
    ["RESTORE", "k2", "0", good, "FREQ", "256"],
    ["RESTORE", "k2", "0", good, "FREQ", "-1"],
    ["RESTORE", "k2", "0", good, "IDLETIME", "10", "FREQ", "5"],
    ["RESTORE", "k2", "0", good, "FREQ", "5", "IDLETIME", "10"],
    ["RESTORE", "k2", "0", good, "REPLACE", "ABSTTL", "IDLETIME", "10"],
    ["EXISTS", "k2"],
    ["RESTORE", "k", "0", good, "REPLACE", "FREQ", "100"],
    ["RESTORE", "k3", past, good, "ABSTTL"],
    ["EXISTS", "k3"],
    ["RESTORE", "k", past, good, "ABSTTL", "REPLACE"],
    ["EXISTS", "k"],
    ["RESTORE", "k4", "100000", good],
    ["RESTORE-ASKING", "k5", "0", good],
    ["GET", "k5"],
    ["RESTORE", "bad1", "0", payloadOf([2, 0])], // empty set
    ["RESTORE", "bad2", "0", payloadOf([15, 0])], // stream
    ["RESTORE", "bad3", "0", payloadOf([99, 0])], // unknown type
    ["RESTORE", "bad4", "0", payloadOf([2, 2, 1, 0x61, 1, 0x61])], // duplicate set member
    ["RESTORE", "into-footer", "0", payloadOf([0, 5, 0x61])], // a string running into the footer, read as Redis does
    ["STRLEN", "into-footer"],
    ["RESTORE", "bad5", "0", payloadOf([0, 30, 0x61])], // a string longer than the payload
    ["RESTORE", "bad6", "0", payloadOf([4, 1, 1, 0x61])], // hash missing its value
    ["RESTORE", "bad7", "0", payloadOf([5, 1, 1, 0x61, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f])], // NaN score
    ["RESTORE", "ok8", "0", payloadOf([1, 2, 1, 0x61, 0xc0, 7])], // old type 1 list with an INT8 string
    ["LRANGE", "ok8", "0", "-1"],
    ["RESTORE", "ok9", "0", payloadOf([0, 0xc3, 4, 10, 0x00, 0x61, 0xe0, 0x06, 0x00])], // LZF "a" x 10
    ["GET", "ok9"],
  ];
  for (const cmd of scripts) {
    const a = await ct.callRaw(...cmd);
    const b = await cr.callRaw(...cmd);
    assert.equal(a, b, `${cmd[0]} ${cmd[1]} ${cmd.slice(4).join(" ")}`);
  }
  const pttl = Number(await ct.call("PTTL", "k4"));
  assert.ok(pttl > 90_000 && pttl <= 100_000, `PTTL ${pttl}`);
});

serverTest("RESTORE: corrupted payloads (seeded flips and cuts) never crash tessera", async (ctx) => {
  const t = await ctx.tessera(DEBUG);
  const ct = await RespConnection.connect(t.port);
  ctx.defer(() => ct.close());
  const list = fixtures().filter((f) => !f.key.startsWith("str:big") && !f.key.startsWith("list:nodes"));
  await buildFixtures(ct, list);
  const payloads: Uint8Array[] = [];
  for (const f of list) payloads.push(latin1ToBytes(await ct.call("DUMP", f.key) as string));
  const seed = Number(Deno.env.get("RDB_FUZZ_SEED") ?? 4242);
  const rng = new Rng(seed);
  const allowed = new Set(["OK", "ERR Bad data format", "ERR DUMP payload version or checksum are wrong"]);
  for (let round = 0; round < 1500; round++) {
    const base = rng.pick(payloads);
    let bytes = base.slice();
    const mode = rng.int(0, 2);
    if (mode === 0) {
      for (let k = rng.int(1, 4); k > 0; k--) bytes[rng.int(0, Math.max(0, bytes.length - 11))] = rng.int(0, 255);
    } else if (mode === 1) {
      const body = bytes.subarray(0, bytes.length - 10);
      const cut = rng.int(0, body.length - 1);
      bytes = Uint8Array.from([...body.subarray(0, cut), ...bytes.subarray(bytes.length - 10)]);
    } else {
      bytes[rng.int(0, Math.max(0, bytes.length - 11))] ^= 1 << rng.int(0, 7);
    }
    const sealed = rng.chance(0.9) ? reseal(bytes) : bytes;
    const reply = await ct.call("RESTORE", `fuzz:${round}`, "0", bytesToLatin1(sealed), "REPLACE");
    const text = reply instanceof RespError ? reply.message : String(reply);
    assert.ok(allowed.has(text), `seed ${seed} round ${round}: ${text}`);
    if (text === "OK") {
      // Whatever was accepted must be a usable value: it dumps and restores again.
      const again = await ct.call("DUMP", `fuzz:${round}`);
      assert.equal(await ct.call("RESTORE", `fuzz:${round}:again`, "0", again as string), "OK");
    }
  }
  assert.equal(await ct.call("PING"), "PONG");
}, 120_000);

serverTest("RESTORE: IDLETIME and FREQ set the access data as in redis-server", async (ctx) => {
  if (!hasRedis) return;
  for (const policy of ["allkeys-lru", "allkeys-lfu"]) {
    const args = [...DEBUG, "--maxmemory", "100mb", "--maxmemory-policy", policy];
    const t = await ctx.tessera(args);
    const r = await ctx.redis(args);
    const ct = await RespConnection.connect(t.port);
    const cr = await RespConnection.connect(r.port);
    ctx.defer(() => (ct.close(), cr.close()));
    await cr.call("SET", "src", "v");
    const payload = await cr.call("DUMP", "src") as string;
    for (const c of [ct, cr]) {
      assert.equal(await c.call("RESTORE", "idle", "0", payload, "IDLETIME", "1000"), "OK");
      assert.equal(await c.call("RESTORE", "freq", "0", payload, "FREQ", "100"), "OK");
    }
    if (policy === "allkeys-lru") {
      const [a, b] = [
        Number(await ct.call("OBJECT", "IDLETIME", "idle")),
        Number(await cr.call("OBJECT", "IDLETIME", "idle")),
      ];
      assert.ok(Math.abs(a - b) <= 2 && b >= 1000, `IDLETIME ${a} vs ${b}`);
    } else {
      assert.equal(await ct.call("OBJECT", "FREQ", "freq"), await cr.call("OBJECT", "FREQ", "freq"));
      assert.equal(await ct.call("OBJECT", "FREQ", "freq"), 100);
    }
  }
});
