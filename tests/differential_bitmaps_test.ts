/**
 * Seeded random differential test for the bitmap commands: SETBIT GETBIT BITCOUNT BITPOS BITOP
 * BITFIELD BITFIELD_RO (random types, offsets, `#` offsets, values near the limits and overflow
 * modes), mixed with string writes and generic key commands over a few keys, sent to tessera and
 * redis-server and compared byte for byte in RESP2 and RESP3.
 * `DIFF_SEEDS=7,8 deno test -A tests/differential_bitmaps_test.ts` replays or explores seeds.
 */
import assert from "node:assert/strict";
import { requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import { diffSeeds, DiffSession, showArgs } from "./helpers/diff.ts";
import { type RandomStep, Rng } from "./differential/random_commands.ts";

const SERVER_ARGS = ["--save", ""];
/** Fixed seeds keep the suite deterministic; DIFF_SEEDS replays or explores others. */
const DEFAULT_SEEDS = [1, 2, 3];
/** Top-level commands per seed (a transaction counts as one). */
const COMMANDS_PER_SEED = 600;
/** Commands shown before the first mismatch of a run. */
const CONTEXT_COMMANDS = 12;
/** Mismatches shown per failing run. */
const SHOWN_PER_RUN = 5;

const KEYS = ["b0", "b1", "b2", "{t}x", "{t}y", "\x00\xff", "n0"];
const INT64_EDGES = [
  "9223372036854775807",
  "-9223372036854775808",
  "9223372036854775806",
  "-9223372036854775807",
  "4611686018427387904",
  "-4611686018427387905",
];

function key(r: Rng): string {
  return r.pick(KEYS);
}

function randomBytes(r: Rng, maxLen: number): string {
  let s = "";
  for (let n = r.int(0, maxLen); n > 0; n--) s += String.fromCharCode(r.pick([0, 0xff, r.int(0, 255)]));
  return s;
}

/** A random int64 as text: two 32-bit halves. */
function randomInt64(r: Rng): string {
  const hi = BigInt(r.int(0, 0xffffffff));
  const lo = BigInt(r.int(0, 0xffffffff));
  return String(BigInt.asIntN(64, (hi << 32n) | lo));
}

/** A bit offset: mostly small, sometimes past the strings, sometimes invalid. */
function bitOffset(r: Rng): string {
  const x = r.next();
  if (x < 0.75) return String(r.int(0, 90));
  if (x < 0.9) return String(r.int(90, 3000));
  return r.pick(["-1", "abc", "", "4294967296", "1.5", "01", "#3"]);
}

/** An index for BITCOUNT/BITPOS ranges: byte-sized or bit-sized, sometimes invalid. */
function rangeIndex(r: Rng, bits: boolean): string {
  if (r.chance(0.03)) return r.pick(["x", "", "9223372036854775807", "-9223372036854775808"]);
  return bits ? String(r.int(-100, 100)) : String(r.int(-14, 14));
}

/** A BITFIELD type: valid widths mostly, sometimes an invalid one. */
function fieldType(r: Rng): string {
  if (r.chance(0.03)) return r.pick(["u64", "i65", "i0", "x8", "U8", "u", ""]);
  const signed = r.chance(0.5);
  const bits = r.chance(0.3) ? r.pick([1, 8, 16, 32, signed ? 64 : 63]) : r.int(1, signed ? 64 : 63);
  return (signed ? "i" : "u") + bits;
}

function fieldOffset(r: Rng): string {
  if (r.chance(0.25)) return "#" + r.int(0, 12);
  if (r.chance(0.02)) return r.pick(["-1", "#-1", "#", "x", "4294967296"]);
  return String(r.int(0, 100));
}

/** A SET value or INCRBY increment: small, near a power of two, an int64 edge, random, or invalid. */
function fieldValue(r: Rng): string {
  const x = r.next();
  if (x < 0.35) return String(r.int(-300, 300));
  if (x < 0.6) {
    const p = 2n ** BigInt(r.int(0, 63));
    return String(BigInt.asIntN(64, r.pick([p, p - 1n, -p, -p - 1n, p + 1n])));
  }
  if (x < 0.75) return r.pick(INT64_EDGES);
  if (x < 0.97) return randomInt64(r);
  return r.pick(["abc", "", "1.5", "9223372036854775808"]);
}

function bitfieldArgs(r: Rng, readOnly: boolean): string[] {
  const args: string[] = [];
  for (let n = r.int(0, 4); n > 0; n--) {
    if (!readOnly && r.chance(0.3)) args.push("OVERFLOW", r.pick(["WRAP", "SAT", "FAIL", "sat", "fail", "wrap"]));
    const op = readOnly && !r.chance(0.05) ? "GET" : r.pick(["GET", "SET", "INCRBY", "INCRBY", "get", "set", "incrby"]);
    args.push(op, fieldType(r), fieldOffset(r));
    if (op.toUpperCase() !== "GET") args.push(fieldValue(r));
  }
  if (r.chance(0.02)) args.push(...r.pick([["OVERFLOW"], ["FOO"], ["GET"], ["OVERFLOW", "BAD"], ["SET", "u8", "0"]]));
  return args;
}

type Gen = (r: Rng) => RandomStep | RandomStep[];
const a = (args: string[], normaliser?: string): RandomStep => ({ conn: "a", args, normaliser });

const GENERATORS: [number, Gen][] = [
  [10, (r) => a(["SETBIT", key(r), bitOffset(r), r.chance(0.97) ? r.pick(["0", "1"]) : r.pick(["2", "-1", "x"])])],
  [6, (r) => a(["GETBIT", key(r), bitOffset(r)])],
  [6, (r) => {
    const args = ["BITCOUNT", key(r)];
    if (r.chance(0.75)) {
      const bits = r.chance(0.5);
      args.push(rangeIndex(r, bits), rangeIndex(r, bits));
      if (bits || r.chance(0.3)) args.push(bits ? r.pick(["BIT", "bit"]) : r.pick(["BYTE", "byte"]));
    }
    if (r.chance(0.02)) args.push(r.pick(["FOO", "1"]));
    return a(args);
  }],
  [7, (r) => {
    const args = ["BITPOS", key(r), r.chance(0.97) ? r.pick(["0", "1"]) : r.pick(["2", "x"])];
    const bits = r.chance(0.4);
    const parts = r.int(0, 3);
    if (parts >= 1) args.push(rangeIndex(r, bits));
    if (parts >= 2) args.push(rangeIndex(r, bits));
    if (parts >= 3) args.push(bits ? "BIT" : r.pick(["BYTE", "byte"]));
    if (r.chance(0.02)) args.push("FOO");
    return a(args);
  }],
  [5, (r) => {
    const op = r.pick(["AND", "OR", "XOR", "NOT", "and", "FOO"]);
    const sources = op === "NOT" && r.chance(0.9) ? [key(r)] : Array.from({ length: r.int(1, 4) }, () => key(r));
    return a(["BITOP", op, key(r), ...sources]);
  }],
  [10, (r) => a(["BITFIELD", key(r), ...bitfieldArgs(r, false)])],
  [4, (r) => a(["BITFIELD_RO", key(r), ...bitfieldArgs(r, true)])],
  [4, (r) => a(["SET", key(r), r.chance(0.3) ? String(r.int(-1000, 100000)) : randomBytes(r, 12)])],
  [2, (r) => a(["APPEND", key(r), randomBytes(r, 6)])],
  [2, (r) => a(["SETRANGE", key(r), String(r.int(0, 12)), randomBytes(r, 4)])],
  [8, (r) => a(["GET", key(r)])],
  [2, (r) => a(["STRLEN", key(r)])],
  [3, (r) => a(["OBJECT", "ENCODING", key(r)])],
  [2, (r) => a(["DEL", key(r)])],
  [1, (r) => a(["EXISTS", key(r), key(r)])],
  [1, (r) => a(["TYPE", key(r)])],
  [1, (r) => a(["EXPIRE", key(r), String(r.int(1000, 100000))])],
  [1, (r) => a(["TTL", key(r)], "ttl")],
  // A short transaction: replies come back inside EXEC's array.
  [2, (r) => {
    const steps: RandomStep[] = [a(["MULTI"])];
    for (let n = r.int(1, 3); n > 0; n--) steps.push(...queued(r));
    steps.push(a(["EXEC"]));
    return steps;
  }],
];

const TOTAL_WEIGHT = GENERATORS.reduce((s, [w]) => s + w, 0);
const TRANSACTION = GENERATORS[GENERATORS.length - 1][1];

function pick(r: Rng): Gen {
  let x = r.next() * TOTAL_WEIGHT;
  for (const [w, g] of GENERATORS) {
    x -= w;
    if (x < 0) return g;
  }
  return GENERATORS[0][1];
}

function flatten(s: RandomStep | RandomStep[]): RandomStep[] {
  return Array.isArray(s) ? s : [s];
}

/** A command for inside MULTI: no nested transaction, nothing needing a normaliser. */
function queued(r: Rng): RandomStep[] {
  while (true) {
    const g = pick(r);
    if (g === TRANSACTION) continue;
    const steps = flatten(g(r));
    if (steps.every((s) => s.normaliser === undefined)) return steps;
  }
}

/** `count` top-level commands from `seed`. */
export function randomBitmapCommands(seed: number, count: number): RandomStep[] {
  const r = new Rng(seed);
  const steps: RandomStep[] = [];
  for (let i = 0; i < count; i++) steps.push(...flatten(pick(r)(r)));
  return steps;
}

Deno.test("random bitmap commands: the generator covers every bitmap command and is seeded", () => {
  const steps = randomBitmapCommands(1, COMMANDS_PER_SEED);
  const names = new Set(steps.map((s) => s.args[0]));
  for (const name of ["SETBIT", "GETBIT", "BITCOUNT", "BITPOS", "BITOP", "BITFIELD", "BITFIELD_RO"]) {
    assert.ok(names.has(name), name);
  }
  const words = new Set(steps.flatMap((s) => s.args.map((w) => w.toUpperCase())));
  for (const word of ["OVERFLOW", "WRAP", "SAT", "FAIL", "INCRBY", "BIT", "BYTE", "NOT", "XOR"]) {
    assert.ok(words.has(word), word);
  }
  assert.deepEqual(randomBitmapCommands(7, 50), randomBitmapCommands(7, 50));
  assert.notDeepEqual(randomBitmapCommands(7, 50), randomBitmapCommands(8, 50));
});

serverTest("random bitmap commands: tessera and redis-server reply alike", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(SERVER_ARGS), t.redis(SERVER_ARGS)]);
  const runs: { seed: number; resp: 2 | 3 }[] = diffSeeds(DEFAULT_SEEDS).map((seed) => ({ seed, resp: 2 }));
  runs.push({ seed: runs[0].seed, resp: 3 });
  const failed: string[] = [];
  for (const { seed, resp } of runs) {
    const session = new DiffSession(tessera.port, redis.port, resp);
    t.defer(() => session.close());
    await session.send("a", ["FLUSHALL"], undefined, `seed ${seed} (setup)`);
    const steps = randomBitmapCommands(seed, COMMANDS_PER_SEED);
    const history: string[] = [];
    for (let i = 0; i < steps.length; i++) {
      const before = session.failures.length;
      await session.send(steps[i].conn, steps[i].args, steps[i].normaliser, `seed ${seed} RESP${resp} #${i}`);
      if (session.failures.length !== before && before === 0) {
        session.failures[0] = `  (previous commands:\n    ${history.slice(-CONTEXT_COMMANDS).join("\n    ")})\n` +
          session.failures[0];
      }
      history.push(showArgs(steps[i].args));
    }
    session.close();
    if (session.failures.length > 0) {
      failed.push(
        `seed ${seed} RESP${resp}: ${session.failures.length} mismatch(es); replay with DIFF_SEEDS=${seed}\n` +
          session.failures.slice(0, SHOWN_PER_RUN).join("\n"),
      );
    }
  }
  assert.deepEqual(failed, [], failed.join("\n\n"));
}, 120_000);
