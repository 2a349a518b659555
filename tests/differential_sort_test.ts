/**
 * Differential test of SORT / SORT_RO: seeded random sequences over lists, sets, sorted sets and the
 * string / hash keys their BY and GET patterns name, run on tessera and redis-server, replies compared
 * byte for byte except where Redis leaves the order open:
 * - a hashtable set's iteration order (BY a constant without STORE), and the order of elements whose
 *   ALPHA BY values tie when the source is a hashtable set or a sorted set (Redis iterates its dict):
 *   compared as sorted multisets;
 * - ALPHA BY with LIMIT (Redis's partial quicksort picks among ties its own way) and a LIMIT window
 *   of a hashtable set's own order: only the reply length is compared.
 * A second test runs SORT's cluster-mode refusals against single-node clusters.
 * `DIFF_SEEDS=7,8 deno test -A tests/differential_sort_test.ts` replays seeds.
 */
import assert from "node:assert/strict";
import { requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import { diffSeeds, DiffSession, showArgs } from "./helpers/diff.ts";
import { Rng } from "./differential/random_commands.ts";
import { parseReply, type RespValue } from "../src/resp/reply_parser.ts";
import { latin1ToBytes } from "../src/resp/latin1.ts";
import type { RespConnection } from "../src/resp/connection.ts";

const SERVER_ARGS = ["--save", ""];
const DEFAULT_SEEDS = [1, 2, 3, 4];
/** Top-level steps per seed. */
const STEPS_PER_SEED = 300;
/** Mismatches shown per seed (all are counted). */
const SHOWN_PER_SEED = 5;
/** How long a fresh single-node cluster may take to report `cluster_state:ok`. */
const STATE_OK_TIMEOUT_MS = 15_000;

const SOURCES = ["l0", "l1", "s0", "s1", "z0", "w_1", "nokey"];
/** Elements without NUL bytes (strcoll stops at them: such ties are covered by tests/differential/sort.txt). */
const ELEMENTS = ["1", "2", "3", "10", "-1", "0", "2.5", "007", "1e2", " 5", "a", "b", "ab", "B", "\xe9", "x y"];
const INT_ELEMENTS = ["1", "2", "3", "10", "-1", "0", "42", "-7"];
const VALUES = ["1", "2", "3", "-4", "0.5", "1e3", "", "a", "b", "zz", "inf", "x1"];
const BY_PATTERNS = ["w_*", "h_*->f", "h_*->g", "nosort", "w_*->f", "*", "#", "x*y"];
const GET_PATTERNS = ["#", "w_*", "h_*->f", "h_*->g", "nostar", "*"];
const LIMITS = ["0", "1", "2", "3", "-1", "10", "x"];

/** One generated step. */
type Step = { kind: "exact"; args: string[] } | { kind: "sort"; args: string[]; src: string };

function pickElement(r: Rng, key: string): string {
  return key === "s0" || r.chance(0.3) ? r.pick(INT_ELEMENTS) : r.pick(ELEMENTS);
}

function sortArgs(r: Rng): string[] {
  const args = [r.chance(0.7) ? "SORT" : "SORT_RO", r.pick(SOURCES)];
  for (let n = r.int(0, 4); n > 0; n--) {
    const x = r.next();
    if (x < 0.15) args.push(r.pick(["ASC", "DESC", "desc"]));
    else if (x < 0.35) args.push("ALPHA");
    else if (x < 0.5) args.push("LIMIT", r.pick(LIMITS), r.pick(LIMITS));
    else if (x < 0.7) args.push("BY", r.pick(BY_PATTERNS));
    else if (x < 0.9) args.push("GET", r.pick(GET_PATTERNS));
    else if (x < 0.97) args.push("STORE", "dst");
    else args.push(r.pick(["BOGUS", "LIMIT", "GET"]));
  }
  return args;
}

const GENERATORS: [number, (r: Rng) => Step][] = [
  [6, (r) => {
    const k = r.pick(["l0", "l1"]);
    const n = r.int(1, 4);
    return {
      kind: "exact",
      args: [r.pick(["RPUSH", "LPUSH"]), k, ...Array.from({ length: n }, () => pickElement(r, k))],
    };
  }],
  [5, (r) => {
    const k = r.pick(["s0", "s1"]);
    return { kind: "exact", args: ["SADD", k, ...Array.from({ length: r.int(1, 4) }, () => pickElement(r, k))] };
  }],
  [4, (r) => ({ kind: "exact", args: ["ZADD", "z0", String(r.int(-3, 3)), pickElement(r, "z0")] })],
  [
    2,
    (r) => ({
      kind: "exact",
      args: [r.pick(["SREM", "ZREM", "LREM"]), r.pick(SOURCES), ...(r.chance(0.5) ? [] : ["0"]), pickElement(r, "")]
        .slice(0, 3),
    }),
  ],
  [5, (r) => ({ kind: "exact", args: ["SET", `w_${pickElement(r, "")}`, r.pick(VALUES)] })],
  [4, (r) => ({ kind: "exact", args: ["HSET", `h_${pickElement(r, "")}`, r.pick(["f", "g"]), r.pick(VALUES)] })],
  [1, (r) => ({ kind: "exact", args: ["DEL", r.pick([...SOURCES, "dst"])] })],
  [1, (r) => ({ kind: "exact", args: ["EXPIRE", r.pick(SOURCES), "1000"] })],
  [1, () => ({ kind: "exact", args: ["TYPE", "dst"] })],
  [12, (r) => {
    const args = sortArgs(r);
    return { kind: "sort", args, src: args[1] };
  }],
];

function generate(r: Rng): Step {
  const total = GENERATORS.reduce((s, [w]) => s + w, 0);
  let x = r.next() * total;
  for (const [w, g] of GENERATORS) {
    x -= w;
    if (x < 0) return g(r);
  }
  return GENERATORS[0][1](r);
}

/** How a SORT reply may be compared, from its options and the source's encoding. */
type Mode = "exact" | "multiset" | "length";

function compareMode(args: string[], encoding: string): Mode {
  const words = args.map((a) => a.toLowerCase());
  let alpha = false, byPattern = false, dontSort = false, limit = false, store = false;
  for (let i = 2; i < words.length; i++) {
    if (words[i] === "alpha") alpha = true;
    else if (words[i] === "limit") limit = true;
    else if (words[i] === "store") store = true;
    else if (words[i] === "by" && i + 1 < words.length) {
      if (args[i + 1].includes("*")) byPattern = true;
      else dontSort = true;
    }
  }
  const ordered = encoding === "quicklist" || encoding === "intset" || encoding === "";
  if (alpha && byPattern && !dontSort && limit) return "length";
  if (ordered) return "exact";
  // A hashtable set's own order: a LIMIT window of it may hold different members.
  if (encoding === "hashtable" && dontSort && !store) return limit ? "length" : "multiset";
  if (alpha && byPattern && !dontSort) return "multiset";
  return "exact";
}

function parse(raw: string): RespValue {
  return parseReply(latin1ToBytes(raw), 0)?.value ?? null;
}

function same(mode: Mode, t: string, r: string): boolean {
  if (mode === "exact" || t === r) return t === r;
  const [pt, pr] = [parse(t), parse(r)];
  if (!Array.isArray(pt) || !Array.isArray(pr)) return false;
  if (mode === "length") return pt.length === pr.length;
  const norm = (v: RespValue[]) => JSON.stringify(v.map((x) => JSON.stringify(x)).sort());
  return norm(pt) === norm(pr);
}

serverTest("differential: random SORT sequences", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(SERVER_ARGS), t.redis(SERVER_ARGS)]);
  const problems: string[] = [];
  let sorts = 0;
  let exactSorts = 0;
  for (const seed of diffSeeds(DEFAULT_SEEDS)) {
    const session = new DiffSession(tessera.port, redis.port, 2);
    const p = await session.pair("a");
    await Promise.all([p.t.callRaw("FLUSHALL"), p.r.callRaw("FLUSHALL")]);
    const rng = new Rng(seed);
    const failures: string[] = [];
    const call = async (args: string[], mode: Mode) => {
      const [rt, rr] = await Promise.all([p.t.callRaw(...args), p.r.callRaw(...args)]);
      if (!same(mode, rt, rr)) {
        failures.push(
          `${showArgs(args)} (${mode})\n    tessera: ${JSON.stringify(rt)}\n    redis:   ${JSON.stringify(rr)}`,
        );
      }
      return rr;
    };
    for (let i = 0; i < STEPS_PER_SEED; i++) {
      const step = generate(rng);
      if (step.kind === "exact") {
        await call(step.args, "exact");
        continue;
      }
      sorts++;
      const encodingReply = await call(["OBJECT", "ENCODING", step.src], "exact");
      const encoding = /^\$\d+\r\n(\w+)\r\n$/.exec(encodingReply)?.[1] ?? "";
      const mode = compareMode(step.args, encoding);
      if (mode === "exact") exactSorts++;
      await call(step.args, mode);
      if (step.args.some((a) => a.toLowerCase() === "store")) {
        await call(["LRANGE", "dst", "0", "-1"], mode);
        // A result whose order may differ would make later exact reads of dst differ: resynchronise.
        if (mode !== "exact") await call(["DEL", "dst"], "exact");
      }
    }
    session.close();
    if (failures.length > 0) {
      problems.push(`seed ${seed}: ${failures.length} mismatch(es)\n${failures.slice(0, SHOWN_PER_SEED).join("\n")}`);
    }
  }
  // Most replies must be compared byte for byte, or the test would prove little.
  assert.ok(exactSorts > sorts * 0.8, `only ${exactSorts} of ${sorts} SORT replies compared exactly`);
  assert.deepEqual(problems, []);
});

/** SORT commands whose cluster-mode replies are compared (BY / GET patterns are refused there). */
const CLUSTER_CASES: string[][] = [
  ["RPUSH", "l", "3", "1", "2"],
  ["SORT", "l"],
  ["SORT", "l", "BY", "w_*"],
  ["SORT", "l", "BY", "{l}*"],
  ["SORT", "l", "BY", "w_*->f"],
  ["SORT", "l", "BY", "nosort"],
  ["SORT", "l", "BY", "#"],
  ["SORT", "l", "GET", "#"],
  ["SORT", "l", "GET", "w_*"],
  ["SORT", "l", "GET", "nostar"],
  ["SORT", "l", "BY", "nosort", "GET", "#"],
  ["SORT", "l", "LIMIT", "0", "1", "GET", "x*", "BY", "y*"],
  ["SORT", "l", "BY", "y*", "GET", "x*"],
  ["SORT", "l", "BOGUS", "BY", "w_*"],
  ["SORT", "l", "LIMIT", "x", "1", "GET", "#"],
  ["SORT_RO", "l", "BY", "w_*"],
  ["SORT_RO", "l", "GET", "#"],
  ["SORT_RO", "l", "DESC", "LIMIT", "0", "2"],
  ["SORT", "l", "STORE", "{l}dst"],
  ["LRANGE", "{l}dst", "0", "-1"],
];

serverTest("SORT in cluster mode matches redis-server", async (t) => {
  if (!requireTool("redis-server")) return;
  const dir = await Deno.makeTempDir({ prefix: "tessera-sort-cluster-" });
  t.defer(() => Deno.remove(dir, { recursive: true }).catch(() => {}));
  const args = ["--cluster-enabled", "yes", "--cluster-node-timeout", "500"];
  const [tessera, redis] = await Promise.all([t.tessera([...args, "--dir", dir]), t.redis(args)]);
  const session = new DiffSession(tessera.port, redis.port, 2);
  t.defer(() => session.close());
  const p = await session.pair("a");
  const deadline = Date.now() + STATE_OK_TIMEOUT_MS;
  for (const conn of [p.t, p.r] as RespConnection[]) {
    await conn.callRaw("CLUSTER", "ADDSLOTSRANGE", "0", "16383");
    while (!(await conn.callRaw("CLUSTER", "INFO")).includes("cluster_state:ok")) {
      if (Date.now() > deadline) throw new Error("cluster_state never became ok");
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  for (const c of CLUSTER_CASES) await session.send("a", c, undefined, "cluster");
  assert.deepEqual(session.failures, []);
});
