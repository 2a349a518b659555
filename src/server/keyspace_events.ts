/**
 * Keyspace notifications (`notify-keyspace-events`): Redis's notifyKeyspaceEvent. A command that
 * changes a key calls `notifyKeyspaceEvent(NOTIFY_LIST, "lpush", key, db.id)` after the change,
 * exactly where Redis's command calls it.
 *
 * STUB: the notification task implements the body; the constants and signature are final.
 */

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

/** Publishes `event` for `key` of database `dbid` when its class is enabled (no-op until implemented). */
export function notifyKeyspaceEvent(_type: number, _event: string, _key: string, _dbid: number): void {
}
