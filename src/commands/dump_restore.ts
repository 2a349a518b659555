/** DUMP and RESTORE (Redis 7.0's DUMP payload: RDB value + version + CRC64). */
import { NOTIFY_GENERIC, notifyKeyspaceEvent } from "../server/keyspace_events.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import { ENC_AUTO } from "../store/keyspace.ts";
import { accessClock } from "../store/access_clock.ts";
import { parseInt64 } from "../store/numbers.ts";
import { latin1ToBytes } from "../resp/latin1.ts";
import { dumpPayloadView } from "../persistence/rdb_writer.ts";
import { parseDumpPayload, RdbError, verifyDumpPayload } from "../persistence/rdb_reader.ts";
import { ERR_NOT_INTEGER, ERR_SYNTAX } from "./errors.ts";
import { propagateAs, propagation } from "../replication/propagate.ts";

/** Redis's LRU_CLOCK_MAX (24-bit clock). */
const LRU_CLOCK_MAX = (1 << 24) - 1;
const ERR_BUSYKEY = "BUSYKEY Target key name already exists.";

/** getLongLongFromObjectOrReply: the value, or null after replying the error. */
function longLongOrReply(c: Client, text: string): number | null {
  const v = parseInt64(text);
  if (v === null) {
    c.error(ERR_NOT_INTEGER);
    return null;
  }
  return Number(v);
}

/**
 * Redis's objectSetLRUOrLFU for RESTORE's IDLETIME / FREQ: the access field to store, or
 * undefined to give the key a fresh one (also when no LRU/LFU policy tracks access).
 */
function restoredAccess(freq: number, idle: number, lruClock: number): number | undefined {
  if (!accessClock.tracking) return undefined;
  if (accessClock.lfu) {
    if (freq < 0) return undefined;
    return ((Math.floor(Date.now() / 60000) & 65535) << 8) | freq;
  }
  if (idle < 0) return undefined;
  let abs = lruClock - idle;
  if (abs < 0) abs = (lruClock + Math.floor(LRU_CLOCK_MAX / 2)) % LRU_CLOCK_MAX;
  return abs;
}

/** RESTORE / RESTORE-ASKING (Redis's restoreCommand). */
function restore(c: Client, argv: string[]): void {
  let replace = false;
  let absttl = false;
  let freq = -1;
  let idle = -1;
  let lruClock = -1;
  for (let j = 4; j < argv.length; j++) {
    const opt = argv[j].toLowerCase();
    const additional = argv.length - j - 1;
    if (opt === "replace") {
      replace = true;
    } else if (opt === "absttl") {
      absttl = true;
    } else if (opt === "idletime" && additional >= 1 && freq === -1) {
      const v = longLongOrReply(c, argv[j + 1]);
      if (v === null) return;
      if (v < 0) return c.error("ERR Invalid IDLETIME value, must be >= 0");
      idle = v;
      lruClock = accessClock.lru;
      j++;
    } else if (opt === "freq" && additional >= 1 && idle === -1) {
      const v = longLongOrReply(c, argv[j + 1]);
      if (v === null) return;
      if (v < 0 || v > 255) return c.error("ERR Invalid FREQ value, must be >= 0 and <= 255");
      freq = v;
      j++;
    } else {
      return c.error(ERR_SYNTAX);
    }
  }
  const key = argv[1];
  const db = c.db;
  if (!replace && db.get(key) !== undefined) return c.error(ERR_BUSYKEY);
  let ttl = longLongOrReply(c, argv[2]);
  if (ttl === null) return;
  if (ttl < 0) return c.error("ERR Invalid TTL value, must be >= 0");
  const payload = latin1ToBytes(argv[3]);
  if (!verifyDumpPayload(payload)) return c.error("ERR DUMP payload version or checksum are wrong");
  let value;
  try {
    value = parseDumpPayload(payload);
  } catch (err) {
    if (!(err instanceof RdbError)) throw err;
    return c.error("ERR Bad data format");
  }
  const deleted = replace && db.delete(key);
  if (ttl !== 0 && !absttl) ttl += Date.now();
  // An already-expired TTL creates nothing on a master (a replica keeps what its master sends).
  if (ttl !== 0 && ttl <= Date.now() && c.server.role() === "master") {
    if (deleted) {
      c.server.dirty++;
      notifyKeyspaceEvent(NOTIFY_GENERIC, "del", key, db.id);
      if (propagation.active) propagateAs(["DEL", key]);
    }
    return c.out.ok();
  }
  db.putEntry(key, {
    value,
    hint: ENC_AUTO,
    access: restoredAccess(freq, idle, lruClock),
    expire: ttl === 0 ? -1 : ttl,
  });
  // Replicas get the absolute expire time, as Redis rewrites the command.
  if (ttl !== 0 && !absttl && propagation.active) propagateAs([argv[0], key, String(ttl), ...argv.slice(3), "ABSTTL"]);
  notifyKeyspaceEvent(NOTIFY_GENERIC, "restore", key, db.id);
  c.server.dirty++;
  c.out.ok();
}

/** Handlers by command name. */
export const dumpRestoreCommands: Record<string, Handler> = {
  dump(c, argv) {
    const value = c.db.lookupRead(argv[1]);
    if (value === undefined) return c.out.nil();
    c.out.bulkBytes(dumpPayloadView(value));
  },
  restore: restore,
  "restore-asking": restore,
};
