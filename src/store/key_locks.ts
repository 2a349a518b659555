/**
 * Keys held by a MIGRATE in flight. Redis's MIGRATE blocks the whole server, so nobody can touch a
 * key between its RESTORE on the target and its deletion here; tessera's MIGRATE waits for the
 * target without blocking, so instead the writes that name a held key wait until it is released
 * (dispatch checks `keyLocks.count` first: nothing is done while no key is held).
 */
import type { Client } from "../server/client.ts";
import type { Db } from "./keyspace.ts";
import { CMD_WRITE, type Command, commandKeyPositions } from "../commands/table.ts";

/** Held keys per db, with how many holders each has. */
const held = new Map<Db, Map<string, number>>();
/** Resolved (and replaced) whenever keys are released: waiting commands then try again. */
let released: Promise<void> | null = null;
let resolveReleased: (() => void) | null = null;

/** Number of held keys (0: dispatch skips the check). */
export const keyLocks = { count: 0 };

/** Holds `keys` of `db`; returns the function that releases them (once). */
export function lockKeys(db: Db, keys: readonly string[]): () => void {
  let perKey = held.get(db);
  if (perKey === undefined) held.set(db, perKey = new Map());
  for (const key of keys) {
    perKey.set(key, (perKey.get(key) ?? 0) + 1);
    keyLocks.count++;
  }
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const map = held.get(db)!;
    for (const key of keys) {
      const n = map.get(key)! - 1;
      if (n === 0) map.delete(key);
      else map.set(key, n);
      keyLocks.count--;
    }
    if (map.size === 0) held.delete(db);
    const resolve = resolveReleased;
    released = null;
    resolveReleased = null;
    resolve?.();
  };
}

/** Whether a command that may write names a held key (reads go on: the key is still here, unchanged). */
function touchesHeldKey(db: Db, cmd: Command, argv: string[]): boolean {
  if ((cmd.flags & CMD_WRITE) === 0) return false;
  const perKey = held.get(db);
  if (perKey === undefined) return false;
  for (const i of commandKeyPositions(cmd, argv)) if (perKey.has(argv[i])) return true;
  return false;
}

/**
 * The promise a command must wait for before it runs, or null when it is no write naming a held key
 * of the client's db (EXEC: any of its queued commands; commands queued inside MULTI never wait).
 */
export function keyLockWait(c: Client, cmd: Command, argv: string[]): Promise<void> | null {
  if (c.multi !== null) {
    if (cmd.fullname !== "exec") return null;
    if (!c.multi.some((q) => touchesHeldKey(c.db, q.cmd, q.argv))) return null;
  } else if (!touchesHeldKey(c.db, cmd, argv)) {
    return null;
  }
  if (released === null) released = new Promise((resolve) => resolveReleased = resolve);
  return released;
}
