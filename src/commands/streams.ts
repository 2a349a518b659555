/**
 * Stream commands with Redis 7.0's replies, errors and propagation: XADD XRANGE XREVRANGE XLEN
 * XDEL XTRIM XREAD XREADGROUP (blocking through src/store/blocking.ts) XGROUP XSETID XACK XPENDING
 * XCLAIM XAUTOCLAIM XINFO. Arguments are checked in t_stream.c's order.
 */
import type { ReplyWriter } from "../resp/writer.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import type { Db } from "../store/keyspace.ts";
import {
  type Consumer,
  ConsumerGroup,
  ENTRIES_READ_INVALID,
  formatStreamId,
  makeStreamId,
  type Nack,
  SEQ_BITS,
  STREAM_ID_MAX,
  STREAM_LISTPACK_MAX_SIZE,
  type StreamEntry,
  StreamValue,
  U64_MAX,
} from "../store/types/stream.ts";
import { parseInt64 } from "../store/numbers.ts";
import { blockOnKeys, mayBlock, signalKeyReady } from "../store/blocking.ts";
import {
  alsoPropagate,
  flushPropagation,
  preventPropagation,
  propagateAs,
  propagation,
} from "../replication/propagate.ts";
import { NOTIFY_STREAM, notifyKeyspaceEvent } from "../server/keyspace_events.ts";
import { ERR_NO_SUCH_KEY, ERR_NOT_INTEGER, ERR_SYNTAX, ERR_WRONGTYPE } from "./errors.ts";
import { replyHelp, subcommandSyntaxError } from "./help.ts";

const ERR_INVALID_ID = "ERR Invalid stream ID specified as stream command argument";
const ERR_ID_TOO_SMALL = "ERR The ID specified in XADD is equal or smaller than the target stream top item";
const ERR_ID_ZERO = "ERR The ID specified in XADD must be greater than 0-0";
const ERR_EXHAUSTED = "ERR The stream has exhausted the last possible ID, unable to add more items";
const ERR_TOO_LARGE = "ERR Elements are too large to be stored";
const ERR_BAD_START = "ERR invalid start ID for the interval";
const ERR_BAD_END = "ERR invalid end ID for the interval";
const ERR_TIMEOUT_NOT_INT = "ERR timeout is not an integer or out of range";
const ERR_TIMEOUT_NEGATIVE = "ERR timeout is negative";
const ERR_XGROUP_NO_KEY = "ERR The XGROUP subcommand requires the key to exist. " +
  "Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";
/** XREAD without COUNT serves at most this many entries to a client it unblocks. */
const XREAD_BLOCKED_DEFAULT_COUNT = 1000;
/** Redis reads IDs through a 128-byte buffer: longer arguments are invalid. */
const ID_MAX_TEXT = 127;
/** XAUTOCLAIM tries at most COUNT × this many PEL entries. */
const XAUTOCLAIM_ATTEMPTS_FACTOR = 10;
/** XAUTOCLAIM's COUNT bound (LONG_MAX / sizeof(streamID)). */
const XAUTOCLAIM_MAX_COUNT = 576460752303423487n;
/**
 * XAUTOCLAIM allocates COUNT × 16 bytes up front; redis-server 7.0.15 on Linux x86-64 (jemalloc)
 * fails that allocation above 80 TiB and answers an error (measured).
 */
const XAUTOCLAIM_ALLOC_LIMIT_BYTES = 80 * 2 ** 40;
const STREAM_ID_SIZE_BYTES = 16;

const XGROUP_HELP = [
  "CREATE <key> <groupname> <id|$> [option]",
  "    Create a new consumer group. Options are:",
  "    * MKSTREAM",
  "      Create the empty stream if it does not exist.",
  "    * ENTRIESREAD entries_read",
  "      Set the group's entries_read counter (internal use).",
  "CREATECONSUMER <key> <groupname> <consumer>",
  "    Create a new consumer in the specified group.",
  "DELCONSUMER <key> <groupname> <consumer>",
  "    Remove the specified consumer.",
  "DESTROY <key> <groupname>",
  "    Remove the specified group.",
  "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
  "    Set the current group ID and entries_read counter.",
];
const XINFO_HELP = [
  "CONSUMERS <key> <groupname>",
  "    Show consumers of <groupname>.",
  "GROUPS <key>",
  "    Show the stream consumer groups.",
  "STREAM <key> [FULL [COUNT <count>]",
  "    Show information about the stream.",
];

// --- ID parsing (streamGenericParseIDOrReply) ---

/** C's isspace for strtoull's leading blanks. */
function isSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13);
}

/** Redis's string2ull: string2ll's strict form, else strtoull (blanks, a sign, wrap of negatives). */
function string2ull(s: string): bigint | null {
  const strict = parseInt64(s);
  if (strict !== null) return BigInt(strict) < 0n ? null : BigInt(strict);
  let i = 0;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  let negative = false;
  if (s[i] === "+" || s[i] === "-") {
    negative = s[i] === "-";
    i++;
  }
  const digits = s.slice(i);
  if (digits.length === 0 || !/^[0-9]+$/.test(digits)) return null;
  const v = BigInt(digits);
  if (v > U64_MAX) return null;
  return negative && v !== 0n ? (1n << 64n) - v : v;
}

/** A parsed ID: `seqGiven` is false for XADD's `<ms>-*`. */
interface ParsedId {
  id: bigint;
  seqGiven: boolean;
}

/**
 * Parses `<ms>[-<seq>]`, `-` and `+` (not when `strict`), `<ms>-*` when `allowSeqStar`; null when
 * invalid. Text stops at a NUL byte, as the C string does.
 */
function parseId(text: string, missingSeq: bigint, strict: boolean, allowSeqStar = false): ParsedId | null {
  if (text.length > ID_MAX_TEXT) return null;
  const nul = text.indexOf("\0");
  const s = nul === -1 ? text : text.slice(0, nul);
  if (s === "-" || s === "+") {
    if (strict) return null;
    return { id: s === "-" ? 0n : STREAM_ID_MAX, seqGiven: true };
  }
  const dash = s.indexOf("-");
  const ms = string2ull(dash === -1 ? s : s.slice(0, dash));
  if (ms === null) return null;
  if (dash === -1) return { id: makeStreamId(ms, missingSeq), seqGiven: true };
  const rest = s.slice(dash + 1);
  if (allowSeqStar && rest === "*") return { id: makeStreamId(ms, 0n), seqGiven: false };
  const seq = string2ull(rest);
  if (seq === null) return null;
  return { id: makeStreamId(ms, seq), seqGiven: true };
}

/** A strict ID (no `-` / `+`) or null after the error reply. */
function strictIdOrReply(c: Client, text: string, missingSeq = 0n): bigint | null {
  const p = parseId(text, missingSeq, true);
  if (p === null) c.error(ERR_INVALID_ID);
  return p?.id ?? null;
}

/** streamParseIntervalIDOrReply plus the `(` adjustment; null after the error reply. */
function rangeIdOrReply(c: Client, text: string, isStart: boolean): bigint | null {
  const exclusive = text.length > 1 && text[0] === "(";
  const p = exclusive
    ? parseId(text.slice(1), isStart ? 0n : U64_MAX, true)
    : parseId(text, isStart ? 0n : U64_MAX, false);
  if (p === null) {
    c.error(ERR_INVALID_ID);
    return null;
  }
  if (!exclusive) return p.id;
  if (isStart) {
    if (p.id === STREAM_ID_MAX) {
      c.error(ERR_BAD_START);
      return null;
    }
    return p.id + 1n;
  }
  if (p.id === 0n) {
    c.error(ERR_BAD_END);
    return null;
  }
  return p.id - 1n;
}

/** getLongLongFromObjectOrReply as a bigint; null after the reply. */
function longLongOrReply(c: Client, text: string, msg = ERR_NOT_INTEGER): bigint | null {
  const v = parseInt64(text);
  if (v === null) {
    c.error(msg);
    return null;
  }
  return BigInt(v);
}

// --- lookups ---

/** The stream at `key` for reading: undefined when missing, null after WRONGTYPE. */
function readStream(c: Client, key: string): StreamValue | undefined | null {
  const v = c.db.lookupRead(key);
  if (v === undefined || v instanceof StreamValue) return v;
  c.error(ERR_WRONGTYPE);
  return null;
}

/** The stream at `key` for writing: undefined when missing, null after WRONGTYPE. */
function writeStream(c: Client, key: string): StreamValue | undefined | null {
  const v = c.db.get(key);
  if (v === undefined || v instanceof StreamValue) return v;
  c.error(ERR_WRONGTYPE);
  return null;
}

/** Node limits from the config, read at each append (CONFIG SET applies at once). */
function nodeLimits(c: Client) {
  return {
    maxBytes: c.server.config.num("stream-node-max-bytes"),
    maxEntries: c.server.config.num("stream-node-max-entries"),
  };
}

// --- replies ---

/** One entry as `[id, [field, value, ...]]`. */
function replyEntry(c: Client, e: StreamEntry): void {
  c.out.array(2);
  c.out.bulk(formatStreamId(e.id));
  c.out.bulkArray(e.fields);
}

/** Entries in [start, end] (count 0: all), as an array; returns how many. */
function replyRange(c: Client, s: StreamValue, start: bigint, end: bigint, count: number, rev: boolean): number {
  const entries: StreamEntry[] = [];
  s.walk(start, end, rev, (e) => {
    entries.push(e);
    return count === 0 || entries.length < count;
  });
  c.out.array(entries.length);
  for (const e of entries) replyEntry(c, e);
  return entries.length;
}

// --- XADD / XTRIM ---

/** Parsed XADD / XTRIM options (streamAddTrimArgs). */
interface AddTrimArgs {
  idPos: number;
  id: bigint;
  idGiven: boolean;
  seqGiven: boolean;
  noMkstream: boolean;
  strategy: "none" | "maxlen" | "minid";
  strategyArgIdx: number;
  approx: boolean;
  limit: number;
  maxlen: number;
  minid: bigint;
}

/** streamParseAddOrTrimArgsOrReply; null after the error reply. */
function parseAddTrimArgs(c: Client, argv: string[], xadd: boolean): AddTrimArgs | null {
  const a: AddTrimArgs = {
    idPos: 0,
    id: 0n,
    idGiven: false,
    seqGiven: true,
    noMkstream: false,
    strategy: "none",
    strategyArgIdx: 0,
    approx: false,
    limit: 0,
    maxlen: 0,
    minid: 0n,
  };
  let limitGiven = false;
  let i = 2;
  for (; i < argv.length; i++) {
    const moreargs = argv.length - 1 - i;
    const opt = argv[i];
    const lower = opt.toLowerCase();
    if (xadd && opt === "*") break;
    if ((lower === "maxlen" || lower === "minid") && moreargs > 0) {
      if (a.strategy !== "none") {
        c.error("ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
        return null;
      }
      a.approx = false;
      const next = argv[i + 1];
      if (moreargs >= 2 && next === "~") {
        a.approx = true;
        i++;
      } else if (moreargs >= 2 && next === "=") {
        i++;
      }
      if (lower === "maxlen") {
        const v = longLongOrReply(c, argv[i + 1]);
        if (v === null) return null;
        if (v < 0n) {
          c.error("ERR The MAXLEN argument must be >= 0.");
          return null;
        }
        a.maxlen = Number(v);
        a.strategy = "maxlen";
      } else {
        const id = strictIdOrReply(c, argv[i + 1]);
        if (id === null) return null;
        a.minid = id;
        a.strategy = "minid";
      }
      i++;
      a.strategyArgIdx = i;
    } else if (lower === "limit" && moreargs > 0) {
      const v = longLongOrReply(c, argv[i + 1]);
      if (v === null) return null;
      if (v < 0n) {
        c.error("ERR The LIMIT argument must be >= 0.");
        return null;
      }
      a.limit = Number(v);
      limitGiven = true;
      i++;
    } else if (xadd && lower === "nomkstream") {
      a.noMkstream = true;
    } else if (xadd) {
      const p = parseId(opt, 0n, true, true);
      if (p === null) {
        c.error(ERR_INVALID_ID);
        return null;
      }
      a.id = p.id;
      a.seqGiven = p.seqGiven;
      a.idGiven = true;
      break;
    } else {
      c.error(ERR_SYNTAX);
      return null;
    }
  }
  a.idPos = i;
  if (a.limit !== 0 && a.strategy === "none") {
    c.error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
    return null;
  }
  if (!xadd && a.strategy === "none") {
    c.error("ERR syntax error, XTRIM must be called with a trimming strategy");
    return null;
  }
  if (c.isMaster) {
    a.limit = 0;
  } else if (limitGiven) {
    if (!a.approx) {
      c.error("ERR syntax error, LIMIT cannot be used without the special ~ option");
      return null;
    }
  } else if (a.approx) {
    const entries = c.server.config.num("stream-node-max-entries");
    a.limit = 100 * entries;
    if (a.limit <= 0) a.limit = 10000;
    if (a.limit > 1000000) a.limit = 1000000;
  } else {
    a.limit = 0;
  }
  return a;
}

/** Trims per the parsed options; returns the entries removed. */
function trimStream(s: StreamValue, a: AddTrimArgs): number {
  if (a.strategy === "none") return 0;
  return s.trim(a.strategy === "maxlen" ? a.maxlen : null, a.minid, a.approx, a.limit);
}

/** Rewrites `~ <arg>` as `= <what the stream now is>` (streamRewriteTrimArgument). */
function rewriteApproxTrim(out: string[], s: StreamValue, a: AddTrimArgs): void {
  out[a.strategyArgIdx - 1] = "=";
  if (a.strategy === "maxlen") out[a.strategyArgIdx] = String(s.length);
  else out[a.strategyArgIdx] = formatStreamId(s.edgeId(true, false) ?? STREAM_ID_MAX);
}

function xadd(c: Client, argv: string[]): void {
  const a = parseAddTrimArgs(c, argv, true);
  if (a === null) return;
  const fieldPos = a.idPos + 1;
  const nfields = argv.length - fieldPos;
  if (nfields < 2 || nfields % 2 === 1) return c.error("ERR wrong number of arguments for 'xadd' command");
  if (a.idGiven && a.seqGiven && a.id === 0n) return c.error(ERR_ID_ZERO);
  const key = argv[1];
  const existing = writeStream(c, key);
  if (existing === null) return;
  if (existing === undefined && a.noMkstream) return c.out.nil();
  const s = existing ?? new StreamValue();
  if (s.lastId === STREAM_ID_MAX) return c.error(ERR_EXHAUSTED);
  let id: bigint;
  if (a.idGiven) {
    if (a.seqGiven) id = a.id;
    else if (s.lastId >> SEQ_BITS === a.id >> SEQ_BITS) {
      if ((s.lastId & U64_MAX) === U64_MAX) return c.error(ERR_ID_TOO_SMALL);
      id = s.lastId + 1n;
    } else id = a.id;
  } else {
    const ms = BigInt(Date.now());
    id = ms > s.lastId >> SEQ_BITS ? makeStreamId(ms, 0n) : s.lastId + 1n;
  }
  if (id <= s.lastId) return c.error(ERR_ID_TOO_SMALL);
  const fields = argv.slice(fieldPos);
  let total = 0;
  for (const f of fields) total += f.length;
  if (total > STREAM_LISTPACK_MAX_SIZE) return c.error(ERR_TOO_LARGE);
  s.append(id, fields, nodeLimits(c));
  if (existing === undefined) c.db.set(key, s);
  const idText = formatStreamId(id);
  c.out.bulk(idText);
  notifyKeyspaceEvent(NOTIFY_STREAM, "xadd", key, c.db.id);
  c.server.dirty++;
  if (a.strategy !== "none" && trimStream(s, a) > 0) notifyKeyspaceEvent(NOTIFY_STREAM, "xtrim", key, c.db.id);
  if (existing !== undefined) c.db.touchModified(key);
  // Replicas get the ID chosen here and an exact trim (streamRewriteApproxSpecifier / TrimArgument).
  if (propagation.active && (a.approx || !a.idGiven || !a.seqGiven)) {
    const rewritten = argv.slice();
    if (a.approx) rewriteApproxTrim(rewritten, s, a);
    if (!a.idGiven || !a.seqGiven) rewritten[a.idPos] = idText;
    propagateAs(rewritten);
  }
  signalKeyReady(c.db, key);
}

function xtrim(c: Client, argv: string[]): void {
  const a = parseAddTrimArgs(c, argv, false);
  if (a === null) return;
  const key = argv[1];
  const s = writeStream(c, key);
  if (s === null) return;
  if (s === undefined) return c.out.int(0);
  const deleted = trimStream(s, a);
  if (deleted > 0) {
    notifyKeyspaceEvent(NOTIFY_STREAM, "xtrim", key, c.db.id);
    if (a.approx && propagation.active) {
      const out = argv.slice();
      rewriteApproxTrim(out, s, a);
      propagateAs(out);
    }
    c.db.touchModified(key);
    c.server.dirty += deleted;
  }
  c.out.int(deleted);
}

// --- XRANGE / XREVRANGE / XLEN / XDEL ---

function xrange(c: Client, argv: string[], rev: boolean): void {
  const start = rangeIdOrReply(c, rev ? argv[3] : argv[2], true);
  if (start === null) return;
  const end = rangeIdOrReply(c, rev ? argv[2] : argv[3], false);
  if (end === null) return;
  let count = -1;
  for (let j = 4; j < argv.length; j++) {
    if (argv[j].toLowerCase() === "count" && j + 1 < argv.length) {
      const v = longLongOrReply(c, argv[j + 1]);
      if (v === null) return;
      count = v < 0n ? 0 : Number(v);
      j++;
    } else {
      return c.error(ERR_SYNTAX);
    }
  }
  const s = readStream(c, argv[1]);
  if (s === null) return;
  if (s === undefined) return c.out.array(0);
  if (count === 0) return c.out.nilArray();
  replyRange(c, s, start, end, count === -1 ? 0 : count, rev);
}

function xdel(c: Client, argv: string[]): void {
  const key = argv[1];
  const s = writeStream(c, key);
  if (s === null) return;
  if (s === undefined) return c.out.int(0);
  const ids: bigint[] = [];
  for (let j = 2; j < argv.length; j++) {
    const id = strictIdOrReply(c, argv[j]);
    if (id === null) return;
    ids.push(id);
  }
  let deleted = 0;
  let firstEntry = false;
  for (const id of ids) {
    if (!s.deleteId(id)) continue;
    if (id === s.firstId) firstEntry = true;
    if (id > s.maxDeletedId) s.maxDeletedId = id;
    deleted++;
  }
  if (deleted > 0) {
    if (s.length === 0) s.firstId = 0n;
    else if (firstEntry) s.firstId = s.edgeId(true, true) ?? 0n;
    c.db.touchModified(key);
    notifyKeyspaceEvent(NOTIFY_STREAM, "xdel", key, c.db.id);
    c.server.dirty += deleted;
  }
  c.out.int(deleted);
}

// --- consumer groups: delivery and propagation ---

/** streamPropagateXCLAIM: the idempotent XCLAIM a replica applies for one pending entry. */
function propagateXclaim(db: number, key: string, group: ConsumerGroup, groupName: string, id: string, nack: Nack) {
  alsoPropagate(db, [
    "XCLAIM",
    key,
    groupName,
    nack.consumer!.name,
    "0",
    id,
    "TIME",
    String(nack.time),
    "RETRYCOUNT",
    String(nack.count),
    "FORCE",
    "JUSTID",
    "LASTID",
    formatStreamId(group.lastId),
  ]);
}

/** streamPropagateGroupID: XGROUP SETID with the group's read counter. */
function propagateGroupId(db: number, key: string, group: ConsumerGroup, groupName: string): void {
  alsoPropagate(db, [
    "XGROUP",
    "SETID",
    key,
    groupName,
    formatStreamId(group.lastId),
    "ENTRIESREAD",
    String(group.entriesRead),
  ]);
}

/** streamCreateConsumer with notification and dirty++. */
function createConsumer(c: Client, db: Db, key: string, group: ConsumerGroup, name: string): Consumer | null {
  const consumer = group.createConsumer(name, Date.now());
  if (consumer === null) return null;
  c.server.dirty++;
  notifyKeyspaceEvent(NOTIFY_STREAM, "xgroup-createconsumer", key, db.id);
  return consumer;
}

/** The consumer `name` (seen time refreshed), created when missing. */
function lookupOrCreateConsumer(
  c: Client,
  db: Db,
  key: string,
  group: ConsumerGroup,
  name: string,
): { consumer: Consumer; created: boolean } {
  const found = group.consumers.get(name);
  if (found !== undefined) {
    found.seenTime = Date.now();
    return { consumer: found, created: false };
  }
  return { consumer: createConsumer(c, db, key, group, name)!, created: true };
}

/**
 * streamReplyWithRange for a group reading new entries (`>`): entries after `start - 1`, the group's
 * last ID and read counter advanced, NACKs created (unless NOACK) and propagated as XCLAIM.
 */
function replyGroupRange(
  c: Client,
  db: Db,
  key: string,
  s: StreamValue,
  start: bigint,
  count: number,
  group: ConsumerGroup,
  groupName: string,
  consumer: Consumer,
  noack: boolean,
): number {
  const entries: StreamEntry[] = [];
  s.walk(start, STREAM_ID_MAX, false, (e) => {
    entries.push(e);
    return count === 0 || entries.length < count;
  });
  let propagateLastId = false;
  const now = Date.now();
  c.out.array(entries.length);
  for (const e of entries) {
    if (e.id > group.lastId) {
      if (group.entriesRead !== ENTRIES_READ_INVALID && !s.rangeHasTombstones(e.id, STREAM_ID_MAX)) {
        group.entriesRead++;
      } else if (s.entriesAdded !== 0n) {
        group.entriesRead = s.estimateDistance(e.id);
      }
      group.lastId = e.id;
      if (noack) propagateLastId = true;
    }
    replyEntry(c, e);
    if (noack) continue;
    let nack = group.pel.get(e.id);
    if (nack === undefined) {
      nack = { time: now, count: 1n, consumer };
      group.addNack(e.id, nack);
      consumer.pel.add(e.id);
    } else {
      nack.consumer?.pel.delete(e.id);
      nack.consumer = consumer;
      nack.time = now;
      nack.count = 1n;
      consumer.pel.add(e.id);
    }
    propagateXclaim(db.id, key, group, groupName, formatStreamId(e.id), nack);
  }
  if (propagateLastId) propagateGroupId(db.id, key, group, groupName);
  return entries.length;
}

/** streamReplyWithRangeFromConsumerPEL: the consumer's own pending entries from `start`. */
function replyConsumerHistory(
  c: Client,
  s: StreamValue,
  start: bigint,
  count: number,
  group: ConsumerGroup,
  consumer: Consumer,
) {
  const ids = consumer.pel.ids;
  const out: bigint[] = [];
  for (let i = consumer.pel.lowerBound(start); i < ids.length && (count === 0 || out.length < count); i++) {
    out.push(ids[i]);
  }
  const now = Date.now();
  c.out.array(out.length);
  for (const id of out) {
    const e = s.find(id);
    if (e === undefined) {
      c.out.array(2);
      c.out.bulk(formatStreamId(id));
      c.out.nilArray();
    } else {
      replyEntry(c, e);
      const nack = group.pel.get(id)!;
      nack.time = now;
      nack.count++;
    }
  }
}

/**
 * Runs `fn` as one propagation unit: what it queues goes out together (wrapped in MULTI/EXEC
 * when more than one command), as Redis's afterCommand does for a client served after blocking.
 */
function asPropagationUnit(fn: () => void): void {
  if (!propagation.active || propagation.depth > 0) return fn();
  propagation.depth++;
  try {
    fn();
  } finally {
    propagation.depth--;
  }
  flushPropagation();
}

// --- XREAD / XREADGROUP ---

/** XREAD / XREADGROUP (xreadCommand). */
function xread(c: Client, argv: string[], xreadgroup: boolean): void {
  let timeoutMs = -1;
  let count = 0;
  let streamsArg = 0;
  let streamsCount = 0;
  let noack = false;
  let groupName: string | null = null;
  let consumerName = "";
  for (let i = 1; i < argv.length; i++) {
    const moreargs = argv.length - i - 1;
    const o = argv[i].toLowerCase();
    if (o === "block" && moreargs > 0) {
      i++;
      const v = parseInt64(argv[i]);
      if (v === null) return c.error(ERR_TIMEOUT_NOT_INT);
      if (BigInt(v) < 0n) return c.error(ERR_TIMEOUT_NEGATIVE);
      timeoutMs = Number(v);
    } else if (o === "count" && moreargs > 0) {
      i++;
      const v = longLongOrReply(c, argv[i]);
      if (v === null) return;
      count = v < 0n ? 0 : Number(v);
    } else if (o === "streams" && moreargs > 0) {
      streamsArg = i + 1;
      streamsCount = argv.length - streamsArg;
      if (streamsCount % 2 !== 0) {
        return c.error("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
      }
      streamsCount /= 2;
      break;
    } else if (o === "group" && moreargs >= 2) {
      if (!xreadgroup) {
        return c.error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
      }
      groupName = argv[i + 1];
      consumerName = argv[i + 2];
      i += 2;
    } else if (o === "noack") {
      if (!xreadgroup) {
        return c.error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
      }
      noack = true;
    } else {
      return c.error(ERR_SYNTAX);
    }
  }
  if (streamsArg === 0) return c.error(ERR_SYNTAX);
  if (xreadgroup && groupName === null) return c.error("ERR Missing GROUP option for XREADGROUP");
  if (xreadgroup) preventPropagation();

  const keys = argv.slice(streamsArg, streamsArg + streamsCount);
  /** Per key: the ID entries must be greater than; null for `>`. */
  const ids: (bigint | null)[] = new Array(streamsCount);
  const groups: (ConsumerGroup | undefined)[] = new Array(streamsCount);
  for (let k = 0; k < streamsCount; k++) {
    const key = keys[k];
    const idText = argv[streamsArg + streamsCount + k];
    const s = readStream(c, key);
    if (s === null) return;
    if (groupName !== null) {
      const g = s?.group(groupName);
      if (g === undefined) {
        return c.error(
          `NOGROUP No such key '${key}' or consumer group '${groupName}' in XREADGROUP with GROUP option`,
        );
      }
      groups[k] = g;
    }
    if (idText === "$") {
      if (xreadgroup) {
        return c.error(
          "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this " +
            "consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just " +
            "return an empty result set.",
        );
      }
      ids[k] = s?.lastId ?? 0n;
    } else if (idText === ">") {
      if (!xreadgroup) {
        return c.error(
          "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
        );
      }
      ids[k] = null;
    } else {
      const id = strictIdOrReply(c, idText);
      if (id === null) return;
      ids[k] = id;
    }
  }

  // Serve at once what can be served, key after key (a key named twice sees the first serving's
  // effect on the group); the top-level length is written once known, as Redis's deferred length.
  const db = c.db;
  const out = c.out;
  const mark = out.length;
  let served = 0;
  for (let k = 0; k < streamsCount; k++) {
    const key = keys[k];
    const s = db.lookupRead(key, false) as StreamValue | undefined;
    if (s === undefined) continue;
    const group = groups[k];
    let gt = ids[k];
    let history = false;
    let serve = false;
    if (group !== undefined) {
      if (gt !== null) {
        serve = true;
        history = true;
      } else if (s.length > 0 && s.lastValidId() > group.lastId) {
        serve = true;
        gt = group.lastId;
      }
    } else if (s.length > 0 && s.lastValidId() > gt!) {
      serve = true;
    }
    if (!serve) continue;
    served++;
    const start = gt! === STREAM_ID_MAX ? 0n : gt! + 1n;
    if (c.resp === 2) out.array(2);
    out.bulk(key);
    if (group === undefined) {
      replyRange(c, s, start, STREAM_ID_MAX, count, false);
      continue;
    }
    const { consumer, created } = lookupOrCreateConsumer(c, db, key, group, consumerName);
    if (created && noack) alsoPropagate(db.id, ["XGROUP", "CREATECONSUMER", key, groupName!, consumerName]);
    if (history) replyConsumerHistory(c, s, start, count, group, consumer);
    else replyGroupRange(c, db, key, s, start, count, group, groupName!, consumer, noack);
    c.server.dirty++;
  }
  if (served > 0) {
    const body = out.bytes.slice(mark, out.length);
    out.length = mark;
    if (c.resp === 2) out.array(served);
    else out.map(served);
    out.rawBytes(body);
    return;
  }
  if (timeoutMs === -1 || !mayBlock(c)) return c.out.nilArray();
  const blockCount = count !== 0 ? count : XREAD_BLOCKED_DEFAULT_COUNT;
  const keyIndex = new Map<string, number>();
  for (let k = streamsCount - 1; k >= 0; k--) keyIndex.set(keys[k], k);
  blockOnKeys(c, {
    keys,
    deadline: timeoutMs > 0 ? Date.now() + timeoutMs : 0,
    timedOut: () => c.out.nilArray(),
    serve: (key) => {
      const v = db.get(key);
      if (!(v instanceof StreamValue)) {
        // A group reader learns that its stream is gone (deleted, renamed, replaced); XREAD waits on.
        if (groupName === null) return false;
        c.error("UNBLOCKED the stream key no longer exists");
        return true;
      }
      const k = keyIndex.get(key)!;
      let gt = ids[k];
      let group: ConsumerGroup | undefined;
      if (groupName !== null) {
        group = v.group(groupName);
        if (group === undefined) {
          c.error("NOGROUP the consumer group this client was blocked on no longer exists");
          return true;
        }
        gt = group.lastId;
      }
      if (!(v.lastId > gt!)) return false;
      const start = gt! === STREAM_ID_MAX ? 0n : gt! + 1n;
      if (c.resp === 2) {
        c.out.array(1);
        c.out.array(2);
      } else {
        c.out.map(1);
      }
      c.out.bulk(key);
      if (group === undefined) {
        replyRange(c, v, start, STREAM_ID_MAX, blockCount, false);
        return true;
      }
      asPropagationUnit(() => {
        const { consumer, created } = lookupOrCreateConsumer(c, db, key, group!, consumerName);
        if (created && noack) alsoPropagate(db.id, ["XGROUP", "CREATECONSUMER", key, groupName!, consumerName]);
        replyGroupRange(c, db, key, v, start, blockCount, group!, groupName!, consumer, noack);
        c.server.dirty++;
      });
      return true;
    },
  });
}

// --- XGROUP ---

/** Parsed XGROUP options shared by the subcommands; null after the reply. */
interface XgroupContext {
  s: StreamValue | undefined;
  group: ConsumerGroup | undefined;
  mkstream: boolean;
  entriesRead: bigint;
}

/** The common part of xgroupCommand for subcommands with a key and group. */
function xgroupContext(c: Client, argv: string[], sub: string): XgroupContext | null {
  let mkstream = false;
  let entriesRead = ENTRIES_READ_INVALID;
  const create = sub === "create";
  const setid = sub === "setid";
  for (let i = 5; i < argv.length;) {
    const opt = argv[i].toLowerCase();
    if (create && opt === "mkstream") {
      mkstream = true;
      i++;
    } else if ((create || setid) && opt === "entriesread" && i + 1 < argv.length) {
      const v = longLongOrReply(c, argv[i + 1]);
      if (v === null) return null;
      if (v < 0n && v !== -1n) {
        c.error("ERR value for ENTRIESREAD must be positive or -1");
        return null;
      }
      entriesRead = v;
      i += 2;
    } else {
      subcommandSyntaxError(c, argv);
      return null;
    }
  }
  const s = writeStream(c, argv[2]);
  if (s === null) return null;
  let group: ConsumerGroup | undefined;
  if (!mkstream) {
    if (s === undefined) {
      c.error(ERR_XGROUP_NO_KEY);
      return null;
    }
    group = s.group(argv[3]);
    if (group === undefined && (setid || sub === "createconsumer" || sub === "delconsumer")) {
      c.error(`NOGROUP No such consumer group '${argv[3]}' for key name '${argv[2]}'`);
      return null;
    }
  } else if (s !== undefined) {
    group = s.group(argv[3]);
  }
  return { s, group, mkstream, entriesRead };
}

function xgroupCreate(c: Client, argv: string[]): void {
  const ctx = xgroupContext(c, argv, "create");
  if (ctx === null) return;
  if (argv.length > 8) return subcommandSyntaxError(c, argv);
  const key = argv[2];
  let id: bigint;
  if (argv[4] === "$") id = ctx.s?.lastId ?? 0n;
  else {
    const parsed = strictIdOrReply(c, argv[4]);
    if (parsed === null) return;
    id = parsed;
  }
  let s = ctx.s;
  if (s === undefined) {
    s = new StreamValue();
    c.db.set(key, s);
  }
  if (s.createGroup(argv[3], id, ctx.entriesRead) === null) {
    return c.error("BUSYGROUP Consumer Group name already exists");
  }
  c.out.ok();
  c.server.dirty++;
  if (ctx.s !== undefined) c.db.touchModified(key);
  notifyKeyspaceEvent(NOTIFY_STREAM, "xgroup-create", key, c.db.id);
}

function xgroupSetid(c: Client, argv: string[]): void {
  const ctx = xgroupContext(c, argv, "setid");
  if (ctx === null) return;
  if (argv.length !== 5 && argv.length !== 7) return subcommandSyntaxError(c, argv);
  let id: bigint;
  if (argv[4] === "$") id = ctx.s!.lastId;
  else {
    const p = parseId(argv[4], 0n, false);
    if (p === null) return c.error(ERR_INVALID_ID);
    id = p.id;
  }
  ctx.group!.lastId = id;
  ctx.group!.entriesRead = ctx.entriesRead;
  c.out.ok();
  c.server.dirty++;
  c.db.touchModified(argv[2]);
  notifyKeyspaceEvent(NOTIFY_STREAM, "xgroup-setid", argv[2], c.db.id);
}

function xgroupDestroy(c: Client, argv: string[]): void {
  const ctx = xgroupContext(c, argv, "destroy");
  if (ctx === null) return;
  if (ctx.group === undefined) return c.out.int(0);
  ctx.s!.groups!.delete(argv[3]);
  c.out.int(1);
  c.server.dirty++;
  c.db.touchModified(argv[2]);
  notifyKeyspaceEvent(NOTIFY_STREAM, "xgroup-destroy", argv[2], c.db.id);
  // Clients blocked in XREADGROUP on this group get NOGROUP.
  signalKeyReady(c.db, argv[2]);
}

function xgroupCreateConsumer(c: Client, argv: string[]): void {
  const ctx = xgroupContext(c, argv, "createconsumer");
  if (ctx === null) return;
  const created = createConsumer(c, c.db, argv[2], ctx.group!, argv[4]);
  if (created !== null) c.db.touchModified(argv[2]);
  c.out.int(created !== null ? 1 : 0);
}

function xgroupDelConsumer(c: Client, argv: string[]): void {
  const ctx = xgroupContext(c, argv, "delconsumer");
  if (ctx === null) return;
  const consumer = ctx.group!.consumers.get(argv[4]);
  let pending = 0;
  if (consumer !== undefined) {
    pending = ctx.group!.deleteConsumer(consumer);
    c.server.dirty++;
    c.db.touchModified(argv[2]);
    notifyKeyspaceEvent(NOTIFY_STREAM, "xgroup-delconsumer", argv[2], c.db.id);
  }
  c.out.int(pending);
}

// --- XSETID ---

function xsetid(c: Client, argv: string[]): void {
  const id = strictIdOrReply(c, argv[2]);
  if (id === null) return;
  let entriesAdded = -1n;
  let maxXdel = 0n;
  for (let i = 3; i < argv.length;) {
    const moreargs = argv.length - 1 - i;
    const opt = argv[i].toLowerCase();
    if (opt === "entriesadded" && moreargs > 0) {
      const v = longLongOrReply(c, argv[i + 1]);
      if (v === null) return;
      if (v < 0n) return c.error("ERR entries_added must be positive");
      entriesAdded = v;
      i += 2;
    } else if (opt === "maxdeletedid" && moreargs > 0) {
      const v = strictIdOrReply(c, argv[i + 1]);
      if (v === null) return;
      if (id < v) return c.error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
      maxXdel = v;
      i += 2;
    } else {
      return c.error(ERR_SYNTAX);
    }
  }
  const key = argv[1];
  const s = writeStream(c, key);
  if (s === null) return;
  if (s === undefined) return c.error(ERR_NO_SUCH_KEY);
  if (s.length > 0) {
    if (id < s.lastValidId()) {
      return c.error("ERR The ID specified in XSETID is smaller than the target stream top item");
    }
    if (entriesAdded !== -1n && BigInt(s.length) > entriesAdded) {
      return c.error("ERR The entries_added specified in XSETID is smaller than the target stream length");
    }
  }
  s.lastId = id;
  if (entriesAdded !== -1n) s.entriesAdded = entriesAdded;
  if (maxXdel !== 0n) s.maxDeletedId = maxXdel;
  c.out.ok();
  c.server.dirty++;
  c.db.touchModified(key);
  notifyKeyspaceEvent(NOTIFY_STREAM, "xsetid", key, c.db.id);
}

// --- XACK / XPENDING / XCLAIM / XAUTOCLAIM ---

function xack(c: Client, argv: string[]): void {
  const s = readStream(c, argv[1]);
  if (s === null) return;
  const group = s?.group(argv[2]);
  if (s === undefined || group === undefined) return c.out.int(0);
  const ids: bigint[] = [];
  for (let j = 3; j < argv.length; j++) {
    const id = strictIdOrReply(c, argv[j]);
    if (id === null) return;
    ids.push(id);
  }
  let acked = 0;
  for (const id of ids) {
    const nack = group.pel.get(id);
    if (nack === undefined) continue;
    group.removeNack(id, nack);
    acked++;
    c.server.dirty++;
  }
  if (acked > 0) c.db.touchModified(argv[1]);
  c.out.int(acked);
}

function xpending(c: Client, argv: string[]): void {
  const argc = argv.length;
  const justinfo = argc === 3;
  if (argc !== 3 && (argc < 6 || argc > 9)) return c.error(ERR_SYNTAX);
  let start = 0n;
  let end = 0n;
  let count = 0;
  let minidle = 0;
  let consumerName: string | null = null;
  if (argc >= 6) {
    let startidx = 3;
    if (argv[3].toLowerCase() === "idle") {
      const v = longLongOrReply(c, argv[4]);
      if (v === null) return;
      minidle = Number(v);
      if (argc < 8) return c.error(ERR_SYNTAX);
      startidx += 2;
    }
    const cv = longLongOrReply(c, argv[startidx + 2]);
    if (cv === null) return;
    count = cv < 0n ? 0 : Number(cv);
    const sv = rangeIdOrReply(c, argv[startidx], true);
    if (sv === null) return;
    const ev = rangeIdOrReply(c, argv[startidx + 1], false);
    if (ev === null) return;
    start = sv;
    end = ev;
    if (startidx + 3 < argc) consumerName = argv[startidx + 3];
  }
  const s = readStream(c, argv[1]);
  if (s === null) return;
  const group = s?.group(argv[2]);
  if (s === undefined || group === undefined) {
    return c.error(`NOGROUP No such key '${argv[1]}' or consumer group '${argv[2]}'`);
  }
  if (justinfo) {
    c.out.array(4);
    const ids = group.pelIds.ids;
    c.out.int(ids.length);
    if (ids.length === 0) {
      c.out.nil();
      c.out.nil();
      c.out.nilArray();
      return;
    }
    c.out.bulk(formatStreamId(ids[0]));
    c.out.bulk(formatStreamId(ids[ids.length - 1]));
    const owners = group.sortedConsumers().filter((consumer) => consumer.pel.size > 0);
    c.out.array(owners.length);
    for (const consumer of owners) {
      c.out.array(2);
      c.out.bulk(consumer.name);
      c.out.bulk(String(consumer.pel.size));
    }
    return;
  }
  let pel = group.pelIds;
  if (consumerName !== null) {
    const consumer = group.consumers.get(consumerName);
    if (consumer === undefined) return c.out.array(0);
    pel = consumer.pel;
  }
  const now = Date.now();
  const rows: [bigint, Nack][] = [];
  const ids = pel.ids;
  for (let i = pel.lowerBound(start); count > 0 && i < ids.length && ids[i] <= end; i++) {
    const nack = group.pel.get(ids[i])!;
    if (minidle !== 0 && now - nack.time < minidle) continue;
    rows.push([ids[i], nack]);
    count--;
  }
  c.out.array(rows.length);
  for (const [id, nack] of rows) {
    c.out.array(4);
    c.out.bulk(formatStreamId(id));
    c.out.bulk(nack.consumer!.name);
    c.out.int(Math.max(0, now - nack.time));
    c.out.int(nack.count);
  }
}

function xclaim(c: Client, argv: string[]): void {
  const key = argv[1];
  const groupName = argv[2];
  const s = readStream(c, key);
  if (s === null) return;
  const group = s?.group(groupName);
  if (s === undefined || group === undefined) {
    return c.error(`NOGROUP No such key '${key}' or consumer group '${groupName}'`);
  }
  const mv = longLongOrReply(c, argv[4], "ERR Invalid min-idle-time argument for XCLAIM");
  if (mv === null) return;
  const minidle = mv < 0n ? 0 : Number(mv);
  const ids: bigint[] = [];
  let j = 5;
  for (; j < argv.length; j++) {
    const p = parseId(argv[j], 0n, true);
    if (p === null) break;
    ids.push(p.id);
  }
  const lastIdArg = j - 1;
  const now = Date.now();
  let lastId = 0n;
  let force = false;
  let justid = false;
  let retrycount = -1n;
  let deliverytime = -1;
  for (; j < argv.length; j++) {
    const moreargs = argv.length - 1 - j;
    const opt = argv[j].toLowerCase();
    if (opt === "force") force = true;
    else if (opt === "justid") justid = true;
    else if (opt === "idle" && moreargs > 0) {
      const v = longLongOrReply(c, argv[++j], "ERR Invalid IDLE option argument for XCLAIM");
      if (v === null) return;
      deliverytime = Number(BigInt(now) - v);
    } else if (opt === "time" && moreargs > 0) {
      const v = longLongOrReply(c, argv[++j], "ERR Invalid TIME option argument for XCLAIM");
      if (v === null) return;
      deliverytime = Number(v);
    } else if (opt === "retrycount" && moreargs > 0) {
      const v = longLongOrReply(c, argv[++j], "ERR Invalid RETRYCOUNT option argument for XCLAIM");
      if (v === null) return;
      retrycount = v;
    } else if (opt === "lastid" && moreargs > 0) {
      const v = strictIdOrReply(c, argv[++j]);
      if (v === null) return;
      lastId = v;
    } else {
      return c.error(`ERR Unrecognized XCLAIM option '${argv[j]}'`);
    }
  }
  preventPropagation();
  let propagateLastId = false;
  if (lastId > group.lastId) {
    group.lastId = lastId;
    propagateLastId = true;
  }
  if (deliverytime !== -1) {
    if (deliverytime < 0 || deliverytime > now) deliverytime = now;
  } else {
    deliverytime = now;
  }
  let consumer: Consumer | null = null;
  let changed = propagateLastId;
  const replies: (() => void)[] = [];
  for (let k = 0; k <= lastIdArg - 5; k++) {
    const id = ids[k];
    const idArg = argv[5 + k];
    let nack = group.pel.get(id);
    if (s.find(id) === undefined) {
      if (nack !== undefined) {
        propagateXclaim(c.db.id, key, group, groupName, idArg, nack);
        propagateLastId = false;
        c.server.dirty++;
        group.removeNack(id, nack);
        changed = true;
      }
      continue;
    }
    if (force && nack === undefined) {
      nack = { time: now, count: 1n, consumer: null };
      group.addNack(id, nack);
    }
    if (nack === undefined) continue;
    if (nack.consumer !== null && minidle !== 0 && now - nack.time < minidle) continue;
    consumer ??= lookupOrCreateConsumer(c, c.db, key, group, argv[3]).consumer;
    if (nack.consumer !== consumer) nack.consumer?.pel.delete(id);
    nack.time = deliverytime;
    if (retrycount >= 0n) nack.count = retrycount;
    else if (!justid) nack.count++;
    if (nack.consumer !== consumer) {
      consumer.pel.add(id);
      nack.consumer = consumer;
    }
    if (justid) replies.push(() => c.out.bulk(formatStreamId(id)));
    else {
      const e = s.find(id)!;
      replies.push(() => replyEntry(c, e));
    }
    propagateXclaim(c.db.id, key, group, groupName, idArg, nack);
    propagateLastId = false;
    changed = true;
    c.server.dirty++;
  }
  if (propagateLastId) {
    propagateGroupId(c.db.id, key, group, groupName);
    c.server.dirty++;
  }
  if (changed) c.db.touchModified(key);
  c.out.array(replies.length);
  for (const r of replies) r();
}

function xautoclaim(c: Client, argv: string[]): void {
  const key = argv[1];
  const groupName = argv[2];
  const mv = longLongOrReply(c, argv[4], "ERR Invalid min-idle-time argument for XAUTOCLAIM");
  if (mv === null) return;
  const minidle = mv < 0n ? 0 : Number(mv);
  const start = rangeIdOrReply(c, argv[5], true);
  if (start === null) return;
  let count = 100;
  let justid = false;
  for (let j = 6; j < argv.length; j++) {
    const moreargs = argv.length - 1 - j;
    const opt = argv[j].toLowerCase();
    if (opt === "count" && moreargs > 0) {
      const v = parseInt64(argv[j + 1]);
      if (v === null || BigInt(v) < 1n || BigInt(v) > XAUTOCLAIM_MAX_COUNT) return c.error("ERR COUNT must be > 0");
      count = Number(v);
      j++;
    } else if (opt === "justid") {
      justid = true;
    } else {
      return c.error(ERR_SYNTAX);
    }
  }
  const s = readStream(c, key);
  if (s === null) return;
  const group = s?.group(groupName);
  if (s === undefined || group === undefined) {
    return c.error(`NOGROUP No such key '${key}' or consumer group '${groupName}'`);
  }
  if (count * STREAM_ID_SIZE_BYTES > XAUTOCLAIM_ALLOC_LIMIT_BYTES) {
    return c.error("ERR Insufficient memory, failed allocating transient memory, COUNT too high.");
  }
  preventPropagation();
  let consumer: Consumer | null = null;
  let attempts = count * XAUTOCLAIM_ATTEMPTS_FACTOR;
  const now = Date.now();
  const claimed: (() => void)[] = [];
  const deletedIds: bigint[] = [];
  const pel = group.pelIds;
  let at = pel.lowerBound(start);
  while (attempts-- > 0 && count > 0 && at < pel.ids.length) {
    const id = pel.ids[at];
    const nack = group.pel.get(id)!;
    if (s.find(id) === undefined) {
      propagateXclaim(c.db.id, key, group, groupName, formatStreamId(id), nack);
      c.server.dirty++;
      group.removeNack(id, nack);
      deletedIds.push(id);
      count--;
      continue; // the next entry moved into position `at`
    }
    at++;
    if (minidle !== 0 && now - nack.time < minidle) continue;
    consumer ??= lookupOrCreateConsumer(c, c.db, key, group, argv[3]).consumer;
    if (nack.consumer !== consumer) nack.consumer?.pel.delete(id);
    nack.time = now;
    if (!justid) nack.count++;
    if (nack.consumer !== consumer) {
      consumer.pel.add(id);
      nack.consumer = consumer;
    }
    if (justid) claimed.push(() => c.out.bulk(formatStreamId(id)));
    else {
      const e = s.find(id)!;
      claimed.push(() => replyEntry(c, e));
    }
    count--;
    propagateXclaim(c.db.id, key, group, groupName, formatStreamId(id), nack);
    c.server.dirty++;
  }
  const next = at < pel.ids.length ? pel.ids[at] : 0n;
  if (claimed.length > 0 || deletedIds.length > 0) c.db.touchModified(key);
  c.out.array(3);
  c.out.bulk(formatStreamId(next));
  c.out.array(claimed.length);
  for (const r of claimed) r();
  c.out.array(deletedIds.length);
  for (const id of deletedIds) c.out.bulk(formatStreamId(id));
}

// --- XINFO ---

function replyLag(c: Client, s: StreamValue, g: ConsumerGroup): void {
  const lag = s.groupLag(g);
  if (lag === null) c.out.nil();
  else c.out.int(lag);
}

function replyEntriesRead(c: Client, g: ConsumerGroup): void {
  if (g.entriesRead === ENTRIES_READ_INVALID) c.out.nil();
  else c.out.int(g.entriesRead);
}

/**
 * A PEL in XINFO STREAM FULL (at most `count` entries, 0 for all): id, consumer name (for the group's PEL only),
 * delivery time and count per entry.
 */
function replyFullPel(
  out: ReplyWriter,
  g: ConsumerGroup,
  ids: readonly bigint[],
  count: number,
  withConsumer: boolean,
): void {
  const pel = count === 0 ? ids : ids.slice(0, count);
  out.array(pel.length);
  for (const id of pel) {
    const nack = g.pel.get(id)!;
    out.array(withConsumer ? 4 : 3);
    out.bulk(formatStreamId(id));
    if (withConsumer) out.bulk(nack.consumer!.name);
    out.int(nack.time);
    out.int(nack.count);
  }
}

function xinfoStream(c: Client, argv: string[]): void {
  const s = readStream(c, argv[2]);
  if (s === null) return;
  if (s === undefined) return c.error(ERR_NO_SUCH_KEY);
  const optc = argv.length - 3;
  let full = true;
  let count = 10;
  if (optc === 0) full = false;
  else {
    if (optc !== 1 && optc !== 3) return subcommandSyntaxError(c, argv);
    if (argv[3].toLowerCase() !== "full") return subcommandSyntaxError(c, argv);
    if (optc === 3) {
      if (argv[4].toLowerCase() !== "count") return subcommandSyntaxError(c, argv);
      const v = longLongOrReply(c, argv[5]);
      if (v === null) return;
      count = v < 0n ? 10 : Number(v);
    }
  }
  const out = c.out;
  out.map(full ? 9 : 10);
  out.bulk("length");
  out.int(s.length);
  out.bulk("radix-tree-keys");
  out.int(s.nodes.length);
  out.bulk("radix-tree-nodes");
  out.int(s.radixTreeNodes());
  out.bulk("last-generated-id");
  out.bulk(formatStreamId(s.lastId));
  out.bulk("max-deleted-entry-id");
  out.bulk(formatStreamId(s.maxDeletedId));
  out.bulk("entries-added");
  out.int(s.entriesAdded);
  out.bulk("recorded-first-entry-id");
  out.bulk(formatStreamId(s.firstId));
  if (!full) {
    out.bulk("groups");
    out.int(s.groups?.size ?? 0);
    for (const [label, rev] of [["first-entry", false], ["last-entry", true]] as const) {
      out.bulk(label);
      let edge: StreamEntry | undefined;
      s.walk(0n, STREAM_ID_MAX, rev, (e) => {
        edge = e;
        return false;
      });
      if (edge === undefined) out.nil();
      else replyEntry(c, edge);
    }
    return;
  }
  out.bulk("entries");
  replyRange(c, s, 0n, STREAM_ID_MAX, count, false);
  out.bulk("groups");
  const groups = s.sortedGroups();
  out.array(groups.length);
  for (const [name, g] of groups) {
    out.map(7);
    out.bulk("name");
    out.bulk(name);
    out.bulk("last-delivered-id");
    out.bulk(formatStreamId(g.lastId));
    out.bulk("entries-read");
    replyEntriesRead(c, g);
    out.bulk("lag");
    replyLag(c, s, g);
    out.bulk("pel-count");
    out.int(g.pelIds.size);
    out.bulk("pending");
    replyFullPel(out, g, g.pelIds.ids, count, true);
    out.bulk("consumers");
    const consumers = g.sortedConsumers();
    out.array(consumers.length);
    for (const consumer of consumers) {
      out.map(4);
      out.bulk("name");
      out.bulk(consumer.name);
      out.bulk("seen-time");
      out.int(consumer.seenTime);
      out.bulk("pel-count");
      out.int(consumer.pel.size);
      out.bulk("pending");
      replyFullPel(out, g, consumer.pel.ids, count, false);
    }
  }
}

function xinfoGroups(c: Client, argv: string[]): void {
  const s = readStream(c, argv[2]);
  if (s === null) return;
  if (s === undefined) return c.error(ERR_NO_SUCH_KEY);
  const groups = s.sortedGroups();
  c.out.array(groups.length);
  for (const [name, g] of groups) {
    c.out.map(6);
    c.out.bulk("name");
    c.out.bulk(name);
    c.out.bulk("consumers");
    c.out.int(g.consumers.size);
    c.out.bulk("pending");
    c.out.int(g.pelIds.size);
    c.out.bulk("last-delivered-id");
    c.out.bulk(formatStreamId(g.lastId));
    c.out.bulk("entries-read");
    replyEntriesRead(c, g);
    c.out.bulk("lag");
    replyLag(c, s, g);
  }
}

function xinfoConsumers(c: Client, argv: string[]): void {
  const s = readStream(c, argv[2]);
  if (s === null) return;
  if (s === undefined) return c.error(ERR_NO_SUCH_KEY);
  const g = s.group(argv[3]);
  if (g === undefined) return c.error(`NOGROUP No such consumer group '${argv[3]}' for key name '${argv[2]}'`);
  const now = Date.now();
  const consumers = g.sortedConsumers();
  c.out.array(consumers.length);
  for (const consumer of consumers) {
    c.out.map(3);
    c.out.bulk("name");
    c.out.bulk(consumer.name);
    c.out.bulk("pending");
    c.out.int(consumer.pel.size);
    c.out.bulk("idle");
    c.out.int(Math.max(0, now - consumer.seenTime));
  }
}

export const streamCommands: Record<string, Handler> = {
  xadd,
  xtrim,
  xrange: (c, argv) => xrange(c, argv, false),
  xrevrange: (c, argv) => xrange(c, argv, true),
  xlen(c, argv) {
    const s = readStream(c, argv[1]);
    if (s !== null) c.out.int(s?.length ?? 0);
  },
  xdel,
  xread: (c, argv) => xread(c, argv, false),
  xreadgroup: (c, argv) => xread(c, argv, true),
  "xgroup|create": xgroupCreate,
  "xgroup|setid": xgroupSetid,
  "xgroup|destroy": xgroupDestroy,
  "xgroup|createconsumer": xgroupCreateConsumer,
  "xgroup|delconsumer": xgroupDelConsumer,
  "xgroup|help": (c) => replyHelp(c, "xgroup", XGROUP_HELP),
  xsetid,
  xack,
  xpending,
  xclaim,
  xautoclaim,
  "xinfo|stream": xinfoStream,
  "xinfo|groups": xinfoGroups,
  "xinfo|consumers": xinfoConsumers,
  "xinfo|help": (c) => replyHelp(c, "xinfo", XINFO_HELP),
};
