/**
 * Generic key commands: DEL UNLINK EXISTS TYPE TOUCH RENAME RENAMENX COPY MOVE SWAPDB KEYS
 * RANDOMKEY DBSIZE FLUSHDB FLUSHALL. Expiry commands are in expire.ts, SCAN in scan.ts, OBJECT
 * in object.ts.
 */
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import type { Db } from "../store/keyspace.ts";
import { globMatch } from "../store/glob.ts";
import { NOTIFY_GENERIC, notifyKeyspaceEvent } from "../server/keyspace_events.ts";
import { parseInt64 } from "../store/numbers.ts";
import { ERR_DB_RANGE, ERR_NO_SUCH_KEY, ERR_NOT_INTEGER, ERR_SAME_OBJECT, ERR_SYNTAX } from "./errors.ts";

/**
 * Redis's getIntFromObjectOrReply: a 32-bit int, or null after replying the error (`msg`
 * replaces both the parse and the range error when given, as in Redis).
 */
export function intArgOrReply(c: Client, text: string, msg?: string): number | null {
  const v = parseInt64(text);
  if (v === null) {
    c.error(msg ?? ERR_NOT_INTEGER);
    return null;
  }
  if (typeof v === "bigint" || v < -2147483648 || v > 2147483647) {
    c.error(msg ?? "ERR value is out of range, value must between -2147483648 and 2147483647");
    return null;
  }
  return v;
}

/** The database with index `id`, or undefined when out of range. */
function dbById(c: Client, id: number): Db | undefined {
  return id >= 0 && id < c.server.dbs.length ? c.server.dbs[id] : undefined;
}

function clusterEnabled(c: Client): boolean {
  return c.server.config.bool("cluster-enabled");
}

/** The name TYPE prints for a value. */
export function typeName(v: unknown): string {
  return v === undefined ? "none" : typeof v === "string" ? "string" : (v as { type: string }).type;
}

/** Deep copy of a value for COPY: strings are immutable, other types clone themselves. */
function copyValue<T>(v: T): T {
  if (typeof v === "string") return v;
  const clone = (v as { clone?: () => T }).clone;
  return clone ? clone.call(v) : structuredClone(v);
}

/** RENAME / RENAMENX (Redis's renameGenericCommand): the value keeps its TTL and access data. */
function rename(c: Client, argv: string[], nx: boolean): void {
  const [, src, dst] = argv;
  const db = c.db;
  // lookupKeyWrite touches the source before its entry (access field included) is taken.
  if (db.get(src) === undefined) return c.error(ERR_NO_SUCH_KEY);
  const entry = db.entry(src)!;
  if (src === dst) return nx ? c.out.int(0) : c.out.ok();
  if (db.get(dst) !== undefined) {
    if (nx) return c.out.int(0);
    db.delete(dst);
  }
  db.putEntry(dst, entry);
  db.delete(src);
  notifyKeyspaceEvent(NOTIFY_GENERIC, "rename_from", src, db.id);
  notifyKeyspaceEvent(NOTIFY_GENERIC, "rename_to", dst, db.id);
  c.server.dirty++;
  if (nx) c.out.int(1);
  else c.out.ok();
}

/** FLUSHDB / FLUSHALL argument check (Redis's getFlushCommandFlags). */
function flushArgsOk(c: Client, argv: string[]): boolean {
  if (argv.length === 1) return true;
  const mode = argv[1].toLowerCase();
  if (argv.length === 2 && (mode === "sync" || mode === "async")) return true;
  c.error(ERR_SYNTAX);
  return false;
}

export const keyCommands: Record<string, Handler> = {
  del(c, argv) {
    let deleted = 0;
    for (let i = 1; i < argv.length; i++) {
      if (!c.db.delete(argv[i])) continue;
      notifyKeyspaceEvent(NOTIFY_GENERIC, "del", argv[i], c.db.id);
      deleted++;
    }
    c.server.dirty += deleted;
    c.out.int(deleted);
  },
  unlink(c, argv) {
    let deleted = 0;
    for (let i = 1; i < argv.length; i++) {
      if (!c.db.delete(argv[i])) continue;
      notifyKeyspaceEvent(NOTIFY_GENERIC, "del", argv[i], c.db.id);
      deleted++;
    }
    c.server.dirty += deleted;
    c.out.int(deleted);
  },
  exists(c, argv) {
    let n = 0;
    for (let i = 1; i < argv.length; i++) if (c.db.lookupRead(argv[i], false) !== undefined) n++;
    c.out.int(n);
  },
  touch(c, argv) {
    let n = 0;
    for (let i = 1; i < argv.length; i++) if (c.db.lookupRead(argv[i]) !== undefined) n++;
    c.out.int(n);
  },
  type(c, argv) {
    c.out.simple(typeName(c.db.lookupRead(argv[1], false)));
  },
  rename(c, argv) {
    rename(c, argv, false);
  },
  renamenx(c, argv) {
    rename(c, argv, true);
  },
  copy(c, argv) {
    const src = c.db;
    let dst = c.db;
    let replace = false;
    for (let j = 3; j < argv.length; j++) {
      const opt = argv[j].toLowerCase();
      if (opt === "replace") replace = true;
      else if (opt === "db" && j + 1 < argv.length) {
        const id = intArgOrReply(c, argv[++j]);
        if (id === null) return;
        const target = dbById(c, id);
        if (target === undefined) return c.error(ERR_DB_RANGE);
        dst = target;
      } else {
        return c.error(ERR_SYNTAX);
      }
    }
    if (clusterEnabled(c) && (src.id !== 0 || dst.id !== 0)) {
      return c.error("ERR Copying to another database is not allowed in cluster mode");
    }
    const [, key, newKey] = argv;
    if (src === dst && key === newKey) return c.error(ERR_SAME_OBJECT);
    const value = src.lookupRead(key);
    if (value === undefined) return c.out.int(0);
    const entry = src.entry(key)!;
    if (dst.get(newKey) !== undefined) {
      if (!replace) return c.out.int(0);
      dst.delete(newKey);
    }
    // dupStringObject keeps the encoding; the copy is a new object with a fresh access clock.
    dst.set(newKey, copyValue(value), false, entry.expire === -1 ? undefined : entry.expire, src.encodingHint(key));
    notifyKeyspaceEvent(NOTIFY_GENERIC, "copy_to", newKey, dst.id);
    c.server.dirty++;
    c.out.int(1);
  },
  move(c, argv) {
    if (clusterEnabled(c)) return c.error("ERR MOVE is not allowed in cluster mode");
    const src = c.db;
    const id = intArgOrReply(c, argv[2]);
    if (id === null) return;
    const dst = dbById(c, id);
    if (dst === undefined) return c.error(ERR_DB_RANGE);
    if (src === dst) return c.error(ERR_SAME_OBJECT);
    const key = argv[1];
    if (src.get(key) === undefined) return c.out.int(0);
    if (dst.get(key) !== undefined) return c.out.int(0);
    dst.putEntry(key, src.entry(key)!);
    src.delete(key);
    notifyKeyspaceEvent(NOTIFY_GENERIC, "move_from", key, src.id);
    notifyKeyspaceEvent(NOTIFY_GENERIC, "move_to", key, dst.id);
    c.server.dirty++;
    c.out.int(1);
  },
  swapdb(c, argv) {
    if (clusterEnabled(c)) return c.error("ERR SWAPDB is not allowed in cluster mode");
    const id1 = intArgOrReply(c, argv[1], "ERR invalid first DB index");
    if (id1 === null) return;
    const id2 = intArgOrReply(c, argv[2], "ERR invalid second DB index");
    if (id2 === null) return;
    const a = dbById(c, id1);
    const b = dbById(c, id2);
    if (a === undefined || b === undefined) return c.error(ERR_DB_RANGE);
    if (a !== b) a.swapContents(b);
    c.server.dirty++;
    c.out.ok();
  },
  keys(c, argv) {
    const pattern = argv[1];
    const all = pattern === "*";
    const db = c.db;
    const now = Date.now();
    const found: string[] = [];
    for (const key of db.keys()) {
      if ((all || globMatch(pattern, key)) && !db.isExpired(key, now)) found.push(key);
    }
    c.out.bulkArray(found);
  },
  randomkey(c) {
    const db = c.db;
    while (true) {
      const key = db.randomKeyCandidate();
      if (key === undefined) return c.out.nil();
      if (db.peek(key) !== undefined) return c.out.bulk(key);
    }
  },
  dbsize(c) {
    c.out.int(c.db.size);
  },
  flushdb(c, argv) {
    if (!flushArgsOk(c, argv)) return;
    c.server.dirty += c.db.flush();
    c.out.ok();
  },
  flushall(c, argv) {
    if (!flushArgsOk(c, argv)) return;
    for (const db of c.server.dbs) c.server.dirty += db.flush();
    c.out.ok();
  },
};
