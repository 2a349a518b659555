/**
 * Seeded random differential test of the hash commands: tessera and redis-server (both with small
 * listpack thresholds, so conversions happen) receive the same random sequences over a few keys and
 * fields; replies must match byte for byte. Hashtable order is Redis's dict order, so HGETALL,
 * HKEYS and HVALS of hashtable-encoded hashes compare sorted (OBJECT ENCODING is asked first, and
 * compared too); listpack order must match. HRANDFIELD picks are random: their shape, membership,
 * uniqueness and (listpack) order are checked on each server. Hashtable HSCANs are run to the end on
 * each server and the field sets compared. `DIFF_SEEDS=5,6` replays other seeds.
 */
import assert from "node:assert/strict";
import { requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import { diffRuns, DiffSession, NORMALISERS, showArgs } from "./helpers/diff.ts";
import { Rng } from "./differential/random_commands.ts";
import { parseReply, RespError, type RespValue } from "../src/resp/reply_parser.ts";
import { latin1ToBytes } from "../src/resp/latin1.ts";

/** Small thresholds: a handful of writes converts a hash, and long fields/values do too. */
const SERVER_ARGS = ["--save", "", "--hash-max-listpack-entries", "6", "--hash-max-listpack-value", "12"];
const DEFAULT_SEEDS = [1, 2, 3];
const COMMANDS_PER_SEED = 400;
/** Mismatches reported per seed in the failure message. */
const MAX_SHOWN = 5;
/** Commands shown before the first mismatch of a seed. */
const CONTEXT = 12;
/** Redis's HRANDFIELD_SUB_STRATEGY_MUL: below size / 3 picks, a listpack's picks keep its order. */
const RANDOM_SUBSET_MUL = 3;
/** HSCAN calls allowed for one full scan before it counts as not terminating. */
const MAX_SCAN_CALLS = 500;

const KEYS = ["h0", "h1", "h2", "{t}h", ""];
const STRING_KEY = "s0";
const FIELDS = ["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "", "n", "x"];
const INTS = ["0", "1", "-1", "17", "-100", "9223372036854775807", "-9223372036854775808", "007", "1.5", "abc", ""];
const FLOATS = ["0.1", "-0.1", "1.5", "3", "-2.25", "1e3", "5.0e-3", "0", "abc", "inf", "1e308", "0x10", ".5"];

/** One generated step: a plain compared command, or one needing order-aware or custom comparison. */
type Step =
  | { kind: "plain"; args: string[]; conn?: string }
  | { kind: "ordered"; args: string[]; key: string }
  | { kind: "randfield"; args: string[]; key: string }
  | { kind: "scan"; args: string[]; key: string };

function randomBytes(rng: Rng, maxLen: number): string {
  let s = "";
  for (let i = rng.int(0, maxLen); i > 0; i--) s += String.fromCharCode(rng.int(0, 255));
  return s;
}

function key(rng: Rng): string {
  return rng.chance(0.04) ? STRING_KEY : rng.pick(KEYS);
}

function field(rng: Rng): string {
  return rng.chance(0.15) ? randomBytes(rng, 16) : rng.pick(FIELDS);
}

function value(rng: Rng): string {
  const r = rng.next();
  if (r < 0.4) return randomBytes(rng, 18);
  if (r < 0.7) return rng.pick(INTS);
  return rng.pick(["v", "hello", "3.5", "x"]);
}

function fields(rng: Rng, lo: number, hi: number): string[] {
  const out: string[] = [];
  for (let i = rng.int(lo, hi); i > 0; i--) out.push(field(rng));
  return out;
}

function pairs(rng: Rng, lo: number, hi: number): string[] {
  return fields(rng, lo, hi).flatMap((f) => [f, value(rng)]);
}

const plain = (args: string[]): Step => ({ kind: "plain", args });

/** Weighted generators. */
const GENERATORS: [number, (rng: Rng) => Step[]][] = [
  [10, (r) => [plain(["HSET", key(r), ...pairs(r, 1, 4)])]],
  [2, (r) => [plain(["HMSET", key(r), ...pairs(r, 1, 3)])]],
  [3, (r) => [plain(["HSETNX", key(r), field(r), value(r)])]],
  [6, (r) => [plain(["HGET", key(r), field(r)])]],
  [3, (r) => [plain(["HMGET", key(r), ...fields(r, 1, 4)])]],
  [5, (r) => [plain(["HDEL", key(r), ...fields(r, 1, 3)])]],
  [2, (r) => [plain(["HEXISTS", key(r), field(r)])]],
  [2, (r) => [plain(["HLEN", key(r)])]],
  [2, (r) => [plain(["HSTRLEN", key(r), field(r)])]],
  [4, (r) => {
    const k = key(r);
    return [{ kind: "ordered", args: [r.pick(["HGETALL", "HKEYS", "HVALS"]), k], key: k }];
  }],
  [4, (r) => [plain(["HINCRBY", key(r), r.chance(0.7) ? r.pick(["n", "f0", "x"]) : field(r), r.pick(INTS)])]],
  [4, (r) => [plain(["HINCRBYFLOAT", key(r), r.chance(0.7) ? r.pick(["n", "f1", "x"]) : field(r), r.pick(FLOATS)])]],
  [4, (r) => {
    const k = key(r);
    const args = ["HRANDFIELD", k];
    if (r.chance(0.8)) args.push(String(r.pick([0, 1, 2, 3, 5, 8, 20, -1, -3, -10])));
    if (args.length === 3 && r.chance(0.5)) args.push(r.pick(["WITHVALUES", "withvalues"]));
    if (r.chance(0.03)) args.push(r.pick(["FOO", "abc"]));
    return [{ kind: "randfield", args, key: k }];
  }],
  [4, (r) => {
    const k = key(r);
    const args = ["HSCAN", k, r.pick(["0", "0", "0", "17", "abc"])];
    if (r.chance(0.4)) args.push("MATCH", r.pick(["f*", "*", "?", "f[0-3]", "\x00*"]));
    if (r.chance(0.4)) args.push("COUNT", r.pick(["1", "2", "5", "100", "0"]));
    if (r.chance(0.03)) args.push("TYPE", "hash");
    return [{ kind: "scan", args, key: k }];
  }],
  // Generic commands over the same keys.
  [2, (r) => [plain(["DEL", key(r)])]],
  [1, (r) => [plain(["EXISTS", key(r), key(r)])]],
  [1, (r) => [plain(["TYPE", key(r)])]],
  [2, (r) => [plain(["OBJECT", "ENCODING", key(r)])]],
  [1, (r) => [plain(["EXPIRE", key(r), String(r.int(100, 10000))])]],
  [1, (r) => [plain(["COPY", key(r), key(r), ...r.pick([[], ["REPLACE"]])])]],
  [1, (r) => [plain(["RENAME", key(r), key(r)])]],
  [1, (r) => [plain(["SET", STRING_KEY, value(r)])]],
  [0.5, (r) => [plain(["CONFIG", "SET", "hash-max-listpack-entries", String(r.pick([2, 6, 6, 10]))])]],
  [0.5, (r) => [plain(["CONFIG", "SET", "hash-max-listpack-value", String(r.pick([4, 12, 12, 64]))])]],
  // Wrong arity: a command cut short.
  [
    1,
    (
      r,
    ) => [
      plain([r.pick(["HSET", "HGET", "HDEL", "HINCRBY", "HSETNX", "HMSET"]), key(r), field(r)].slice(0, r.int(1, 2))),
    ],
  ],
  // A transaction of deterministic hash commands.
  [2, (r) => {
    const k = key(r);
    const queued: Step[] = [];
    for (let i = r.int(1, 3); i > 0; i--) {
      queued.push(plain(r.pick([
        ["HSET", k, ...pairs(r, 1, 2)],
        ["HINCRBY", k, "n", r.pick(INTS)],
        ["HDEL", k, field(r)],
        ["HGET", k, field(r)],
        ["HLEN", k],
      ])));
    }
    return [plain(["MULTI"]), ...queued, plain(["EXEC"])];
  }],
];

const TOTAL_WEIGHT = GENERATORS.reduce((s, [w]) => s + w, 0);

function generate(seed: number, count: number): Step[] {
  const rng = new Rng(seed);
  const steps: Step[] = [];
  for (let i = 0; i < count; i++) {
    let x = rng.next() * TOTAL_WEIGHT;
    for (const [w, g] of GENERATORS) {
      x -= w;
      if (x < 0) {
        steps.push(...g(rng));
        break;
      }
    }
  }
  return steps;
}

/** Splits an aggregate reply into its header and each element's raw text (nested aggregates whole). */
function splitItems(raw: string): { header: string; items: string[] } | null {
  const lineEnd = raw.indexOf("\r\n");
  if (lineEnd === -1 || !"*%~".includes(raw[0]) || raw[1] === "-") return null;
  const count = Number(raw.slice(1, lineEnd)) * (raw[0] === "%" ? 2 : 1);
  const items: string[] = [];
  let at = lineEnd + 2;
  for (let i = 0; i < count; i++) {
    const end = parseReply(latin1ToBytes(raw), at)!.end;
    items.push(raw.slice(at, end));
    at = end;
  }
  return { header: raw.slice(0, lineEnd + 2), items };
}

/** Sorts an aggregate's elements in groups of `group` (2 keeps field/value pairs together). */
function sortGroups(raw: string, group: number): string {
  const agg = splitItems(raw);
  if (agg === null) return raw;
  const groups: string[] = [];
  for (let i = 0; i < agg.items.length; i += group) groups.push(agg.items.slice(i, i + group).join(""));
  return agg.header + groups.sort().join("");
}

// Named normalisers for hashtable-encoded hashes, whose order is Redis's dict order.
NORMALISERS.hashPairsSorted = (t, r) => [sortGroups(t, 2), sortGroups(r, 2)];
NORMALISERS.hashItemsSorted = (t, r) => [sortGroups(t, 1), sortGroups(r, 1)];

function decode(raw: string): RespValue {
  return parseReply(latin1ToBytes(raw), 0)!.value;
}

/** A parsed HGETALL (RESP2 flat array or RESP3 map) as field -> value pairs in reply order. */
function pairsOf(v: RespValue): [string, string][] {
  if (v instanceof Map) return [...v].map(([f, x]) => [f as string, x as string]);
  const flat = v as string[];
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

/**
 * Checks one server's HRANDFIELD reply against that server's hash (pairs in hash order): the
 * length Redis documents, real fields with their values, distinct picks for a positive count, and
 * hash order for a listpack's distinct picks. Returns a problem description or null.
 */
function checkRandomFields(
  args: string[],
  raw: string,
  hash: [string, string][],
  listpack: boolean,
  resp: 2 | 3,
): string | null {
  const reply = decode(raw);
  const values = new Map(hash);
  if (args.length === 2) {
    if (hash.length === 0) return reply === null ? null : "expected nil";
    return typeof reply === "string" && values.has(reply) ? null : "not a field";
  }
  const count = Number(args[2]);
  const withValues = args.length === 4;
  if (!Array.isArray(reply)) return "not an array";
  const picks: [string, string | undefined][] = [];
  if (withValues && resp === 3) {
    for (const p of reply) picks.push([(p as string[])[0], (p as string[])[1]]);
  } else if (withValues) {
    for (let i = 0; i < reply.length; i += 2) picks.push([reply[i] as string, reply[i + 1] as string]);
  } else {
    for (const f of reply) picks.push([f as string, undefined]);
  }
  const expected = hash.length === 0 ? 0 : count >= 0 ? Math.min(count, hash.length) : -count;
  if (picks.length !== expected) return `expected ${expected} picks, got ${picks.length}`;
  for (const [f, v] of picks) {
    if (!values.has(f)) return `not a field: ${JSON.stringify(f)}`;
    if (withValues && values.get(f) !== v) return `wrong value for ${JSON.stringify(f)}`;
  }
  if (count > 0) {
    if (new Set(picks.map(([f]) => f)).size !== picks.length) return "repeated field for a positive count";
    // Only Redis's "few picks from a big listpack" case (count * 3 <= size) keeps listpack order.
    if (listpack && count * RANDOM_SUBSET_MUL <= hash.length) {
      const order = hash.map(([f]) => f);
      const positions = picks.map(([f]) => order.indexOf(f));
      if (positions.some((p, i) => i > 0 && p < positions[i - 1])) return "listpack picks out of hash order";
    }
  }
  return null;
}

/** Runs an HSCAN to the end on one connection; returns the distinct field/value pairs, or an error text. */
async function fullScan(
  call: (...args: string[]) => Promise<string>,
  args: string[],
): Promise<string[] | string> {
  const seen = new Set<string>();
  let cursor = "0";
  for (let calls = 0; calls < MAX_SCAN_CALLS; calls++) {
    const raw = await call(args[0], args[1], cursor, ...args.slice(3));
    const reply = decode(raw);
    if (reply instanceof RespError) return raw;
    const [next, items] = reply as [string, string[]];
    for (let i = 0; i < items.length; i += 2) seen.add(JSON.stringify([items[i], items[i + 1]]));
    cursor = next;
    if (cursor === "0") return [...seen].sort();
  }
  return "scan did not terminate";
}

/** Runs one step on both servers; records mismatches in `session.failures`. */
async function runStep(session: DiffSession, step: Step, where: string): Promise<void> {
  if (step.kind === "plain") {
    await session.send(step.conn ?? "a", step.args, undefined, where);
    return;
  }
  const encoding = await session.send("a", ["OBJECT", "ENCODING", step.key], undefined, where);
  const hashtable = encoding.redis === "$9\r\nhashtable\r\n";
  if (step.kind === "ordered") {
    const sorted = step.args[0] === "HGETALL" ? "hashPairsSorted" : "hashItemsSorted";
    await session.send("a", step.args, hashtable ? sorted : undefined, where);
    return;
  }
  const { t, r } = await session.pair("a");
  if (step.kind === "scan") {
    if (!hashtable) {
      await session.send("a", step.args, undefined, where);
      return;
    }
    // Cursors differ between the servers: compare what whole scans return.
    const [ts, rs] = await Promise.all([
      fullScan((...a) => t.callRaw(...a), step.args),
      fullScan((...a) => r.callRaw(...a), step.args),
    ]);
    if (JSON.stringify(ts) !== JSON.stringify(rs)) {
      session.failures.push(
        `${where} full ${showArgs(step.args)}\n    tessera: ${JSON.stringify(ts)}\n    redis:   ${JSON.stringify(rs)}`,
      );
    }
    return;
  }
  // HRANDFIELD: errors and replies Redis fixes (nil, the whole hash) compare as bytes; picks are checked.
  const [tRaw, rRaw] = await Promise.all([t.callRaw(...step.args), r.callRaw(...step.args)]);
  const [tAll, rAll] = await Promise.all([t.callRaw("HGETALL", step.key), r.callRaw("HGETALL", step.key)]);
  const problems: string[] = [];
  const tErr = tRaw.startsWith("-") || rRaw.startsWith("-");
  const count = step.args.length >= 3 ? Number(step.args[2]) : NaN;
  const whole = count >= pairsOf(decode(rAll)).length || count === 0;
  if (tErr || rRaw === "*0\r\n" || rRaw === "$-1\r\n" || rRaw === "_\r\n" || whole) {
    const withValues = step.args.length === 4;
    const group = withValues && session.resp === 2 ? 2 : 1;
    const [nt, nr] = hashtable && !tErr ? [sortGroups(tRaw, group), sortGroups(rRaw, group)] : [tRaw, rRaw];
    if (nt !== nr) problems.push(`tessera ${JSON.stringify(tRaw)} redis ${JSON.stringify(rRaw)}`);
  } else {
    const tProblem = checkRandomFields(step.args, tRaw, pairsOf(decode(tAll)), !hashtable, session.resp);
    const rProblem = checkRandomFields(step.args, rRaw, pairsOf(decode(rAll)), !hashtable, session.resp);
    if (tProblem !== null) problems.push(`tessera: ${tProblem} in ${JSON.stringify(tRaw)}`);
    if (rProblem !== null) problems.push(`redis (checker?): ${rProblem} in ${JSON.stringify(rRaw)}`);
  }
  if (problems.length > 0) session.failures.push(`${where} ${showArgs(step.args)}\n    ${problems.join("\n    ")}`);
}

serverTest("differential: random hash command sequences", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(SERVER_ARGS), t.redis(SERVER_ARGS)]);
  const runs = diffRuns(DEFAULT_SEEDS);
  const failed: string[] = [];
  for (const { seed, resp } of runs) {
    const session = new DiffSession(tessera.port, redis.port, resp);
    t.defer(() => session.close());
    await session.send("a", ["FLUSHALL"], undefined, `seed ${seed} (setup)`);
    await session.send("a", ["CONFIG", "SET", "hash-max-listpack-entries", "6"], undefined, "(setup)");
    await session.send("a", ["CONFIG", "SET", "hash-max-listpack-value", "12"], undefined, "(setup)");
    const history: string[] = [];
    const steps = generate(seed, COMMANDS_PER_SEED);
    for (let i = 0; i < steps.length; i++) {
      const before = session.failures.length;
      await runStep(session, steps[i], `seed ${seed} RESP${resp} #${i}`);
      if (session.failures.length !== before && before === 0) {
        session.failures[0] = `  (previous commands:\n    ${history.slice(-CONTEXT).join("\n    ")})\n` +
          session.failures[0];
      }
      history.push(showArgs(steps[i].args));
    }
    session.close();
    if (session.failures.length > 0) {
      failed.push(
        `seed ${seed} RESP${resp}: ${session.failures.length} mismatch(es) ` +
          `(replay: DIFF_SEEDS=${seed} deno test -A tests/differential_hashes_test.ts)\n` +
          session.failures.slice(0, MAX_SHOWN).join("\n"),
      );
    }
  }
  assert.deepEqual(failed, [], failed.join("\n\n"));
}, 120_000);
