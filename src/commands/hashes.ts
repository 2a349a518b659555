/**
 * Hash commands, with Redis 7.0's replies and errors: HSET HSETNX HMSET HGET HMGET HDEL HEXISTS
 * HLEN HSTRLEN HKEYS HVALS HGETALL HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN.
 */
import { propagateAs, propagation } from "../replication/propagate.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import { HashValue } from "../store/types/hash.ts";
import { addInt64, INT64_MAX, parseInt64 } from "../store/numbers.ts";
import { addLongDouble, formatLongDoubleHuman, isNaNSum, parseLongDouble } from "../store/long_double.ts";
import { globMatch } from "../store/glob.ts";
import { parseCursor, parseScanOptions } from "./scan.ts";
import { NOTIFY_GENERIC, NOTIFY_HASH, notifyKeyspaceEvent } from "../server/keyspace_events.ts";
import { ERR_INCR_OVERFLOW, ERR_NOT_FLOAT, ERR_NOT_INTEGER, ERR_SYNTAX, ERR_WRONGTYPE } from "./errors.ts";

/** C's LONG_MAX, the bound of HRANDFIELD's count. */
const LONG_MAX = INT64_MAX;
/** WITHVALUES doubles the reply, so Redis bounds the count by LONG_MAX / 2. */
const LONG_MAX_HALF = INT64_MAX / 2n;
const ERR_HASH_NOT_INTEGER = "ERR hash value is not an integer";
const ERR_HASH_NOT_FLOAT = "ERR hash value is not a float";
const ERR_COUNT_RANGE = `ERR value is out of range, value must between ${-LONG_MAX} and ${LONG_MAX}`;

/** Looks up a hash for reading: the hash, undefined when missing, or null after replying WRONGTYPE. */
function readHash(c: Client, key: string): HashValue | undefined | null {
  const v = c.db.lookupRead(key);
  if (v === undefined || v instanceof HashValue) return v;
  c.error(ERR_WRONGTYPE);
  return null;
}

/** Looks up a hash for writing: the hash, undefined when missing, or null after replying WRONGTYPE. */
function writableHash(c: Client, key: string): HashValue | undefined | null {
  const v = c.db.get(key);
  if (v === undefined || v instanceof HashValue) return v;
  c.error(ERR_WRONGTYPE);
  return null;
}

/** Stores a hash that was just created, or signals an in-place change of an existing one (WATCH). */
function commit(c: Client, key: string, hash: HashValue, created: boolean): void {
  if (created) c.db.set(key, hash);
  else c.db.touchModified(key);
}

/** HSET and HMSET: sets every pair; returns the number of new fields, or null after an error reply. */
function setPairs(c: Client, argv: string[]): number | null {
  if (argv.length % 2 === 1) {
    c.error(`ERR wrong number of arguments for '${argv[0].toLowerCase()}' command`);
    return null;
  }
  const key = argv[1];
  const found = writableHash(c, key);
  if (found === null) return null;
  const hash = found ?? new HashValue();
  let created = 0;
  for (let i = 2; i < argv.length; i += 2) if (hash.set(argv[i], argv[i + 1])) created++;
  commit(c, key, hash, found === undefined);
  c.server.dirty += (argv.length - 2) / 2;
  return created;
}

/** HGETALL, HKEYS and HVALS. */
function getAll(c: Client, key: string, fields: boolean, values: boolean): void {
  const hash = readHash(c, key);
  if (hash === null) return;
  const out = c.out;
  if (hash === undefined) return fields && values ? out.map(0) : out.array(0);
  if (fields && values) out.map(hash.size);
  else out.array(hash.size);
  for (const [field, value] of hash.map) {
    if (fields) out.bulk(field);
    if (values) out.bulk(value);
  }
}

/** Replies pairs as HRANDFIELD does: flat in RESP2 (or without values), as [field, value] arrays in RESP3. */
function replyPairs(c: Client, pairs: [string, string][], withValues: boolean): void {
  const out = c.out;
  const nested = withValues && out.resp === 3;
  out.array(withValues && !nested ? pairs.length * 2 : pairs.length);
  for (const [field, value] of pairs) {
    if (nested) out.array(2);
    out.bulk(field);
    if (withValues) out.bulk(value);
  }
}

/** HRANDFIELD key count [WITHVALUES]: Redis's hrandfieldWithCountCommand (count already range-checked). */
function randomFieldsWithCount(c: Client, key: string, count: number, withValues: boolean): void {
  const v = c.db.lookupRead(key);
  if (v === undefined) return c.out.array(0);
  if (!(v instanceof HashValue)) return c.error(ERR_WRONGTYPE);
  if (count === 0) return c.out.array(0);
  // A negative count picks with repetition, in pick order; so does a count of 1.
  if (count < 0 || count === 1) return replyPairs(c, v.sampleWithRepetition(Math.abs(count)), withValues);
  // Asking for at least the whole hash returns it whole, in hash order.
  if (count >= v.size) return replyPairs(c, [...v.map], withValues);
  // Distinct picks: listpack replies them in listpack order (lpRandomPairsUnique); any order is fine otherwise.
  replyPairs(c, v.sampleUnique(count), withValues);
}

export const hashCommands: Record<string, Handler> = {
  hset(c, argv) {
    const created = setPairs(c, argv);
    if (created === null) return;
    c.out.int(created);
    // Hash events follow the reply in Redis (a RESP3 client subscribed to itself sees that order).
    notifyKeyspaceEvent(NOTIFY_HASH, "hset", argv[1], c.db.id);
  },
  hmset(c, argv) {
    if (setPairs(c, argv) === null) return;
    c.out.ok();
    notifyKeyspaceEvent(NOTIFY_HASH, "hset", argv[1], c.db.id);
  },
  hsetnx(c, argv) {
    const key = argv[1];
    const found = writableHash(c, key);
    if (found === null) return;
    if (found !== undefined && found.has(argv[2])) return c.out.int(0);
    const hash = found ?? new HashValue();
    hash.set(argv[2], argv[3]);
    commit(c, key, hash, found === undefined);
    c.server.dirty++;
    c.out.int(1);
    notifyKeyspaceEvent(NOTIFY_HASH, "hset", key, c.db.id);
  },
  hget(c, argv) {
    const hash = readHash(c, argv[1]);
    if (hash === null) return;
    const value = hash?.get(argv[2]);
    if (value === undefined) c.out.nil();
    else c.out.bulk(value);
  },
  hmget(c, argv) {
    const hash = readHash(c, argv[1]);
    if (hash === null) return;
    c.out.array(argv.length - 2);
    for (let i = 2; i < argv.length; i++) {
      const value = hash?.get(argv[i]);
      if (value === undefined) c.out.nil();
      else c.out.bulk(value);
    }
  },
  hdel(c, argv) {
    const key = argv[1];
    const hash = writableHash(c, key);
    if (hash === null) return;
    if (hash === undefined) return c.out.int(0);
    let deleted = 0;
    let keyRemoved = false;
    for (let i = 2; i < argv.length; i++) {
      if (!hash.delete(argv[i])) continue;
      deleted++;
      // Redis stops at the last field: the key goes and later fields are not looked at.
      if (hash.size === 0) {
        c.db.delete(key);
        keyRemoved = true;
        break;
      }
    }
    if (deleted > 0) {
      if (!keyRemoved) c.db.touchModified(key);
      notifyKeyspaceEvent(NOTIFY_HASH, "hdel", key, c.db.id);
      if (keyRemoved) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", key, c.db.id);
      c.server.dirty += deleted;
    }
    c.out.int(deleted);
  },
  hexists(c, argv) {
    const hash = readHash(c, argv[1]);
    if (hash === null) return;
    c.out.int(hash?.has(argv[2]) ? 1 : 0);
  },
  hlen(c, argv) {
    const hash = readHash(c, argv[1]);
    if (hash === null) return;
    c.out.int(hash?.size ?? 0);
  },
  hstrlen(c, argv) {
    const hash = readHash(c, argv[1]);
    if (hash === null) return;
    c.out.int(hash?.get(argv[2])?.length ?? 0);
  },
  hkeys(c, argv) {
    getAll(c, argv[1], true, false);
  },
  hvals(c, argv) {
    getAll(c, argv[1], false, true);
  },
  hgetall(c, argv) {
    getAll(c, argv[1], true, true);
  },
  hincrby(c, argv) {
    const incr = parseInt64(argv[3]);
    if (incr === null) return c.error(ERR_NOT_INTEGER);
    const key = argv[1];
    const found = writableHash(c, key);
    if (found === null) return;
    const old = found?.get(argv[2]);
    const value = old === undefined ? 0 : parseInt64(old);
    if (value === null) return c.error(ERR_HASH_NOT_INTEGER);
    const result = addInt64(value, incr);
    if (result === null) return c.error(ERR_INCR_OVERFLOW);
    const hash = found ?? new HashValue();
    hash.set(argv[2], result);
    commit(c, key, hash, found === undefined);
    c.server.dirty++;
    c.out.raw(":" + result + "\r\n");
    notifyKeyspaceEvent(NOTIFY_HASH, "hincrby", key, c.db.id);
  },
  hincrbyfloat(c, argv) {
    const incr = parseLongDouble(argv[3]);
    if (incr === null) return c.error(ERR_NOT_FLOAT);
    if (incr.inf) return c.error("ERR value is NaN or Infinity");
    const key = argv[1];
    const found = writableHash(c, key);
    if (found === null) return;
    const old = found?.get(argv[2]);
    const value = old === undefined ? parseLongDouble("0")! : parseLongDouble(old);
    if (value === null) return c.error(ERR_HASH_NOT_FLOAT);
    const sum = addLongDouble(value, incr);
    if (sum.inf || isNaNSum(value, incr)) return c.error("ERR increment would produce NaN or Infinity");
    const text = formatLongDoubleHuman(sum);
    const hash = found ?? new HashValue();
    hash.set(argv[2], text);
    commit(c, key, hash, found === undefined);
    if (propagation.active) propagateAs(["HSET", key, argv[2], text]);
    c.server.dirty++;
    c.out.bulk(text);
    notifyKeyspaceEvent(NOTIFY_HASH, "hincrbyfloat", key, c.db.id);
  },
  hrandfield(c, argv) {
    if (argv.length === 2) {
      const hash = readHash(c, argv[1]);
      if (hash === null) return;
      if (hash === undefined) return c.out.nil();
      c.out.bulk(hash.sampleWithRepetition(1)[0][0]);
      return;
    }
    const parsed = parseInt64(argv[2]);
    if (parsed === null) return c.error(ERR_NOT_INTEGER);
    const count = BigInt(parsed);
    if (count < -LONG_MAX) return c.error(ERR_COUNT_RANGE);
    if (argv.length > 4 || (argv.length === 4 && argv[3].toLowerCase() !== "withvalues")) {
      return c.error(ERR_SYNTAX);
    }
    const withValues = argv.length === 4;
    if (withValues && (count < -LONG_MAX_HALF || count > LONG_MAX_HALF)) return c.error("ERR value is out of range");
    randomFieldsWithCount(c, argv[1], Number(count), withValues);
  },
  hscan(c, argv) {
    const cursor = parseCursor(argv[2]);
    if (cursor === null) return c.error("ERR invalid cursor");
    const v = c.db.lookupRead(argv[1]);
    if (v === undefined) {
      c.out.array(2);
      c.out.bulk("0");
      return c.out.array(0);
    }
    if (!(v instanceof HashValue)) return c.error(ERR_WRONGTYPE);
    const opts = parseScanOptions(c, argv, 3, false);
    if (opts === null) return;
    // Redis stops once its reply list (fields and values) holds COUNT items.
    const batch = v.scan(cursor > BigInt(Number.MAX_SAFE_INTEGER) ? 0 : Number(cursor), Math.ceil(opts.count / 2));
    let items = batch.items;
    if (opts.pattern !== null) {
      const pattern = opts.pattern;
      items = [];
      for (let i = 0; i < batch.items.length; i += 2) {
        if (globMatch(pattern, batch.items[i])) items.push(batch.items[i], batch.items[i + 1]);
      }
    }
    c.out.array(2);
    c.out.bulk(String(batch.cursor));
    c.out.bulkArray(items);
  },
};
