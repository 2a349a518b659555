/**
 * Transactions: MULTI EXEC DISCARD WATCH UNWATCH, with Redis 7.0's WATCH rules for expiry
 * (a key already expired at WATCH time that is then deleted is no change).
 */
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import type { Db } from "../store/keyspace.ts";
import { unwatchAll } from "../server/server.ts";
import { call } from "../server/dispatch.ts";

/** Redis's shared EXECABORT reply (`shared.execaborterr`). */
const EXECABORT = "EXECABORT Transaction discarded because of previous errors.";

/** Leaves MULTI state and drops every WATCH (Redis's discardTransaction); RESET uses it too. */
export function discardTransaction(c: Client): void {
  c.multi = null;
  c.multiError = false;
  unwatchAll(c);
}

/** Watches one key of the client's current db (Redis's watchForKey); watching twice is a no-op. */
export function watchKey(c: Client, key: string): void {
  const db = c.db;
  let watchers = db.watched.get(key);
  if (watchers === undefined) {
    watchers = new Set();
    db.watched.set(key, watchers);
  } else if (watchers.has(c)) {
    return;
  }
  watchers.add(c);
  c.watched.push({ db, key, expiredAtWatch: db.isExpired(key) });
}

/**
 * A watched key was written, deleted or expired: marks its watchers dirty. A watcher that saw
 * the key already expired at WATCH time is not dirtied when the key is then removed (lazy or
 * active expiry, FLUSHDB): logically nothing changed; Redis 7.0 just clears that state.
 */
export function touchWatchedKey(db: Db, key: string): void {
  const watchers = db.watched.get(key);
  if (watchers === undefined) return;
  for (const w of watchers) {
    const c = w as Client;
    if (c.dirtyCas) continue;
    const entry = findWatch(c, db, key);
    if (entry !== undefined && entry.expiredAtWatch) {
      entry.expiredAtWatch = false;
      // Still (or again) holding a live value means it was overwritten: that is a change.
      if (!db.hasStored(key) || db.isExpired(key)) continue;
    }
    c.dirtyCas = true;
  }
}

function findWatch(c: Client, db: Db, key: string): Client["watched"][number] | undefined {
  for (const w of c.watched) if (w.key === key && w.db === db) return w;
  return undefined;
}

/** Whether a watched key's TTL passed since WATCH, deleted or not yet (Redis's isWatchedKeyExpired). */
function watchedKeyExpired(c: Client): boolean {
  if (c.watched.length === 0) return false;
  const now = Date.now();
  for (const w of c.watched) if (!w.expiredAtWatch && w.db.isExpired(w.key, now)) return true;
  return false;
}

/** MULTI EXEC DISCARD WATCH UNWATCH handlers. */
export const transactionCommands: Record<string, Handler> = {
  multi(c) {
    if (c.multi !== null) return c.error("ERR MULTI calls can not be nested");
    c.multi = [];
    c.multiError = false;
    c.out.ok();
  },

  exec(c) {
    const queue = c.multi;
    if (queue === null) return c.error("ERR EXEC without MULTI");
    if (!c.dirtyCas && watchedKeyExpired(c)) c.dirtyCas = true;
    if (c.multiError) {
      c.error(EXECABORT);
      return discardTransaction(c);
    }
    if (c.dirtyCas) {
      c.out.nilArray();
      return discardTransaction(c);
    }
    // Unwatch first, as Redis does, so the transaction's own writes do not walk the watchers.
    unwatchAll(c);
    c.out.array(queue.length);
    // c.multi stays set while the queue runs: CLIENT LIST shows `flags=x multi=N` inside EXEC.
    for (let i = 0; i < queue.length; i++) call(c, queue[i].cmd, queue[i].argv);
    discardTransaction(c);
  },

  discard(c) {
    if (c.multi === null) return c.error("ERR DISCARD without MULTI");
    discardTransaction(c);
    c.out.ok();
  },

  watch(c, argv) {
    if (c.multi !== null) return c.error("ERR WATCH inside MULTI is not allowed");
    for (let i = 1; i < argv.length; i++) watchKey(c, argv[i]);
    c.out.ok();
  },

  unwatch(c) {
    unwatchAll(c);
    c.out.ok();
  },
};
