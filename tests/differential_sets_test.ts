/**
 * Differential test of the set commands: seeded random sequences run on tessera and on
 * redis-server, every reply compared byte for byte, except where Redis leaves something open:
 * - a hashtable's iteration order (SMEMBERS, SINTER, SUNION, SDIFF, SRANDMEMBER/SPOP of the
 *   whole set): the reply is compared sorted, after asking both servers for the encoding that
 *   decides the order (an intset's numeric order must match exactly);
 * - random picks (SPOP, SRANDMEMBER): checked for shape, membership and uniqueness; a key whose
 *   SPOP took different members on the two servers is deleted on both to resynchronise them;
 * - SSCAN cursors of a hashtable: a full scan on each server must return the same members.
 * `DIFF_SEEDS=7,8 deno test -A tests/differential_sets_test.ts` replays seeds.
 */
import assert from "node:assert/strict";
import { requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import { diffSeeds, DiffSession, showArgs } from "./helpers/diff.ts";
import { Rng } from "./differential/random_commands.ts";
import { parseReply, type RespValue } from "../src/resp/reply_parser.ts";
import { latin1ToBytes } from "../src/resp/latin1.ts";

const SERVER_ARGS = ["--save", ""];
const DEFAULT_SEEDS = [1, 2, 3, 4];
/** Top-level steps per seed (a step may send several commands). */
const STEPS_PER_SEED = 400;
/** Mismatches shown per seed (all are counted). */
const SHOWN_PER_SEED = 5;
/** Commands shown before the first mismatch of a seed. */
const CONTEXT_COMMANDS = 12;
/** Destination of the STORE probes that reveal the encoding of a SUNION/SDIFF result. */
const PROBE_KEY = "__sets_probe";
/** Upper bound on SSCAN calls of one full scan (a scan that never ends is a failure). */
const MAX_SCAN_CALLS = 1000;
const INTSET_REPLY = "$6\r\nintset\r\n";
const DEFAULT_INTSET_LIMIT = 512;

const KEYS = ["s0", "s1", "s2", "s3", "s4", "str"];
/** Keys SADD fills mostly with integers. */
const INT_HEAVY_KEYS = ["s0", "s1"];
const SMALL_INTS = Array.from({ length: 16 }, (_, i) => String(i - 3));
const ODD_MEMBERS = [
  "9223372036854775807",
  "-9223372036854775808",
  "9223372036854775808",
  "007",
  "-0",
  "+1",
  " 1",
  "1.0",
  "",
  "1e3",
];
const WORDS = ["a", "b", "c", "d", "alpha", "beta", "\x00", "\xff\x00"];
const SRANDMEMBER_COUNTS = ["-5", "-1", "0", "1", "2", "3", "5", "10", "100", "abc", "-9223372036854775808", "1.5"];
const SPOP_COUNTS = ["0", "1", "2", "3", "5", "10", "100", "-1", "abc"];
const SCAN_COUNTS = ["1", "2", "5", "10", "1000", "0", "x"];
const SCAN_PATTERNS = ["*", "1*", "a*", "?", "*[0-9]*", "-*", "\x00*"];

/** One generated step; the runner knows how to compare each kind. */
type Step =
  | { kind: "exact"; args: string[]; normaliser?: string }
  /** A reply ordered by the iteration of `key` (SMEMBERS). */
  | { kind: "members"; args: string[]; key: string }
  | { kind: "sinter"; args: string[]; keys: string[] }
  /** SUNION / SDIFF; `store` is the STORE form that reveals the result's encoding. */
  | { kind: "unionDiff"; args: string[]; store: string; keys: string[] }
  | { kind: "random"; args: string[]; key: string; pop: boolean }
  | { kind: "sscan"; key: string; cursor: string; options: string[] }
  | { kind: "multi"; commands: string[][] };

/** A random member; `intHeavy` favours integers, so intsets stay common. */
function member(r: Rng, intHeavy = false): string {
  const x = r.next();
  if (x < (intHeavy ? 0.95 : 0.6)) return r.pick(SMALL_INTS);
  if (x < 0.7) return r.pick(ODD_MEMBERS);
  if (x < 0.9) return r.pick(WORDS);
  let s = "";
  for (let i = r.int(1, 4); i > 0; i--) s += String.fromCharCode(r.int(0, 255));
  return s;
}

function members(r: Rng, lo: number, hi: number, intHeavy = false): string[] {
  return Array.from({ length: r.int(lo, hi) }, () => member(r, intHeavy));
}

function key(r: Rng): string {
  return r.chance(0.03) ? "missing" : r.pick(KEYS);
}

function keys(r: Rng, lo: number, hi: number): string[] {
  return Array.from({ length: r.int(lo, hi) }, () => key(r));
}

const exact = (args: string[], normaliser?: string): Step => ({ kind: "exact", args, normaliser });

/** Generators of steps whose replies are deterministic (also used inside MULTI). */
const EXACT_GENERATORS: [number, (r: Rng) => Step][] = [
  [14, (r) => {
    const k = key(r);
    return exact(["SADD", k, ...members(r, 1, 6, INT_HEAVY_KEYS.includes(k))]);
  }],
  [6, (r) => exact(["SREM", key(r), ...members(r, 1, 4)])],
  [4, (r) => exact(["SISMEMBER", key(r), member(r)])],
  [3, (r) => exact(["SMISMEMBER", key(r), ...members(r, 1, 4)])],
  [4, (r) => exact(["SCARD", key(r)])],
  [4, (r) => exact(["SMOVE", key(r), key(r), member(r)])],
  [2, (r) => exact(["SINTERSTORE", key(r), ...keys(r, 1, 3)])],
  [2, (r) => exact(["SUNIONSTORE", key(r), ...keys(r, 1, 3)])],
  [2, (r) => exact(["SDIFFSTORE", key(r), ...keys(r, 1, 4)])],
  [3, (r) => {
    const ks = keys(r, 1, 3);
    const numkeys = r.chance(0.9) ? String(ks.length) : r.pick(["0", "-1", "9", "x"]);
    const limit = r.chance(0.5) ? [] : ["LIMIT", r.pick(["0", "1", "2", "5", "-1", "x"])];
    return exact(["SINTERCARD", numkeys, ...ks, ...limit]);
  }],
  [2, (r) => exact(["OBJECT", "ENCODING", key(r)])],
  [1, (r) => exact(["TYPE", key(r)])],
  [1, (r) => exact(["EXISTS", ...keys(r, 1, 3)])],
  [1, (r) => exact(["DEL", key(r)])],
  [1, (r) => exact(["SET", "str", r.pick(["v", "1", "abc"])])],
  [1, (r) => exact(["EXPIRE", key(r), "1000"])],
  [1, (r) => exact(["COPY", key(r), key(r), ...(r.chance(0.5) ? ["REPLACE"] : [])])],
  [1, (r) => exact(["RENAME", key(r), key(r)])],
  // Wrong arity: the last argument dropped.
  [1, (r) => {
    const cmd = r.pick([["SADD", key(r)], ["SREM", key(r)], ["SMOVE", key(r), key(r)], ["SINTERSTORE", key(r)]]);
    return exact(cmd);
  }],
];

const GENERATORS: [number, (r: Rng) => Step][] = [
  ...EXACT_GENERATORS,
  [1, (r) => exact(["TTL", key(r)], "ttl")],
  [0.5, (r) => exact(["CONFIG", "SET", "set-max-intset-entries", r.pick(["4", "8", "512"])])],
  [5, (r) => {
    const k = key(r);
    return { kind: "members", args: ["SMEMBERS", k], key: k };
  }],
  [3, (r) => {
    const ks = keys(r, 1, 3);
    return { kind: "sinter", args: ["SINTER", ...ks], keys: ks };
  }],
  [3, (r) => {
    const ks = keys(r, 1, 3);
    return { kind: "unionDiff", args: ["SUNION", ...ks], store: "SUNIONSTORE", keys: ks };
  }],
  [3, (r) => {
    const ks = keys(r, 1, 4);
    return { kind: "unionDiff", args: ["SDIFF", ...ks], store: "SDIFFSTORE", keys: ks };
  }],
  [4, (r) => {
    const k = key(r);
    const count = r.chance(0.3) ? [] : [r.pick(SRANDMEMBER_COUNTS)];
    return { kind: "random", args: ["SRANDMEMBER", k, ...count], key: k, pop: false };
  }],
  [4, (r) => {
    const k = key(r);
    const count = r.chance(0.3) ? [] : [r.pick(SPOP_COUNTS)];
    return { kind: "random", args: ["SPOP", k, ...count], key: k, pop: true };
  }],
  [3, (r) => {
    const options: string[] = [];
    if (r.chance(0.5)) options.push("COUNT", r.pick(SCAN_COUNTS));
    if (r.chance(0.4)) options.push("MATCH", r.pick(SCAN_PATTERNS));
    if (r.chance(0.03)) options.push(r.pick(["TYPE", "FOO"]));
    return { kind: "sscan", key: key(r), cursor: r.pick(["0", "0", "0", "abc", "-1"]), options };
  }],
  [2, (r) => ({
    kind: "multi",
    commands: Array.from({ length: r.int(1, 4) }, () => (pickStep(r, EXACT_GENERATORS) as { args: string[] }).args),
  })],
];

function pickStep(r: Rng, generators: [number, (r: Rng) => Step][]): Step {
  const total = generators.reduce((s, [w]) => s + w, 0);
  let x = r.next() * total;
  for (const [w, g] of generators) {
    x -= w;
    if (x < 0) return g(r);
  }
  return generators[0][1](r);
}

/** Generates the steps of one seed. */
export function randomSetSteps(seed: number, count: number): Step[] {
  const r = new Rng(seed);
  return Array.from({ length: count }, () => pickStep(r, GENERATORS));
}

function parse(raw: string): RespValue {
  return parseReply(latin1ToBytes(raw), 0)!.value;
}

function isAggregate(raw: string): boolean {
  return raw[0] === "*" || raw[0] === "~";
}

/** Sends steps to both servers and records mismatches in the session's failure list. */
class SetRunner {
  /** Commands sent so far (for the context of the first mismatch). */
  readonly history: string[] = [];
  where = "";
  /** How often each comparison was made, so the test can show it exercised every path. */
  /** set-max-intset-entries as last set. */
  intsetLimit = DEFAULT_INTSET_LIMIT;
  readonly counts = { byteForByte: 0, sorted: 0, randomChecked: 0, hashtableScans: 0, resyncs: 0 };

  constructor(readonly session: DiffSession) {}

  get failures(): string[] {
    return this.session.failures;
  }

  /** Sends a command to both servers; the replies must be equal (after `normaliser`). */
  async exact(args: string[], normaliser?: string): Promise<{ tessera: string; redis: string }> {
    this.history.push(showArgs(args));
    return await this.session.send("a", args, normaliser, this.where);
  }

  /** Sends a command whose order is numeric when `encodingReply` says intset, else unspecified. */
  async ordered(args: string[], encodingReply: string): Promise<{ tessera: string; redis: string }> {
    if (encodingReply === INTSET_REPLY) this.counts.byteForByte++;
    else this.counts.sorted++;
    return await this.exact(args, encodingReply === INTSET_REPLY ? undefined : "sorted");
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
      case "exact": {
        const { redis } = await this.exact(step.args, step.normaliser);
        const [cmd, sub, name, value] = step.args;
        if (cmd === "CONFIG" && sub === "SET" && name === "set-max-intset-entries" && redis === "+OK\r\n") {
          this.intsetLimit = Number(value);
        }
        return;
      }
      case "members": {
        const enc = await this.exact(["OBJECT", "ENCODING", step.key]);
        await this.ordered(step.args, enc.redis);
        return;
      }
      case "sinter":
        return await this.sinter(step.args, step.keys);
      case "unionDiff": {
        await this.exact([step.store, PROBE_KEY, ...step.keys]);
        const enc = await this.exact(["OBJECT", "ENCODING", PROBE_KEY]);
        await this.ordered(step.args, enc.redis);
        await this.exact(["DEL", PROBE_KEY]);
        return;
      }
      case "random":
        return await this.random(step.args, step.key, step.pop);
      case "sscan":
        return await this.sscan(step.key, step.cursor, step.options);
      case "multi":
        await this.exact(["MULTI"]);
        for (const args of step.commands) await this.exact(args);
        await this.exact(["EXEC"]);
        return;
    }
  }

  /** SINTER iterates its smallest set (a stable sort by size): its encoding decides the order. */
  private async sinter(args: string[], keys: string[]): Promise<void> {
    const sizes: number[] = [];
    const encodings: string[] = [];
    for (const k of keys) {
      sizes.push(Number(parse((await this.exact(["SCARD", k])).redis)));
      encodings.push((await this.exact(["OBJECT", "ENCODING", k])).redis);
    }
    let smallest = 0;
    for (let i = 1; i < keys.length; i++) if (sizes[i] < sizes[smallest]) smallest = i;
    // A missing key or a wrong type makes the reply deterministic; `sorted` leaves those as they are.
    await this.ordered(args, encodings[smallest]);
  }

  /** SRANDMEMBER / SPOP: shape, membership and uniqueness; deterministic parts byte for byte. */
  private async random(args: string[], key: string, pop: boolean): Promise<void> {
    const enc = await this.exact(["OBJECT", "ENCODING", key]);
    const content = parse((await this.ordered(["SMEMBERS", key], enc.redis)).redis);
    if (!Array.isArray(content) || content.length === 0) {
      await this.exact(args);
      return;
    }
    const set = new Set(content as string[]);
    const { tessera, redis } = await this.both(args);
    if (!isAggregate(redis) && redis[0] !== "$") {
      // An error, a nil or an empty reply: the same on both.
      if (tessera !== redis) this.fail(args, "different replies", tessera, redis);
      return;
    }
    const t = parse(tessera);
    const r = parse(redis);
    this.counts.randomChecked++;
    if (redis[0] === "$") {
      if (typeof t !== "string" || !set.has(t)) this.fail(args, "not a member", tessera, redis);
    } else {
      const count = Number(args[2]);
      const whole = count >= set.size;
      if (!Array.isArray(t) || tessera[0] !== redis[0] || t.length !== (r as RespValue[]).length) {
        this.fail(args, "different shapes", tessera, redis);
        return;
      }
      if (t.some((m) => typeof m !== "string" || !set.has(m))) this.fail(args, "not a member", tessera, redis);
      if (count > 0 && new Set(t).size !== t.length) this.fail(args, "repeated members", tessera, redis);
      if (whole) {
        // The whole set: deterministic content. SRANDMEMBER iterates the set (numeric for an
        // intset); SPOP replies through a SUNION copy, an intset only within the current limit.
        const numeric = enc.redis === INTSET_REPLY && (!pop || set.size <= this.intsetLimit);
        const same = numeric ? tessera === redis : sortItems(t).join("\0") === sortItems(r as RespValue[]).join("\0");
        if (!same) this.fail(args, "whole set differs", tessera, redis);
      }
    }
    if (pop && sortItems(Array.isArray(t) ? t : [t]).join("\0") !== sortItems(Array.isArray(r) ? r : [r]).join("\0")) {
      // Different members were popped: start the key afresh on both servers.
      this.counts.resyncs++;
      await this.exact(["DEL", key]);
    }
  }

  /** SSCAN: byte for byte unless the set is a hashtable, whose full scans must agree as sets. */
  private async sscan(key: string, cursor: string, options: string[]): Promise<void> {
    const enc = await this.exact(["OBJECT", "ENCODING", key]);
    if (enc.redis !== "$9\r\nhashtable\r\n" || cursor === "abc") {
      await this.exact(["SSCAN", key, cursor, ...options]);
      return;
    }
    const first = await this.both(["SSCAN", key, "0", ...options]);
    if (first.redis[0] === "-" || first.tessera[0] === "-") {
      if (first.tessera !== first.redis) this.fail(["SSCAN", key, "0", ...options], "errors differ", ...pair(first));
      return;
    }
    this.counts.hashtableScans++;
    const [tessera, redis] = await Promise.all([
      this.fullScan(true, key, options, first.tessera),
      this.fullScan(false, key, options, first.redis),
    ]);
    if (tessera.join("\0") !== redis.join("\0")) {
      this.fail(["SSCAN", key, "...", ...options], "full scans differ", tessera.join(","), redis.join(","));
    }
  }

  /** Continues a scan from its first reply on one server; returns the distinct members, sorted. */
  private async fullScan(onTessera: boolean, key: string, options: string[], firstReply: string): Promise<string[]> {
    const p = await this.session.pair("a");
    const conn = onTessera ? p.t : p.r;
    const seen = new Set<string>();
    let reply = firstReply;
    for (let calls = 1;; calls++) {
      const [cursor, found] = parse(reply) as [string, string[]];
      for (const m of found) seen.add(m);
      if (cursor === "0") break;
      if (calls >= MAX_SCAN_CALLS) {
        seen.add("<scan did not end>");
        break;
      }
      reply = await conn.callRaw("SSCAN", key, cursor, ...options);
    }
    return [...seen].sort();
  }
}

function pair(r: { tessera: string; redis: string }): [string, string] {
  return [r.tessera, r.redis];
}

function sortItems(items: RespValue[]): string[] {
  return items.map((m) => String(m)).sort();
}

serverTest("differential: random set command sequences", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(SERVER_ARGS), t.redis(SERVER_ARGS)]);
  const runs: { seed: number; resp: 2 | 3 }[] = diffSeeds(DEFAULT_SEEDS).map((seed) => ({ seed, resp: 2 }));
  runs.push({ seed: runs[0].seed, resp: 3 });
  const failed: string[] = [];
  const details: string[] = [];
  const totals = { byteForByte: 0, sorted: 0, randomChecked: 0, hashtableScans: 0, resyncs: 0 };
  for (const { seed, resp } of runs) {
    const session = new DiffSession(tessera.port, redis.port, resp);
    const runner = new SetRunner(session);
    runner.where = `seed ${seed} (setup)`;
    await runner.exact(["FLUSHALL"]);
    await runner.run(exact(["CONFIG", "SET", "set-max-intset-entries", String(DEFAULT_INTSET_LIMIT)]));
    const steps = randomSetSteps(seed, STEPS_PER_SEED);
    for (let i = 0; i < steps.length; i++) {
      runner.where = `seed ${seed} RESP${resp} #${i}`;
      const before = runner.failures.length;
      const historyBefore = runner.history.length;
      await runner.run(steps[i]);
      if (before === 0 && runner.failures.length > 0) {
        const context = runner.history.slice(Math.max(0, historyBefore - CONTEXT_COMMANDS), historyBefore);
        runner.failures[0] = `  (previous commands:\n    ${context.join("\n    ")})\n${runner.failures[0]}`;
      }
    }
    session.close();
    for (const [name, n] of Object.entries(runner.counts)) totals[name as keyof typeof totals] += n;
    if (session.failures.length > 0) {
      failed.push(`seed ${seed} RESP${resp}: ${session.failures.length} mismatch(es); replay: DIFF_SEEDS=${seed}`);
      details.push(...session.failures.slice(0, SHOWN_PER_SEED));
    }
  }
  assert.deepEqual(failed, [], details.join("\n"));
  // Every kind of comparison ran (intset orders byte for byte, hashtable orders sorted, ...).
  for (const [name, n] of Object.entries(totals)) assert.ok(n > 0, `no ${name} comparisons: ${JSON.stringify(totals)}`);
  if (Deno.env.get("DIFF_VERBOSE")) console.log(totals);
}, 120_000);
