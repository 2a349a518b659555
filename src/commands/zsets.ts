/**
 * Sorted set commands with Redis 7.0's replies and errors: ZADD (NX XX GT LT CH INCR) ZINCRBY
 * ZREM ZCARD ZSCORE ZMSCORE ZCOUNT ZLEXCOUNT ZRANK ZREVRANK, the ZRANGE family (ZRANGE with
 * BYSCORE BYLEX REV LIMIT WITHSCORES, ZRANGESTORE, ZREVRANGE, Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX),
 * ZREMRANGEBY{RANK,SCORE,LEX}, ZPOPMIN ZPOPMAX ZMPOP, the blocking BZPOPMIN BZPOPMAX BZMPOP
 * (src/store/blocking.ts keeps the waiting clients), ZRANDMEMBER, ZUNION ZINTER ZDIFF ZINTERCARD
 * and their STORE forms (WEIGHTS, AGGREGATE; plain sets count with score 1), ZSCAN.
 */
import { replicateAs } from "../replication/propagate.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import type { Db, Value } from "../store/keyspace.ts";
import { parseInt64, parseInt64Number } from "../store/numbers.ts";
import { globMatch } from "../store/glob.ts";
import { formatDouble } from "../resp/writer.ts";
import {
  lexGteMin,
  lexLteMax,
  type LexRange,
  listpackScoreText,
  parseLexRange,
  parseScore,
  parseScoreRange,
  scoreGteMin,
  scoreLteMax,
  type ScoreRange,
  ZADD_IN_GT,
  ZADD_IN_INCR,
  ZADD_IN_LT,
  ZADD_IN_NX,
  ZADD_IN_XX,
  ZADD_OUT_ADDED,
  ZADD_OUT_NAN,
  ZADD_OUT_NOP,
  ZADD_OUT_UPDATED,
  ZSetValue,
} from "../store/types/zset.ts";
import { ERR_NOT_FLOAT, ERR_NOT_INTEGER, ERR_SYNTAX, ERR_WRONGTYPE } from "./errors.ts";
import { parseCursor, parseScanOptions } from "./scan.ts";
import { NOTIFY_GENERIC, NOTIFY_ZSET, notifyKeyspaceEvent } from "../server/keyspace_events.ts";
import { blockUntilServed, mayBlock, signalKeyReady, timeoutOrReply } from "../store/blocking.ts";

const ERR_MINMAX_NOT_FLOAT = "ERR min or max is not a float";
const ERR_MINMAX_NOT_LEX = "ERR min or max not valid string range item";
const ERR_NAN_RESULT = "ERR resulting score is not a number (NaN)";
const ERR_NOT_POSITIVE = "ERR value is out of range, must be positive";
const ERR_NUMKEYS = "ERR numkeys should be greater than 0";
const ERR_COUNT_POSITIVE = "ERR count should be greater than 0";
/** Redis's LONG_MAX / 2: ZRANDMEMBER ... WITHSCORES refuses counts beyond it. */
const HALF_LONG_MAX = 4611686018427387903n;
const INT64_MIN = -9223372036854775808n;

/** A plain set as the sets family stores it (ZUNION and friends read sets with score 1). */
interface SetLike {
  readonly size: number;
  has(member: string): boolean;
  members(): readonly string[];
}

/** Looks a key up (for reading or writing); null after replying WRONGTYPE for another type. */
function zsetOrReply(c: Client, key: string, write: boolean): ZSetValue | undefined | null {
  const v = write ? c.db.get(key) : c.db.lookupRead(key);
  if (v === undefined) return undefined;
  if (typeof v === "string" || v.type !== "zset") {
    c.error(ERR_WRONGTYPE);
    return null;
  }
  return v as ZSetValue;
}

/** Redis's getLongFromObjectOrReply: an int64 (as a number), or null after replying. */
function longOrReply(c: Client, text: string): number | null {
  const v = parseInt64Number(text);
  if (v === null) c.error(ERR_NOT_INTEGER);
  return v;
}

/** Writes members (and scores) of a range: flat pairs in RESP2, [member, score] arrays in RESP3. */
function replyElements(c: Client, members: readonly string[], scores: readonly number[], withScores: boolean): void {
  const out = c.out;
  const nested = withScores && out.resp === 3;
  out.array(withScores && !nested ? members.length * 2 : members.length);
  for (let i = 0; i < members.length; i++) {
    if (nested) out.array(2);
    out.bulk(members[i]);
    if (withScores) c.out.double(scores[i]);
  }
}

/**
 * Replaces `dst` with a computed result and announces `event`, or deletes it (a `del` event) when
 * the result is empty (Redis's store path).
 */
function storeResult(c: Client, dst: string, value: ZSetValue, event: string): void {
  if (value.size > 0) {
    c.db.setKey(dst, value);
    signalKeyReady(c.db, dst);
    c.out.int(value.size);
    notifyKeyspaceEvent(NOTIFY_ZSET, event, dst, c.db.id);
    c.server.dirty++;
    return;
  }
  c.out.int(0);
  if (c.db.delete(dst)) {
    notifyKeyspaceEvent(NOTIFY_GENERIC, "del", dst, c.db.id);
    c.server.dirty++;
  }
}

// --- ZADD / ZINCRBY ---------------------------------------------------------------------------

/** Redis's zaddGenericCommand (ZINCRBY is ZADD with INCR). */
function zaddGeneric(c: Client, argv: string[], baseFlags: number): void {
  let flags = baseFlags;
  let ch = false;
  let idx = 2;
  for (; idx < argv.length; idx++) {
    const opt = argv[idx].toLowerCase();
    if (opt === "nx") flags |= ZADD_IN_NX;
    else if (opt === "xx") flags |= ZADD_IN_XX;
    else if (opt === "ch") ch = true;
    else if (opt === "incr") flags |= ZADD_IN_INCR;
    else if (opt === "gt") flags |= ZADD_IN_GT;
    else if (opt === "lt") flags |= ZADD_IN_LT;
    else break;
  }
  const incr = (flags & ZADD_IN_INCR) !== 0;
  const nx = (flags & ZADD_IN_NX) !== 0;
  const xx = (flags & ZADD_IN_XX) !== 0;
  const gt = (flags & ZADD_IN_GT) !== 0;
  const lt = (flags & ZADD_IN_LT) !== 0;
  const args = argv.length - idx;
  if (args % 2 !== 0 || args === 0) return c.error(ERR_SYNTAX);
  const elements = args / 2;
  if (nx && xx) return c.error("ERR XX and NX options at the same time are not compatible");
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    return c.error("ERR GT, LT, and/or NX options at the same time are not compatible");
  }
  if (incr && elements > 1) return c.error("ERR INCR option supports a single increment-element pair");
  const scores: number[] = new Array(elements);
  for (let j = 0; j < elements; j++) {
    const score = parseScore(argv[idx + j * 2]);
    if (Number.isNaN(score)) return c.error(ERR_NOT_FLOAT);
    scores[j] = score;
  }
  const key = argv[1];
  let z = zsetOrReply(c, key, true);
  if (z === null) return;
  let added = 0;
  let updated = 0;
  let processed = 0;
  let score = 0;
  if (z === undefined && !xx) {
    z = new ZSetValue();
    c.db.set(key, z);
    // Like Redis's dbAdd: clients blocked on the key (BZPOPMIN, ...) get a chance after the command.
    signalKeyReady(c.db, key);
  }
  if (z !== undefined) {
    for (let j = 0; j < elements; j++) {
      const out = z.add(scores[j], argv[idx + 1 + j * 2], flags);
      if (out & ZADD_OUT_NAN) {
        if (added + updated > 0) {
          c.db.touchModified(key);
          notifyKeyspaceEvent(NOTIFY_ZSET, incr ? "zincr" : "zadd", key, c.db.id);
        }
        return c.error(ERR_NAN_RESULT);
      }
      if (out & ZADD_OUT_ADDED) added++;
      if (out & ZADD_OUT_UPDATED) updated++;
      if (!(out & ZADD_OUT_NOP)) processed++;
      score = z.newScore;
    }
    c.server.dirty += added + updated;
    if (added + updated > 0) c.db.touchModified(key);
  }
  if (incr) {
    if (processed > 0) c.out.double(score);
    else c.out.nil();
  } else {
    c.out.int(ch ? added + updated : added);
  }
  if (added + updated > 0) notifyKeyspaceEvent(NOTIFY_ZSET, incr ? "zincr" : "zadd", key, c.db.id);
}

// --- Removal ----------------------------------------------------------------------------------

function zrem(c: Client, argv: string[]): void {
  const key = argv[1];
  const z = zsetOrReply(c, key, true);
  if (z === null) return;
  if (z === undefined) return c.out.int(0);
  let deleted = 0;
  let keyRemoved = false;
  for (let j = 2; j < argv.length; j++) {
    if (z.remove(argv[j])) deleted++;
    if (z.size === 0) {
      c.db.delete(key);
      keyRemoved = true;
      break;
    }
  }
  if (deleted > 0) {
    notifyKeyspaceEvent(NOTIFY_ZSET, "zrem", key, c.db.id);
    if (keyRemoved) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", key, c.db.id);
    c.db.touchModified(key);
    c.server.dirty += deleted;
  }
  c.out.int(deleted);
}

const RANGE_RANK = 1;
const RANGE_SCORE = 2;
const RANGE_LEX = 3;
/** The event of each ZREMRANGEBY* form, by range type. */
const REMRANGE_EVENTS = ["", "zremrangebyrank", "zremrangebyscore", "zremrangebylex"];

/** Redis's zremrangeGenericCommand. */
function zremrangeGeneric(c: Client, argv: string[], rangeType: number): void {
  let start = 0;
  let end = 0;
  let scoreRange: ScoreRange | null = null;
  let lexRange: LexRange | null = null;
  if (rangeType === RANGE_RANK) {
    const s = longOrReply(c, argv[2]);
    if (s === null) return;
    const e = longOrReply(c, argv[3]);
    if (e === null) return;
    start = s;
    end = e;
  } else if (rangeType === RANGE_SCORE) {
    scoreRange = parseScoreRange(argv[2], argv[3]);
    if (scoreRange === null) return c.error(ERR_MINMAX_NOT_FLOAT);
  } else {
    lexRange = parseLexRange(argv[2], argv[3]);
    if (lexRange === null) return c.error(ERR_MINMAX_NOT_LEX);
  }
  const key = argv[1];
  const z = zsetOrReply(c, key, true);
  if (z === null) return;
  if (z === undefined) return c.out.int(0);
  let deleted: number;
  if (rangeType === RANGE_RANK) {
    const llen = z.size;
    if (start < 0) start = llen + start;
    if (end < 0) end = llen + end;
    if (start < 0) start = 0;
    if (start > end || start >= llen) return c.out.int(0);
    if (end >= llen) end = llen - 1;
    deleted = z.removeRankRange(start, end);
  } else if (scoreRange !== null) {
    deleted = z.removeScoreRange(scoreRange);
  } else {
    deleted = z.removeLexRange(lexRange!);
  }
  const keyRemoved = z.size === 0;
  if (keyRemoved) c.db.delete(key);
  if (deleted > 0) {
    c.db.touchModified(key);
    notifyKeyspaceEvent(NOTIFY_ZSET, REMRANGE_EVENTS[rangeType], key, c.db.id);
    if (keyRemoved) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", key, c.db.id);
  }
  c.server.dirty += deleted;
  c.out.int(deleted);
}

// --- Reads ------------------------------------------------------------------------------------

function zcard(c: Client, argv: string[]): void {
  const z = zsetOrReply(c, argv[1], false);
  if (z === null) return;
  c.out.int(z === undefined ? 0 : z.size);
}

function zscore(c: Client, argv: string[]): void {
  const z = zsetOrReply(c, argv[1], false);
  if (z === null) return;
  const score = z?.score(argv[2]);
  if (score === undefined) c.out.nil();
  else c.out.double(score);
}

function zmscore(c: Client, argv: string[]): void {
  const z = zsetOrReply(c, argv[1], false);
  if (z === null) return;
  c.out.array(argv.length - 2);
  for (let j = 2; j < argv.length; j++) {
    const score = z?.score(argv[j]);
    if (score === undefined) c.out.nil();
    else c.out.double(score);
  }
}

function zrankGeneric(c: Client, argv: string[], reverse: boolean): void {
  const z = zsetOrReply(c, argv[1], false);
  if (z === null) return;
  const rank = z === undefined ? -1 : z.rank(argv[2], reverse);
  if (rank < 0) c.out.nil();
  else c.out.int(rank);
}

function zcount(c: Client, argv: string[]): void {
  const range = parseScoreRange(argv[2], argv[3]);
  if (range === null) return c.error(ERR_MINMAX_NOT_FLOAT);
  const z = zsetOrReply(c, argv[1], false);
  if (z === null) return;
  c.out.int(z === undefined ? 0 : z.countInScoreRange(range));
}

function zlexcount(c: Client, argv: string[]): void {
  const range = parseLexRange(argv[2], argv[3]);
  if (range === null) return c.error(ERR_MINMAX_NOT_LEX);
  const z = zsetOrReply(c, argv[1], false);
  if (z === null) return;
  c.out.int(z === undefined ? 0 : z.countInLexRange(range));
}

// --- The ZRANGE family ------------------------------------------------------------------------

const DIRECTION_AUTO = 0;
const DIRECTION_FORWARD = 1;
const DIRECTION_REVERSE = 2;

/** Elements collected from a range query. */
interface Collected {
  members: string[];
  scores: number[];
}

/** Redis's genericZrangebyrankCommand, collecting instead of replying. */
function rangeByRank(z: ZSetValue, start: number, end: number, reverse: boolean, out: Collected): void {
  const llen = z.size;
  if (start < 0) start = llen + start;
  if (end < 0) end = llen + end;
  if (start < 0) start = 0;
  if (start > end || start >= llen) return;
  if (end >= llen) end = llen - 1;
  let left = end - start + 1;
  z.walk(reverse ? llen - 1 - start : start, reverse, (m, s) => {
    out.members.push(m);
    out.scores.push(s);
    return --left > 0;
  });
}

/**
 * The BYSCORE and BYLEX walks (Redis's genericZrangebyscoreCommand / genericZrangebylexCommand):
 * from the first element in range, skip `offset` elements unchecked, then take elements while they
 * are in range and `limit` (negative: no limit) lasts.
 */
function rangeWalk(
  z: ZSetValue,
  first: number,
  reverse: boolean,
  offset: number,
  limit: number,
  inRange: (member: string, score: number) => boolean,
  out: Collected,
): void {
  if (first < 0 || offset < 0 || limit === 0) return;
  const start = reverse ? first - offset : first + offset;
  if (start < 0 || start >= z.size) return;
  z.walk(start, reverse, (m, s) => {
    if (!inRange(m, s)) return false;
    out.members.push(m);
    out.scores.push(s);
    return --limit !== 0;
  });
}

/**
 * Redis's zrangeGenericCommand: ZRANGE and ZRANGESTORE (`dst` set, options from `keyIndex + 3`)
 * and the older fixed-kind commands (`rangeType` / `direction` preset).
 */
function zrangeGeneric(
  c: Client,
  argv: string[],
  keyIndex: number,
  dst: string | null,
  rangeType: number,
  direction: number,
): void {
  let minIdx = keyIndex + 1;
  let maxIdx = keyIndex + 2;
  let withScores = false;
  let offset = 0;
  let limit = -1;
  for (let j = keyIndex + 3; j < argv.length; j++) {
    const leftArgs = argv.length - j - 1;
    const opt = argv[j].toLowerCase();
    if (dst === null && opt === "withscores") {
      withScores = true;
    } else if (opt === "limit" && leftArgs >= 2) {
      const o = longOrReply(c, argv[j + 1]);
      if (o === null) return;
      const l = longOrReply(c, argv[j + 2]);
      if (l === null) return;
      offset = o;
      limit = l;
      j += 2;
    } else if (direction === DIRECTION_AUTO && opt === "rev") {
      direction = DIRECTION_REVERSE;
    } else if (rangeType === 0 && opt === "bylex") {
      rangeType = RANGE_LEX;
    } else if (rangeType === 0 && opt === "byscore") {
      rangeType = RANGE_SCORE;
    } else {
      return c.error(ERR_SYNTAX);
    }
  }
  if (direction === DIRECTION_AUTO) direction = DIRECTION_FORWARD;
  if (rangeType === 0) rangeType = RANGE_RANK;
  if (limit !== -1 && rangeType === RANGE_RANK) {
    return c.error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
  }
  if (withScores && rangeType === RANGE_LEX) {
    return c.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
  }
  const reverse = direction === DIRECTION_REVERSE;
  if (reverse && rangeType !== RANGE_RANK) [minIdx, maxIdx] = [maxIdx, minIdx];
  let start = 0;
  let end = 0;
  let scoreRange: ScoreRange | null = null;
  let lexRange: LexRange | null = null;
  if (rangeType === RANGE_RANK) {
    const s = longOrReply(c, argv[minIdx]);
    if (s === null) return;
    const e = longOrReply(c, argv[maxIdx]);
    if (e === null) return;
    start = s;
    end = e;
  } else if (rangeType === RANGE_SCORE) {
    scoreRange = parseScoreRange(argv[minIdx], argv[maxIdx]);
    if (scoreRange === null) return c.error(ERR_MINMAX_NOT_FLOAT);
  } else {
    lexRange = parseLexRange(argv[minIdx], argv[maxIdx]);
    if (lexRange === null) return c.error(ERR_MINMAX_NOT_LEX);
  }
  const z = zsetOrReply(c, argv[keyIndex], false);
  if (z === null) return;
  const got: Collected = { members: [], scores: [] };
  if (z !== undefined) {
    if (rangeType === RANGE_RANK) {
      rangeByRank(z, start, end, reverse, got);
    } else if (scoreRange !== null) {
      const r = scoreRange;
      const inRange = reverse
        ? (_: string, s: number) => scoreGteMin(s, r)
        : (_: string, s: number) => scoreLteMax(s, r);
      rangeWalk(z, z.scoreRangeStart(r, reverse), reverse, offset, limit, inRange, got);
    } else {
      const r = lexRange!;
      const inRange = reverse ? (m: string) => lexGteMin(m, r) : (m: string) => lexLteMax(m, r);
      rangeWalk(z, z.lexRangeStart(r, reverse), reverse, offset, limit, inRange, got);
    }
  }
  if (dst !== null) {
    // Redis sizes the result by the rank range's length (unknown for BYSCORE/BYLEX: a listpack),
    // then adds in emission order, converting a listpack when a limit is passed.
    const result = ZSetValue.withSizeHint(rangeType === RANGE_RANK ? got.members.length : 0);
    for (let i = 0; i < got.members.length; i++) result.add(got.scores[i], got.members[i], 0);
    return storeResult(c, dst, result, "zrangestore");
  }
  replyElements(c, got.members, got.scores, withScores);
}

// --- ZUNION / ZINTER / ZDIFF ------------------------------------------------------------------

const SET_OP_UNION = 0;
const SET_OP_INTER = 1;
const SET_OP_DIFF = 2;
/** The event of each STORE form, by operation. */
const STORE_EVENTS = ["zunionstore", "zinterstore", "zdiffstore"];
const AGGREGATE_SUM = 0;
const AGGREGATE_MIN = 1;
const AGGREGATE_MAX = 2;

/** One input of a set operation: a sorted set, a plain set (scores 1), or a missing key. */
interface OpSource {
  zset: ZSetValue | null;
  set: SetLike | null;
  weight: number;
}

function sourceSize(s: OpSource): number {
  return s.zset !== null ? s.zset.size : s.set !== null ? s.set.size : 0;
}

/** Same input object (a key given twice). */
function sameSubject(a: OpSource, b: OpSource): boolean {
  return (a.zset !== null && a.zset === b.zset) || (a.set !== null && a.set === b.set);
}

/**
 * Visits the elements of a source with their unweighted scores while `fn` returns true; sorted
 * sets from the highest rank down, as Redis's zuiNext does.
 */
function forEachElement(s: OpSource, fn: (member: string, score: number) => boolean): void {
  if (s.zset !== null) {
    s.zset.walk(s.zset.size - 1, true, fn);
  } else if (s.set !== null) {
    for (const m of s.set.members()) if (!fn(m, 1)) return;
  }
}

/** The unweighted score of a member in a source, or undefined. */
function findScore(s: OpSource, member: string): number | undefined {
  if (s.zset !== null) return s.zset.score(member);
  if (s.set !== null) return s.set.has(member) ? 1 : undefined;
  return undefined;
}

/** Redis's zunionInterAggregate (a SUM that gives NaN, from inf + -inf, counts as 0). */
function aggregate(target: number, value: number, how: number): number {
  if (how === AGGREGATE_SUM) {
    const sum = target + value;
    return Number.isNaN(sum) ? 0 : sum;
  }
  if (how === AGGREGATE_MIN) return value < target ? value : target;
  return value > target ? value : target;
}

/** Sorts member/score pairs into sorted-set order. */
function sortPairs(members: string[], scores: number[]): Collected {
  const order = members.map((_, i) => i);
  order.sort((a, b) => {
    const sa = scores[a];
    const sb = scores[b];
    if (sa !== sb) return sa < sb ? -1 : 1;
    return members[a] < members[b] ? -1 : members[a] > members[b] ? 1 : 0;
  });
  return { members: order.map((i) => members[i]), scores: order.map((i) => scores[i]) };
}

/** Redis's zunionInterDiffGenericCommand. */
function zsetOperation(
  c: Client,
  argv: string[],
  dst: string | null,
  numkeysIndex: number,
  op: number,
  cardinalityOnly: boolean,
): void {
  const setnum = longOrReply(c, argv[numkeysIndex]);
  if (setnum === null) return;
  if (setnum < 1) return c.error(`ERR at least 1 input key is needed for '${argv[0].toLowerCase()}' command`);
  if (setnum > argv.length - (numkeysIndex + 1)) return c.error(ERR_SYNTAX);
  const sources: OpSource[] = [];
  let j = numkeysIndex + 1;
  for (let i = 0; i < setnum; i++, j++) {
    const v: Value | undefined = c.db.lookupRead(argv[j]);
    const source: OpSource = { zset: null, set: null, weight: 1 };
    if (v !== undefined) {
      if (typeof v === "string" || (v.type !== "zset" && v.type !== "set")) return c.error(ERR_WRONGTYPE);
      if (v.type === "zset") source.zset = v as ZSetValue;
      else source.set = v as unknown as SetLike;
    }
    sources.push(source);
  }
  let how = AGGREGATE_SUM;
  let withScores = false;
  let limit = 0;
  while (j < argv.length) {
    const remaining = argv.length - j;
    const opt = argv[j].toLowerCase();
    if (op !== SET_OP_DIFF && !cardinalityOnly && remaining >= setnum + 1 && opt === "weights") {
      j++;
      for (let i = 0; i < setnum; i++, j++) {
        const w = parseScore(argv[j]);
        if (Number.isNaN(w)) return c.error("ERR weight value is not a float");
        sources[i].weight = w;
      }
    } else if (op !== SET_OP_DIFF && !cardinalityOnly && remaining >= 2 && opt === "aggregate") {
      const kind = argv[j + 1].toLowerCase();
      if (kind === "sum") how = AGGREGATE_SUM;
      else if (kind === "min") how = AGGREGATE_MIN;
      else if (kind === "max") how = AGGREGATE_MAX;
      else return c.error(ERR_SYNTAX);
      j += 2;
    } else if (remaining >= 1 && dst === null && !cardinalityOnly && opt === "withscores") {
      withScores = true;
      j++;
    } else if (cardinalityOnly && remaining >= 2 && opt === "limit") {
      const l = parseInt64Number(argv[j + 1]);
      if (l === null || l < 0) return c.error("ERR LIMIT can't be negative");
      limit = l;
      j += 2;
    } else {
      return c.error(ERR_SYNTAX);
    }
  }
  // Smallest first (a stable sort, like glibc's merge-sorting qsort): sums add in that order.
  if (op !== SET_OP_DIFF) sources.sort((a, b) => sourceSize(a) - sourceSize(b));

  const members: string[] = [];
  const scores: number[] = [];
  let cardinality = 0;
  if (op === SET_OP_INTER) {
    const first = sources[0];
    if (sourceSize(first) > 0) {
      forEachElement(first, (m, elementScore) => {
        let score = first.weight * elementScore;
        if (Number.isNaN(score)) score = 0;
        for (let i = 1; i < sources.length; i++) {
          const other = sources[i];
          let value: number | undefined;
          if (sameSubject(other, first)) value = elementScore * other.weight;
          else {
            value = findScore(other, m);
            if (value === undefined) return true;
            value *= other.weight;
          }
          score = aggregate(score, value, how);
        }
        if (cardinalityOnly) return ++cardinality !== limit;
        members.push(m);
        scores.push(score);
        return true;
      });
    }
  } else if (op === SET_OP_UNION) {
    const acc = new Map<string, number>();
    for (const source of sources) {
      forEachElement(source, (m, elementScore) => {
        let score = source.weight * elementScore;
        if (Number.isNaN(score)) score = 0;
        const existing = acc.get(m);
        acc.set(m, existing === undefined ? score : aggregate(existing, score, how));
        return true;
      });
    }
    for (const [m, s] of acc) {
      members.push(m);
      scores.push(s);
    }
  } else {
    const first = sources[0];
    if (sourceSize(first) > 0 && !sources.slice(1).some((s) => sameSubject(s, first))) {
      forEachElement(first, (m, score) => {
        for (let i = 1; i < sources.length; i++) if (findScore(sources[i], m) !== undefined) return true;
        members.push(m);
        scores.push(score);
        return true;
      });
    }
  }

  if (cardinalityOnly) return c.out.int(cardinality);
  const sorted = sortPairs(members, scores);
  if (dst !== null) {
    return storeResult(c, dst, ZSetValue.fromSorted(sorted.members, sorted.scores), STORE_EVENTS[op]);
  }
  replyElements(c, sorted.members, sorted.scores, withScores);
}

// --- Pops -------------------------------------------------------------------------------------

/**
 * Redis's genericZpopCommand: pops from the first existing key of `keys`. `nested` makes
 * [member, score] pairs; `emitKey` wraps them as [key, pairs] (ZMPOP).
 */
function genericZpop(
  c: Client,
  keys: string[],
  last: boolean,
  emitKey: boolean,
  count: number,
  nested: boolean,
  nilWhenEmpty: boolean,
): void {
  const found = firstZset(c, keys);
  if (found === null) return;
  if (found === undefined) {
    if (nilWhenEmpty) c.out.nilArray();
    else c.out.array(0);
    return;
  }
  if (count === 0) return c.out.array(0);
  popFrom(c, c.db, found.key, found.z, last, emitKey, count, nested);
}

/**
 * The first existing key of `keys` (write lookups in order), undefined when none, null after a
 * WRONGTYPE reply (a wrong type before the first zset stops the search, as in Redis).
 */
function firstZset(c: Client, keys: readonly string[]): { key: string; z: ZSetValue } | undefined | null {
  for (const key of keys) {
    const z = zsetOrReply(c, key, true);
    if (z === null) return null;
    if (z !== undefined && z.size > 0) return { key, z };
  }
  return undefined;
}

/**
 * Pops up to `count` (-1: one) elements of `z` at `key` of `db` and writes the reply in the
 * shape genericZpopCommand picks: flat pairs, nested pairs, [key, member, score...] (BZPOPMIN /
 * BZPOPMAX: `emitKey` without `nested`) or [key, nested pairs] (ZMPOP, BZMPOP).
 */
function popFrom(
  c: Client,
  db: Db,
  key: string,
  z: ZSetValue,
  last: boolean,
  emitKey: boolean,
  count: number,
  nested: boolean,
): void {
  if (count === -1) count = 1;
  const rangeLen = Math.min(count, z.size);
  if (emitKey && nested) {
    c.out.array(2);
    c.out.bulk(key);
    c.out.array(rangeLen);
  } else if (emitKey) {
    c.out.array(rangeLen * 2 + 1);
    c.out.bulk(key);
  } else {
    c.out.array(nested ? rangeLen : rangeLen * 2);
  }
  // Redis announces the pop between the reply's header and its elements.
  notifyKeyspaceEvent(NOTIFY_ZSET, last ? "zpopmax" : "zpopmin", key, db.id);
  for (let i = 0; i < rangeLen; i++) {
    const [member, score] = z.pop(last);
    c.server.dirty++;
    if (nested) c.out.array(2);
    c.out.bulk(member);
    c.out.double(score);
  }
  db.touchModified(key);
  if (z.size === 0) {
    db.delete(key);
    notifyKeyspaceEvent(NOTIFY_GENERIC, "del", key, db.id);
  }
}

function zpopMinMax(c: Client, argv: string[], last: boolean): void {
  if (argv.length > 3) return c.error(ERR_SYNTAX);
  let count = -1;
  if (argv.length === 3) {
    const n = parseInt64Number(argv[2]);
    if (n === null || n < 0) return c.error(ERR_NOT_POSITIVE);
    count = n;
  }
  genericZpop(c, [argv[1]], last, false, count, c.out.resp === 3 && count !== -1, false);
}

/** Parsed ZMPOP / BZMPOP arguments after numkeys. */
interface MpopArgs {
  keys: string[];
  last: boolean;
  count: number;
}

/** Redis's zmpopGenericCommand parsing from the numkeys argument at `at`; null after an error. */
function mpopArgsOrReply(c: Client, argv: string[], at: number): MpopArgs | null {
  const numkeys = parseInt64Number(argv[at]);
  if (numkeys === null || numkeys < 1) {
    c.error(ERR_NUMKEYS);
    return null;
  }
  const whereIdx = at + 1 + numkeys;
  if (whereIdx >= argv.length) {
    c.error(ERR_SYNTAX);
    return null;
  }
  const where = argv[whereIdx].toLowerCase();
  if (where !== "min" && where !== "max") {
    c.error(ERR_SYNTAX);
    return null;
  }
  let count = -1;
  for (let j = whereIdx + 1; j < argv.length; j++) {
    const moreArgs = argv.length - 1 - j;
    if (count === -1 && argv[j].toLowerCase() === "count" && moreArgs > 0) {
      j++;
      const n = parseInt64Number(argv[j]);
      if (n === null || n < 1) {
        c.error(ERR_COUNT_POSITIVE);
        return null;
      }
      count = n;
    } else {
      c.error(ERR_SYNTAX);
      return null;
    }
  }
  return { keys: argv.slice(at + 1, whereIdx), last: where === "max", count: count === -1 ? 1 : count };
}

function zmpop(c: Client, argv: string[]): void {
  const args = mpopArgsOrReply(c, argv, 1);
  if (args === null) return;
  const found = firstZset(c, args.keys);
  if (found === null) return;
  if (found === undefined) return c.out.nilArray();
  popAndReplicate(c, c.db, found.key, found.z, args.last, args.count, true);
}

// --- Blocking pops ----------------------------------------------------------------------------

/**
 * Redis's blockingGenericZpopCommand: pops at once from the first non-empty zset of `keys`, or
 * answers a null array inside MULTI (no blocking there), or blocks until a key can serve.
 * `nested` selects BZMPOP's [key, [[member, score]...]] reply over BZPOPMIN's [key, member, score].
 */
function blockingZpop(c: Client, keys: string[], last: boolean, timeoutText: string, count: number, nested: boolean) {
  const deadline = timeoutOrReply(c, timeoutText);
  if (deadline === null) return;
  const found = firstZset(c, keys);
  if (found === null) return;
  if (found !== undefined) return popAndReplicate(c, c.db, found.key, found.z, last, count, nested);
  if (!mayBlock(c)) return c.out.nilArray();
  blockUntilServed(c, keys, deadline, (db, key) => {
    const v = db.get(key);
    if (!(v instanceof ZSetValue) || v.size === 0) return false;
    popAndReplicate(c, db, key, v, last, count, nested);
    return true;
  });
}

/** A blocking pop's pop, replicated as ZPOPMIN / ZPOPMAX (with the count popped for BZMPOP), as Redis does. */
function popAndReplicate(c: Client, db: Db, key: string, z: ZSetValue, last: boolean, count: number, nested: boolean) {
  const popped = Math.min(count === -1 ? 1 : count, z.size);
  popFrom(c, db, key, z, last, true, count, nested);
  const argv = [last ? "ZPOPMAX" : "ZPOPMIN", key];
  if (nested) argv.push(String(popped));
  replicateAs(db.id, argv);
}

function bzmpop(c: Client, argv: string[]): void {
  const args = mpopArgsOrReply(c, argv, 2);
  if (args === null) return;
  blockingZpop(c, args.keys, args.last, argv[1], args.count, true);
}

// --- ZRANDMEMBER ------------------------------------------------------------------------------

function zrandmember(c: Client, argv: string[]): void {
  if (argv.length >= 3) {
    const l = parseInt64(argv[2]);
    if (l === null) return c.error(ERR_NOT_INTEGER);
    if (BigInt(l) === INT64_MIN) {
      return c.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
    }
    if (argv.length > 4 || (argv.length === 4 && argv[3].toLowerCase() !== "withscores")) return c.error(ERR_SYNTAX);
    return zrandmemberWithCount(c, argv[1], BigInt(l), argv.length === 4);
  }
  const z = zsetOrReply(c, argv[1], false);
  if (z === null) return;
  if (z === undefined) return c.out.nil();
  c.out.bulk(z.randomElement()[0]);
}

/** Redis's zrandmemberWithCountCommand. */
function zrandmemberWithCount(c: Client, key: string, l: bigint, withScores: boolean): void {
  if (withScores && (l < -HALF_LONG_MAX || l > HALF_LONG_MAX)) return c.error("ERR value is out of range");
  const z = zsetOrReply(c, key, false);
  if (z === null) return;
  if (z === undefined || l === 0n) return c.out.array(0);
  const unique = l > 0n;
  const count = Number(unique ? l : -l);
  const out = c.out;
  const nested = withScores && out.resp === 3;
  const emit = (member: string, score: number) => {
    if (nested) out.array(2);
    out.bulk(member);
    if (withScores) c.out.double(score);
  };
  // Repeats allowed (negative count), or a single pick: independent random picks.
  if (!unique || count === 1) {
    out.array(withScores && !nested ? count * 2 : count);
    for (let i = 0; i < count; i++) emit(...z.randomElement());
    return;
  }
  const size = z.size;
  const replySize = Math.min(count, size);
  out.array(withScores && !nested ? replySize * 2 : replySize);
  // The whole set, as Redis iterates it: from the highest rank down.
  if (count >= size) {
    z.walk(size - 1, true, (m, s) => {
      emit(m, s);
      return true;
    });
    return;
  }
  // A distinct random subset: drop random ranks when most are wanted, else collect random picks.
  if (count * 3 > size) {
    const ranks = Array.from({ length: size }, (_, i) => i);
    for (let i = size - 1; i > 0; i--) {
      const k = Math.floor(Math.random() * (i + 1));
      [ranks[i], ranks[k]] = [ranks[k], ranks[i]];
    }
    for (let i = 0; i < count; i++) emit(z.memberAt(ranks[i]), z.scoreAt(ranks[i]));
    return;
  }
  const picked = new Set<string>();
  while (picked.size < count) {
    const [member, score] = z.randomElement();
    if (picked.has(member)) continue;
    picked.add(member);
    emit(member, score);
  }
}

// --- ZSCAN ------------------------------------------------------------------------------------

function zscan(c: Client, argv: string[]): void {
  const cursor = parseCursor(argv[2]);
  if (cursor === null) return c.error("ERR invalid cursor");
  const z = zsetOrReply(c, argv[1], false);
  if (z === null) return;
  if (z === undefined) {
    c.out.array(2);
    c.out.bulk("0");
    c.out.array(0);
    return;
  }
  const options = parseScanOptions(c, argv, 3, false);
  if (options === null) return;
  const { count, pattern } = options;
  const start = cursor > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(cursor);
  const batch = z.scan(start, count);
  const listpack = z.isListpack;
  const items: string[] = [];
  for (let i = 0; i < batch.members.length; i++) {
    const m = batch.members[i];
    if (pattern !== null && !globMatch(pattern, m)) continue;
    items.push(m, listpack ? listpackScoreText(batch.scores[i], formatDouble) : formatDouble(batch.scores[i]));
  }
  c.out.array(2);
  c.out.bulk(String(batch.cursor));
  c.out.bulkArray(items);
}

export const zsetCommands: Record<string, Handler> = {
  zadd: (c, argv) => zaddGeneric(c, argv, 0),
  zincrby: (c, argv) => zaddGeneric(c, argv, ZADD_IN_INCR),
  zrem,
  zremrangebyrank: (c, argv) => zremrangeGeneric(c, argv, RANGE_RANK),
  zremrangebyscore: (c, argv) => zremrangeGeneric(c, argv, RANGE_SCORE),
  zremrangebylex: (c, argv) => zremrangeGeneric(c, argv, RANGE_LEX),
  zcard,
  zscore,
  zmscore,
  zrank: (c, argv) => zrankGeneric(c, argv, false),
  zrevrank: (c, argv) => zrankGeneric(c, argv, true),
  zcount,
  zlexcount,
  zrange: (c, argv) => zrangeGeneric(c, argv, 1, null, 0, DIRECTION_AUTO),
  zrangestore: (c, argv) => zrangeGeneric(c, argv, 2, argv[1], 0, DIRECTION_AUTO),
  zrevrange: (c, argv) => zrangeGeneric(c, argv, 1, null, RANGE_RANK, DIRECTION_REVERSE),
  zrangebyscore: (c, argv) => zrangeGeneric(c, argv, 1, null, RANGE_SCORE, DIRECTION_FORWARD),
  zrevrangebyscore: (c, argv) => zrangeGeneric(c, argv, 1, null, RANGE_SCORE, DIRECTION_REVERSE),
  zrangebylex: (c, argv) => zrangeGeneric(c, argv, 1, null, RANGE_LEX, DIRECTION_FORWARD),
  zrevrangebylex: (c, argv) => zrangeGeneric(c, argv, 1, null, RANGE_LEX, DIRECTION_REVERSE),
  zunion: (c, argv) => zsetOperation(c, argv, null, 1, SET_OP_UNION, false),
  zinter: (c, argv) => zsetOperation(c, argv, null, 1, SET_OP_INTER, false),
  zdiff: (c, argv) => zsetOperation(c, argv, null, 1, SET_OP_DIFF, false),
  zintercard: (c, argv) => zsetOperation(c, argv, null, 1, SET_OP_INTER, true),
  zunionstore: (c, argv) => zsetOperation(c, argv, argv[1], 2, SET_OP_UNION, false),
  zinterstore: (c, argv) => zsetOperation(c, argv, argv[1], 2, SET_OP_INTER, false),
  zdiffstore: (c, argv) => zsetOperation(c, argv, argv[1], 2, SET_OP_DIFF, false),
  zpopmin: (c, argv) => zpopMinMax(c, argv, false),
  zpopmax: (c, argv) => zpopMinMax(c, argv, true),
  zmpop,
  bzpopmin: (c, argv) => blockingZpop(c, argv.slice(1, -1), false, argv[argv.length - 1], -1, false),
  bzpopmax: (c, argv) => blockingZpop(c, argv.slice(1, -1), true, argv[argv.length - 1], -1, false),
  bzmpop,
  zrandmember,
  zscan,
};
