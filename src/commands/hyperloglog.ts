/**
 * HyperLogLog commands with Redis 7.0's replies: PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST. Values
 * are plain strings in Redis's HLL format (src/store/hyperloglog.ts), so GET/SET move them
 * between tessera and redis-server. Every command that edits a stored HLL leaves it a `raw`
 * string, as Redis's dbUnshareStringValue does.
 */
import { NOTIFY_STRING, notifyKeyspaceEvent } from "../server/keyspace_events.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import { ENC_RAW, type Value } from "../store/keyspace.ts";
import {
  cachedCard,
  cardReply,
  decodeSparse,
  denseRegisters,
  estimateFromHistogram,
  Hll,
  HLL_DENSE,
  HLL_REGISTERS,
  HLL_SPARSE,
  hllAdd,
  hllCount,
  hllSelfTest,
  isDenseString,
  isHllString,
  mergeInto,
  raiseRegisters,
  rawHistogram,
  sparseToDense,
} from "../store/hyperloglog.ts";
import { ERR_WRONGTYPE } from "./errors.ts";

const ERR_NOT_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const ERR_INVALID_HLL = "INVALIDOBJ Corrupted HLL object detected";
const ERR_NO_KEY = "ERR The specified key does not exist";
const ERR_NOT_SPARSE = "ERR HLL encoding is not sparse";

/** The largest sparse HLL before promotion to dense (bytes, header included). */
function sparseMaxBytes(c: Client): number {
  return c.server.config.num("hll-sparse-max-bytes");
}

/** Redis's isHLLObjectOrReply: the value as an HLL string, or null after replying the error. */
function hllOrReply(c: Client, v: Value): string | null {
  if (typeof v !== "string") {
    c.error(ERR_WRONGTYPE);
    return null;
  }
  if (!isHllString(v)) {
    c.error(ERR_NOT_HLL);
    return null;
  }
  return v;
}

/**
 * Stores an existing key's HLL after a command worked on it: Redis edits a `raw` copy in place
 * (keeping the TTL), so the key is rewritten when `changed` holds new bytes or it was not raw yet.
 */
function storeExisting(c: Client, key: string, before: string, changed: Hll | null): void {
  if (changed !== null) c.db.update(key, changed.toString(), ENC_RAW);
  else if (c.db.encodingHint(key) !== ENC_RAW) c.db.updateQuietly(key, before, ENC_RAW);
}

/** PFADD key [element ...]. */
function pfadd(c: Client, argv: string[]): void {
  const key = argv[1];
  const v = c.db.get(key);
  let before: string | null = null;
  let hll: Hll;
  let updated = 0;
  if (v === undefined) {
    hll = Hll.create();
    updated++;
  } else {
    before = hllOrReply(c, v);
    if (before === null) return;
    hll = Hll.fromString(before);
  }
  const maxBytes = sparseMaxBytes(c);
  let corrupt = false;
  for (let j = 2; j < argv.length; j++) {
    const result = hllAdd(hll, argv[j], maxBytes);
    if (result === 1) updated++;
    else if (result === -1) {
      corrupt = true;
      break;
    }
  }
  if (!corrupt && updated > 0) hll.invalidateCache();
  if (before === null) c.db.set(key, hll.toString(), false, undefined, ENC_RAW);
  else storeExisting(c, key, before, updated > 0 ? hll : null);
  if (corrupt) return c.error(ERR_INVALID_HLL);
  if (updated > 0) notifyKeyspaceEvent(NOTIFY_STRING, "pfadd", key, c.db.id);
  c.server.dirty += updated;
  c.out.int(updated > 0 ? 1 : 0);
}

/**
 * Merges the HLLs at `keys` into 16384 byte registers (missing keys count as empty). Returns
 * null after replying an error; `dense` tells whether any input was dense.
 */
function mergeKeys(c: Client, keys: string[]): { max: Uint8Array; dense: boolean } | null {
  const max = new Uint8Array(HLL_REGISTERS);
  let dense = false;
  for (const key of keys) {
    const v = c.db.lookupRead(key);
    if (v === undefined) continue;
    const s = hllOrReply(c, v);
    if (s === null) return null;
    if (isDenseString(s)) dense = true;
    if (!mergeInto(max, Hll.fromString(s, 1))) {
      c.error(ERR_INVALID_HLL);
      return null;
    }
  }
  return { max, dense };
}

/** PFCOUNT key [key ...]: one key uses (and refreshes) the cached cardinality. */
function pfcount(c: Client, argv: string[]): void {
  if (argv.length > 2) {
    const merged = mergeKeys(c, argv.slice(1));
    if (merged === null) return;
    c.out.int(cardReply(estimateFromHistogram(rawHistogram(merged.max))));
    return;
  }
  const key = argv[1];
  const v = c.db.lookupRead(key);
  if (v === undefined) return c.out.int(0);
  const s = hllOrReply(c, v);
  if (s === null) return;
  const cached = cachedCard(s);
  if (cached !== null) {
    storeExisting(c, key, s, null);
    return c.out.int(cached);
  }
  const hll = Hll.fromString(s, 1);
  const card = hllCount(hll);
  if (card === null) {
    storeExisting(c, key, s, null);
    return c.error(ERR_INVALID_HLL);
  }
  hll.setCachedCard(card);
  c.db.update(key, hll.toString(), ENC_RAW);
  c.server.dirty++;
  c.out.int(cardReply(card));
}

/** PFMERGE destkey [sourcekey ...]: the destination is one of the inputs. */
function pfmerge(c: Client, argv: string[]): void {
  const merged = mergeKeys(c, argv.slice(1));
  if (merged === null) return;
  const key = argv[1];
  const v = c.db.get(key);
  // The destination was validated as an HLL while merging.
  const before = v === undefined ? null : v as string;
  const hll = before === null ? Hll.create() : Hll.fromString(before);
  if (merged.dense && !sparseToDense(hll)) {
    if (before === null) c.db.set(key, hll.toString(), false, undefined, ENC_RAW);
    else storeExisting(c, key, before, null);
    return c.error(ERR_INVALID_HLL);
  }
  raiseRegisters(hll, merged.max, sparseMaxBytes(c));
  hll.invalidateCache();
  if (before === null) c.db.set(key, hll.toString(), false, undefined, ENC_RAW);
  else c.db.update(key, hll.toString(), ENC_RAW);
  // Redis announces a merge as a PFADD (a mass add of elements).
  notifyKeyspaceEvent(NOTIFY_STRING, "pfadd", key, c.db.id);
  c.server.dirty++;
  c.out.ok();
}

/** The subcommand as Redis's `%s` prints it (a C string ends at the first NUL byte). */
function cString(s: string): string {
  const nul = s.indexOf("\0");
  return nul === -1 ? s : s.slice(0, nul);
}

/** PFDEBUG GETREG|DECODE|ENCODING|TODENSE key. */
function pfdebug(c: Client, argv: string[]): void {
  const sub = argv[1];
  const key = argv[2];
  const v = c.db.get(key);
  if (v === undefined) return c.error(ERR_NO_KEY);
  const s = hllOrReply(c, v);
  if (s === null) return;
  const hll = Hll.fromString(s, 1);
  switch (sub.toLowerCase()) {
    case "getreg": {
      if (hll.encoding === HLL_SPARSE) {
        if (!sparseToDense(hll)) {
          storeExisting(c, key, s, null);
          return c.error(ERR_INVALID_HLL);
        }
        c.server.dirty++;
        storeExisting(c, key, s, hll);
      } else {
        storeExisting(c, key, s, null);
      }
      const regs = denseRegisters(hll);
      c.out.raw(`*${HLL_REGISTERS}\r\n:${regs.join("\r\n:")}\r\n`);
      return;
    }
    case "decode":
      storeExisting(c, key, s, null);
      if (hll.encoding !== HLL_SPARSE) return c.error(ERR_NOT_SPARSE);
      return c.out.bulk(decodeSparse(hll));
    case "encoding":
      storeExisting(c, key, s, null);
      return c.out.simple(hll.encoding === HLL_DENSE ? "dense" : "sparse");
    case "todense": {
      let converted = false;
      if (hll.encoding === HLL_SPARSE) {
        if (!sparseToDense(hll)) {
          storeExisting(c, key, s, null);
          return c.error(ERR_INVALID_HLL);
        }
        converted = true;
        c.server.dirty++;
      }
      storeExisting(c, key, s, converted ? hll : null);
      return c.out.int(converted ? 1 : 0);
    }
    default:
      storeExisting(c, key, s, null);
      return c.error(`ERR Unknown PFDEBUG subcommand '${cString(sub)}'`);
  }
}

/** PFSELFTEST: Redis's internal consistency and accuracy test. */
function pfselftest(c: Client): void {
  const failure = hllSelfTest(sparseMaxBytes(c));
  if (failure === null) c.out.ok();
  else c.error(failure);
}

export const hyperloglogCommands: Record<string, Handler> = {
  pfadd,
  pfcount,
  pfmerge,
  pfdebug,
  pfselftest,
};
