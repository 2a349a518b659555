/**
 * nodes.conf on disk: read, write atomically (temp file, fsync, rename), and an exclusive lock held for the
 * life of the process so two nodes never share one file.
 *
 * Redis writes nodes.conf in place and locks the file itself; tessera replaces the file by rename, which gives
 * it a new inode and would drop a lock taken on the old one. So the lock is taken on a separate, never renamed
 * file beside it, `<path>.lock`, with flock semantics (`Deno.FsFile.tryLockSync`).
 */
import { writeFileAtomic, writeFileAtomicSync } from "../persistence/atomic_file.ts";
import { bytesToLatin1, latin1ToBytes } from "../resp/latin1.ts";
import { basename, dirname } from "node:path";

/** Suffix of the lock file kept beside nodes.conf. */
export const LOCK_FILE_SUFFIX = ".lock";

/** Result of `lockNodesConf`: the open lock file to keep, or the message Redis logs before exiting. */
export type NodesConfLock = { ok: true; file: Deno.FsFile } | { ok: false; message: string };

/**
 * Takes the exclusive, non-blocking lock for the nodes.conf at `path` (on `<path>.lock`). Keep the returned file
 * open for as long as the node runs; closing it (or exiting) releases the lock.
 */
export function lockNodesConf(path: string): NodesConfLock {
  const lockPath = path + LOCK_FILE_SUFFIX;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(lockPath, { read: true, write: true, create: true, mode: 0o644 });
  } catch (err) {
    return { ok: false, message: `Can't open ${lockPath} in order to acquire a lock: ${(err as Error).message}` };
  }
  try {
    if (file.tryLockSync(true)) return { ok: true, file };
    file.close();
    return {
      ok: false,
      message: `Sorry, the cluster configuration file ${path} is already used by a different Redis Cluster node. ` +
        "Please make sure that different nodes use different cluster configuration files.",
    };
  } catch (err) {
    file.close();
    return { ok: false, message: `Impossible to lock ${lockPath}: ${(err as Error).message}` };
  }
}

/**
 * Reads nodes.conf as latin1 text; null when the file is missing or empty (both mean "a new node").
 * Other errors are thrown (Redis logs "Loading the cluster node config from <path>: <error>" and exits).
 */
export function readNodesConf(path: string): string | null {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  return bytes.length === 0 ? null : bytesToLatin1(bytes);
}

/**
 * Replaces nodes.conf with `text` so that a crash at any point leaves either the old or the new file:
 * the text goes to `<path>.tmp-<pid>`, then renamed over `path`. With `fsync` the file and the directory are
 * fsynced too, so the change survives a power loss (Redis fsyncs only for epoch and role changes as well).
 * Throws on failure, leaving the old file untouched.
 */
export function writeNodesConfAtomic(path: string, text: string, fsync: boolean): void {
  writeFileAtomicSync(path, `${path}.tmp-${Deno.pid}`, latin1ToBytes(text), fsync);
}

/**
 * `writeNodesConfAtomic` off the main thread, through its own temp file `<path>.tmp-<pid>-bg`; dropped (resolves
 * false) when `stillNewest()` is false by the time the temp file is written.
 */
export function writeNodesConfInBackground(
  path: string,
  text: string,
  fsync: boolean,
  stillNewest: () => boolean,
): Promise<boolean> {
  return writeFileAtomic(path, `${path}.tmp-${Deno.pid}-bg`, latin1ToBytes(text), fsync, stillNewest);
}

/**
 * Deletes temp files a previous process left beside nodes.conf (`<path>.tmp-<pid>[-bg]`: it exited during a save).
 * Call it holding the lock, so that no other node is writing one.
 */
export function removeStaleTempFiles(path: string): void {
  const prefix = `${basename(path)}.tmp-`;
  const dir = dirname(path);
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.isFile && entry.name.startsWith(prefix)) Deno.removeSync(`${dir}/${entry.name}`);
    }
  } catch {
    // an unreadable directory fails the save that follows, with its own message
  }
}
