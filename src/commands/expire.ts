/** Expiry commands: EXPIRE PEXPIRE EXPIREAT PEXPIREAT (NX XX GT LT), TTL PTTL EXPIRETIME PEXPIRETIME, PERSIST. */
import { propagateAs, propagation } from "../replication/propagate.ts";
import { expiryControl } from "../store/keyspace.ts";
import { NOTIFY_GENERIC, notifyKeyspaceEvent } from "../server/keyspace_events.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import { INT64_MAX, INT64_MIN, parseInt64 } from "../store/numbers.ts";
import { ERR_NOT_INTEGER, errInvalidExpire } from "./errors.ts";

const EXPIRE_NX = 1;
const EXPIRE_XX = 2;
const EXPIRE_GT = 4;
const EXPIRE_LT = 8;

/** Redis's parseExtendedExpireArgumentsOrReply: NX XX GT LT, or null after the error. */
function parseExpireFlags(c: Client, argv: string[]): number | null {
  let flags = 0;
  for (let j = 3; j < argv.length; j++) {
    const opt = argv[j].toLowerCase();
    if (opt === "nx") flags |= EXPIRE_NX;
    else if (opt === "xx") flags |= EXPIRE_XX;
    else if (opt === "gt") flags |= EXPIRE_GT;
    else if (opt === "lt") flags |= EXPIRE_LT;
    else {
      c.error(`ERR Unsupported option ${argv[j]}`);
      return null;
    }
  }
  if (flags & EXPIRE_NX && flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT)) {
    c.error("ERR NX and XX, GT or LT options at the same time are not compatible");
    return null;
  }
  if (flags & EXPIRE_GT && flags & EXPIRE_LT) {
    c.error("ERR GT and LT options at the same time are not compatible");
    return null;
  }
  return flags;
}

/**
 * Redis's expireGenericCommand. `relative`: the argument counts from now; `seconds`: its unit.
 * A time in the past deletes the key.
 */
function expireGeneric(c: Client, argv: string[], relative: boolean, seconds: boolean): void {
  const command = argv[0].toLowerCase();
  const flags = parseExpireFlags(c, argv);
  if (flags === null) return;
  const parsed = parseInt64(argv[2]);
  if (parsed === null) return c.error(ERR_NOT_INTEGER);
  let when: number;
  const now = Date.now();
  if (typeof parsed === "number" && Number.isSafeInteger(parsed * 1000 + now)) {
    when = (seconds ? parsed * 1000 : parsed) + (relative ? now : 0);
  } else {
    let w = BigInt(parsed);
    if (seconds) {
      if (w > INT64_MAX / 1000n || w < INT64_MIN / 1000n) return c.error(errInvalidExpire(command));
      w *= 1000n;
    }
    const base = relative ? BigInt(now) : 0n;
    if (w > INT64_MAX - base) return c.error(errInvalidExpire(command));
    when = Number(w + base);
  }
  const key = argv[1];
  const db = c.db;
  if (db.get(key) === undefined) return c.out.int(0);
  if (flags !== 0) {
    const current = db.getExpire(key);
    if (flags & EXPIRE_NX && current !== -1) return c.out.int(0);
    if (flags & EXPIRE_XX && current === -1) return c.out.int(0);
    // No TTL counts as an infinite one: GT always fails, LT always succeeds.
    if (flags & EXPIRE_GT && (when <= current || current === -1)) return c.out.int(0);
    if (flags & EXPIRE_LT && current !== -1 && when >= current) return c.out.int(0);
  }
  // A replica keeps a key its master expired in the past: the master's DEL follows.
  if (when <= Date.now() && !expiryControl.replica) {
    db.delete(key);
    notifyKeyspaceEvent(NOTIFY_GENERIC, "del", key, db.id);
    if (propagation.active) propagateAs([c.server.config.bool("lazyfree-lazy-expire") ? "UNLINK" : "DEL", key]);
    c.server.dirty++;
    c.out.int(1);
    return;
  }
  db.setExpire(key, when);
  if (propagation.active && command !== "pexpireat") propagateAs(["PEXPIREAT", key, String(when), ...argv.slice(3)]);
  c.server.dirty++;
  c.out.int(1);
  // After the reply, as Redis's expireGenericCommand (a RESP3 client subscribed to itself sees that order).
  notifyKeyspaceEvent(NOTIFY_GENERIC, "expire", key, db.id);
}

/** Redis's ttlGenericCommand: -2 missing, -1 no TTL; relative or absolute, in s or ms. */
function ttlGeneric(c: Client, key: string, ms: boolean, absolute: boolean): void {
  if (c.db.lookupRead(key, false) === undefined) return c.out.int(-2);
  const expire = c.db.getExpire(key);
  if (expire === -1) return c.out.int(-1);
  let ttl = absolute ? expire : expire - Date.now();
  if (ttl < 0) ttl = 0;
  c.out.int(ms ? ttl : Math.floor((ttl + 500) / 1000));
}

export const expireCommands: Record<string, Handler> = {
  expire(c, argv) {
    expireGeneric(c, argv, true, true);
  },
  pexpire(c, argv) {
    expireGeneric(c, argv, true, false);
  },
  expireat(c, argv) {
    expireGeneric(c, argv, false, true);
  },
  pexpireat(c, argv) {
    expireGeneric(c, argv, false, false);
  },
  ttl(c, argv) {
    ttlGeneric(c, argv[1], false, false);
  },
  pttl(c, argv) {
    ttlGeneric(c, argv[1], true, false);
  },
  expiretime(c, argv) {
    ttlGeneric(c, argv[1], false, true);
  },
  pexpiretime(c, argv) {
    ttlGeneric(c, argv[1], true, true);
  },
  persist(c, argv) {
    if (c.db.get(argv[1]) === undefined) return c.out.int(0);
    if (!c.db.persist(argv[1])) return c.out.int(0);
    notifyKeyspaceEvent(NOTIFY_GENERIC, "persist", argv[1], c.db.id);
    c.server.dirty++;
    c.out.int(1);
  },
};
