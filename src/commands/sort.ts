/**
 * SORT and SORT_RO with Redis 7.0's replies and errors: lists, sets and sorted sets; BY (a pattern,
 * `->field` of a hash, or a constant for no sorting), LIMIT, GET (`#`, patterns, hash fields), ASC|DESC,
 * ALPHA and STORE. Patterns are read as C strings where Redis reads them with strchr/strstr.
 */
import { NOTIFY_GENERIC, NOTIFY_LIST, notifyKeyspaceEvent } from "../server/keyspace_events.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import type { Db } from "../store/keyspace.ts";
import { ListValue } from "../store/types/list.ts";
import { SetValue } from "../store/types/set.ts";
import { strtod, ZSetValue } from "../store/types/zset.ts";
import { HashValue } from "../store/types/hash.ts";
import { parseInt64 } from "../store/numbers.ts";
import { ERR_NOT_INTEGER, ERR_SYNTAX, ERR_WRONGTYPE } from "./errors.ts";

const ERR_BY_IN_CLUSTER = "ERR BY option of SORT denied in Cluster mode.";
const ERR_GET_IN_CLUSTER = "ERR GET option of SORT denied in Cluster mode.";
const ERR_SCORE_NOT_DOUBLE = "ERR One or more scores can't be converted into double";
/** Smallest positive normal double: glibc's strtod reports ERANGE for (inexact) results below it. */
const DBL_MIN_NORMAL = 2.2250738585072014e-308;

/** The part of `s` before its first NUL byte: what C string functions see. */
function cString(s: string): string {
  const nul = s.indexOf("\0");
  return nul < 0 ? s : s.slice(0, nul);
}

/** One element to sort, with what it is compared by. */
interface SortItem {
  element: string;
  score: number;
  /** ALPHA BY: the looked-up value, null when the key or field is missing. */
  by: string | null;
}

/** Parsed options of one SORT call. */
interface SortOptions {
  desc: boolean;
  alpha: boolean;
  limitStart: number;
  limitCount: number;
  sortBy: string | null;
  dontSort: boolean;
  storeKey: string | null;
  gets: string[];
}

/**
 * Redis's lookupKeyByPattern: `#` is the element itself; otherwise the first `*` is replaced by the
 * element and the key's string value (or, with `->field`, the hash field's value) is returned.
 */
function lookupByPattern(db: Db, pattern: string, element: string): string | null {
  if (pattern[0] === "#" && (pattern.length === 1 || pattern[1] === "\0")) return element;
  const cPattern = cString(pattern);
  const star = cPattern.indexOf("*");
  if (star < 0) return null;
  const arrow = cPattern.indexOf("->", star + 1);
  const field = arrow >= 0 && arrow + 2 < cPattern.length ? pattern.slice(arrow + 2) : null;
  const keyEnd = field === null ? pattern.length : arrow;
  const key = pattern.slice(0, star) + element + pattern.slice(star + 1, keyEnd);
  // A read lookup even with STORE (Redis 7.0.15 counts the hits and misses and announces `keymiss`).
  const value = db.lookupRead(key);
  if (value === undefined) return null;
  if (field !== null) return value instanceof HashValue ? value.get(field) ?? null : null;
  return typeof value === "string" ? value : null;
}

/** Whether glibc's strtod would set ERANGE for the text it parsed (`parsed`) giving `value`. */
function strtodOutOfRange(parsed: string, value: number): boolean {
  if (!Number.isFinite(value)) return !/inf/i.test(parsed);
  if (value !== 0) return Math.abs(value) < DBL_MIN_NORMAL;
  const digits = parsed.trim().replace(/^[+-]/, "");
  const hex = /^0x/i.test(digits);
  const mantissa = hex ? digits.slice(2).replace(/p.*$/i, "") : digits.replace(/e.*$/i, "");
  return hex ? /[1-9a-f]/i.test(mantissa) : /[1-9]/.test(mantissa);
}

/** The numeric sort key of a value as SORT reads it (strtod up to a NUL), or null when invalid. */
function sortScore(text: string): number | null {
  const s = cString(text);
  const { value, end } = strtod(s);
  if (end !== s.length || Number.isNaN(value) || strtodOutOfRange(s.slice(0, end), value)) return null;
  return value;
}

/** Compares latin1 strings byte by byte (memcmp, then length). */
function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Redis's sortCompare; `store` selects binary comparison where Redis would use strcoll (C locale). */
function makeComparator(opts: SortOptions): (a: SortItem, b: SortItem) => number {
  const byPattern = opts.sortBy !== null;
  const sign = opts.desc ? -1 : 1;
  const collate = opts.storeKey !== null
    ? compareBytes
    : (a: string, b: string) => compareBytes(cString(a), cString(b));
  if (!opts.alpha) {
    return (a, b) => sign * (a.score > b.score ? 1 : a.score < b.score ? -1 : compareBytes(a.element, b.element));
  }
  if (!byPattern) return (a, b) => sign * collate(a.element, b.element);
  return (a, b) => {
    if (a.by === null || b.by === null) return sign * (a.by === b.by ? 0 : a.by === null ? -1 : 1);
    return sign * collate(a.by, b.by);
  };
}

/** Parses the options; null after an error reply. */
function parseOptions(c: Client, argv: string[], readonly: boolean): SortOptions | null {
  const opts: SortOptions = {
    desc: false,
    alpha: false,
    limitStart: 0,
    limitCount: -1,
    sortBy: null,
    dontSort: false,
    storeKey: null,
    gets: [],
  };
  const cluster = c.server.config.bool("cluster-enabled");
  for (let j = 2; j < argv.length; j++) {
    const left = argv.length - j - 1;
    // strcasecmp: the option word ends at its first NUL byte.
    const word = cString(argv[j]).toLowerCase();
    if (word === "asc") opts.desc = false;
    else if (word === "desc") opts.desc = true;
    else if (word === "alpha") opts.alpha = true;
    else if (word === "limit" && left >= 2) {
      const start = parseInt64(argv[j + 1]);
      const count = start === null ? null : parseInt64(argv[j + 2]);
      if (start === null || count === null) {
        c.error(ERR_NOT_INTEGER);
        return null;
      }
      // Only compared with element counts after clamping, so doubles are precise enough.
      opts.limitStart = Number(start);
      opts.limitCount = Number(count);
      j += 2;
    } else if (!readonly && word === "store" && left >= 1) {
      opts.storeKey = argv[++j];
    } else if (word === "by" && left >= 1) {
      opts.sortBy = argv[++j];
      if (!cString(opts.sortBy).includes("*")) opts.dontSort = true;
      else if (cluster) {
        c.error(ERR_BY_IN_CLUSTER);
        return null;
      }
    } else if (word === "get" && left >= 1) {
      if (cluster) {
        c.error(ERR_GET_IN_CLUSTER);
        return null;
      }
      opts.gets.push(argv[++j]);
    } else {
      c.error(ERR_SYNTAX);
      return null;
    }
  }
  return opts;
}

/** The elements of a sorted set from rank `start` (from the end when `desc`), at most `count`. */
function zsetRange(z: ZSetValue, start: number, count: number, desc: boolean): string[] {
  const out: string[] = [];
  if (count <= 0) return out;
  z.walk(desc ? z.size - 1 - start : start, desc, (member) => {
    out.push(member);
    return out.length < count;
  });
  return out;
}

function sortGeneric(c: Client, argv: string[], readonly: boolean): void {
  const opts = parseOptions(c, argv, readonly);
  if (opts === null) return;
  const value = c.db.lookupRead(argv[1]);
  if (
    value !== undefined && !(value instanceof ListValue) && !(value instanceof SetValue) &&
    !(value instanceof ZSetValue)
  ) {
    c.error(ERR_WRONGTYPE);
    return;
  }
  // A set has no order of its own: stored results are sorted (ALPHA) to be reproducible.
  if (opts.dontSort && value instanceof SetValue && opts.storeKey !== null) {
    opts.dontSort = false;
    opts.alpha = true;
    opts.sortBy = null;
  }
  if (value instanceof ZSetValue) value.convert();

  const length = value === undefined
    ? 0
    : value instanceof SetValue
    ? value.size
    : value instanceof ZSetValue
    ? value.size
    : value.length;
  // LIMIT, clamped to the object's size first (as Redis 7.0.15 does against overflow).
  let start = Math.min(Math.max(opts.limitStart, 0), length);
  const count = Math.min(Math.max(opts.limitCount, -1), length);
  let end = count < 0 ? length - 1 : start + count - 1;
  if (start >= length) {
    start = length - 1;
    end = length - 2;
  }
  if (end >= length) end = length - 1;

  // Lists and sorted sets keep their own order when not sorting: only the LIMIT range is loaded.
  let elements: string[];
  if (value === undefined) elements = [];
  else if (value instanceof ListValue && opts.dontSort) {
    elements = [];
    if (end >= start) {
      const all = value.values();
      if (opts.desc) all.reverse();
      elements = all.slice(start, end + 1);
      end -= start;
      start = 0;
    }
  } else if (value instanceof ZSetValue && opts.dontSort) {
    const ranged = start !== 0 || end !== length - 1;
    elements = zsetRange(value, ranged ? start : 0, ranged ? end - start + 1 : length, opts.desc);
    end -= start;
    start = 0;
  } else if (value instanceof ListValue) elements = value.values();
  else if (value instanceof SetValue) elements = [...value.members()];
  else {
    elements = [];
    value.walk(0, false, (member) => {
      elements.push(member);
      return true;
    });
  }

  const items: SortItem[] = elements.map((element) => ({ element, score: 0, by: null }));
  let scoreError = false;
  if (!opts.dontSort) {
    for (const item of items) {
      const byValue = opts.sortBy === null ? item.element : lookupByPattern(c.db, opts.sortBy, item.element);
      if (byValue === null) continue;
      if (opts.alpha) {
        if (opts.sortBy !== null) item.by = byValue;
      } else {
        const score = sortScore(byValue);
        if (score === null) scoreError = true;
        else item.score = score;
      }
    }
    items.sort(makeComparator(opts));
  }

  const picked = items.slice(start, end + 1);
  const outputLength = (opts.gets.length || 1) * picked.length;
  if (scoreError) {
    c.error(ERR_SCORE_NOT_DOUBLE);
    return;
  }
  if (opts.storeKey === null) {
    c.out.array(outputLength);
    for (const item of picked) {
      if (opts.gets.length === 0) c.out.bulk(item.element);
      for (const pattern of opts.gets) {
        const got = lookupByPattern(c.db, pattern, item.element);
        if (got === null) c.out.nil();
        else c.out.bulk(got);
      }
    }
    return;
  }
  const stored: string[] = [];
  for (const item of picked) {
    if (opts.gets.length === 0) stored.push(item.element);
    for (const pattern of opts.gets) stored.push(lookupByPattern(c.db, pattern, item.element) ?? "");
  }
  if (outputLength > 0) {
    c.db.setKey(opts.storeKey, ListValue.from(stored));
    notifyKeyspaceEvent(NOTIFY_LIST, "sortstore", opts.storeKey, c.db.id);
    c.server.dirty += outputLength;
  } else if (c.db.delete(opts.storeKey)) {
    notifyKeyspaceEvent(NOTIFY_GENERIC, "del", opts.storeKey, c.db.id);
    c.server.dirty++;
  }
  c.out.int(outputLength);
}

/** SORT and SORT_RO handlers. */
export const sortCommands: Record<string, Handler> = {
  sort: (c, argv) => sortGeneric(c, argv, false),
  sort_ro: (c, argv) => sortGeneric(c, argv, true),
};
