/**
 * Geo commands over sorted sets, as Redis 7.0 does them: GEOADD (NX XX CH) GEODIST GEOHASH GEOPOS,
 * GEOSEARCH / GEOSEARCHSTORE (FROMMEMBER FROMLONLAT BYRADIUS BYBOX ASC DESC COUNT [ANY] WITHCOORD
 * WITHDIST WITHHASH STOREDIST) and the older GEORADIUS[_RO] / GEORADIUSBYMEMBER[_RO] (STORE STOREDIST).
 * Points are zset members scored with their 52-bit geohash (src/store/geohash.ts).
 */
import { NOTIFY_GENERIC, NOTIFY_ZSET, notifyKeyspaceEvent } from "../server/keyspace_events.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import { parseScore, ZSetValue } from "../store/types/zset.ts";
import { zsetCommands } from "./zsets.ts";
import { ERR_NOT_FLOAT, ERR_NOT_INTEGER, ERR_SYNTAX, ERR_WRONGTYPE } from "./errors.ts";
import { parseInt64 } from "../store/numbers.ts";
import { formatLongDoubleHuman } from "../store/long_double.ts";
import {
  cellScoreRange,
  decodeScore,
  distanceIfWithin,
  GEO_LAT_MAX,
  GEO_LAT_MIN,
  GEO_LONG_MAX,
  GEO_LONG_MIN,
  geoDistance,
  geohashEncodeWGS84,
  type GeoShape,
  searchCells,
  standardGeohash,
} from "../store/geohash.ts";

const ERR_UNIT = "ERR unsupported unit provided. please use M, KM, FT, MI";
const ERR_DECODE_MEMBER = "ERR could not decode requested zset member";
const ERR_COUNT = "ERR COUNT must be > 0";
const ERR_ANY_NEEDS_COUNT = "ERR the ANY argument requires COUNT argument";

/** Search command kinds (Redis's RADIUS_COORDS, RADIUS_MEMBER, RADIUS_NOSTORE, GEOSEARCH, GEOSEARCHSTORE). */
const RADIUS_COORDS = 1;
const RADIUS_MEMBER = 2;
const RADIUS_NOSTORE = 4;
const GEOSEARCH = 8;
const GEOSEARCHSTORE = 16;

const SORT_NONE = 0;
const SORT_ASC = 1;
const SORT_DESC = 2;

/** Meters per unit, keyed by lowercase unit name. */
const UNIT_METERS: Record<string, number> = { m: 1, km: 1000, ft: 0.3048, mi: 1609.34 };

/** A point found by a search. */
interface GeoPoint {
  member: string;
  score: number;
  longitude: number;
  latitude: number;
  dist: number;
}

/** Looks a key up for reading; null after replying WRONGTYPE. */
function zsetOrReply(c: Client, key: string): ZSetValue | undefined | null {
  const v = c.db.lookupRead(key);
  if (v === undefined) return undefined;
  if (typeof v === "string" || v.type !== "zset") {
    c.error(ERR_WRONGTYPE);
    return null;
  }
  return v as ZSetValue;
}

/** getDoubleFromObjectOrReply: the value, or null after replying `msg`. */
function doubleOrReply(c: Client, text: string, msg = ERR_NOT_FLOAT): number | null {
  const v = parseScore(text);
  if (Number.isNaN(v)) {
    c.error(msg);
    return null;
  }
  return v;
}

/** C's `%f`. */
function formatFixed6(v: number): string {
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  // toFixed switches to exponent notation from 1e21; such doubles are integers.
  if (Math.abs(v) >= 1e21) return BigInt(v).toString() + ".000000";
  return v.toFixed(6);
}

/** extractLongLatOrReply: [longitude, latitude] from two arguments, or null after replying. */
function lonLatOrReply(c: Client, lonText: string, latText: string): [number, number] | null {
  const lon = doubleOrReply(c, lonText);
  if (lon === null) return null;
  const lat = doubleOrReply(c, latText);
  if (lat === null) return null;
  if (lon < GEO_LONG_MIN || lon > GEO_LONG_MAX || lat < GEO_LAT_MIN || lat > GEO_LAT_MAX) {
    c.error(`ERR invalid longitude,latitude pair ${formatFixed6(lon)},${formatFixed6(lat)}`);
    return null;
  }
  return [lon, lat];
}

/** extractUnitOrReply: meters per unit, or null after replying. */
function unitOrReply(c: Client, text: string): number | null {
  const meters = UNIT_METERS[text.toLowerCase()];
  if (meters === undefined) {
    c.error(ERR_UNIT);
    return null;
  }
  return meters;
}

/** A stored member's position, or null when it is missing. */
function memberPosition(z: ZSetValue, member: string): [number, number] | null {
  const score = z.score(member);
  return score === undefined ? null : decodeScore(score);
}

/** Redis's addReplyDoubleDistance: `%.4f` as a bulk string in both protocols. */
function replyDistance(c: Client, meters: number): void {
  c.out.bulk(meters.toFixed(4));
}

/** The exact value of a double printed as Redis's ld2string(LD_STR_HUMAN): `%.17Lf`, zeros trimmed. */
export function formatHumanDouble(d: number): string {
  if (d === 0) return "0";
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, d);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e = -1074;
  if (biased !== 0) {
    m |= 1n << 52n;
    e = biased - 1075;
  }
  return formatLongDoubleHuman({ neg: d < 0, m, e, inf: false });
}

/** addReplyHumanLongDouble: a bulk string in RESP2, a double in RESP3. */
function replyHumanDouble(c: Client, d: number): void {
  const text = formatHumanDouble(d);
  if (c.out.resp === 3) c.out.raw("," + text + "\r\n");
  else c.out.bulk(text);
}

/** GEOADD key [NX|XX] [CH] longitude latitude member ...: validates every point, then runs ZADD. */
function geoadd(c: Client, argv: string[]): void {
  let nx = false;
  let xx = false;
  let at = 2;
  for (; at < argv.length; at++) {
    const opt = argv[at].toLowerCase();
    if (opt === "nx") nx = true;
    else if (opt === "xx") xx = true;
    else if (opt !== "ch") break;
  }
  if ((argv.length - at) % 3 !== 0 || (xx && nx)) {
    c.error(ERR_SYNTAX);
    return;
  }
  const zaddArgv = ["zadd", ...argv.slice(1, at)];
  for (let i = at; i < argv.length; i += 3) {
    const xy = lonLatOrReply(c, argv[i], argv[i + 1]);
    if (xy === null) return;
    zaddArgv.push(String(geohashEncodeWGS84(xy[0], xy[1])), argv[i + 2]);
  }
  zsetCommands.zadd(c, zaddArgv);
}

/** GEODIST key member1 member2 [unit] */
function geodist(c: Client, argv: string[]): void {
  let toMeters = 1;
  if (argv.length === 5) {
    const unit = unitOrReply(c, argv[4]);
    if (unit === null) return;
    toMeters = unit;
  } else if (argv.length > 5) {
    c.error(ERR_SYNTAX);
    return;
  }
  const z = zsetOrReply(c, argv[1]);
  if (z === null) return;
  if (z === undefined) {
    c.out.nil();
    return;
  }
  const a = memberPosition(z, argv[2]);
  const b = a === null ? null : memberPosition(z, argv[3]);
  if (a === null || b === null) {
    c.out.nil();
    return;
  }
  replyDistance(c, geoDistance(a[0], a[1], b[0], b[1]) / toMeters);
}

/** GEOHASH key [member ...] */
function geohash(c: Client, argv: string[]): void {
  const z = zsetOrReply(c, argv[1]);
  if (z === null) return;
  c.out.array(argv.length - 2);
  for (let i = 2; i < argv.length; i++) {
    const score = z?.score(argv[i]);
    if (score === undefined) c.out.nil();
    else c.out.bulk(standardGeohash(score));
  }
}

/** GEOPOS key [member ...] */
function geopos(c: Client, argv: string[]): void {
  const z = zsetOrReply(c, argv[1]);
  if (z === null) return;
  c.out.array(argv.length - 2);
  for (let i = 2; i < argv.length; i++) {
    const xy = z === undefined ? null : memberPosition(z, argv[i]);
    if (xy === null) {
      c.out.nilArray();
      continue;
    }
    c.out.array(2);
    replyHumanDouble(c, xy[0]);
    replyHumanDouble(c, xy[1]);
  }
}

/** extractDistanceOrReply: sets the shape's radius and unit; false after replying. */
function radiusOrReply(c: Client, shape: GeoShape, radiusText: string, unitText: string): boolean {
  const radius = doubleOrReply(c, radiusText, "ERR need numeric radius");
  if (radius === null) return false;
  if (radius < 0) {
    c.error("ERR radius cannot be negative");
    return false;
  }
  shape.radius = radius;
  const unit = unitOrReply(c, unitText);
  if (unit === null) return false;
  shape.conversion = unit;
  return true;
}

/** extractBoxOrReply: sets the shape's width, height and unit; false after replying. */
function boxOrReply(c: Client, shape: GeoShape, args: string[]): boolean {
  const width = doubleOrReply(c, args[0], "ERR need numeric width");
  if (width === null) return false;
  const height = doubleOrReply(c, args[1], "ERR need numeric height");
  if (height === null) return false;
  if (height < 0 || width < 0) {
    c.error("ERR height or width cannot be negative");
    return false;
  }
  shape.width = width;
  shape.height = height;
  const unit = unitOrReply(c, args[2]);
  if (unit === null) return false;
  shape.conversion = unit;
  return true;
}

/** membersOfAllNeighbors: the points inside the shape, scanning cells in Redis's order; `limit` 0 = all. */
function pointsInShape(z: ZSetValue, shape: GeoShape, limit: number): GeoPoint[] {
  const found: GeoPoint[] = [];
  for (const cell of searchCells(shape)) {
    if (found.length > 0 && limit > 0 && found.length >= limit) break;
    const [min, max] = cellScoreRange(cell);
    const start = z.scoreRangeStart({ min, max, minex: false, maxex: true }, false);
    if (start < 0) continue;
    z.walk(start, false, (member, score) => {
      if (score >= max) return false;
      const [longitude, latitude] = decodeScore(score);
      const dist = distanceIfWithin(shape, longitude, latitude);
      if (dist !== null) found.push({ member, score, longitude, latitude, dist });
      return !(found.length > 0 && limit > 0 && found.length >= limit);
    });
  }
  return found;
}

/** georadiusGeneric: every search command; `srcIndex` is the source key's argument index. */
function searchGeneric(c: Client, argv: string[], srcIndex: number, flags: number): void {
  let storeKey: string | null = null;
  let storeDist = false;
  const z = zsetOrReply(c, argv[srcIndex]);
  if (z === null) return;
  const shape: GeoShape = {
    circular: true,
    longitude: 0,
    latitude: 0,
    conversion: 0,
    radius: 0,
    width: 0,
    height: 0,
  };
  let baseArgs: number;
  if (flags & RADIUS_COORDS) {
    baseArgs = 6;
    const xy = lonLatOrReply(c, argv[2], argv[3]);
    if (xy === null) return;
    [shape.longitude, shape.latitude] = xy;
    if (!radiusOrReply(c, shape, argv[4], argv[5])) return;
  } else if ((flags & RADIUS_MEMBER) && z === undefined) {
    // No source key: parse the options anyway to pick the reply (STORE or not).
    baseArgs = 5;
  } else if (flags & RADIUS_MEMBER) {
    baseArgs = 5;
    const xy = memberPosition(z!, argv[2]);
    if (xy === null) {
      c.error(ERR_DECODE_MEMBER);
      return;
    }
    [shape.longitude, shape.latitude] = xy;
    if (!radiusOrReply(c, shape, argv[3], argv[4])) return;
  } else {
    baseArgs = 2;
    if (flags & GEOSEARCHSTORE) {
      baseArgs = 3;
      storeKey = argv[1];
    }
  }

  let withDist = false, withHash = false, withCoords = false;
  let fromMember = false, fromLoc = false, byRadius = false, byBox = false;
  let sort = SORT_NONE;
  let any = false;
  let count = 0;
  const remaining = argv.length - baseArgs;
  for (let i = 0; i < remaining; i++) {
    const at = baseArgs + i;
    const arg = argv[at].toLowerCase();
    if (arg === "withdist") withDist = true;
    else if (arg === "withhash") withHash = true;
    else if (arg === "withcoord") withCoords = true;
    else if (arg === "any") any = true;
    else if (arg === "asc") sort = SORT_ASC;
    else if (arg === "desc") sort = SORT_DESC;
    else if (arg === "count" && i + 1 < remaining) {
      const n = parseInt64(argv[at + 1]);
      if (n === null) {
        c.error(ERR_NOT_INTEGER);
        return;
      }
      if (n <= 0) {
        c.error(ERR_COUNT);
        return;
      }
      count = Number(n);
      i++;
    } else if (
      (arg === "store" || arg === "storedist") && i + 1 < remaining && !(flags & RADIUS_NOSTORE) &&
      !(flags & GEOSEARCH)
    ) {
      storeKey = argv[at + 1];
      storeDist = arg === "storedist";
      i++;
    } else if (arg === "storedist" && (flags & GEOSEARCH) && (flags & GEOSEARCHSTORE)) {
      storeDist = true;
    } else if (arg === "frommember" && i + 1 < remaining && (flags & GEOSEARCH) && !fromLoc) {
      if (z !== undefined) {
        const xy = memberPosition(z, argv[at + 1]);
        if (xy === null) {
          c.error(ERR_DECODE_MEMBER);
          return;
        }
        [shape.longitude, shape.latitude] = xy;
      }
      fromMember = true;
      i++;
    } else if (arg === "fromlonlat" && i + 2 < remaining && (flags & GEOSEARCH) && !fromMember) {
      const xy = lonLatOrReply(c, argv[at + 1], argv[at + 2]);
      if (xy === null) return;
      [shape.longitude, shape.latitude] = xy;
      fromLoc = true;
      i += 2;
    } else if (arg === "byradius" && i + 2 < remaining && (flags & GEOSEARCH) && !byBox) {
      if (!radiusOrReply(c, shape, argv[at + 1], argv[at + 2])) return;
      shape.circular = true;
      byRadius = true;
      i += 2;
    } else if (arg === "bybox" && i + 3 < remaining && (flags & GEOSEARCH) && !byRadius) {
      if (!boxOrReply(c, shape, argv.slice(at + 1, at + 4))) return;
      shape.circular = false;
      byBox = true;
      i += 3;
    } else {
      c.error(ERR_SYNTAX);
      return;
    }
  }

  if (storeKey !== null && (withDist || withHash || withCoords)) {
    const what = flags & GEOSEARCHSTORE ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS";
    c.error(`ERR ${what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options`);
    return;
  }
  if ((flags & GEOSEARCH) && !(fromMember || fromLoc)) {
    c.error(`ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for ${argv[0]}`);
    return;
  }
  if ((flags & GEOSEARCH) && !(byRadius || byBox)) {
    c.error(`ERR exactly one of BYRADIUS and BYBOX can be specified for ${argv[0]}`);
    return;
  }
  if (any && count === 0) {
    c.error(ERR_ANY_NEEDS_COUNT);
    return;
  }

  if (z === undefined) {
    if (storeKey !== null) {
      if (c.db.delete(storeKey)) {
        notifyKeyspaceEvent(NOTIFY_GENERIC, "del", storeKey, c.db.id);
        c.server.dirty++;
      }
      c.out.int(0);
    } else {
      c.out.array(0);
    }
    return;
  }

  // COUNT without an order means the nearest ones (except with ANY).
  if (count !== 0 && sort === SORT_NONE && !any) sort = SORT_ASC;
  const points = pointsInShape(z, shape, any ? count : 0);
  if (points.length === 0 && storeKey === null) {
    c.out.array(0);
    return;
  }
  const returned = count === 0 || points.length < count ? points.length : count;
  // Array.prototype.sort is stable, as glibc's merge-sorting qsort is.
  if (sort === SORT_ASC) points.sort((a, b) => a.dist - b.dist);
  else if (sort === SORT_DESC) points.sort((a, b) => b.dist - a.dist);

  if (storeKey === null) {
    const options = (withDist ? 1 : 0) + (withCoords ? 1 : 0) + (withHash ? 1 : 0);
    c.out.array(returned);
    for (let i = 0; i < returned; i++) {
      const p = points[i];
      if (options > 0) c.out.array(options + 1);
      c.out.bulk(p.member);
      if (withDist) replyDistance(c, p.dist / shape.conversion);
      if (withHash) c.out.int(Math.trunc(p.score));
      if (withCoords) {
        c.out.array(2);
        replyHumanDouble(c, p.longitude);
        replyHumanDouble(c, p.latitude);
      }
    }
    return;
  }

  if (returned > 0) {
    const chosen = points.slice(0, returned).map((p) => ({
      member: p.member,
      score: storeDist ? p.dist / shape.conversion : p.score,
    }));
    // Redis inserts into a skiplist: order by score, then member bytes.
    chosen.sort((a, b) => a.score - b.score || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
    c.db.setKey(storeKey, ZSetValue.fromSorted(chosen.map((p) => p.member), chosen.map((p) => p.score)));
    const event = flags & GEOSEARCH ? "geosearchstore" : "georadiusstore";
    notifyKeyspaceEvent(NOTIFY_ZSET, event, storeKey, c.db.id);
    c.server.dirty += returned;
  } else if (c.db.delete(storeKey)) {
    notifyKeyspaceEvent(NOTIFY_GENERIC, "del", storeKey, c.db.id);
    c.server.dirty++;
  }
  c.out.int(returned);
}

/** The geo command handlers, keyed by lowercase command name. */
export const geoCommands: Record<string, Handler> = {
  geoadd: geoadd,
  geodist: geodist,
  geohash: geohash,
  geopos: geopos,
  geosearch: (c, argv) => searchGeneric(c, argv, 1, GEOSEARCH),
  geosearchstore: (c, argv) => searchGeneric(c, argv, 2, GEOSEARCH | GEOSEARCHSTORE),
  georadius: (c, argv) => searchGeneric(c, argv, 1, RADIUS_COORDS),
  georadius_ro: (c, argv) => searchGeneric(c, argv, 1, RADIUS_COORDS | RADIUS_NOSTORE),
  georadiusbymember: (c, argv) => searchGeneric(c, argv, 1, RADIUS_MEMBER),
  georadiusbymember_ro: (c, argv) => searchGeneric(c, argv, 1, RADIUS_MEMBER | RADIUS_NOSTORE),
};
