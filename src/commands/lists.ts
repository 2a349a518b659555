/**
 * List commands with Redis 7.0's replies and errors: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN
 * LINDEX LSET LRANGE LTRIM LREM LINSERT LPOS LMOVE RPOPLPUSH LMPOP, and the blocking BLPOP BRPOP
 * BLMOVE BRPOPLPUSH BLMPOP (src/store/blocking.ts keeps the waiting clients). Arguments are
 * checked in Redis's order: some commands look the key up before parsing their numbers.
 */
import { replicateAs } from "../replication/propagate.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import type { Db } from "../store/keyspace.ts";
import { ListValue } from "../store/types/list.ts";
import { parseInt64, parseInt64Number } from "../store/numbers.ts";
import { blockUntilServed, mayBlock, signalKeyReady, timeoutOrReply } from "../store/blocking.ts";
import { NOTIFY_GENERIC, NOTIFY_LIST, notifyKeyspaceEvent } from "../server/keyspace_events.ts";
import { ERR_NO_SUCH_KEY, ERR_NOT_INTEGER, ERR_SYNTAX, ERR_WRONGTYPE } from "./errors.ts";

const ERR_INDEX_OUT_OF_RANGE = "ERR index out of range";
const ERR_MUST_BE_POSITIVE = "ERR value is out of range, must be positive";
const ERR_RANK_ZERO = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... " +
  "or use negative to start from the end of the list";
const ERR_COUNT_NEGATIVE = "ERR COUNT can't be negative";
const ERR_MAXLEN_NEGATIVE = "ERR MAXLEN can't be negative";
const ERR_NUMKEYS = "ERR numkeys should be greater than 0";
const ERR_COUNT_POSITIVE = "ERR count should be greater than 0";
/** RANK -2^63: Redis cannot negate it, so it searches from the tail and never stops at COUNT. */
const RANK_LONG_MIN = -(2n ** 63n);

/** The list at `key` for a read command: undefined when missing, null after a WRONGTYPE reply. */
function readList(c: Client, key: string): ListValue | undefined | null {
  const v = c.db.lookupRead(key);
  if (v === undefined || v instanceof ListValue) return v;
  c.error(ERR_WRONGTYPE);
  return null;
}

/** The list at `key` for a write command: undefined when missing, null after a WRONGTYPE reply. */
function writeList(c: Client, key: string): ListValue | undefined | null {
  const v = c.db.get(key);
  if (v === undefined || v instanceof ListValue) return v;
  c.error(ERR_WRONGTYPE);
  return null;
}

/** Redis's getLongFromObjectOrReply for indexes (values past 2^53 only need to stay out of range). */
function longOrReply(c: Client, text: string): number | null {
  const v = parseInt64Number(text);
  if (v === null) c.error(ERR_NOT_INTEGER);
  return v;
}

/** Redis's getRangeLongFromObjectOrReply with a message: `msg` for a parse error and for v < min. */
function atLeastOrReply(c: Client, text: string, min: number, msg: string): number | null {
  const v = parseInt64Number(text);
  if (v === null || v < min) {
    c.error(msg);
    return null;
  }
  return v;
}

/** LEFT / RIGHT (any case): true for LEFT, null after a syntax error. */
function sideOrReply(c: Client, text: string): boolean | null {
  const side = text.toLowerCase();
  if (side === "left") return true;
  if (side === "right") return false;
  c.error(ERR_SYNTAX);
  return null;
}

/** Stores a new list and wakes clients blocked on its key. */
function addList(db: Db, key: string, list: ListValue): void {
  db.set(key, list);
  signalKeyReady(db, key);
}

/**
 * After elements were removed: announces `event`, then deletes an emptied list (with its `del`
 * event, as Redis's listElementsRemoved) or signals the change.
 */
function listChanged(db: Db, key: string, list: ListValue, event: string): void {
  notifyKeyspaceEvent(NOTIFY_LIST, event, key, db.id);
  if (list.length === 0) {
    db.delete(key);
    notifyKeyspaceEvent(NOTIFY_GENERIC, "del", key, db.id);
  } else {
    db.touchModified(key);
  }
}

/** The event of a pop from one end. */
function popEvent(front: boolean): string {
  return front ? "lpop" : "rpop";
}

/** LPUSH RPUSH LPUSHX RPUSHX. */
function push(c: Client, argv: string[], front: boolean, onlyIfExists: boolean): void {
  const key = argv[1];
  let list = writeList(c, key);
  if (list === null) return;
  const created = list === undefined;
  if (list === undefined) {
    if (onlyIfExists) return c.out.int(0);
    list = new ListValue();
  }
  for (let i = 2; i < argv.length; i++) {
    if (front) list.pushFront(argv[i]);
    else list.pushBack(argv[i]);
  }
  if (created) addList(c.db, key, list);
  else c.db.touchModified(key);
  c.server.dirty += argv.length - 2;
  c.out.int(list.length);
  // After the reply, as Redis's pushGenericCommand (a RESP3 client subscribed to itself sees that order).
  notifyKeyspaceEvent(NOTIFY_LIST, front ? "lpush" : "rpush", key, c.db.id);
}

/** Pops up to `count` elements from one end. */
function popMany(list: ListValue, front: boolean, count: number): string[] {
  const n = Math.min(count, list.length);
  const out: string[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = (front ? list.popFront() : list.popBack())!;
  return out;
}

/** LPOP / RPOP [count]. */
function pop(c: Client, argv: string[], front: boolean): void {
  if (argv.length > 3) return c.error(`ERR wrong number of arguments for '${front ? "lpop" : "rpop"}' command`);
  const hasCount = argv.length === 3;
  let count = 0;
  if (hasCount) {
    const v = atLeastOrReply(c, argv[2], 0, ERR_MUST_BE_POSITIVE);
    if (v === null) return;
    count = v;
  }
  const key = argv[1];
  const list = writeList(c, key);
  if (list === null) return;
  if (list === undefined) return hasCount ? c.out.nilArray() : c.out.nil();
  if (hasCount && count === 0) return c.out.array(0);
  if (!hasCount) {
    c.out.bulk((front ? list.popFront() : list.popBack())!);
    c.server.dirty++;
  } else {
    const values = popMany(list, front, count);
    c.out.bulkArray(values);
    c.server.dirty += values.length;
  }
  listChanged(c.db, key, list, popEvent(front));
}

/** Pops from `list` at `key` and replies `[key, [elements]]` (LMPOP, BLMPOP). */
function popWithKey(c: Client, db: Db, key: string, list: ListValue, front: boolean, count: number): void {
  const values = popMany(list, front, count);
  c.out.array(2);
  c.out.bulk(key);
  c.out.bulkArray(values);
  c.server.dirty += values.length;
  listChanged(db, key, list, popEvent(front));
}

/**
 * LMOVE / RPOPLPUSH once the source is known to be a non-empty list: pops, pushes onto the
 * destination (created if needed) and replies the element. The destination is looked up before
 * the pop, so a one-element list rotated onto itself is never deleted. `c` receives the reply.
 */
function moveElement(c: Client, db: Db, src: string, list: ListValue, dst: string, fromLeft: boolean, toLeft: boolean) {
  const target = db.get(dst);
  if (target !== undefined && !(target instanceof ListValue)) return c.error(ERR_WRONGTYPE);
  const value = (fromLeft ? list.popFront() : list.popBack())!;
  const dstList = target ?? new ListValue();
  if (toLeft) dstList.pushFront(value);
  else dstList.pushBack(value);
  if (target === undefined) addList(db, dst, dstList);
  else db.touchModified(dst);
  notifyKeyspaceEvent(NOTIFY_LIST, toLeft ? "lpush" : "rpush", dst, db.id);
  c.out.bulk(value);
  listChanged(db, src, list, popEvent(fromLeft));
  c.server.dirty++;
}

/** LMOVE / RPOPLPUSH. */
function move(c: Client, src: string, dst: string, fromLeft: boolean, toLeft: boolean): void {
  const list = writeList(c, src);
  if (list === null) return;
  if (list === undefined) return c.out.nil();
  moveElement(c, c.db, src, list, dst, fromLeft, toLeft);
}

/** Parsed LMPOP / BLMPOP arguments after numkeys. */
interface MpopArgs {
  keys: string[];
  front: boolean;
  count: number;
}

/** Redis's lmpopGenericCommand parsing from the numkeys argument at `at`; null after an error. */
function mpopArgsOrReply(c: Client, argv: string[], at: number): MpopArgs | null {
  const numkeys = atLeastOrReply(c, argv[at], 1, ERR_NUMKEYS);
  if (numkeys === null) return null;
  const sideAt = at + numkeys + 1;
  if (sideAt >= argv.length) {
    c.error(ERR_SYNTAX);
    return null;
  }
  const front = sideOrReply(c, argv[sideAt]);
  if (front === null) return null;
  let count = -1;
  for (let j = sideAt + 1; j < argv.length; j++) {
    if (count === -1 && argv[j].toLowerCase() === "count" && j + 1 < argv.length) {
      const v = atLeastOrReply(c, argv[++j], 1, ERR_COUNT_POSITIVE);
      if (v === null) return null;
      count = v;
    } else {
      c.error(ERR_SYNTAX);
      return null;
    }
  }
  return { keys: argv.slice(at + 1, sideAt), front, count: count === -1 ? 1 : count };
}

/**
 * The first non-empty list among `keys` (write lookups in order), undefined when none, null after
 * a WRONGTYPE reply (a wrong type before the first list stops the search, as in Redis).
 */
function firstList(c: Client, keys: readonly string[]): { key: string; list: ListValue } | undefined | null {
  for (const key of keys) {
    const list = writeList(c, key);
    if (list === null) return null;
    if (list !== undefined && list.length > 0) return { key, list };
  }
  return undefined;
}

/**
 * BLPOP / BRPOP (count -1: reply [key, element]) and BLMPOP (count > 0: reply [key, [elements]]):
 * Redis's blockingPopGenericCommand.
 */
function blockingPop(c: Client, keys: string[], front: boolean, timeoutText: string, count: number): void {
  const deadline = timeoutOrReply(c, timeoutText);
  if (deadline === null) return;
  const found = firstList(c, keys);
  if (found === null) return;
  if (found !== undefined) return servePop(c, c.db, found.key, found.list, front, count);
  if (!mayBlock(c)) return c.out.nilArray();
  blockUntilServed(c, keys, deadline, (db, key) => {
    const v = db.get(key);
    if (!(v instanceof ListValue) || v.length === 0) return false;
    servePop(c, db, key, v, front, count);
    return true;
  });
}

/** Pops for a blocking pop command, at once or when served. */
function servePop(c: Client, db: Db, key: string, list: ListValue, front: boolean, count: number): void {
  const popCommand = front ? "LPOP" : "RPOP";
  if (count !== -1) {
    const popped = Math.min(count, list.length);
    popWithKey(c, db, key, list, front, count);
    return replicateAs(db.id, [popCommand, key, String(popped)]);
  }
  replicateAs(db.id, [popCommand, key]);
  c.out.array(2);
  c.out.bulk(key);
  c.out.bulk((front ? list.popFront() : list.popBack())!);
  c.server.dirty++;
  listChanged(db, key, list, popEvent(front));
}

/** BLMOVE / BRPOPLPUSH once the arguments are parsed: Redis's blmoveGenericCommand. */
function blockingMove(
  c: Client,
  src: string,
  dst: string,
  fromLeft: boolean,
  toLeft: boolean,
  deadline: number,
  rpoplpush: boolean,
) {
  const list = writeList(c, src);
  if (list === null) return;
  // Replicated as the non-blocking form, as Redis does.
  const moveAndReplicate = (db: Db, list: ListValue) => {
    const before = c.server.dirty;
    moveElement(c, db, src, list, dst, fromLeft, toLeft);
    if (c.server.dirty === before) return;
    replicateAs(
      db.id,
      rpoplpush ? ["RPOPLPUSH", src, dst] : ["LMOVE", src, dst, fromLeft ? "LEFT" : "RIGHT", toLeft ? "LEFT" : "RIGHT"],
    );
  };
  if (list !== undefined) return moveAndReplicate(c.db, list);
  if (!mayBlock(c)) return c.out.nil();
  blockUntilServed(c, [src], deadline, (db, key) => {
    const v = db.get(key);
    if (!(v instanceof ListValue) || v.length === 0) return false;
    // A wrong-typed destination answers the error and unblocks the client, as in Redis.
    moveAndReplicate(db, v);
    return true;
  });
}

/** Normalised LRANGE bounds (Redis's addListRangeReply): [start, count], count 0 when empty. */
function rangeOf(start: number, end: number, length: number): [number, number] {
  if (start < 0) start += length;
  if (end < 0) end += length;
  if (start < 0) start = 0;
  if (start > end || start >= length) return [0, 0];
  if (end >= length) end = length - 1;
  return [start, end - start + 1];
}

export const listCommands: Record<string, Handler> = {
  lpush: (c, argv) => push(c, argv, true, false),
  rpush: (c, argv) => push(c, argv, false, false),
  lpushx: (c, argv) => push(c, argv, true, true),
  rpushx: (c, argv) => push(c, argv, false, true),
  lpop: (c, argv) => pop(c, argv, true),
  rpop: (c, argv) => pop(c, argv, false),

  llen(c, argv) {
    const list = readList(c, argv[1]);
    if (list !== null) c.out.int(list?.length ?? 0);
  },

  lindex(c, argv) {
    const list = readList(c, argv[1]);
    if (list === null) return;
    if (list === undefined) return c.out.nil();
    const index = longOrReply(c, argv[2]);
    if (index === null) return;
    const value = list.at(index);
    if (value === undefined) c.out.nil();
    else c.out.bulk(value);
  },

  lset(c, argv) {
    const key = argv[1];
    const list = writeList(c, key);
    if (list === null) return;
    if (list === undefined) return c.error(ERR_NO_SUCH_KEY);
    const index = longOrReply(c, argv[2]);
    if (index === null) return;
    if (!list.set(index, argv[3])) return c.error(ERR_INDEX_OUT_OF_RANGE);
    c.db.touchModified(key);
    c.server.dirty++;
    c.out.ok();
    notifyKeyspaceEvent(NOTIFY_LIST, "lset", key, c.db.id);
  },

  lrange(c, argv) {
    const start = longOrReply(c, argv[2]);
    if (start === null) return;
    const end = longOrReply(c, argv[3]);
    if (end === null) return;
    const list = readList(c, argv[1]);
    if (list === null) return;
    if (list === undefined) return c.out.array(0);
    const [from, count] = rangeOf(start, end, list.length);
    list.replyRange(from, count, c.out);
  },

  ltrim(c, argv) {
    const start = longOrReply(c, argv[2]);
    if (start === null) return;
    const end = longOrReply(c, argv[3]);
    if (end === null) return;
    const key = argv[1];
    const list = writeList(c, key);
    if (list === null) return;
    if (list === undefined) return c.out.ok();
    const length = list.length;
    const [from, count] = rangeOf(start, end, length);
    const left = count === 0 ? length : from;
    const right = count === 0 ? 0 : length - from - count;
    list.deleteFront(left);
    list.deleteBack(right);
    listChanged(c.db, key, list, "ltrim");
    c.server.dirty += left + right;
    c.out.ok();
  },

  lrem(c, argv) {
    const count = longOrReply(c, argv[2]);
    if (count === null) return;
    const key = argv[1];
    const list = writeList(c, key);
    if (list === null) return;
    if (list === undefined) return c.out.int(0);
    const removed = list.remove(argv[3], count);
    if (removed > 0) {
      listChanged(c.db, key, list, "lrem");
      c.server.dirty += removed;
    }
    c.out.int(removed);
  },

  linsert(c, argv) {
    const where = argv[2].toLowerCase();
    if (where !== "before" && where !== "after") return c.error(ERR_SYNTAX);
    const key = argv[1];
    const list = writeList(c, key);
    if (list === null) return;
    if (list === undefined) return c.out.int(0);
    if (!list.insert(argv[3], argv[4], where === "after")) return c.out.int(-1);
    c.db.touchModified(key);
    notifyKeyspaceEvent(NOTIFY_LIST, "linsert", key, c.db.id);
    c.server.dirty++;
    c.out.int(list.length);
  },

  lpos(c, argv) {
    let rank = 1;
    let rankLongMin = false;
    let count = -1; // -1: no COUNT option
    let maxlen = 0;
    for (let j = 3; j < argv.length; j++) {
      const opt = argv[j].toLowerCase();
      const more = j + 1 < argv.length;
      if (opt === "rank" && more) {
        const v = parseInt64(argv[++j]);
        if (v === null) return c.error(ERR_NOT_INTEGER);
        if (v === 0) return c.error(ERR_RANK_ZERO);
        rankLongMin = v === RANK_LONG_MIN;
        rank = Number(v);
      } else if (opt === "count" && more) {
        const v = atLeastOrReply(c, argv[++j], 0, ERR_COUNT_NEGATIVE);
        if (v === null) return;
        count = v;
      } else if (opt === "maxlen" && more) {
        const v = atLeastOrReply(c, argv[++j], 0, ERR_MAXLEN_NEGATIVE);
        if (v === null) return;
        maxlen = v;
      } else {
        return c.error(ERR_SYNTAX);
      }
    }
    const list = readList(c, argv[1]);
    if (list === null) return;
    if (list === undefined) return count === -1 ? c.out.nil() : c.out.array(0);
    let found: number[];
    if (rankLongMin) {
      // -LONG_MIN overflows: every match qualifies, from the tail, and COUNT never stops the scan.
      found = list.positions(argv[2], -1, count === -1 ? 1 : 0, maxlen);
    } else {
      found = list.positions(argv[2], rank, count === -1 ? 1 : count, maxlen);
    }
    if (count !== -1) {
      c.out.array(found.length);
      for (const index of found) c.out.int(index);
    } else if (found.length > 0) {
      c.out.int(found[0]);
    } else {
      c.out.nil();
    }
  },

  lmove(c, argv) {
    const fromLeft = sideOrReply(c, argv[3]);
    if (fromLeft === null) return;
    const toLeft = sideOrReply(c, argv[4]);
    if (toLeft === null) return;
    move(c, argv[1], argv[2], fromLeft, toLeft);
  },

  rpoplpush: (c, argv) => move(c, argv[1], argv[2], false, true),

  lmpop(c, argv) {
    const args = mpopArgsOrReply(c, argv, 1);
    if (args === null) return;
    const found = firstList(c, args.keys);
    if (found === null) return;
    if (found === undefined) return c.out.nilArray();
    servePop(c, c.db, found.key, found.list, args.front, args.count);
  },

  blpop: (c, argv) => blockingPop(c, argv.slice(1, -1), true, argv[argv.length - 1], -1),
  brpop: (c, argv) => blockingPop(c, argv.slice(1, -1), false, argv[argv.length - 1], -1),

  blmpop(c, argv) {
    const args = mpopArgsOrReply(c, argv, 2);
    if (args === null) return;
    blockingPop(c, args.keys, args.front, argv[1], args.count);
  },

  blmove(c, argv) {
    const fromLeft = sideOrReply(c, argv[3]);
    if (fromLeft === null) return;
    const toLeft = sideOrReply(c, argv[4]);
    if (toLeft === null) return;
    const deadline = timeoutOrReply(c, argv[5]);
    if (deadline === null) return;
    blockingMove(c, argv[1], argv[2], fromLeft, toLeft, deadline, false);
  },

  brpoplpush(c, argv) {
    const deadline = timeoutOrReply(c, argv[3]);
    if (deadline === null) return;
    blockingMove(c, argv[1], argv[2], false, true, deadline, true);
  },
};
