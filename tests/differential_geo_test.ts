/**
 * Differential test for the geo commands against redis-server, byte for byte: seeded random
 * points (clustered around a few places, spread over the globe, near the poles and the
 * antimeridian) and random searches of every kind (radius and box, every unit and option), mixed
 * with generic key commands. Unsorted search results are compared as they come: tessera visits
 * the geohash cells in Redis's order. `DIFF_SEEDS=7,8 deno test -A tests/differential_geo_test.ts`
 * replays or explores seeds.
 */
import { NORMALISERS, randomDifferentialTest } from "./helpers/diff.ts";
import { type RandomStep, Rng } from "./differential/random_commands.ts";

const SERVER_ARGS = ["--save", ""];
/** Fixed seeds keep the suite deterministic; DIFF_SEEDS replays or explores others. */
const DEFAULT_SEEDS = [1, 2, 3];
/** Commands per seed. */
const COMMANDS_PER_SEED = 600;
/** Mismatches shown per failing run. */
const SHOWN_PER_RUN = 5;

const KEYS = ["g0", "g1", "{t}g", "\x00\xff"];
const DEST_KEYS = ["dst", "g1", "{t}d"];
/** Centres of point clusters: [longitude, latitude, spread in degrees]. */
const CLUSTERS: [number, number, number][] = [
  [13.36, 38.11, 1.5],
  [-0.12, 51.5, 0.02],
  [179.9, 0, 0.3],
  [-179.95, -10, 0.2],
  [10, 84.5, 0.6],
  [-60, -84.9, 0.3],
  [0, 0, 0.0005],
];
const UNITS = ["m", "km", "ft", "mi", "M", "Km"];

/** Significant digits STOREDIST scores are compared with (see geoScores). */
const SCORE_DIGITS = 14;

/**
 * STOREDIST scores are printed with 17 digits, and glibc's sin/cos/asin (with or without FMA,
 * depending on the CPU) differ from V8's by one ulp about once in a thousand calls: compare the
 * float replies at 14 significant digits. Integers (geohash scores) stay exact.
 */
function roundFloats(raw: string): string {
  const round = (text: string) => /^-?\d+\.\d+(e[-+]?\d+)?$/.test(text) ? Number(text).toPrecision(SCORE_DIGITS) : text;
  return raw
    .replace(/\$(\d+)\r\n([^\r]*)\r\n/g, (_, _len, text: string) => {
      const r = round(text);
      return `$${r.length}\r\n${r}\r\n`;
    })
    .replace(/(^|\n),([^\r]*)\r\n/g, (_, lead: string, text: string) => `${lead},${round(text)}\r\n`);
}
NORMALISERS.geoScores = (t, r) => [roundFloats(t), roundFloats(r)];

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** A point as GEOADD text: mostly near a cluster, else anywhere valid; rarely out of range. */
function point(r: Rng): [string, string] {
  if (r.chance(0.02)) return [r.pick(["181", "-180.5", "0", "abc"]), r.pick(["86", "-85.06", "0", "1e"])];
  if (r.chance(0.25)) {
    return [String(r.next() * 360 - 180), String(r.next() * 170.1 - 85.05)];
  }
  const [lon, lat, spread] = r.pick(CLUSTERS);
  const x = clamp(lon + (r.next() * 2 - 1) * spread, -180, 180);
  const y = clamp(lat + (r.next() * 2 - 1) * spread, -85.05112878, 85.05112878);
  return [String(x), String(y)];
}

function member(r: Rng): string {
  return r.chance(0.05) ? r.pick(["", "\x00", "\xff\xfe"]) : `m${r.int(0, 40)}`;
}

/** A radius or box side: from a metre to around the Earth, sometimes 0. */
function distance(r: Rng): string {
  const x = r.next();
  if (x < 0.05) return "0";
  if (x < 0.1) return r.pick(["-1", "abc", "inf"]);
  return String(Number((10 ** (r.next() * 7.5)).toPrecision(r.int(1, 6))));
}

function unit(r: Rng): string {
  return r.chance(0.02) ? "yd" : r.pick(UNITS);
}

/** Random trailing options of a search, in random order. */
function searchOptions(r: Rng, withStore: boolean): string[] {
  const opts: string[][] = [];
  if (r.chance(0.3)) opts.push(["WITHDIST"]);
  if (r.chance(0.2)) opts.push(["WITHCOORD"]);
  if (r.chance(0.2)) opts.push(["WITHHASH"]);
  if (r.chance(0.5)) opts.push([r.pick(["ASC", "DESC", "asc"])]);
  if (r.chance(0.3)) {
    opts.push(["COUNT", r.chance(0.05) ? r.pick(["0", "-2", "x"]) : String(r.int(1, 8))]);
    if (r.chance(0.3)) opts.push(["ANY"]);
  } else if (r.chance(0.02)) {
    opts.push(["ANY"]);
  }
  if (withStore && r.chance(0.3)) opts.push([r.pick(["STORE", "STOREDIST"]), r.pick(DEST_KEYS)]);
  for (let i = opts.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [opts[i], opts[j]] = [opts[j], opts[i]];
  }
  return opts.flat();
}

/** FROMMEMBER / FROMLONLAT and BYRADIUS / BYBOX for GEOSEARCH[STORE]. */
function searchShape(r: Rng): string[] {
  const from = r.chance(0.4) ? ["FROMMEMBER", member(r)] : ["FROMLONLAT", ...point(r)];
  const by = r.chance(0.5) ? ["BYRADIUS", distance(r), unit(r)] : ["BYBOX", distance(r), distance(r), unit(r)];
  return r.chance(0.5) ? [...from, ...by] : [...by, ...from];
}

function randomCommand(r: Rng): RandomStep {
  const x = r.next();
  const key = r.pick(KEYS);
  const step = (args: string[], normaliser?: string): RandomStep => ({ conn: "a", args, normaliser });
  if (x < 0.25) {
    const args = ["GEOADD", key];
    if (r.chance(0.2)) args.push(r.pick(["NX", "XX", "CH", "nx", "ch"]));
    if (r.chance(0.1)) args.push("CH");
    for (let n = r.int(1, 6); n > 0; n--) args.push(...point(r), member(r));
    return step(args);
  }
  if (x < 0.3) return step(["GEODIST", key, member(r), member(r), ...(r.chance(0.6) ? [unit(r)] : [])]);
  if (x < 0.35) return step(["GEOPOS", key, ...Array.from({ length: r.int(0, 4) }, () => member(r))]);
  if (x < 0.4) return step(["GEOHASH", key, ...Array.from({ length: r.int(0, 4) }, () => member(r))]);
  if (x < 0.6) return step(["GEOSEARCH", key, ...searchShape(r), ...searchOptions(r, false)]);
  if (x < 0.67) {
    const opts = searchOptions(r, false).filter((o) => !o.startsWith("WITH"));
    if (r.chance(0.3)) opts.push("STOREDIST");
    return step(["GEOSEARCHSTORE", r.pick(DEST_KEYS), key, ...searchShape(r), ...opts]);
  }
  if (x < 0.72) return step(["ZRANGE", r.pick(DEST_KEYS), "0", "-1", "WITHSCORES"], "geoScores");
  if (x < 0.78) {
    const cmd = r.pick(["GEORADIUS", "GEORADIUS_RO"]);
    return step([cmd, key, ...point(r), distance(r), unit(r), ...searchOptions(r, cmd === "GEORADIUS")]);
  }
  if (x < 0.84) {
    const cmd = r.pick(["GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO"]);
    return step([cmd, key, member(r), distance(r), unit(r), ...searchOptions(r, cmd === "GEORADIUSBYMEMBER")]);
  }
  if (x < 0.87) return step(["ZREM", key, member(r), member(r)]);
  if (x < 0.89) return step(["ZADD", key, String(r.int(0, 2 ** 52 - 1)), member(r)]);
  if (x < 0.91) return step(["DEL", r.chance(0.5) ? key : r.pick(DEST_KEYS)]);
  if (x < 0.93) return step(["OBJECT", "ENCODING", r.chance(0.5) ? key : r.pick(DEST_KEYS)]);
  if (x < 0.95) return step(["TYPE", key]);
  if (x < 0.96) return step(["EXISTS", key, r.pick(DEST_KEYS)]);
  if (x < 0.97) return step(["EXPIRE", r.pick(DEST_KEYS), "100"]);
  if (x < 0.98) return step(["SET", r.pick(DEST_KEYS), "str"]);
  return step(["ZCARD", key]);
}

randomDifferentialTest("geo differential: random points and searches", DEFAULT_SEEDS, async (session, seed) => {
  const r = new Rng(seed);
  for (let i = 0; i < COMMANDS_PER_SEED; i++) {
    const step = randomCommand(r);
    await session.sendTracked(step.conn, step.args, step.normaliser, `seed ${seed} RESP${session.resp} #${i}`);
  }
}, { serverArgs: SERVER_ARGS, shownPerRun: SHOWN_PER_RUN });
