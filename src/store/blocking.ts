/**
 * Clients blocked on keys (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP, the zset pops, XREAD and
 * XREADGROUP), as Redis 7.0's blocked.c:
 * - a FIFO queue of waiters per (db, key): the client that blocked first is served first;
 * - keys are made "ready" by the writes that create them (`signalKeyReady`, in order), and by a
 *   sweep after commands that can move a value into place without knowing about waiters
 *   (RENAME, COPY, MOVE, SWAPDB, RESTORE ...);
 * - after each top-level command (EXEC included: never inside a transaction), `afterCommand`
 *   serves the ready keys, the waiters of each key in queue order while the key can serve them.
 *   A served BLMOVE may create its destination, which makes that key ready in the same loop.
 * A blocked client's read loop waits on `client.waitFor` (the promise CLIENT PAUSE uses too); it
 * resumes when the waiter is served, times out or is unblocked, and then sends the reply the
 * waiter wrote into its output buffer.
 */
import type { Client } from "../server/client.ts";
import type { Db } from "./keyspace.ts";
import { parseLongDouble } from "./long_double.ts";
import { CMD_WRITE, type Command } from "../commands/table.ts";

/** Longest delay one timer may have (setTimeout fires at once beyond 2^31-1 ms): longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Bytes asked of each read of a blocked client. */
const PROBE_CHUNK_BYTES = 16 * 1024;

/**
 * Commands after which every blocked key is checked: they can create keys in other databases or
 * keys that are not among their arguments (or, for EXEC, their arguments are in the queue).
 */
const SWEEP_ALL_COMMANDS = new Set([
  "exec",
  "swapdb",
  "move",
  "copy",
  "eval",
  "evalsha",
  "evalsha_ro",
  "eval_ro",
  "fcall",
  "fcall_ro",
  // Deleted keys matter too: XREADGROUP waiters are told their stream is gone.
  "flushall",
  "flushdb",
]);

/** What a blocking command leaves behind to be served later. */
export interface WaiterSpec {
  /** Keys waited on, in the command's order (duplicates are ignored). */
  keys: readonly string[];
  /** Deadline in unix ms, or 0 to wait forever. */
  deadline: number;
  /**
   * Tries to serve the client from `key` of its db: writes the reply into the client's output
   * and returns true, or returns false when the key cannot serve anyone now (missing, empty,
   * wrong type): later waiters of that key are then not tried either.
   */
  serve(key: string): boolean;
  /** Writes the reply for a timeout (or CLIENT UNBLOCK ... TIMEOUT). */
  timedOut(): void;
}

/** A blocked client. */
interface Waiter extends WaiterSpec {
  readonly client: Client;
  readonly db: Db;
  done: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  resolve: () => void;
}

/** Waiters per db and key, in blocking order. */
const queues = new Map<Db, Map<string, Waiter[]>>();
/** The waiter of each blocked client. */
const waiters = new Map<Client, Waiter>();
/** Blocked (or just unblocked) clients with a read of `watchConnection` in flight. */
const reading = new Set<Client>();
/** Keys signalled since the last serving loop, in order; `readySet` dedupes them per db. */
let ready: { db: Db; key: string }[] = [];
const readySet = new Map<Db, Set<string>>();

/** Whether any client waits on `key` of `db`. */
export function hasWaiters(db: Db, key: string): boolean {
  return queues.get(db)?.has(key) ?? false;
}

/** Whether the client may block: not inside MULTI/EXEC (Redis's CLIENT_DENY_BLOCKING). */
export function mayBlock(c: Client): boolean {
  return c.multi === null;
}

/**
 * Blocks a pop or move until one of `keys` (in the client's db) can serve it: `take(db, key)` pops
 * and replies, or returns false when the key holds nothing for it (missing, empty, another type).
 * A timeout replies a null array, as every blocking pop and move does in Redis.
 */
export function blockUntilServed(c: Client, keys: string[], deadline: number, take: (db: Db, key: string) => boolean) {
  const db = c.db;
  blockOnKeys(c, { keys, deadline, serve: (key) => take(db, key), timedOut: () => c.out.nilArray() });
}

/**
 * Blocks the client on keys of its current db until `spec.serve` succeeds, the deadline passes
 * or the client is unblocked. The client's read loop waits meanwhile (`c.waitFor`).
 */
export function blockOnKeys(c: Client, spec: WaiterSpec): void {
  const db = c.db;
  let resolve!: () => void;
  c.waitFor = new Promise<void>((r) => resolve = r);
  const w: Waiter = { ...spec, client: c, db, done: false, timer: undefined, resolve };
  waiters.set(c, w);
  let perKey = queues.get(db);
  if (perKey === undefined) queues.set(db, perKey = new Map());
  const seen = new Set<string>();
  for (const key of spec.keys) {
    if (seen.has(key)) continue;
    seen.add(key);
    const queue = perKey.get(key);
    if (queue === undefined) perKey.set(key, [w]);
    else queue.push(w);
  }
  if (spec.deadline !== 0) armTimer(w);
  watchConnection(c);
}

/**
 * Keeps reading a blocked client, as Redis does: bytes it sends go to its parser (run after the
 * wait), and end of stream (or a connection closed by CLIENT KILL) ends its wait without popping
 * anything. The read loop takes over a read still pending when the wait ends (`pendingRead`).
 */
function watchConnection(c: Client): void {
  // A settled read left for the loop carries no new bytes (they are in the parser): replace it.
  if (reading.has(c) || c.closed) return;
  reading.add(c);
  const scratch = new Uint8Array(PROBE_CHUNK_BYTES);
  // Once the wait is over the promise stays in `pendingRead` until the read loop takes it, so bytes
  // fed after the loop finished parsing are not left waiting for more input.
  const read: Promise<number | null> = c.conn.read(scratch).catch(() => null).then((n) => {
    reading.delete(c);
    const blocked = waiters.get(c);
    if (n === null) {
      if (blocked !== undefined) {
        finish(blocked);
        c.close();
      }
      return null;
    }
    c.parser.feed(scratch.subarray(0, n));
    c.server.stats.netInputBytes += n;
    c.lastInteraction = Date.now();
    if (blocked !== undefined && c.pendingRead === read) {
      c.pendingRead = null;
      watchConnection(c);
    }
    return 0;
  });
  c.pendingRead = read;
}

function armTimer(w: Waiter): void {
  const delay = Math.max(0, w.deadline - Date.now());
  w.timer = setTimeout(() => {
    w.timer = undefined;
    if (w.done) return;
    if (w.deadline > Date.now()) return armTimer(w);
    finish(w);
    if (!w.client.closed) w.timedOut();
  }, Math.min(delay, MAX_TIMER_MS));
}

/** Removes a waiter from every queue and lets its client's read loop go on. */
function finish(w: Waiter): void {
  w.done = true;
  if (w.timer !== undefined) clearTimeout(w.timer);
  waiters.delete(w.client);
  const perKey = queues.get(w.db);
  if (perKey !== undefined) {
    for (const key of w.keys) {
      const queue = perKey.get(key);
      if (queue === undefined) continue;
      const at = queue.indexOf(w);
      if (at !== -1) queue.splice(at, 1);
      if (queue.length === 0) perKey.delete(key);
    }
    if (perKey.size === 0) queues.delete(w.db);
  }
  w.resolve();
}

/**
 * Unblocks a client blocked on keys (CLIENT UNBLOCK, RESET, a closed connection): with `reply`
 * "timeout" it gets its timeout reply, with "error" the UNBLOCKED error, with "none" nothing.
 * Returns whether it was blocked.
 */
export function unblockClient(c: Client, reply: "timeout" | "error" | "none"): boolean {
  const w = waiters.get(c);
  if (w === undefined) return false;
  finish(w);
  if (reply === "timeout") w.timedOut();
  else if (reply === "error") c.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
  return true;
}

/** Marks a key as ready when clients wait on it (a write created it); served after the command. */
export function signalKeyReady(db: Db, key: string): void {
  if (!hasWaiters(db, key)) return;
  let keys = readySet.get(db);
  if (keys === undefined) readySet.set(db, keys = new Set());
  if (keys.has(key)) return;
  keys.add(key);
  ready.push({ db, key });
}

/**
 * Runs after each top-level command (dispatch): while clients are blocked, finds keys the
 * command may have filled and serves their waiters.
 */
export function afterCommand(c: Client, cmd: Command, argv: string[]): void {
  if (waiters.size === 0) return;
  if (SWEEP_ALL_COMMANDS.has(cmd.fullname)) {
    // Missing keys too: a waiter may answer for a deleted key (XREADGROUP), the others decline.
    for (const [db, perKey] of queues) for (const key of perKey.keys()) signalKeyReady(db, key);
  } else if ((cmd.flags & CMD_WRITE) !== 0) {
    const perKey = queues.get(c.db);
    if (perKey !== undefined) {
      for (let i = 1; i < argv.length; i++) if (perKey.has(argv[i])) signalKeyReady(c.db, argv[i]);
    }
  }
  if (ready.length > 0) serveReadyKeys();
}

/** Serves the waiters of every ready key, including keys made ready while serving. */
export function serveReadyKeys(): void {
  while (ready.length > 0) {
    const batch = ready;
    ready = [];
    readySet.clear();
    for (const { db, key } of batch) serveKey(db, key);
  }
}

/** Serves the waiters of one key in FIFO order, each one that the key's value can serve. */
function serveKey(db: Db, key: string): void {
  const queue = queues.get(db)?.get(key);
  if (queue === undefined) return;
  // Serving changes the queue (finish removes the waiter): walk a copy.
  for (const w of queue.slice()) {
    if (w.done) continue;
    if (w.client.closed) {
      finish(w);
      continue;
    }
    // A waiter for another type (BLPOP on a key that became a sorted set) is skipped, as in Redis;
    // once the key is empty or gone every later waiter declines too.
    if (!w.serve(key)) continue;
    finish(w);
  }
}

const ERR_TIMEOUT_NOT_FLOAT = "ERR timeout is not a float or out of range";
const ERR_TIMEOUT_NEGATIVE = "ERR timeout is negative";
/** Timeouts of 2^63 ms or more are refused, as Redis's long long milliseconds. */
const TIMEOUT_MS_LIMIT = 2 ** 63;

/**
 * Redis's getTimeoutFromObjectOrReply in seconds: the deadline in unix ms, 0 for none, null
 * after an error. The value is parsed as a long double, times 1000, truncated toward zero.
 */
export function timeoutOrReply(c: Client, text: string): number | null {
  const v = parseLongDouble(text);
  if (v === null) {
    c.error(ERR_TIMEOUT_NOT_FLOAT);
    return null;
  }
  const ms = v.inf ? Infinity : Math.trunc(Number(v.m) * 2 ** v.e * 1000) * (v.neg ? -1 : 1);
  if (!(Math.abs(ms) < TIMEOUT_MS_LIMIT) || ms < 0) {
    c.error(ERR_TIMEOUT_NEGATIVE);
    return null;
  }
  return ms > 0 ? Date.now() + ms : 0;
}
