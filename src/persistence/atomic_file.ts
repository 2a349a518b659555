/**
 * Atomic file replacement for every state file (dump.rdb, nodes.conf): the bytes go to a temp file
 * beside the target, which is fsynced and renamed over it, so a crash at any point leaves either the
 * old or the new file; a durable write also fsyncs the file and the directory, so it survives a power loss.
 */
import { dirname } from "node:path";

/**
 * Writes `bytes` to `path` atomically through `tmpPath`; throws on failure (the old file stays). With `durable` the
 * file and the directory are fsynced (power-loss safe); without, the rename still keeps a process crash atomic.
 */
export function writeFileAtomicSync(path: string, tmpPath: string, bytes: Uint8Array, durable = true): void {
  let created = false;
  try {
    const file = Deno.openSync(tmpPath, { write: true, create: true, truncate: true, mode: 0o644 });
    created = true;
    try {
      let written = 0;
      while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
      // The data must be on disk before the rename makes it the file.
      if (durable) file.syncSync();
    } finally {
      file.close();
    }
    Deno.renameSync(tmpPath, path);
  } catch (err) {
    if (created) {
      try {
        Deno.removeSync(tmpPath);
      } catch {
        // already renamed or gone
      }
    }
    throw err;
  }
  if (durable) syncDirectory(dirname(path));
}

/**
 * The asynchronous twin of `writeFileAtomicSync` (BGSAVE, nodes.conf saved in the background): the temp file is written
 * (and fsynced when `durable`) by async ops, off the main thread. The rename is synchronous and happens only if
 * `stillNewest()` says no later write has replaced the file meanwhile, so renames land in the order writes began.
 * Resolves true when the file was replaced, false when the write was dropped as stale.
 */
export async function writeFileAtomic(
  path: string,
  tmpPath: string,
  bytes: Uint8Array,
  durable = true,
  stillNewest: () => boolean = () => true,
): Promise<boolean> {
  try {
    const file = await Deno.open(tmpPath, { write: true, create: true, truncate: true, mode: 0o644 });
    try {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      if (durable) await file.sync();
    } finally {
      file.close();
    }
    if (!stillNewest()) {
      await Deno.remove(tmpPath).catch(() => {});
      return false;
    }
    Deno.renameSync(tmpPath, path);
  } catch (err) {
    await Deno.remove(tmpPath).catch(() => {});
    throw err;
  }
  if (durable) await syncDirectoryAsync(dirname(path));
  return true;
}

/** The asynchronous twin of `syncDirectory`. */
async function syncDirectoryAsync(dir: string): Promise<void> {
  try {
    const handle = await Deno.open(dir, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  } catch {
    // the rename has happened anyway
  }
}

/** fsyncs a directory so that a rename inside it survives a power loss (some file systems refuse: ignored). */
export function syncDirectory(dir: string): void {
  try {
    const handle = Deno.openSync(dir, { read: true });
    try {
      handle.syncSync();
    } finally {
      handle.close();
    }
  } catch {
    // the rename has happened anyway
  }
}
