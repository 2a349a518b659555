/**
 * Keyspace notifications (`notify-keyspace-events`): Redis's notifyKeyspaceEvent. A command that
 * changes a key calls `notifyKeyspaceEvent(NOTIFY_LIST, "lpush", key, db.id)` after the change,
 * exactly where Redis's command calls it. Messages go to this node's subscribers only (channel and
 * pattern subscribers, RESP2 arrays or RESP3 pushes), never over the cluster bus, as in Redis.
 */
import type { Server } from "./server.ts";
import { publishMessage } from "./pubsub.ts";

/** Redis's NOTIFY_* event class bits (server.h), the same bits `notify-keyspace-events` parses to. */
export const NOTIFY_KEYSPACE = 1 << 0;
export const NOTIFY_KEYEVENT = 1 << 1;
export const NOTIFY_GENERIC = 1 << 2;
export const NOTIFY_STRING = 1 << 3;
export const NOTIFY_LIST = 1 << 4;
export const NOTIFY_SET = 1 << 5;
export const NOTIFY_HASH = 1 << 6;
export const NOTIFY_ZSET = 1 << 7;
export const NOTIFY_EXPIRED = 1 << 8;
export const NOTIFY_EVICTED = 1 << 9;
export const NOTIFY_STREAM = 1 << 10;
export const NOTIFY_KEY_MISS = 1 << 11;
export const NOTIFY_MODULE = 1 << 12;
export const NOTIFY_NEW = 1 << 13;

/** The enabled classes (`notify-keyspace-events` as bits); 0 keeps every call to one integer test. */
let enabled = 0;
/** The server whose subscribers receive the events (one server per process). */
let target: Server | null = null;

/**
 * Connects notifications to a server and its `notify-keyspace-events` value: called at start-up and
 * by CONFIG SET (the directive's apply hook), so a change takes effect with the next command.
 */
export function setKeyspaceEvents(server: Server, flags: number): void {
  target = server;
  enabled = flags;
}

/**
 * Publishes `event` for `key` of database `dbid` when its class is enabled: `__keyspace@<db>__:<key>`
 * with the event as message (class K), then `__keyevent@<db>__:<event>` with the key (class E).
 */
export function notifyKeyspaceEvent(type: number, event: string, key: string, dbid: number): void {
  if ((enabled & type) === 0) return;
  publishEvent(event, key, dbid);
}

function publishEvent(event: string, key: string, dbid: number): void {
  const server = target;
  if (server === null) return;
  if (enabled & NOTIFY_KEYSPACE) publishMessage(server, `__keyspace@${dbid}__:${key}`, event, false);
  if (enabled & NOTIFY_KEYEVENT) publishMessage(server, `__keyevent@${dbid}__:${event}`, key, false);
}

/** Runs `fn` with every event off: keys loaded from a snapshot into live databases are not announced (dbAddRDBLoad). */
export function withoutKeyspaceEvents(fn: () => void): void {
  const saved = enabled;
  enabled = 0;
  try {
    fn();
  } finally {
    enabled = saved;
  }
}
