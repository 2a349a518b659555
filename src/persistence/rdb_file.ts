/**
 * dump.rdb on disk: SAVE (synchronous), BGSAVE (encoded at once, written asynchronously), loading
 * at start-up and by DEBUG RELOAD, and the counters INFO persistence reports. Files are replaced
 * atomically (temp file, fsync, rename, fsync of the directory), so a crash leaves the old file.
 */
import { dirname } from "node:path";
import type { Server } from "../server/server.ts";
import { Db } from "../store/keyspace.ts";
import { logger } from "../log.ts";
import { encodeRdb } from "./rdb_writer.ts";
import { loadRdb, type RdbLoadResult } from "./rdb_reader.ts";
import { writeFileAtomic, writeFileAtomicSync } from "./atomic_file.ts";
import { withoutKeyspaceEvents } from "../server/keyspace_events.ts";

/** Save and load status of this process (one server per process, like Redis's server.* fields). */
export const persistenceState = {
  /** A BGSAVE write is in flight. */
  bgsaveInProgress: false,
  /** Unix ms when the running BGSAVE started. */
  bgsaveStartedMs: 0,
  /** Outcome of the last save (rdb_last_bgsave_status). */
  lastSaveOk: true,
  /** Seconds the last BGSAVE took, -1 before the first. */
  lastBgsaveSeconds: -1,
  /** Saves started (rdb_saves). */
  saves: 0,
  /** Keys loaded / dropped as expired by the last load. */
  lastLoadKeysLoaded: 0,
  lastLoadKeysExpired: 0,
  /** AUX fields of the last loaded file (repl-id, repl-offset... for the replication code). */
  lastLoadAux: new Map<string, string>(),
};

/** The RDB file path: `dbfilename`, relative to the working directory that `dir` selected. */
export function rdbPath(server: Server): string {
  return server.config.str("dbfilename");
}

/** Name of the temp file a save writes first (Redis's temp-<pid>.rdb). */
function tempPath(path: string, tag: string): string {
  const dir = dirname(path);
  return `${dir === "." ? "" : dir + "/"}temp-${tag}-${Deno.pid}.rdb`;
}

function savedNow(server: Server, dirtyBefore: number): void {
  server.dirty = Math.max(0, server.dirty - dirtyBefore);
  server.lastSave = Math.floor(Date.now() / 1000);
  persistenceState.lastSaveOk = true;
}

/** SAVE: writes the dataset now; returns whether it worked (failures are logged). */
export function saveRdbSync(server: Server): boolean {
  persistenceState.saves++;
  const path = rdbPath(server);
  const dirtyBefore = server.dirty;
  try {
    writeFileAtomicSync(path, tempPath(path, "save"), encodeRdb(server.dbs, {}));
  } catch (err) {
    logger.warning(`Failed saving the DB: ${(err as Error).message}`);
    persistenceState.lastSaveOk = false;
    return false;
  }
  logger.notice("DB saved on disk");
  savedNow(server, dirtyBefore);
  return true;
}

/**
 * BGSAVE: encodes the dataset now (a consistent snapshot) and writes it in the background.
 * Returns false when the encoding failed; the write's outcome lands in `persistenceState`.
 * `done` (tests, DEBUG) resolves when the write is over.
 */
export function startBgsave(server: Server): { started: boolean; done: Promise<void> } {
  persistenceState.saves++;
  const path = rdbPath(server);
  const dirtyBefore = server.dirty;
  let bytes: Uint8Array;
  try {
    bytes = encodeRdb(server.dbs, {});
  } catch (err) {
    logger.warning(`Can't save in background: ${(err as Error).message}`);
    persistenceState.lastSaveOk = false;
    return { started: false, done: Promise.resolve() };
  }
  persistenceState.bgsaveInProgress = true;
  persistenceState.bgsaveStartedMs = Date.now();
  logger.notice(`Background saving started by pid ${Deno.pid}`);
  const done = writeFileAtomic(path, tempPath(path, "bgsave"), bytes).then(() => {
    logger.notice("DB saved on disk");
    logger.notice("Background saving terminated with success");
    savedNow(server, dirtyBefore);
  }, (err) => {
    logger.warning(`Background saving error: ${(err as Error).message}`);
    persistenceState.lastSaveOk = false;
  }).finally(() => {
    persistenceState.bgsaveInProgress = false;
    persistenceState.lastBgsaveSeconds = Math.round((Date.now() - persistenceState.bgsaveStartedMs) / 1000);
  });
  return { started: true, done };
}

/**
 * Loads RDB bytes into the server's databases: parsed into fresh databases first, so corrupt input
 * leaves the dataset untouched; then swapped in (`merge` false: the old keys are dropped) or merged
 * (existing keys replaced). Throws RdbError on corrupt input.
 */
export function loadRdbIntoServer(server: Server, bytes: Uint8Array, merge = false): RdbLoadResult {
  const fresh = server.dbs.map((db) => new Db(db.id, server));
  const result = loadRdb(bytes, fresh, server.role() !== "master");
  for (let i = 0; i < fresh.length; i++) {
    if (!merge) {
      server.dbs[i].swapContents(fresh[i]);
      continue;
    }
    withoutKeyspaceEvents(() => {
      for (const key of fresh[i].keys()) {
        const entry = fresh[i].entry(key);
        if (entry !== undefined) server.dbs[i].putEntry(key, entry);
      }
    });
  }
  persistenceState.lastLoadKeysLoaded = result.keys;
  persistenceState.lastLoadKeysExpired = result.expired;
  persistenceState.lastLoadAux = result.aux;
  return result;
}

/** Logs what a load found, as Redis does. */
export function logLoad(result: RdbLoadResult, seconds: number): void {
  const version = result.aux.get("redis-ver");
  if (version !== undefined) logger.notice(`Loading RDB produced by version ${version}`);
  const ctime = Number(result.aux.get("ctime"));
  if (Number.isFinite(ctime)) logger.notice(`RDB age ${Math.floor(Date.now() / 1000) - ctime} seconds`);
  const usedMem = Number(result.aux.get("used-mem"));
  if (Number.isFinite(usedMem)) logger.notice(`RDB memory usage when created ${(usedMem / 1048576).toFixed(2)} Mb`);
  if (result.functionsSkipped > 0) {
    logger.warning(`Skipped ${result.functionsSkipped} function libraries (functions are not supported)`);
  }
  if (result.emptySkipped > 0) logger.warning(`Skipped ${result.emptySkipped} empty keys`);
  logger.notice(`Done loading RDB, keys loaded: ${result.keys}, keys expired: ${result.expired}.`);
  logger.notice(`DB loaded from disk: ${seconds.toFixed(3)} seconds`);
}

/**
 * Start-up: loads `dir/dbfilename` when it exists. Returns false (after logging why) when the file
 * exists but cannot be read or is corrupt: the caller must stop, never start empty.
 */
export function loadRdbAtStartup(server: Server): boolean {
  const path = rdbPath(server);
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return true;
    logger.warning(`Fatal error loading the DB: ${(err as Error).message}. Exiting.`);
    return false;
  }
  const started = performance.now();
  try {
    const result = loadRdbIntoServer(server, bytes);
    logLoad(result, (performance.now() - started) / 1000);
  } catch (err) {
    logger.warning(`Internal error in RDB reading ${path}: ${(err as Error).message}`);
    logger.warning("Terminating server after rdb file reading failure.");
    return false;
  }
  return true;
}
