/**
 * Differential tests for the HyperLogLog commands against redis-server, byte for byte:
 * - random element sets from a few elements (sparse) to tens of thousands (dense), under several
 *   hll-sparse-max-bytes settings: PFADD replies, the raw HLL strings (GET), PFCOUNT, PFMERGE;
 * - interop: an HLL built on one server, copied with GET/SET to the other, counts the same there
 *   and keeps growing identically;
 * - seeded random command sequences over a few keys, with corruption (SETRANGE, APPEND, forged
 *   values) and generic key commands mixed in.
 * `DIFF_SEEDS=7,8 deno test -A tests/differential_hyperloglog_test.ts` replays or explores seeds.
 */
import assert from "node:assert/strict";
import { requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import { diffSeeds, DiffSession, randomDifferentialTest } from "./helpers/diff.ts";
import { type RandomStep, Rng } from "./differential/random_commands.ts";
import type { RespConnection } from "../src/resp/connection.ts";

const SERVER_ARGS = ["--save", ""];
/** Fixed seeds keep the suite deterministic; DIFF_SEEDS replays or explores others. */
const DEFAULT_SEEDS = [1, 2, 3];
/** Commands per seed of the random sequences. */
const COMMANDS_PER_SEED = 500;
/** Mismatches shown per failing run. */
const SHOWN_PER_RUN = 5;
/** Redis's default hll-sparse-max-bytes, restored after every phase. */
const DEFAULT_SPARSE_MAX_BYTES = "3000";
/** Largest number of elements one generated PFADD carries. */
const MAX_BATCH = 400;

function randomBytes(r: Rng, maxLen: number): string {
  let s = "";
  for (let n = r.int(0, maxLen); n > 0; n--) s += String.fromCharCode(r.pick([0, 0xff, r.int(0, 255)]));
  return s;
}

/** An element: binary, a typical member name, or a number; `n` makes most of them distinct. */
function element(r: Rng, n: number): string {
  const x = r.next();
  if (x < 0.3) return randomBytes(r, 24);
  if (x < 0.7) return `user:${n}`;
  if (x < 0.9) return String(n * 7919);
  return r.pick(["", "a", "b", "\x00", "\xff\xff"]);
}

/** `count` elements, about one in ten repeating an earlier one. */
function elements(r: Rng, count: number, offset: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(out.length > 0 && r.chance(0.1) ? r.pick(out) : element(r, offset + i));
  return out;
}

/** The payload of a raw bulk reply (`$n\r\n...\r\n`). */
function bulkPayload(raw: string): string {
  assert.ok(raw.startsWith("$"), `expected a bulk reply, got ${JSON.stringify(raw.slice(0, 80))}`);
  const eol = raw.indexOf("\r\n");
  const len = Number(raw.slice(1, eol));
  return raw.slice(eol + 2, eol + 2 + len);
}

/** Sends to both servers, recording mismatches in the session. */
function both(session: DiffSession, args: string[], where: string): Promise<unknown> {
  return session.send("a", args, undefined, where);
}

/** Adds `items` to `key` on both servers in random batches, comparing replies and, now and then, the raw value. */
async function addInBatches(session: DiffSession, r: Rng, key: string, items: string[], where: string) {
  for (let at = 0; at < items.length;) {
    const size = Math.min(items.length - at, r.int(1, r.chance(0.5) ? 20 : MAX_BATCH));
    await both(session, ["PFADD", key, ...items.slice(at, at + size)], where);
    at += size;
    if (r.chance(0.2)) await both(session, ["PFCOUNT", key], where);
    if (r.chance(0.1)) await both(session, ["GET", key], where);
  }
}

const SET_SIZES = [1, 2, 5, 20, 100, 400, 1000, 2000, 3000, 5000, 15000, 50000];
const SPARSE_LIMITS: { maxBytes: string; sizes: number[] }[] = [
  { maxBytes: DEFAULT_SPARSE_MAX_BYTES, sizes: SET_SIZES },
  { maxBytes: "250", sizes: [1, 5, 20, 60, 200, 1000] },
  { maxBytes: "16000", sizes: [100, 1000, 3000, 8000] },
];

serverTest("hyperloglog differential: element sets, merges and interop, byte for byte", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(SERVER_ARGS), t.redis(SERVER_ARGS)]);
  const session = new DiffSession(tessera.port, redis.port, 2);
  t.defer(() => session.close());
  const r = new Rng(diffSeeds(DEFAULT_SEEDS)[0]);

  for (const { maxBytes, sizes } of SPARSE_LIMITS) {
    const where = `hll-sparse-max-bytes ${maxBytes}`;
    await both(session, ["FLUSHALL"], where);
    await both(session, ["CONFIG", "SET", "hll-sparse-max-bytes", maxBytes], where);
    const keys: string[] = [];
    let offset = 0;
    for (const size of sizes) {
      const key = `set:${size}`;
      keys.push(key);
      await addInBatches(session, r, key, elements(r, size, offset), `${where}, ${size} elements`);
      offset += size;
      for (const args of [["PFDEBUG", "ENCODING", key], ["GET", key], ["PFCOUNT", key], ["GET", key]]) {
        await both(session, args, `${where}, ${size} elements`);
      }
    }
    // Merges: into new keys, into existing sparse and dense keys, several sources at once.
    for (let i = 0; i < 12; i++) {
      const sources = Array.from({ length: r.int(1, 4) }, () => r.pick(keys));
      const dest = r.chance(0.5) ? `merged:${i}` : r.pick(keys);
      const here = `${where}, PFMERGE ${dest} ${sources.join(" ")}`;
      await both(session, ["PFMERGE", dest, ...sources], here);
      await both(session, ["GET", dest], here);
      await both(session, ["PFCOUNT", dest], here);
      await both(session, ["PFCOUNT", ...sources], here);
    }
  }
  await both(session, ["CONFIG", "SET", "hll-sparse-max-bytes", DEFAULT_SPARSE_MAX_BYTES], "reset");

  // Interop: build on one server, copy the string to the other, count and keep adding on both.
  await both(session, ["FLUSHALL"], "interop");
  const { t: tConn, r: rConn } = await session.pair("a");
  const copies: { from: RespConnection; to: RespConnection; name: string }[] = [
    { from: tConn, to: rConn, name: "tessera -> redis" },
    { from: rConn, to: tConn, name: "redis -> tessera" },
  ];
  for (const { from, to, name } of copies) {
    for (const size of [0, 3, 300, 2500, 20000]) {
      const key = `copy:${name.startsWith("t") ? "t" : "r"}:${size}`;
      const items = elements(r, size, size);
      for (let at = 0; at === 0 || at < items.length; at += MAX_BATCH) {
        await from.callRaw("PFADD", key, ...items.slice(at, at + MAX_BATCH));
      }
      const value = bulkPayload(await from.callRaw("GET", key));
      assert.equal(await to.callRaw("SET", key, value), "+OK\r\n");
      const where = `interop ${name}, ${size} elements`;
      await both(session, ["GET", key], where);
      await both(session, ["PFCOUNT", key], where);
      await both(session, ["PFADD", key, ...elements(r, 50, size + 1000)], where);
      await both(session, ["PFCOUNT", key], where);
      await both(session, ["GET", key], where);
    }
  }
  const copied = ["copy:t:300", "copy:r:2500", "copy:t:20000"];
  await both(session, ["PFCOUNT", ...copied], "interop merge");
  await both(session, ["PFMERGE", "copy:all", ...copied], "interop merge");
  await both(session, ["GET", "copy:all"], "interop merge");

  // Registers beyond what the estimator uses: every dense register 63 (redis-server replies INT64_MIN).
  const allMax = "HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80" + "\xff".repeat(12288);
  await both(session, ["SET", "max", allMax], "dense registers 63");
  await both(session, ["PFCOUNT", "max"], "dense registers 63");
  await both(session, ["GET", "max"], "dense registers 63");
  await both(session, ["PFCOUNT", "max", "copy:t:3"], "dense registers 63");
  await both(session, ["PFMERGE", "copy:t:3", "max"], "dense registers 63");
  await both(session, ["GET", "copy:t:3"], "dense registers 63");

  await both(session, ["PFSELFTEST"], "selftest");
  assert.deepEqual(session.failures, [], session.failures.slice(0, 10).join("\n"));
}, 120_000);

// ------------------------------------------------------------------------------------------------
// Random command sequences.

const KEYS = ["h0", "h1", "h2", "{t}a", "{t}b", "\x00\xff"];
const SMALL_POOL = ["a", "b", "c", "d", "e", "f", "g", "\x00", "", "12345678", "x".repeat(30)];
const SUBCOMMANDS = ["GETREG", "DECODE", "ENCODING", "TODENSE", "decode", "encoding", "todense", "nosuch"];
const HEADER_SPARSE = "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80";

function key(r: Rng): string {
  return r.pick(KEYS);
}

/** A hand-made sparse value: random opcodes (often a plausible run length, sometimes not). */
function forgedSparse(r: Rng): string {
  let body = "";
  let left = 16384;
  while (left > 0 && !r.chance(0.05)) {
    const x = r.next();
    if (x < 0.4) {
      const run = Math.min(left, r.int(1, 4));
      body += String.fromCharCode(0x80 | (r.int(0, 31) << 2) | (run - 1));
      left -= run;
    } else if (x < 0.7) {
      const run = Math.min(left, r.int(1, 64));
      body += String.fromCharCode(run - 1);
      left -= run;
    } else {
      const run = Math.min(left, r.int(1, r.chance(0.5) ? 300 : 16384));
      body += String.fromCharCode(0x40 | ((run - 1) >> 8), (run - 1) & 0xff);
      left -= run;
    }
  }
  if (r.chance(0.2)) body += randomBytes(r, 3);
  return HEADER_SPARSE + body;
}

function pfadd(r: Rng): string[] {
  const args = ["PFADD", key(r)];
  const x = r.next();
  const n = x < 0.1 ? 0 : x < 0.85 ? r.int(1, 6) : r.int(50, 700);
  for (let i = 0; i < n; i++) args.push(r.chance(0.5) ? r.pick(SMALL_POOL) : element(r, r.int(0, 100000)));
  return args;
}

/** One random command (HLL commands mostly, then corruption and generic key commands). */
function randomCommand(r: Rng, withSets: boolean): RandomStep {
  const x = r.next();
  const step = (args: string[], normaliser?: string): RandomStep => ({ conn: "a", args, normaliser });
  if (x < 0.32) return step(pfadd(r));
  if (x < 0.47) return step(["PFCOUNT", ...Array.from({ length: r.chance(0.6) ? 1 : r.int(2, 4) }, () => key(r))]);
  if (x < 0.57) return step(["PFMERGE", key(r), ...Array.from({ length: r.int(0, 3) }, () => key(r))]);
  if (x < 0.64) {
    const sub = r.pick(SUBCOMMANDS);
    // GETREG's reply is 16384 integers: keep it rarer.
    return step(["PFDEBUG", sub === "GETREG" && r.chance(0.7) ? "ENCODING" : sub, key(r)]);
  }
  if (x < 0.7) return step(["GET", key(r)]);
  if (x < 0.74) {
    // The cached cardinality (bytes 8-15), the opcodes just after the header, or anywhere in a dense HLL.
    const y = r.next();
    const offset = y < 0.4 ? r.int(8, 15) : y < 0.8 ? r.int(16, 40) : r.int(0, 12305);
    return step(["SETRANGE", key(r), String(offset), randomBytes(r, 3) || "\x80"]);
  }
  if (x < 0.755) return step(["APPEND", key(r), randomBytes(r, 4)]);
  if (x < 0.78) return step(["SET", key(r), forgedSparse(r)]);
  if (x < 0.79) return step(["SET", key(r), r.pick(["foo", "12345", "HYLL", HEADER_SPARSE, "HYLL\x00"])]);
  if (x < 0.82) return step(["OBJECT", "ENCODING", key(r)]);
  if (x < 0.84) return step(["STRLEN", key(r)]);
  if (x < 0.89) return step(["DEL", key(r)]);
  if (x < 0.91) return step(["EXISTS", key(r), key(r)]);
  if (x < 0.93) return step(["TYPE", key(r)]);
  if (x < 0.945) return step(["EXPIRE", key(r), "100"]);
  if (x < 0.955) return step(["TTL", key(r)], "ttl");
  if (x < 0.965) return step(["CONFIG", "SET", "hll-sparse-max-bytes", r.pick(["0", "40", "200", "3000", "20000"])]);
  if (x < 0.975 && withSets) return step(["SADD", key(r), "m"]);
  return step(["PFADD", key(r)]);
}

randomDifferentialTest("hyperloglog differential: random command sequences", DEFAULT_SEEDS, async (session, seed) => {
  await session.send("a", ["CONFIG", "SET", "hll-sparse-max-bytes", DEFAULT_SPARSE_MAX_BYTES], undefined, "setup");
  const r = new Rng(seed);
  for (let i = 0; i < COMMANDS_PER_SEED; i++) {
    const step = randomCommand(r, true);
    await session.sendTracked(step.conn, step.args, step.normaliser, `seed ${seed} RESP${session.resp} #${i}`);
  }
  await session.send("a", ["CONFIG", "SET", "hll-sparse-max-bytes", DEFAULT_SPARSE_MAX_BYTES], undefined, "reset");
}, { serverArgs: SERVER_ARGS, shownPerRun: SHOWN_PER_RUN });
