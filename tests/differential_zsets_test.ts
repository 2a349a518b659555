/**
 * Differential test of the sorted set commands: seeded random sequences run on tessera and on
 * redis-server, every reply compared byte for byte, except where Redis leaves something open:
 * - random picks (ZRANDMEMBER with a count below the set's size or negative, or without a count):
 *   checked for shape, membership, scores and uniqueness (a count at or above the size gives the
 *   whole set in a fixed order and is compared byte for byte);
 * - ZSCAN of a skiplist (its cursors are Redis's hash-table positions): a full scan on each server
 *   must return the same member/score pairs; a listpack's single-step ZSCAN is compared exactly.
 * BYLEX commands go to keys whose members all have score 0 (Redis's lex walks are unspecified
 * otherwise); one key mixes scores while it is small, where the listpack walk is deterministic.
 * `DIFF_SEEDS=7,8 deno test -A tests/differential_zsets_test.ts` replays seeds.
 */
import assert from "node:assert/strict";
import { requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import { diffRuns, DiffSession, showArgs } from "./helpers/diff.ts";
import { Rng } from "./differential/random_commands.ts";
import { parseReply, type RespValue } from "../src/resp/reply_parser.ts";
import { latin1ToBytes } from "../src/resp/latin1.ts";

const SERVER_ARGS = ["--save", ""];
const DEFAULT_SEEDS = [1, 2, 3, 4];
/** Top-level steps per seed (a step may send several commands). */
const STEPS_PER_SEED = 800;
/** Mismatches shown per seed (all are counted). */
const SHOWN_PER_SEED = 5;
/** Commands shown before the first mismatch of a seed. */
const CONTEXT_COMMANDS = 12;
/** Upper bound on ZSCAN calls of one full scan (a scan that never ends is a failure). */
const MAX_SCAN_CALLS = 1000;
/** Members of the bulk ZADD that makes a skiplist (more than zset-max-listpack-entries' 128). */
const BULK_MEMBERS = 140;

const KEYS = ["z0", "z1", "z2", "{z}a", "{z}b"];
/** Keys of other types, for WRONGTYPE and for plain sets as ZUNION inputs (score 1). */
const STRING_KEY = "str";
const SET_KEY = "set";
const LEX_KEYS = ["l0", "l1"];
/** A small key with mixed scores for BYLEX (deterministic while it stays a listpack). */
const MIXED_LEX_KEY = "lmix";
const WORDS = ["a", "b", "c", "d", "e", "f", "g", "ab", "abc", "", "\x00", "\xff", "a\x00", "10", "-5", "007"];
const SCORES = [
  "0",
  "-0",
  "1",
  "-1",
  "2",
  "2.5",
  "0.1",
  "-3.25",
  "1e17",
  "123456789012345678",
  "4611686018427387904",
  "inf",
  "-inf",
  "+inf",
  "1e-310",
  "0x10",
  ".5",
];
const BAD_SCORES = ["abc", "nan", "", " 1", "1e400", "(1"];
const COUNTS = ["-5", "-1", "0", "1", "2", "3", "5", "10000", "abc", "-9223372036854775808", "1.5"];

/** One generated step; the runner knows how to compare each kind. */
type Step =
  | { kind: "exact"; args: string[]; normaliser?: string }
  | { kind: "random"; args: string[]; key: string }
  | { kind: "zscan"; key: string; options: string[] }
  /** A BYLEX command on mixed scores: Redis's walk is deterministic only on a listpack. */
  | { kind: "listpackOnly"; key: string; args: string[] }
  | { kind: "multi"; commands: string[][] };

const exact = (args: string[], normaliser?: string): Step => ({ kind: "exact", args, normaliser });

function randomBytes(r: Rng, maxLen: number): string {
  let s = "";
  for (let i = r.int(0, maxLen); i > 0; i--) s += String.fromCharCode(r.int(0, 255));
  return s;
}

function member(r: Rng): string {
  const x = r.next();
  if (x < 0.8) return r.pick(WORDS);
  if (x < 0.9) return randomBytes(r, 6);
  if (x < 0.95) return "m" + String(r.int(0, BULK_MEMBERS - 1)).padStart(3, "0");
  return "x".repeat(r.int(60, 70)); // around zset-max-listpack-value
}

function score(r: Rng): string {
  const x = r.next();
  if (x < 0.5) return r.pick(SCORES);
  if (x < 0.75) return String(r.int(-20, 20));
  if (x < 0.95) return (r.int(-2000, 2000) / 8).toString();
  return r.pick(BAD_SCORES);
}

/** A ZRANGEBYSCORE-style bound. */
function bound(r: Rng): string {
  const x = r.next();
  if (x < 0.15) return r.pick(["-inf", "+inf", "inf", "(-inf", "(+inf"]);
  if (x < 0.95) return (r.chance(0.3) ? "(" : "") + (r.chance(0.7) ? String(r.int(-5, 20)) : r.pick(SCORES));
  return r.pick(["abc", "(", "", "nan", "1 "]);
}

function lexBound(r: Rng): string {
  const x = r.next();
  if (x < 0.2) return r.pick(["-", "+"]);
  if (x < 0.95) return r.pick(["[", "("]) + member(r);
  return r.pick(["a", "", "+x"]);
}

function key(r: Rng): string {
  const x = r.next();
  if (x < 0.9) return r.pick(KEYS);
  if (x < 0.95) return SET_KEY;
  return x < 0.98 ? STRING_KEY : "nokey";
}

function keys(r: Rng, lo: number, hi: number): string[] {
  const out: string[] = [];
  for (let i = r.int(lo, hi); i > 0; i--) out.push(key(r));
  return out;
}

function pairs(r: Rng, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(score(r), member(r));
  return out;
}

function shuffled<T>(r: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

function zaddOptions(r: Rng): string[] {
  const opts: string[] = [];
  if (r.chance(0.25)) opts.push(r.pick(["NX", "XX"]));
  if (r.chance(0.2)) opts.push(r.pick(["GT", "LT"]));
  if (r.chance(0.2)) opts.push("CH");
  if (r.chance(0.15)) opts.push("INCR");
  return shuffled(r, opts);
}

function limit(r: Rng): string[] {
  if (!r.chance(0.35)) return [];
  return ["LIMIT", String(r.pick([0, 0, 1, 2, 5, -1])), String(r.pick([1, 2, 3, 10, -1, 0]))];
}

function rank(r: Rng): string {
  return String(r.chance(0.8) ? r.int(-8, 8) : r.pick([-1000, 1000, 150]));
}

/** Set-operation options: WEIGHTS, AGGREGATE, WITHSCORES (some deliberately wrong). */
function setOpOptions(r: Rng, n: number, withScores: boolean): string[] {
  const opts: string[] = [];
  if (r.chance(0.3)) {
    opts.push("WEIGHTS");
    for (let i = 0; i < n; i++) opts.push(r.pick(["1", "2", "0.5", "-1", "0", "inf", "abc"]));
  }
  if (r.chance(0.3)) opts.push("AGGREGATE", r.pick(["SUM", "MIN", "MAX", "min", "avg"]));
  if (withScores && r.chance(0.6)) opts.push("WITHSCORES");
  return opts;
}

type Gen = (r: Rng) => Step;

/** A bulk ZADD that makes (or grows) a skiplist. */
function bulkZadd(r: Rng, k: string, fixedScore?: string): string[] {
  const args = ["ZADD", k];
  for (let i = 0; i < BULK_MEMBERS; i++) {
    args.push(fixedScore ?? String(r.int(-50, 50) / 2), "m" + String(i).padStart(3, "0"));
  }
  return args;
}

const GENERATORS: [number, Gen][] = [
  [14, (r) => exact(["ZADD", key(r), ...zaddOptions(r), ...pairs(r, r.int(1, 4))])],
  [1.5, (r) => exact(bulkZadd(r, r.pick(KEYS)))],
  [4, (r) => exact(["ZINCRBY", key(r), score(r), member(r)])],
  [5, (r) => exact(["ZREM", key(r), ...Array.from({ length: r.int(1, 3) }, () => member(r))])],
  [2, (r) => exact(["ZCARD", key(r)])],
  [3, (r) => exact(["ZSCORE", key(r), member(r)])],
  [2, (r) => exact(["ZMSCORE", key(r), member(r), member(r)])],
  [3, (r) => exact([r.pick(["ZRANK", "ZREVRANK"]), key(r), member(r)])],
  [3, (r) => exact(["ZCOUNT", key(r), bound(r), bound(r)])],
  [6, (r) => exact(["ZRANGE", key(r), rank(r), rank(r), ...(r.chance(0.4) ? ["WITHSCORES"] : [])])],
  [
    3,
    (r) =>
      exact(["ZRANGE", key(r), rank(r), rank(r), ...shuffled(r, ["REV", ...(r.chance(0.5) ? ["WITHSCORES"] : [])])]),
  ],
  [
    5,
    (r) => {
      const opts = [
        "BYSCORE",
        ...(r.chance(0.4) ? ["REV"] : []),
        ...(r.chance(0.5) ? ["WITHSCORES"] : []),
        ...limit(r),
      ];
      return exact(["ZRANGE", key(r), bound(r), bound(r), ...opts]);
    },
  ],
  [2, (r) => exact(["ZREVRANGE", key(r), rank(r), rank(r), ...(r.chance(0.5) ? ["WITHSCORES"] : [])])],
  [
    4,
    (r) =>
      exact([
        r.pick(["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]),
        key(r),
        bound(r),
        bound(r),
        ...(r.chance(0.5) ? ["WITHSCORES"] : []),
        ...limit(r),
      ]),
  ],
  [
    3,
    (r) => {
      const how = r.pick([[], ["REV"], ["BYSCORE"], ["BYSCORE", "REV"], ["BYLEX"]]);
      const lex = how[0] === "BYLEX";
      const range = lex ? [lexBound(r), lexBound(r)] : how.length > 0 ? [bound(r), bound(r)] : [rank(r), rank(r)];
      const src = lex ? r.pick(LEX_KEYS) : key(r);
      return exact(["ZRANGESTORE", r.pick(KEYS), src, ...range, ...how, ...(how.length > 0 ? limit(r) : [])]);
    },
  ],
  [3, (r) => exact(["ZREMRANGEBYRANK", key(r), rank(r), rank(r)])],
  [3, (r) => exact(["ZREMRANGEBYSCORE", key(r), bound(r), bound(r)])],
  [3, (r) => exact([r.pick(["ZPOPMIN", "ZPOPMAX"]), key(r), ...(r.chance(0.5) ? [r.pick(COUNTS)] : [])])],
  [
    3,
    (r) => {
      const ks = keys(r, 1, 3);
      const count = r.chance(0.5) ? ["COUNT", r.pick(COUNTS)] : [];
      return exact(["ZMPOP", String(ks.length), ...ks, r.pick(["MIN", "MAX", "max"]), ...count]);
    },
  ],
  [
    4,
    (r) => {
      const k = key(r);
      if (r.chance(0.2)) return { kind: "random", args: ["ZRANDMEMBER", k], key: k };
      const args = ["ZRANDMEMBER", k, r.pick(COUNTS), ...(r.chance(0.5) ? ["WITHSCORES"] : [])];
      return { kind: "random", args, key: k };
    },
  ],
  [
    6,
    (r) => {
      const ks = keys(r, 1, 3);
      const cmd = r.pick(["ZUNION", "ZINTER", "ZDIFF"]);
      return exact([cmd, String(ks.length), ...ks, ...setOpOptions(r, ks.length, true)]);
    },
  ],
  [
    5,
    (r) => {
      const ks = keys(r, 1, 3);
      const cmd = r.pick(["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]);
      return exact([cmd, r.pick(KEYS), String(ks.length), ...ks, ...setOpOptions(r, ks.length, false)]);
    },
  ],
  [
    2,
    (r) => {
      const ks = keys(r, 1, 3);
      return exact(["ZINTERCARD", String(ks.length), ...ks, ...(r.chance(0.4) ? ["LIMIT", r.pick(COUNTS)] : [])]);
    },
  ],
  [
    3,
    (r) => {
      const options = [
        ...(r.chance(0.5) ? ["COUNT", r.pick(["1", "3", "10", "100", "0"])] : []),
        ...(r.chance(0.3) ? ["MATCH", r.pick(["*", "a*", "m1*", "?", "*[0-9]*", "\x00*"])] : []),
      ];
      return { kind: "zscan", key: key(r), options };
    },
  ],
  // BYLEX family on keys whose members all score 0.
  [4, (r) => exact(["ZADD", r.pick(LEX_KEYS), ...Array.from({ length: r.int(1, 4) }, () => ["0", member(r)]).flat()])],
  [0.5, (r) => exact(bulkZadd(r, r.pick(LEX_KEYS), "0"))],
  [
    5,
    (r) => exact([r.pick(["ZRANGEBYLEX", "ZREVRANGEBYLEX"]), r.pick(LEX_KEYS), lexBound(r), lexBound(r), ...limit(r)]),
  ],
  [2, (r) => exact(["ZRANGE", r.pick(LEX_KEYS), lexBound(r), lexBound(r), "BYLEX", "REV", ...limit(r)])],
  [3, (r) => exact(["ZLEXCOUNT", r.pick(LEX_KEYS), lexBound(r), lexBound(r)])],
  [2, (r) => exact(["ZREMRANGEBYLEX", r.pick(LEX_KEYS), lexBound(r), lexBound(r)])],
  [2, (r) => exact(["ZADD", MIXED_LEX_KEY, ...pairs(r, r.int(1, 3))])],
  [
    2,
    (r) => ({
      kind: "listpackOnly",
      key: MIXED_LEX_KEY,
      args: [
        r.pick(["ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT", "ZREMRANGEBYLEX"]),
        MIXED_LEX_KEY,
        lexBound(r),
        lexBound(r),
      ],
    }),
  ],
  [0.5, () => exact(["DEL", MIXED_LEX_KEY])],
  // Other types and generic commands.
  [1, (r) => exact(["SADD", SET_KEY, ...Array.from({ length: r.int(1, 3) }, () => member(r))])],
  [0.5, (r) => exact(["SET", STRING_KEY, member(r)])],
  [3, (r) => exact(["DEL", ...keys(r, 1, 2)])],
  [1, (r) => exact(["EXISTS", ...keys(r, 1, 3)])],
  [1, (r) => exact(["TYPE", key(r)])],
  [4, (r) => exact(["OBJECT", "ENCODING", r.chance(0.8) ? key(r) : r.pick(LEX_KEYS)])],
  [1, (r) => exact(["EXPIRE", key(r), String(r.int(1000, 100000))])],
  [1, (r) => exact(["TTL", key(r)], "ttl")],
  [1, (r) => exact(["PERSIST", key(r)])],
  [1, (r) => exact(["COPY", key(r), r.pick(KEYS), ...(r.chance(0.5) ? ["REPLACE"] : [])])],
  [1, (r) => exact(["RENAME", key(r), r.pick(KEYS)])],
  [
    0.7,
    (r) =>
      exact([
        "CONFIG",
        "SET",
        ...(r.chance(0.7)
          ? ["zset-max-listpack-entries", r.pick(["0", "2", "4", "16", "128", "128"])]
          : ["zset-max-listpack-value", r.pick(["2", "64", "64"])]),
      ]),
  ],
  // Errors: a command cut short.
  [
    1,
    (r) => {
      const cmd = r.pick(["ZADD", "ZRANGE", "ZCOUNT", "ZUNIONSTORE", "ZMPOP", "ZINCRBY"]);
      return exact([cmd, key(r), "1"].slice(0, r.int(1, 3)));
    },
  ],
  [
    4,
    (r) => {
      const commands: string[][] = [];
      for (let i = r.int(1, 4); i > 0; i--) {
        let step = pickGenerator(r)(r);
        while (step.kind !== "exact" || step.normaliser !== undefined || step.args[0] === "CONFIG") {
          step = pickGenerator(r)(r);
        }
        commands.push(step.args);
      }
      return { kind: "multi", commands };
    },
  ],
];

const TOTAL_WEIGHT = GENERATORS.reduce((s, [w]) => s + w, 0);

function pickGenerator(r: Rng): Gen {
  let x = r.next() * TOTAL_WEIGHT;
  for (const [w, g] of GENERATORS) {
    x -= w;
    if (x < 0) return g;
  }
  return GENERATORS[0][1];
}

function parse(raw: string): RespValue {
  const parsed = parseReply(latin1ToBytes(raw), 0);
  if (parsed === null) throw new Error(`incomplete reply ${JSON.stringify(raw)}`);
  return parsed.value;
}

/** Compares the runs of both servers and counts how each comparison was made. */
class Runner {
  where = "";
  readonly history: string[] = [];
  readonly counts = { byteForByte: 0, randomChecked: 0, skiplistScans: 0 };

  constructor(readonly session: DiffSession) {}

  get failures(): string[] {
    return this.session.failures;
  }

  async exact(args: string[], normaliser?: string): Promise<{ tessera: string; redis: string }> {
    this.history.push(showArgs(args));
    this.counts.byteForByte++;
    return await this.session.send("a", args, normaliser, this.where);
  }

  /** Sends a command to both servers without comparing the replies. */
  both(args: string[]): Promise<{ tessera: string; redis: string }> {
    this.history.push(showArgs(args));
    return this.session.sendUnchecked("a", args);
  }

  fail(args: string[], why: string, tessera: string, redis: string): void {
    this.session.recordMismatch(this.where, args, why, tessera, redis);
  }

  async run(step: Step): Promise<void> {
    switch (step.kind) {
      case "exact":
        await this.exact(step.args, step.normaliser);
        return;
      case "random":
        return await this.random(step.args, step.key);
      case "zscan":
        return await this.zscan(step.key, step.options);
      case "listpackOnly": {
        const enc = await this.exact(["OBJECT", "ENCODING", step.key]);
        if (enc.redis !== "$8\r\nskiplist\r\n") await this.exact(step.args);
        return;
      }
      case "multi":
        await this.exact(["MULTI"]);
        for (const args of step.commands) await this.exact(args);
        await this.exact(["EXEC"]);
        return;
    }
  }

  /** ZRANDMEMBER: shape, membership, scores, uniqueness; the whole set in order byte for byte. */
  private async random(args: string[], key: string): Promise<void> {
    const content = parse((await this.exact(["ZRANGE", key, "0", "-1", "WITHSCORES"])).redis);
    const { tessera, redis } = await this.both(args);
    if (!Array.isArray(content) || content.length === 0 || (redis[0] !== "*" && redis[0] !== "$")) {
      if (tessera !== redis) this.fail(args, "different replies", tessera, redis);
      return;
    }
    const flat = content.flat() as RespValue[];
    const scores = new Map<string, string>();
    for (let i = 0; i < flat.length; i += 2) scores.set(flat[i] as string, String(flat[i + 1]));
    this.counts.randomChecked++;
    const t = parse(tessera);
    const r = parse(redis);
    if (redis[0] === "$") {
      if (typeof t !== "string" || !scores.has(t)) this.fail(args, "not a member", tessera, redis);
      return;
    }
    const count = Number(args[2]);
    if (count >= scores.size) {
      if (tessera !== redis) this.fail(args, "whole set differs", tessera, redis);
      return;
    }
    if (!Array.isArray(t) || tessera[0] !== redis[0] || t.length !== (r as RespValue[]).length) {
      this.fail(args, "different shapes", tessera, redis);
      return;
    }
    const withScores = args.length > 3;
    const items = t.flat() as RespValue[];
    const picked: string[] = [];
    for (let i = 0; i < items.length; i += withScores ? 2 : 1) {
      const m = items[i] as string;
      picked.push(m);
      if (withScores && scores.get(m) !== String(items[i + 1])) this.fail(args, "wrong score", tessera, redis);
    }
    if (picked.some((m) => !scores.has(m))) this.fail(args, "not a member", tessera, redis);
    if (count > 0 && new Set(picked).size !== picked.length) this.fail(args, "repeated members", tessera, redis);
  }

  /** ZSCAN: a listpack answers in one step (compared exactly); a skiplist is scanned to the end. */
  private async zscan(key: string, options: string[]): Promise<void> {
    const enc = await this.exact(["OBJECT", "ENCODING", key]);
    const args = ["ZSCAN", key, "0", ...options];
    if (enc.redis !== "$8\r\nskiplist\r\n") {
      await this.exact(args);
      return;
    }
    this.counts.skiplistScans++;
    const p = await this.session.pair("a");
    const [tessera, redis] = await Promise.all([fullScan(p.t, args), fullScan(p.r, args)]);
    this.history.push(`(full scan) ${showArgs(args)}`);
    if (tessera !== redis) this.fail(args, "full scans differ", tessera, redis);
  }
}

/** Runs ZSCAN from cursor 0 until it returns 0; the pairs found, sorted and deduplicated. */
async function fullScan(conn: { callRaw(...args: string[]): Promise<string> }, args: string[]): Promise<string> {
  const seen = new Map<string, string>();
  let cursor = "0";
  for (let calls = 0; calls < MAX_SCAN_CALLS; calls++) {
    const raw = await conn.callRaw(args[0], args[1], cursor, ...args.slice(3));
    const reply = parse(raw);
    if (!Array.isArray(reply)) return raw;
    const items = reply[1] as string[];
    for (let i = 0; i < items.length; i += 2) seen.set(items[i], items[i + 1]);
    cursor = reply[0] as string;
    if (cursor === "0") return JSON.stringify([...seen].sort());
  }
  return "scan did not finish";
}

/** The steps of one seed. */
function generate(seed: number): Step[] {
  const r = new Rng(seed);
  return Array.from({ length: STEPS_PER_SEED }, () => pickGenerator(r)(r));
}

/** Final comparison of every key's content and encoding after a seed. */
function finalChecks(): Step[] {
  const steps: Step[] = [];
  for (const k of [...KEYS, ...LEX_KEYS, MIXED_LEX_KEY]) {
    steps.push(exact(["ZRANGE", k, "0", "-1", "WITHSCORES"]), exact(["OBJECT", "ENCODING", k]));
  }
  return steps;
}

serverTest("differential: random sorted set command sequences", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(SERVER_ARGS), t.redis(SERVER_ARGS)]);
  const failed: string[] = [];
  const details: string[] = [];
  const runs = diffRuns(DEFAULT_SEEDS);
  const totals = { byteForByte: 0, randomChecked: 0, skiplistScans: 0 };
  for (const { seed, resp } of runs) {
    const session = new DiffSession(tessera.port, redis.port, resp);
    const runner = new Runner(session);
    await runner.exact(["FLUSHALL"]);
    await runner.exact(["CONFIG", "SET", "zset-max-listpack-entries", "128"]);
    await runner.exact(["CONFIG", "SET", "zset-max-listpack-value", "64"]);
    const steps = [...generate(seed), ...finalChecks()];
    let shown = false;
    for (let i = 0; i < steps.length; i++) {
      runner.where = `seed ${seed} RESP${resp} #${i}`;
      const before = runner.failures.length;
      await runner.run(steps[i]);
      if (runner.failures.length !== before && !shown) {
        shown = true;
        const context = runner.history.slice(-CONTEXT_COMMANDS - 1, -1).join("\n    ");
        runner.failures[before] = `  (previous commands:\n    ${context})\n` + runner.failures[before];
      }
    }
    await runner.exact(["CONFIG", "SET", "zset-max-listpack-entries", "128"]);
    await runner.exact(["CONFIG", "SET", "zset-max-listpack-value", "64"]);
    session.close();
    for (const [k, v] of Object.entries(runner.counts)) totals[k as keyof typeof totals] += v;
    if (runner.failures.length > 0) {
      failed.push(
        `seed ${seed} RESP${resp}: ${runner.failures.length} mismatch(es); replay: DIFF_SEEDS=${seed} ` +
          `deno test -A tests/differential_zsets_test.ts`,
      );
      details.push(...runner.failures.slice(0, SHOWN_PER_SEED));
    }
  }
  if (failed.length > 0) assert.fail(`${failed.join("\n")}\n\n${details.join("\n")}`);
  // The default sequences must exercise every kind of comparison (a replayed seed may not).
  if (Deno.env.get("DIFF_SEEDS") === undefined) {
    assert.ok(totals.randomChecked > 0, "no random pick was checked");
    assert.ok(totals.skiplistScans > 0, "no skiplist was scanned");
  }
}, 120_000);
