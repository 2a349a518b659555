/**
 * Seeded random differential test of the list commands: one tessera and one redis-server get the
 * same random sequences of list commands (plus DEL EXISTS TYPE OBJECT ENCODING EXPIRE and
 * transactions) over a few keys and a small pool of elements, so that LREM, LPOS and LINSERT
 * find matches; every raw reply must match byte for byte (list replies are ordered: no
 * normaliser). `DIFF_SEEDS=7,8 deno test -A tests/differential_lists_test.ts` replays seeds.
 */
import assert from "node:assert/strict";
import { requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import { diffRuns, DiffSession } from "./helpers/diff.ts";
import { Rng } from "./differential/random_commands.ts";

const SERVER_ARGS = ["--save", ""];
const DEFAULT_SEEDS = [11, 12, 13];
const COMMANDS_PER_SEED = 600;

const LIST_KEYS = ["l0", "l1", "l2", "{l}a", "{l}b"];
/** A string key (WRONGTYPE paths) and a key that is never written. */
const OTHER_KEYS = ["s0", "missing"];
const ELEMENTS = ["a", "b", "c", "0", "1", "-1", "127", "128", "-129", "65536", "007", "", "\x00\xff", "x y"];
const INDEXES = ["0", "1", "2", "-1", "-2", "-5", "5", "100", "-100", "abc", "9223372036854775807", "1.5"];

function key(r: Rng): string {
  return r.chance(0.88) ? r.pick(LIST_KEYS) : r.pick(OTHER_KEYS);
}

function element(r: Rng): string {
  if (r.chance(0.85)) return r.pick(ELEMENTS);
  if (r.chance(0.5)) return "long-" + "z".repeat(r.int(50, 70));
  let s = "";
  for (let i = r.int(0, 8); i > 0; i--) s += String.fromCharCode(r.int(0, 255));
  return s;
}

function elements(r: Rng, lo: number, hi: number): string[] {
  const out: string[] = [];
  for (let i = r.int(lo, hi); i > 0; i--) out.push(element(r));
  return out;
}

function side(r: Rng): string {
  return r.pick(["LEFT", "RIGHT", "left", "Right", ...(r.chance(0.05) ? ["UP"] : [])]);
}

/** A timeout that either never matters (data is there) or expires at once. */
function timeout(r: Rng): string {
  return r.pick(["0.01", "0.01", "0.02", ...(r.chance(0.1) ? ["-1", "abc"] : [])]);
}

type Step = { conn: string; args: string[] };
const a = (args: string[]): Step => ({ conn: "a", args });

/** Weighted generators of one command (or a few, for transactions). */
const GENERATORS: [number, (r: Rng) => Step | Step[]][] = [
  [10, (r) => a([r.pick(["LPUSH", "RPUSH"]), key(r), ...elements(r, 1, 5)])],
  [3, (r) => a([r.pick(["LPUSHX", "RPUSHX"]), key(r), ...elements(r, 1, 3)])],
  [6, (r) => a([r.pick(["LPOP", "RPOP"]), key(r), ...(r.chance(0.4) ? [r.pick(["0", "1", "2", "5", "-1"])] : [])])],
  [4, (r) => a(["LLEN", key(r)])],
  [4, (r) => a(["LINDEX", key(r), r.pick(INDEXES)])],
  [3, (r) => a(["LSET", key(r), r.pick(INDEXES), element(r)])],
  [6, (r) => a(["LRANGE", key(r), r.pick(INDEXES), r.pick(INDEXES)])],
  [2, (r) => a(["LTRIM", key(r), r.pick(INDEXES), r.pick(INDEXES)])],
  [4, (r) => a(["LREM", key(r), r.pick(["0", "1", "2", "-1", "-2", "x"]), element(r)])],
  [3, (r) => a(["LINSERT", key(r), r.pick(["BEFORE", "AFTER", "after", "MIDDLE"]), element(r), element(r)])],
  [4, (r) => {
    const opts: string[] = [];
    if (r.chance(0.5)) opts.push("RANK", r.pick(["1", "2", "-1", "-3", "0"]));
    if (r.chance(0.5)) opts.push("COUNT", r.pick(["0", "1", "2", "-1"]));
    if (r.chance(0.3)) opts.push("MAXLEN", r.pick(["0", "1", "3", "-1"]));
    return a(["LPOS", key(r), element(r), ...opts]);
  }],
  [4, (r) => a(["LMOVE", key(r), key(r), side(r), side(r)])],
  [2, (r) => a(["RPOPLPUSH", key(r), key(r)])],
  [3, (r) => {
    const keys = [key(r), key(r), key(r)].slice(0, r.int(1, 3));
    const count = r.chance(0.5) ? ["COUNT", r.pick(["1", "2", "10", "0"])] : [];
    return a(["LMPOP", String(keys.length), ...keys, side(r), ...count]);
  }],
  [2, (r) => a([r.pick(["BLPOP", "BRPOP"]), key(r), ...(r.chance(0.5) ? [key(r)] : []), timeout(r)])],
  [1, (r) => a(["BLMOVE", key(r), key(r), side(r), side(r), timeout(r)])],
  [1, (r) => a(["BRPOPLPUSH", key(r), key(r), timeout(r)])],
  [1, (r) => a(["BLMPOP", timeout(r), "2", key(r), key(r), side(r), ...(r.chance(0.5) ? ["COUNT", "2"] : [])])],
  [2, (r) => a(["DEL", key(r)])],
  [2, (r) => a(["EXISTS", key(r), key(r)])],
  [2, (r) => a(["TYPE", key(r)])],
  [1, (r) => a(["OBJECT", "ENCODING", key(r)])],
  [1, (r) => a(["EXPIRE", key(r), "1000"])],
  [1, (r) => a(["SET", r.pick(OTHER_KEYS.slice(0, 1)), element(r)])],
  [1, (r) => a(["COPY", key(r), key(r), ...(r.chance(0.5) ? ["REPLACE"] : [])])],
  [3, (r) => {
    const steps: Step[] = [];
    const watched = key(r);
    if (r.chance(0.4)) {
      steps.push(a(["WATCH", watched]));
      if (r.chance(0.5)) steps.push({ conn: "b", args: ["RPUSH", watched, element(r)] });
    }
    steps.push(a(["MULTI"]));
    for (let i = r.int(1, 4); i > 0; i--) steps.push(...flatten(pick(r, true)(r)));
    steps.push(a([r.chance(0.1) ? "DISCARD" : "EXEC"]));
    return steps;
  }],
];
const TOTAL_WEIGHT = GENERATORS.reduce((s, [w]) => s + w, 0);

function flatten(s: Step | Step[]): Step[] {
  return Array.isArray(s) ? s : [s];
}

/** A weighted generator; `inMulti` excludes the transaction generator. */
function pick(r: Rng, inMulti: boolean): (r: Rng) => Step | Step[] {
  while (true) {
    let x = r.next() * TOTAL_WEIGHT;
    for (let i = 0; i < GENERATORS.length; i++) {
      x -= GENERATORS[i][0];
      if (x < 0) {
        if (inMulti && i === GENERATORS.length - 1) break;
        return GENERATORS[i][1];
      }
    }
  }
}

/** The command sequence of one seed. */
export function randomListCommands(seed: number, count: number): Step[] {
  const r = new Rng(seed);
  const steps: Step[] = [];
  for (let i = 0; i < count; i++) steps.push(...flatten(pick(r, false)(r)));
  return steps;
}

serverTest("lists differential: random command sequences", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(SERVER_ARGS), t.redis(SERVER_ARGS)]);
  const failed: string[] = [];
  const details: string[] = [];
  const runs = diffRuns(DEFAULT_SEEDS);
  for (const { seed, resp } of runs) {
    const session = new DiffSession(tessera.port, redis.port, resp);
    await session.send("a", ["FLUSHALL"], undefined, `seed ${seed} (setup)`);
    const steps = randomListCommands(seed, COMMANDS_PER_SEED);
    for (let i = 0; i < steps.length; i++) {
      await session.sendTracked(steps[i].conn, steps[i].args, undefined, `seed ${seed} RESP${resp} #${i}`);
    }
    // The final state must match too.
    for (const k of LIST_KEYS) await session.send("a", ["LRANGE", k, "0", "-1"], undefined, `seed ${seed} final`);
    session.close();
    if (session.failures.length > 0) {
      failed.push(`seed ${seed} RESP${resp}: ${session.failures.length} mismatch(es); replay with DIFF_SEEDS=${seed}`);
      details.push(...session.failures.slice(0, 5));
    }
  }
  assert.deepEqual(failed, [], details.join("\n"));
}, 120_000);
