/**
 * Randomized command sequences for the differential test: a seeded PRNG picks commands over a
 * small pool of keys (so commands collide), with random binary values (bytes 0-255), numbers
 * near the integer limits, options in random order and deliberate errors.
 */

/** One generated command: connection name, arguments, optional normaliser name. */
export interface RandomStep {
  conn: string;
  args: string[];
  normaliser?: string;
}

export { Rng } from "../helpers/rng.ts";
import { Rng } from "../helpers/rng.ts";

const KEYS = ["k0", "k1", "k2", "k3", "k4", "{t}a", "{t}b", "\x00\xff", "", "n0", "n1", "f0"];
const NUMBERS = [
  "0",
  "1",
  "-1",
  "42",
  "9999",
  "10000",
  "9223372036854775807",
  "-9223372036854775808",
  "9223372036854775806",
  "-9223372036854775807",
  "007",
  "+1",
  " 1",
  "1.5",
  "abc",
  "",
];
const FLOATS = ["0.1", "-0.1", "1.5", "3", "-2.25", "1e3", "5.0e-3", "100", "0", "abc", "1e308", "-1e308"];
/** Absolute time far in the future (2100-01-01) so EXPIREAT and friends stay deterministic. */
const FAR_UNIX_SEC = 4102444800;

function randomBytes(rng: Rng, maxLen: number): string {
  const n = rng.int(0, maxLen);
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(rng.int(0, 255));
  return s;
}

function value(rng: Rng): string {
  const r = rng.next();
  if (r < 0.45) return randomBytes(rng, 24);
  if (r < 0.75) return rng.pick(NUMBERS);
  if (r < 0.85) return randomBytes(rng, 60);
  return rng.pick(["hello", "world", "abc", "ohmytext", "mynewtext", "x"]);
}

function key(rng: Rng): string {
  return rng.chance(0.05) ? randomBytes(rng, 6) : rng.pick(KEYS);
}

function keys(rng: Rng, lo: number, hi: number): string[] {
  const out: string[] = [];
  for (let i = rng.int(lo, hi); i > 0; i--) out.push(key(rng));
  return out;
}

/** A TTL long enough that it cannot expire between the two servers' replies. */
function seconds(rng: Rng): string {
  return rng.pick([
    String(rng.int(100, 100000)),
    "0",
    "-1",
    "abc",
    "9223372036854775807",
    String(rng.int(1, 99) + 1000),
  ]);
}

function setOptions(rng: Rng): string[] {
  const opts: string[] = [];
  if (rng.chance(0.3)) opts.push(rng.pick(["NX", "XX", "nx", "xx"]));
  if (rng.chance(0.2)) opts.push("GET");
  if (rng.chance(0.4)) {
    const kind = rng.pick(["EX", "PX", "EXAT", "PXAT", "KEEPTTL", "ex"]);
    if (kind === "KEEPTTL") opts.push(kind);
    else if (kind === "EXAT") opts.push(kind, String(FAR_UNIX_SEC + rng.int(-10, 10)));
    else if (kind === "PXAT") opts.push(kind, String(FAR_UNIX_SEC * 1000 + rng.int(0, 999)));
    else if (kind === "PX") opts.push(kind, String(rng.int(100000, 9000000)));
    else opts.push(kind, seconds(rng));
  }
  // Occasionally a duplicate or conflicting option, for the syntax error paths.
  if (rng.chance(0.05)) opts.push(rng.pick(["NX", "XX", "EX", "KEEPTTL", "FOO"]));
  for (let i = opts.length - 1; i > 0 && rng.chance(0.3); i--) {
    const j = rng.int(0, i);
    [opts[i], opts[j]] = [opts[j], opts[i]];
  }
  return opts;
}

type Gen = (rng: Rng) => RandomStep | RandomStep[];
const a = (args: string[], normaliser?: string): RandomStep => ({ conn: "a", args, normaliser });

/** Weighted command generators (weight, generator). */
const GENERATORS: [number, Gen][] = [
  [8, (r) => a(["SET", key(r), value(r), ...setOptions(r)])],
  [8, (r) => a(["GET", key(r)])],
  [2, (r) => a(["SETNX", key(r), value(r)])],
  [2, (r) => a(["SETEX", key(r), seconds(r), value(r)])],
  [2, (r) => a(["PSETEX", key(r), String(r.int(100000, 999999)), value(r)])],
  [3, (r) => a(["MGET", ...keys(r, 1, 5)])],
  [3, (r) => a(["MSET", ...keys(r, 1, 3).flatMap((k) => [k, value(r)])])],
  [2, (r) => a(["MSETNX", ...keys(r, 1, 3).flatMap((k) => [k, value(r)])])],
  [2, (r) => a(["GETSET", key(r), value(r)])],
  [2, (r) => a(["GETDEL", key(r)])],
  [2, (r) =>
    a([
      "GETEX",
      key(r),
      ...r.pick([[], ["EX", seconds(r)], ["PX", "500000"], ["EXAT", String(FAR_UNIX_SEC)], ["PERSIST"], ["FOO"]]),
    ])],
  [4, (r) => a(["INCR", r.pick(["n0", "n1", key(r)])])],
  [3, (r) => a(["DECR", r.pick(["n0", "n1", key(r)])])],
  [3, (r) => a(["INCRBY", r.pick(["n0", "n1", key(r)]), r.pick(NUMBERS)])],
  [3, (r) => a(["DECRBY", r.pick(["n0", "n1", key(r)]), r.pick(NUMBERS)])],
  [3, (r) => a(["INCRBYFLOAT", r.pick(["f0", "n0", key(r)]), r.pick(FLOATS)])],
  [4, (r) => a(["APPEND", key(r), value(r)])],
  [3, (r) => a(["STRLEN", key(r)])],
  [3, (r) => a([r.pick(["GETRANGE", "SUBSTR"]), key(r), String(r.int(-30, 30)), String(r.int(-30, 30))])],
  [3, (r) => a(["SETRANGE", key(r), String(r.pick([r.int(0, 40), -1])), value(r)])],
  [
    2,
    (r) =>
      a([
        "LCS",
        key(r),
        key(r),
        ...r.pick([[], ["LEN"], ["IDX"], ["IDX", "WITHMATCHLEN"], ["IDX", "MINMATCHLEN", "2"]]),
      ]),
  ],
  [3, (r) => a([r.pick(["DEL", "UNLINK"]), ...keys(r, 1, 3)])],
  [3, (r) => a(["EXISTS", ...keys(r, 1, 3)])],
  [2, (r) => a(["TYPE", key(r)])],
  [3, (r) => a(["EXPIRE", key(r), seconds(r), ...r.pick([[], ["NX"], ["XX"], ["GT"], ["LT"], ["NX", "GT"]])])],
  [2, (r) => a(["PEXPIRE", key(r), String(r.int(100000, 9000000)), ...r.pick([[], ["XX"], ["GT"], ["LT"]])])],
  [2, (r) => a(["EXPIREAT", key(r), String(FAR_UNIX_SEC + r.int(0, 100)), ...r.pick([[], ["GT"], ["LT"]])])],
  [1, (r) => a(["PEXPIREAT", key(r), String(r.pick([1, FAR_UNIX_SEC * 1000]))])],
  [1, (r) => a(["EXPIRETIME", key(r)], "expiretime")],
  [1, (r) => a(["PEXPIRETIME", key(r)], "pexpiretime")],
  [3, (r) => a(["TTL", key(r)], "ttl")],
  [2, (r) => a(["PTTL", key(r)], "pttl")],
  [2, (r) => a(["PERSIST", key(r)])],
  [2, (r) => a(["RENAME", key(r), key(r)])],
  [2, (r) => a(["RENAMENX", key(r), key(r)])],
  [1, (r) => a(["KEYS", r.pick(["*", "k*", "{t}*", "?", "n[01]", "\x00*"])], "sorted")],
  [1, () => a(["DBSIZE"])],
  [1, (r) => a(["TOUCH", ...keys(r, 1, 3)])],
  [2, (r) => a(["COPY", key(r), key(r), ...r.pick([[], ["REPLACE"], ["DB", "1"], ["DB", "1", "REPLACE"]])])],
  [2, (r) => a(["OBJECT", "ENCODING", key(r)])],
  [1, (r) => a(["PING", ...r.pick([[], [value(r)]])])],
  [1, (r) => a(["ECHO", value(r)])],
  [1, (r) => a(["SELECT", r.pick(["0", "1", "0", "99"])])],
  [0.2, () => a(["FLUSHDB"])],
  // Error paths: a command with one argument too few, and an unknown command.
  [1, (r) => a([r.pick(["GET", "SET", "INCRBY", "GETRANGE", "EXPIRE", "RENAME"]), key(r)].slice(0, r.int(1, 2)))],
  [0.5, (r) => a([r.pick(["NOSUCH", "GETT", "SETT"]), key(r)])],
  // A transaction of 1-4 commands, sometimes aborted by a bad command, a DISCARD or a watched write.
  [5, (r) => {
    const steps: RandomStep[] = [];
    const watched = key(r);
    const watch = r.chance(0.4);
    if (watch) steps.push(a(["WATCH", watched]));
    if (watch && r.chance(0.5)) steps.push({ conn: "b", args: ["SET", watched, value(r)] });
    steps.push(a(["MULTI"]));
    for (let i = r.int(1, 4); i > 0; i--) steps.push(...queuedCommand(r));
    if (r.chance(0.1)) steps.push(a(["GET"]));
    steps.push(a([r.chance(0.15) ? "DISCARD" : "EXEC"]));
    return steps;
  }],
];

const TOTAL_WEIGHT = GENERATORS.reduce((s, [w]) => s + w, 0);

function flatten(s: RandomStep | RandomStep[]): RandomStep[] {
  return Array.isArray(s) ? s : [s];
}

const TRANSACTION = GENERATORS[GENERATORS.length - 1][1];

function pickGenerator(rng: Rng): Gen {
  let x = rng.next() * TOTAL_WEIGHT;
  for (const [w, g] of GENERATORS) {
    x -= w;
    if (x < 0) return g;
  }
  return GENERATORS[0][1];
}

/**
 * One command queued inside MULTI: no nested transaction, and nothing needing a normaliser
 * (TTL drift or KEYS order inside the EXEC array could not be normalised element-wise).
 */
function queuedCommand(rng: Rng): RandomStep[] {
  while (true) {
    const g = pickGenerator(rng);
    if (g === TRANSACTION) continue;
    const steps = flatten(g(rng));
    if (steps.every((s) => s.normaliser === undefined)) return steps;
  }
}

/** Generates `count` top-level commands (a transaction counts as one) from `seed`. */
export function randomCommands(seed: number, count: number): RandomStep[] {
  const rng = new Rng(seed);
  const steps: RandomStep[] = [];
  for (let i = 0; i < count; i++) steps.push(...flatten(pickGenerator(rng)(rng)));
  return steps;
}
