/**
 * String commands, with Redis 7.0's replies and errors: GET SET (and its options) SETNX SETEX
 * PSETEX MGET MSET MSETNX GETSET GETDEL GETEX INCR/DECR family INCRBYFLOAT APPEND STRLEN
 * GETRANGE SUBSTR SETRANGE LCS. GET and plain SET stay minimal: they are the hot path.
 */
import { propagateAs, propagation } from "../replication/propagate.ts";
import type { Handler } from "./table.ts";
import { NOTIFY_GENERIC, NOTIFY_STRING, notifyKeyspaceEvent } from "../server/keyspace_events.ts";
import type { Client } from "../server/client.ts";
import { ENC_EMBSTR, ENC_RAW, type Value } from "../store/keyspace.ts";
import { addInt64, INT64_MAX, INT64_MIN, parseInt64, parseInt64Number } from "../store/numbers.ts";
import { addLongDouble, formatLongDoubleHuman, isNaNSum, parseLongDouble } from "../store/long_double.ts";
import {
  ERR_INCR_OVERFLOW,
  ERR_NOT_FLOAT,
  ERR_NOT_INTEGER,
  ERR_STRING_TOO_LONG,
  ERR_SYNTAX,
  ERR_WRONGTYPE,
  errInvalidExpire,
} from "./errors.ts";

// SET / GETEX option flags (Redis's OBJ_* bits).
const SET_NX = 1 << 0;
const SET_XX = 1 << 1;
const SET_GET = 1 << 2;
const KEEPTTL = 1 << 3;
const PERSIST = 1 << 4;
const EX = 1 << 5;
const PX = 1 << 6;
const EXAT = 1 << 7;
const PXAT = 1 << 8;
const ANY_EXPIRE = EX | PX | EXAT | PXAT;

/** Parsed SET/GETEX options: flags and the expire argument, if any. */
interface ExtendedOptions {
  flags: number;
  expire: string | null;
}

/**
 * Redis's parseExtendedStringArgumentsOrReply: SET (from argv[3]) or GETEX (from argv[2]) options
 * with their exact conflict rules; every conflict is `ERR syntax error`.
 */
function parseExtendedOptions(c: Client, argv: string[], forSet: boolean): ExtendedOptions | null {
  let flags = 0;
  let expire: string | null = null;
  for (let j = forSet ? 3 : 2; j < argv.length; j++) {
    const opt = argv[j].toLowerCase();
    const hasNext = j < argv.length - 1;
    if (opt === "nx" && forSet && !(flags & SET_XX)) flags |= SET_NX;
    else if (opt === "xx" && forSet && !(flags & SET_NX)) flags |= SET_XX;
    else if (opt === "get" && forSet) flags |= SET_GET;
    else if (opt === "keepttl" && forSet && !(flags & (PERSIST | ANY_EXPIRE))) flags |= KEEPTTL;
    else if (opt === "persist" && !forSet && !(flags & (ANY_EXPIRE | KEEPTTL))) flags |= PERSIST;
    else if (opt === "ex" && hasNext && !(flags & (KEEPTTL | PERSIST | EXAT | PX | PXAT))) {
      flags |= EX;
      expire = argv[++j];
    } else if (opt === "px" && hasNext && !(flags & (KEEPTTL | PERSIST | EX | EXAT | PXAT))) {
      flags |= PX;
      expire = argv[++j];
    } else if (opt === "exat" && hasNext && !(flags & (KEEPTTL | PERSIST | EX | PX | PXAT))) {
      flags |= EXAT;
      expire = argv[++j];
    } else if (opt === "pxat" && hasNext && !(flags & (KEEPTTL | PERSIST | EX | EXAT | PX))) {
      flags |= PXAT;
      expire = argv[++j];
    } else {
      c.error(ERR_SYNTAX);
      return null;
    }
  }
  return { flags, expire };
}

/**
 * Redis's getExpireMillisecondsOrReply: the absolute expiry (unix ms) for an EX/PX/EXAT/PXAT
 * argument, or null after replying the error. `command` names the command in the error.
 */
function expireAtMs(c: Client, text: string, flags: number, command: string): number | null {
  const v = parseInt64(text);
  if (v === null) {
    c.error(ERR_NOT_INTEGER);
    return null;
  }
  const seconds = (flags & (EX | EXAT)) !== 0;
  let ms = BigInt(v);
  if (ms <= 0n || (seconds && ms > INT64_MAX / 1000n)) {
    c.error(errInvalidExpire(command));
    return null;
  }
  if (seconds) ms *= 1000n;
  if (flags & (EX | PX)) ms += BigInt(Date.now());
  // Past INT64_MAX, C's signed addition wraps negative: Redis then reports an invalid time.
  if (ms > INT64_MAX || ms <= 0n) {
    c.error(errInvalidExpire(command));
    return null;
  }
  return Number(ms);
}

/** Replies the string value of a key for GET-like commands; false when it replied an error. */
function replyGet(c: Client, key: string): { ok: boolean; found: boolean } {
  const v = c.db.lookupRead(key);
  if (v === undefined) {
    c.out.nil();
    return { ok: true, found: false };
  }
  if (typeof v !== "string") {
    c.error(ERR_WRONGTYPE);
    return { ok: false, found: true };
  }
  c.out.bulk(v);
  return { ok: true, found: true };
}

/** Redis's setGenericCommand for SET with options, SETNX, SETEX and PSETEX. */
function setGeneric(
  c: Client,
  flags: number,
  key: string,
  value: string,
  expire: string | null,
  command: string,
  okReply: (() => void) | null,
  abortReply: (() => void) | null,
): void {
  let when: number | undefined;
  if (expire !== null) {
    const ms = expireAtMs(c, expire, flags, command);
    if (ms === null) return;
    when = ms;
  }
  if (flags & SET_GET && !replyGet(c, key).ok) return;
  const found = c.db.get(key) !== undefined;
  if ((flags & SET_NX && found) || (flags & SET_XX && !found)) {
    if (!(flags & SET_GET)) {
      if (abortReply) abortReply();
      else c.out.nil();
    }
    return;
  }
  c.db.set(key, value, (flags & KEEPTTL) !== 0, when);
  c.server.dirty++;
  notifyKeyspaceEvent(NOTIFY_STRING, "set", key, c.db.id);
  if (when !== undefined) notifyKeyspaceEvent(NOTIFY_GENERIC, "expire", key, c.db.id);
  // Replicas get an absolute time, as Redis sends it.
  if (when !== undefined && (flags & PXAT) === 0 && propagation.active) {
    propagateAs(["SET", key, value, "PXAT", String(when)]);
  }
  if (!(flags & SET_GET)) {
    if (okReply) okReply();
    else c.out.ok();
  }
}

/** Looks up a key for a write; replies WRONGTYPE and returns null for a non-string. */
function writableString(c: Client, key: string): string | undefined | null {
  const v = c.db.get(key);
  if (v === undefined || typeof v === "string") return v;
  c.error(ERR_WRONGTYPE);
  return null;
}

/** Redis's checkStringLength: whether size + append stays within proto-max-bulk-len. */
function checkStringLength(c: Client, size: number, append: number): boolean {
  if (size + append > c.server.limits.protoMaxBulkLen) {
    c.error(ERR_STRING_TOO_LONG);
    return false;
  }
  return true;
}

/** INCR/DECR/INCRBY/DECRBY: int64 arithmetic, BigInt only near the safe-integer edge. */
function incrDecr(c: Client, key: string, incr: number | bigint): void {
  const old = writableString(c, key);
  if (old === null) return;
  const value = old === undefined ? 0 : parseInt64(old);
  if (value === null) return c.error(ERR_NOT_INTEGER);
  const result = addInt64(value, incr);
  if (result === null) return c.error(ERR_INCR_OVERFLOW);
  if (old === undefined) c.db.set(key, result);
  else c.db.update(key, result);
  c.server.dirty++;
  notifyKeyspaceEvent(NOTIFY_STRING, "incrby", key, c.db.id);
  c.out.raw(":" + result + "\r\n");
}

/** GETRANGE/SUBSTR. */
function getRange(c: Client, argv: string[]): void {
  let start = parseInt64Number(argv[2]);
  if (start === null) return c.error(ERR_NOT_INTEGER);
  let end = parseInt64Number(argv[3]);
  if (end === null) return c.error(ERR_NOT_INTEGER);
  const v = c.db.lookupRead(argv[1]);
  if (v === undefined) return c.out.bulk("");
  if (typeof v !== "string") return c.error(ERR_WRONGTYPE);
  const len = v.length;
  if (start < 0 && end < 0 && start > end) return c.out.bulk("");
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) return c.out.bulk("");
  c.out.bulk(v.slice(start, end + 1));
}

/** Reads a string value for MGET-like access: non-strings count as missing. */
function stringOrUndefined(v: Value | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** LCS: Redis's dynamic-programming table and its backwards walk, ranges emitted as Redis does. */
function lcs(c: Client, argv: string[]): void {
  const va = c.db.lookupRead(argv[1]);
  const vb = c.db.lookupRead(argv[2]);
  if ((va !== undefined && typeof va !== "string") || (vb !== undefined && typeof vb !== "string")) {
    return c.error("ERR The specified keys must contain string values");
  }
  let getIdx = false;
  let getLen = false;
  let withMatchLen = false;
  let minMatchLen = 0;
  for (let j = 3; j < argv.length; j++) {
    const opt = argv[j].toLowerCase();
    const moreArgs = argv.length - 1 - j;
    if (opt === "idx") getIdx = true;
    else if (opt === "len") getLen = true;
    else if (opt === "withmatchlen") withMatchLen = true;
    else if (opt === "minmatchlen" && moreArgs > 0) {
      const n = parseInt64Number(argv[j + 1]);
      if (n === null) return c.error(ERR_NOT_INTEGER);
      minMatchLen = n < 0 ? 0 : n;
      j++;
    } else {
      return c.error(ERR_SYNTAX);
    }
  }
  if (getIdx && getLen) return c.error("ERR If you want both the length and indexes, please just use IDX.");
  const a = (va as string | undefined) ?? "";
  const b = (vb as string | undefined) ?? "";
  const alen = a.length;
  const blen = b.length;
  const width = blen + 1;
  const table = new Uint32Array((alen + 1) * width);
  for (let i = 1; i <= alen; i++) {
    const ai = a.charCodeAt(i - 1);
    for (let j = 1; j <= blen; j++) {
      if (ai === b.charCodeAt(j - 1)) table[i * width + j] = table[(i - 1) * width + j - 1] + 1;
      else {
        const l1 = table[(i - 1) * width + j];
        const l2 = table[i * width + j - 1];
        table[i * width + j] = l1 > l2 ? l1 : l2;
      }
    }
  }
  const total = table[alen * width + blen];
  if (getLen) return c.out.int(total);
  const out = c.out;
  // Ranges are collected first: the array length is only known after the walk.
  const ranges: number[][] = [];
  const chars: string[] = new Array(total);
  let idx = total;
  let i = alen;
  let j = blen;
  let aStart = alen; // alen means "no range open"
  let aEnd = 0;
  let bStart = 0;
  let bEnd = 0;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a.charCodeAt(i - 1) === b.charCodeAt(j - 1)) {
      chars[idx - 1] = a[i - 1];
      if (aStart === alen) {
        aStart = aEnd = i - 1;
        bStart = bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        aStart--;
        bStart--;
      } else {
        emit = true;
      }
      if (aStart === 0 || bStart === 0) emit = true;
      idx--;
      i--;
      j--;
    } else {
      const l1 = table[(i - 1) * width + j];
      const l2 = table[i * width + j - 1];
      if (l1 > l2) i--;
      else j--;
      if (aStart !== alen) emit = true;
    }
    const matchLen = aEnd - aStart + 1;
    if (emit) {
      if (getIdx && (minMatchLen === 0 || matchLen >= minMatchLen)) ranges.push([aStart, aEnd, bStart, bEnd, matchLen]);
      aStart = alen;
    }
  }
  if (!getIdx) return out.bulk(chars.join(""));
  out.map(2);
  out.bulk("matches");
  out.array(ranges.length);
  for (const [as, ae, bs, be, ml] of ranges) {
    out.array(withMatchLen ? 3 : 2);
    out.array(2);
    out.int(as);
    out.int(ae);
    out.array(2);
    out.int(bs);
    out.int(be);
    if (withMatchLen) out.int(ml);
  }
  out.bulk("len");
  out.int(total);
}

export const stringCommands: Record<string, Handler> = {
  get(c, argv) {
    const v = c.db.lookupRead(argv[1]);
    if (v === undefined) c.out.nil();
    else if (typeof v === "string") c.out.bulk(v);
    else c.error(ERR_WRONGTYPE);
  },
  set(c, argv) {
    if (argv.length === 3) {
      c.db.setKey(argv[1], argv[2]);
      c.server.dirty++;
      notifyKeyspaceEvent(NOTIFY_STRING, "set", argv[1], c.db.id);
      c.out.ok();
      return;
    }
    const opts = parseExtendedOptions(c, argv, true);
    if (opts === null) return;
    setGeneric(c, opts.flags, argv[1], argv[2], opts.expire, "set", null, null);
  },
  setnx(c, argv) {
    setGeneric(c, SET_NX, argv[1], argv[2], null, "setnx", () => c.out.int(1), () => c.out.int(0));
  },
  setex(c, argv) {
    setGeneric(c, EX, argv[1], argv[3], argv[2], "setex", null, null);
  },
  psetex(c, argv) {
    setGeneric(c, PX, argv[1], argv[3], argv[2], "psetex", null, null);
  },
  getex(c, argv) {
    const opts = parseExtendedOptions(c, argv, false);
    if (opts === null) return;
    const key = argv[1];
    const v = c.db.lookupRead(key);
    if (v === undefined) return c.out.nil();
    if (typeof v !== "string") return c.error(ERR_WRONGTYPE);
    let when = 0;
    if (opts.expire !== null) {
      const ms = expireAtMs(c, opts.expire, opts.flags, "getex");
      if (ms === null) return;
      when = ms;
    }
    c.out.bulk(v);
    if (opts.flags & (EXAT | PXAT) && when <= Date.now()) {
      c.db.delete(key);
      c.server.dirty++;
      notifyKeyspaceEvent(NOTIFY_GENERIC, "del", key, c.db.id);
      if (propagation.active) propagateAs([c.server.config.bool("lazyfree-lazy-expire") ? "UNLINK" : "DEL", key]);
    } else if (opts.expire !== null) {
      c.db.setExpire(key, when);
      c.server.dirty++;
      notifyKeyspaceEvent(NOTIFY_GENERIC, "expire", key, c.db.id);
      if (propagation.active) propagateAs(["PEXPIREAT", key, String(when)]);
    } else if (opts.flags & PERSIST) {
      if (c.db.persist(key)) {
        c.server.dirty++;
        notifyKeyspaceEvent(NOTIFY_GENERIC, "persist", key, c.db.id);
      }
      if (propagation.active) propagateAs(["PERSIST", key]);
    }
  },
  getdel(c, argv) {
    const r = replyGet(c, argv[1]);
    if (r.ok && r.found) {
      c.db.delete(argv[1]);
      c.server.dirty++;
      notifyKeyspaceEvent(NOTIFY_GENERIC, "del", argv[1], c.db.id);
      if (propagation.active) propagateAs(["DEL", argv[1]]);
    }
  },
  getset(c, argv) {
    if (!replyGet(c, argv[1]).ok) return;
    c.db.setKey(argv[1], argv[2]);
    c.server.dirty++;
    notifyKeyspaceEvent(NOTIFY_STRING, "set", argv[1], c.db.id);
    if (propagation.active) propagateAs(["SET", argv[1], argv[2]]);
  },
  mget(c, argv) {
    c.out.array(argv.length - 1);
    for (let i = 1; i < argv.length; i++) {
      const v = stringOrUndefined(c.db.lookupRead(argv[i]));
      if (v === undefined) c.out.nil();
      else c.out.bulk(v);
    }
  },
  mset(c, argv) {
    if (argv.length % 2 === 0) return c.error("ERR wrong number of arguments for 'mset' command");
    for (let i = 1; i < argv.length; i += 2) {
      c.db.setKey(argv[i], argv[i + 1]);
      notifyKeyspaceEvent(NOTIFY_STRING, "set", argv[i], c.db.id);
    }
    c.server.dirty += (argv.length - 1) / 2;
    c.out.ok();
  },
  msetnx(c, argv) {
    if (argv.length % 2 === 0) return c.error("ERR wrong number of arguments for 'msetnx' command");
    for (let i = 1; i < argv.length; i += 2) {
      if (c.db.get(argv[i]) !== undefined) return c.out.int(0);
    }
    for (let i = 1; i < argv.length; i += 2) {
      c.db.setKey(argv[i], argv[i + 1]);
      notifyKeyspaceEvent(NOTIFY_STRING, "set", argv[i], c.db.id);
    }
    c.server.dirty += (argv.length - 1) / 2;
    c.out.int(1);
  },
  incr(c, argv) {
    incrDecr(c, argv[1], 1);
  },
  decr(c, argv) {
    incrDecr(c, argv[1], -1);
  },
  incrby(c, argv) {
    const incr = parseInt64(argv[2]);
    if (incr === null) return c.error(ERR_NOT_INTEGER);
    incrDecr(c, argv[1], incr);
  },
  decrby(c, argv) {
    const incr = parseInt64(argv[2]);
    if (incr === null) return c.error(ERR_NOT_INTEGER);
    if (incr === INT64_MIN) return c.error("ERR decrement would overflow");
    incrDecr(c, argv[1], -incr);
  },
  incrbyfloat(c, argv) {
    const old = writableString(c, argv[1]);
    if (old === null) return;
    const value = old === undefined ? parseLongDouble("0")! : parseLongDouble(old);
    if (value === null) return c.error(ERR_NOT_FLOAT);
    const incr = parseLongDouble(argv[2]);
    if (incr === null) return c.error(ERR_NOT_FLOAT);
    const sum = addLongDouble(value, incr);
    if (sum.inf || isNaNSum(value, incr)) return c.error("ERR increment would produce NaN or Infinity");
    const text = formatLongDoubleHuman(sum);
    if (old === undefined) c.db.set(argv[1], text, false, undefined, ENC_EMBSTR);
    else c.db.update(argv[1], text, ENC_EMBSTR);
    c.server.dirty++;
    notifyKeyspaceEvent(NOTIFY_STRING, "incrbyfloat", argv[1], c.db.id);
    if (propagation.active) propagateAs(["SET", argv[1], text, "KEEPTTL"]);
    c.out.bulk(text);
  },
  append(c, argv) {
    const key = argv[1];
    const old = writableString(c, key);
    if (old === null) return;
    if (old === undefined) {
      c.db.set(key, argv[2]);
      c.server.dirty++;
      notifyKeyspaceEvent(NOTIFY_STRING, "append", key, c.db.id);
      return c.out.int(argv[2].length);
    }
    if (!checkStringLength(c, old.length, argv[2].length)) return;
    const value = old + argv[2];
    c.db.update(key, value, ENC_RAW);
    c.server.dirty++;
    notifyKeyspaceEvent(NOTIFY_STRING, "append", key, c.db.id);
    c.out.int(value.length);
  },
  strlen(c, argv) {
    const v = c.db.lookupRead(argv[1]);
    if (v === undefined) return c.out.int(0);
    if (typeof v !== "string") return c.error(ERR_WRONGTYPE);
    c.out.int(v.length);
  },
  getrange: getRange,
  substr: getRange,
  setrange(c, argv) {
    const key = argv[1];
    const patch = argv[3];
    const offset = parseInt64Number(argv[2]);
    if (offset === null) return c.error(ERR_NOT_INTEGER);
    if (offset < 0) return c.error("ERR offset is out of range");
    const old = writableString(c, key);
    if (old === null) return;
    if (old === undefined && patch.length === 0) return c.out.int(0);
    if (old !== undefined && patch.length === 0) return c.out.int(old.length);
    if (!checkStringLength(c, offset, patch.length)) return;
    const base = old ?? "";
    let value: string;
    try {
      const head = offset <= base.length ? base.slice(0, offset) : base + "\0".repeat(offset - base.length);
      value = head + patch + base.slice(offset + patch.length);
    } catch {
      // A JS string cannot be as long as proto-max-bulk-len allows (V8 caps strings near 2^29).
      return c.error(ERR_STRING_TOO_LONG);
    }
    if (old === undefined) c.db.set(key, value, false, undefined, ENC_RAW);
    else c.db.update(key, value, ENC_RAW);
    c.server.dirty++;
    notifyKeyspaceEvent(NOTIFY_STRING, "setrange", key, c.db.id);
    c.out.int(value.length);
  },
  lcs,
};
