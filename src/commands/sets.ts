/**
 * Set commands with Redis 7.0's replies and errors: SADD SREM SMEMBERS SISMEMBER SMISMEMBER
 * SCARD SPOP SRANDMEMBER SMOVE SINTER SINTERCARD SUNION SDIFF and their STORE forms, SSCAN.
 * Orders follow Redis where it defines them (an intset iterates numerically); the algorithms
 * that decide a result's encoding follow t_set.c.
 */
import { alsoPropagate, preventPropagation, propagateAs, propagation } from "../replication/propagate.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import { difference, intersect, SetValue, union } from "../store/types/set.ts";
import { globMatch } from "../store/glob.ts";
import { INT64_MIN, parseInt64, parseInt64Number } from "../store/numbers.ts";
import { parseCursor, parseScanOptions } from "./scan.ts";
import { ERR_NOT_INTEGER, ERR_SYNTAX, ERR_WRONGTYPE } from "./errors.ts";
import { NOTIFY_GENERIC, NOTIFY_SET, notifyKeyspaceEvent } from "../server/keyspace_events.ts";

const ERR_NOT_POSITIVE = "ERR value is out of range, must be positive";
const ERR_SRANDMEMBER_RANGE =
  "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
const ERR_NUMKEYS = "ERR numkeys should be greater than 0";
const ERR_TOO_MANY_KEYS = "ERR Number of keys can't be greater than number of args";
const ERR_LIMIT_NEGATIVE = "ERR LIMIT can't be negative";
/** SPOP pops one by one while (size - count) * this > count, else it keeps a random rest (SPOP_MOVE_STRATEGY_MUL). */
const SPOP_MOVE_STRATEGY_MUL = 5;

/**
 * The set at `key` for a command: undefined when missing, null after replying WRONGTYPE.
 * `write` uses the write lookup (no keyspace hit/miss counting).
 */
function lookupSet(c: Client, key: string, write: boolean): SetValue | undefined | null {
  const v = write ? c.db.get(key) : c.db.lookupRead(key);
  if (v === undefined) return undefined;
  if (!(v instanceof SetValue)) {
    c.error(ERR_WRONGTYPE);
    return null;
  }
  return v;
}

/** Looks up every key for reading (each lookup counted, as Redis does); null after WRONGTYPE. */
function lookupSets(c: Client, keys: readonly string[]): (SetValue | undefined)[] | null {
  const sets: (SetValue | undefined)[] = [];
  let wrongType = false;
  for (const key of keys) {
    const v = c.db.lookupRead(key);
    if (v !== undefined && !(v instanceof SetValue)) {
      wrongType = true;
      break;
    }
    sets.push(v);
  }
  if (wrongType) {
    c.error(ERR_WRONGTYPE);
    return null;
  }
  return sets;
}

/** Parses a non-negative long (getPositiveLongFromObjectOrReply); `message` for any failure. */
function parsePositive(c: Client, text: string, message: string): number | null {
  const n = parseInt64Number(text);
  if (n === null || n < 0) {
    c.error(message);
    return null;
  }
  return n;
}

/** Replies members as a RESP3 set (an array in RESP2). */
function replySet(c: Client, members: readonly string[]): void {
  c.out.set(members.length);
  for (const m of members) c.out.bulk(m);
}

/**
 * After members were removed: announces `event` (unless null), then removes a key whose set became empty (with
 * its `del` event) or signals the in-place change (WATCH).
 */
function afterRemoval(c: Client, key: string, set: SetValue, event: string | null): void {
  if (event !== null) notifyKeyspaceEvent(NOTIFY_SET, event, key, c.db.id);
  if (set.size === 0) {
    c.db.delete(key);
    notifyKeyspaceEvent(NOTIFY_GENERIC, "del", key, c.db.id);
  } else {
    c.db.touchModified(key);
  }
}

/**
 * Stores a result set at `dest` (Redis's setKey: the TTL goes) and replies its size; an empty
 * result deletes `dest` instead and replies 0.
 */
function storeResult(c: Client, dest: string, result: SetValue, event: string): void {
  if (result.size > 0) {
    c.db.setKey(dest, result);
    c.server.dirty++;
    c.out.int(result.size);
    notifyKeyspaceEvent(NOTIFY_SET, event, dest, c.db.id);
    return;
  }
  c.out.int(0);
  if (c.db.delete(dest)) {
    c.server.dirty++;
    notifyKeyspaceEvent(NOTIFY_GENERIC, "del", dest, c.db.id);
  }
}

/** SINTER, SINTERSTORE, SINTERCARD and SMEMBERS (Redis's sinterGenericCommand). */
function sinterGeneric(c: Client, keys: readonly string[], dest: string | null, cardOnly: boolean, limit = 0): void {
  const sets = lookupSets(c, keys);
  if (sets === null) return;
  const present = sets.filter((s): s is SetValue => s !== undefined);
  const anyMissing = present.length < sets.length;
  const members = anyMissing ? [] : intersect(present, cardOnly ? limit : 0);
  if (dest !== null && anyMissing) {
    // Redis's early exit for a missing set: the destination goes (and is announced) before the reply.
    if (c.db.delete(dest)) {
      notifyKeyspaceEvent(NOTIFY_GENERIC, "del", dest, c.db.id);
      c.server.dirty++;
    }
    c.out.int(0);
    return;
  }
  if (cardOnly) c.out.int(members.length);
  else if (dest !== null) storeResult(c, dest, SetValue.fromMembers(members), "sinterstore");
  else replySet(c, members);
}

/** SUNION, SDIFF and their STORE forms (Redis's sunionDiffGenericCommand). */
function sunionDiffGeneric(c: Client, keys: readonly string[], dest: string | null, diff: boolean): void {
  const sets = lookupSets(c, keys);
  if (sets === null) return;
  const result = diff ? difference(sets) : union(sets);
  if (dest !== null) storeResult(c, dest, result, diff ? "sdiffstore" : "sunionstore");
  else replySet(c, result.members());
}

function spopWithCount(c: Client, argv: string[]): void {
  const key = argv[1];
  const count = parsePositive(c, argv[2], ERR_NOT_POSITIVE);
  if (count === null) return;
  const set = lookupSet(c, key, true);
  if (set === null) return;
  if (set === undefined || count === 0) return c.out.set(0);
  const size = set.size;
  notifyKeyspaceEvent(NOTIFY_SET, "spop", key, c.db.id);
  c.server.dirty += Math.min(count, size);
  if (count >= size) {
    // Redis replies through SUNION of the key alone (a read lookup, counted): the copy's
    // encoding decides the order.
    c.db.lookupRead(key);
    replySet(c, union([set]).members());
    c.db.delete(key);
    notifyKeyspaceEvent(NOTIFY_GENERIC, "del", key, c.db.id);
    if (propagation.active) propagateAs(["DEL", key]);
    return;
  }
  // Replicated as one SREM per popped member, as Redis 7.0 does.
  if (propagation.active) preventPropagation();
  if ((size - count) * SPOP_MOVE_STRATEGY_MUL > count) {
    c.out.set(count);
    for (let i = 0; i < count; i++) {
      const member = set.popRandom();
      c.out.bulk(member);
      if (propagation.active) alsoPropagate(c.db.id, ["SREM", key, member]);
    }
    c.db.touchModified(key);
    return;
  }
  // Most members go: move the random few that stay into a new set (encoded by its content) and
  // reply what is left of the old one, as Redis does.
  let kept: SetValue | null = null;
  for (let remaining = size - count; remaining > 0; remaining--) {
    const member = set.popRandom();
    kept ??= SetValue.forMember(member);
    kept.add(member);
  }
  const popped = set.members();
  replySet(c, popped);
  if (propagation.active) { for (const member of popped) alsoPropagate(c.db.id, ["SREM", key, member]); }
  c.db.update(key, kept!);
}

function srandmemberWithCount(c: Client, argv: string[]): void {
  const parsed = parseInt64(argv[2]);
  if (parsed === null) return c.error(ERR_NOT_INTEGER);
  if (parsed === INT64_MIN) return c.error(ERR_SRANDMEMBER_RANGE);
  const set = lookupSet(c, argv[1], false);
  if (set === null) return;
  if (set === undefined || parsed === 0) return c.out.array(0);
  const requested = Number(parsed);
  const size = set.size;
  if (requested < 0 || requested === 1) {
    // With repetitions (or a single pick): independent random picks.
    const count = Math.abs(requested);
    c.out.array(count);
    for (let i = 0; i < count; i++) c.out.bulk(set.random());
    return;
  }
  if (requested >= size) {
    c.out.bulkArray(set.members());
    return;
  }
  c.out.bulkArray(set.randomDistinct(requested));
}

export const setCommands: Record<string, Handler> = {
  sadd(c, argv) {
    const key = argv[1];
    let set = lookupSet(c, key, true);
    if (set === null) return;
    let added = 0;
    if (set === undefined) {
      set = SetValue.forMember(argv[2]);
      for (let j = 2; j < argv.length; j++) if (set.add(argv[j])) added++;
      c.db.set(key, set);
    } else {
      for (let j = 2; j < argv.length; j++) if (set.add(argv[j])) added++;
      if (added > 0) c.db.touchModified(key);
    }
    if (added > 0) notifyKeyspaceEvent(NOTIFY_SET, "sadd", key, c.db.id);
    c.server.dirty += added;
    c.out.int(added);
  },

  srem(c, argv) {
    const key = argv[1];
    const set = lookupSet(c, key, true);
    if (set === null) return;
    if (set === undefined) return c.out.int(0);
    let deleted = 0;
    for (let j = 2; j < argv.length && set.size > 0; j++) if (set.remove(argv[j])) deleted++;
    if (deleted > 0) {
      afterRemoval(c, key, set, "srem");
      c.server.dirty += deleted;
    }
    c.out.int(deleted);
  },

  smembers(c, argv) {
    sinterGeneric(c, [argv[1]], null, false);
  },

  sismember(c, argv) {
    const set = lookupSet(c, argv[1], false);
    if (set === null) return;
    c.out.int(set !== undefined && set.has(argv[2]) ? 1 : 0);
  },

  smismember(c, argv) {
    const set = lookupSet(c, argv[1], false);
    if (set === null) return;
    c.out.array(argv.length - 2);
    for (let j = 2; j < argv.length; j++) c.out.int(set !== undefined && set.has(argv[j]) ? 1 : 0);
  },

  scard(c, argv) {
    const set = lookupSet(c, argv[1], false);
    if (set === null) return;
    c.out.int(set === undefined ? 0 : set.size);
  },

  spop(c, argv) {
    if (argv.length === 3) return spopWithCount(c, argv);
    if (argv.length > 3) return c.error(ERR_SYNTAX);
    const key = argv[1];
    const set = lookupSet(c, key, true);
    if (set === null) return;
    if (set === undefined) return c.out.nil();
    const member = set.popRandom();
    // Redis announces the pop before its reply and the key's deletion after it.
    notifyKeyspaceEvent(NOTIFY_SET, "spop", key, c.db.id);
    c.out.bulk(member);
    afterRemoval(c, key, set, null);
    c.server.dirty++;
    if (propagation.active) propagateAs(["SREM", key, member]);
  },

  srandmember(c, argv) {
    if (argv.length === 3) return srandmemberWithCount(c, argv);
    if (argv.length > 3) return c.error(ERR_SYNTAX);
    const set = lookupSet(c, argv[1], false);
    if (set === null) return;
    if (set === undefined) return c.out.nil();
    c.out.bulk(set.random());
  },

  smove(c, argv) {
    const [, source, destination, member] = argv;
    const src = c.db.get(source);
    const dst = c.db.get(destination);
    if (src === undefined) return c.out.int(0);
    if (!(src instanceof SetValue) || (dst !== undefined && !(dst instanceof SetValue))) {
      return c.error(ERR_WRONGTYPE);
    }
    if (src === dst) return c.out.int(src.has(member) ? 1 : 0);
    if (!src.remove(member)) return c.out.int(0);
    afterRemoval(c, source, src, "srem");
    c.server.dirty++;
    let target = dst;
    if (target === undefined) {
      target = SetValue.forMember(member);
      target.add(member);
      c.db.set(destination, target);
      c.server.dirty++;
      notifyKeyspaceEvent(NOTIFY_SET, "sadd", destination, c.db.id);
    } else if (target.add(member)) {
      c.db.touchModified(destination);
      c.server.dirty++;
      notifyKeyspaceEvent(NOTIFY_SET, "sadd", destination, c.db.id);
    }
    c.out.int(1);
  },

  sinter(c, argv) {
    sinterGeneric(c, argv.slice(1), null, false);
  },

  sinterstore(c, argv) {
    sinterGeneric(c, argv.slice(2), argv[1], false);
  },

  sintercard(c, argv) {
    const numkeys = parseInt64Number(argv[1]);
    if (numkeys === null || numkeys < 1) return c.error(ERR_NUMKEYS);
    if (numkeys > argv.length - 2) return c.error(ERR_TOO_MANY_KEYS);
    let limit = 0;
    for (let j = 2 + numkeys; j < argv.length; j++) {
      if (argv[j].toLowerCase() === "limit" && j + 1 < argv.length) {
        const n = parsePositive(c, argv[++j], ERR_LIMIT_NEGATIVE);
        if (n === null) return;
        limit = n;
      } else {
        return c.error(ERR_SYNTAX);
      }
    }
    sinterGeneric(c, argv.slice(2, 2 + numkeys), null, true, limit);
  },

  sunion(c, argv) {
    sunionDiffGeneric(c, argv.slice(1), null, false);
  },

  sunionstore(c, argv) {
    sunionDiffGeneric(c, argv.slice(2), argv[1], false);
  },

  sdiff(c, argv) {
    sunionDiffGeneric(c, argv.slice(1), null, true);
  },

  sdiffstore(c, argv) {
    sunionDiffGeneric(c, argv.slice(2), argv[1], true);
  },

  sscan(c, argv) {
    const cursor = parseCursor(argv[2]);
    if (cursor === null) return c.error("ERR invalid cursor");
    const set = lookupSet(c, argv[1], false);
    if (set === null) return;
    if (set === undefined) {
      c.out.array(2);
      c.out.bulk("0");
      c.out.array(0);
      return;
    }
    const options = parseScanOptions(c, argv, 3, false);
    if (options === null) return;
    let next = 0;
    let found: readonly string[];
    if (set.isIntset) {
      // Redis returns a whole intset in one call.
      found = set.members();
    } else {
      const step = set.scanStep(cursor > BigInt(set.size) ? set.size : Number(cursor), options.count);
      next = step.cursor;
      found = step.members;
    }
    const { pattern } = options;
    const members = pattern === null ? found : found.filter((m) => globMatch(pattern, m));
    c.out.array(2);
    c.out.bulk(String(next));
    c.out.bulkArray(members);
  },
};
