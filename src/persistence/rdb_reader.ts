/**
 * The RDB reader (rdb.md): whole files (start-up, DEBUG RELOAD, full syncs) and DUMP payloads.
 * Accepts everything Redis 7.0.15 writes plus the older forms it still loads (ziplists, type 1/3,
 * quicklist of ziplists). Every length is checked against the bytes left before anything is
 * allocated, so corrupt input ends in an RdbError, never a crash, a hang or a huge allocation.
 */
import type { Db, Value } from "../store/keyspace.ts";
import { ListValue } from "../store/types/list.ts";
import { HashValue } from "../store/types/hash.ts";
import { SetValue } from "../store/types/set.ts";
import { strtod, ZSetValue } from "../store/types/zset.ts";
import { typeLimits } from "../store/types/limits.ts";
import { bytesToLatin1, latin1Slice, latin1View } from "../resp/latin1.ts";
import { Crc64 } from "./crc64.ts";
import { lzfDecompress } from "./lzf.ts";
import { decodeListpack } from "./listpack.ts";
import { decodeIntset } from "./intset.ts";
import { decodeZiplist } from "./ziplist.ts";
import { readStreamValue } from "./rdb_stream.ts";
import {
  QUICKLIST_NODE_PACKED,
  QUICKLIST_NODE_PLAIN,
  RDB_OPCODE_AUX,
  RDB_OPCODE_EOF,
  RDB_OPCODE_EXPIRETIME,
  RDB_OPCODE_EXPIRETIME_MS,
  RDB_OPCODE_FREQ,
  RDB_OPCODE_FUNCTION,
  RDB_OPCODE_FUNCTION2,
  RDB_OPCODE_IDLE,
  RDB_OPCODE_MODULE_AUX,
  RDB_OPCODE_RESIZEDB,
  RDB_OPCODE_SELECTDB,
  RDB_TYPE_HASH,
  RDB_TYPE_HASH_LISTPACK,
  RDB_TYPE_HASH_ZIPLIST,
  RDB_TYPE_HASH_ZIPMAP,
  RDB_TYPE_LIST,
  RDB_TYPE_LIST_QUICKLIST,
  RDB_TYPE_LIST_QUICKLIST_2,
  RDB_TYPE_LIST_ZIPLIST,
  RDB_TYPE_MODULE,
  RDB_TYPE_MODULE_2,
  RDB_TYPE_SET,
  RDB_TYPE_SET_INTSET,
  RDB_TYPE_STREAM_LISTPACKS,
  RDB_TYPE_STREAM_LISTPACKS_2,
  RDB_TYPE_STRING,
  RDB_TYPE_ZSET,
  RDB_TYPE_ZSET_2,
  RDB_TYPE_ZSET_LISTPACK,
  RDB_TYPE_ZSET_ZIPLIST,
  RDB_VERSION,
} from "./rdb_writer.ts";

/** A corrupt or unsupported RDB file or payload. */
export class RdbError extends Error {}

/** What loading a file found. */
export interface RdbLoadResult {
  /** AUX fields (redis-ver, repl-id, ...). */
  aux: Map<string, string>;
  /** Keys loaded. */
  keys: number;
  /** Keys dropped because their TTL had passed (master loading). */
  expired: number;
  /** Empty values skipped (Redis logs and skips them too). */
  emptySkipped: number;
  /** Function libraries skipped (tessera has no functions). */
  functionsSkipped: number;
  /** The file's RDB version. */
  version: number;
}

/** Error text RESTORE answers for any payload that does not parse. */
export const ERR_BAD_DATA_FORMAT = "Bad data format";
/** LZF expands at most this much (a 3-byte back-reference copies 264 bytes). */
const LZF_MAX_EXPANSION = 88;
/** Bytes of the DUMP footer: RDB version (2) + CRC64 (8). */
const DUMP_FOOTER_BYTES = 10;
/** Module opcodes inside module data (RDB_MODULE_OPCODE_*). */
const MODULE_OPCODE_EOF = 0;
const MODULE_OPCODE_SINT = 1;
const MODULE_OPCODE_UINT = 2;
const MODULE_OPCODE_FLOAT = 3;
const MODULE_OPCODE_DOUBLE = 4;
const MODULE_OPCODE_STRING = 5;

/** A bounds-checked cursor over RDB bytes. */
class RdbInput {
  pos = 0;
  readonly view: ReturnType<typeof latin1View>;
  readonly dv: DataView;

  constructor(readonly b: Uint8Array, readonly end = b.length) {
    this.view = latin1View(b);
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  fail(what: string): never {
    throw new RdbError(`${what} (offset ${this.pos})`);
  }

  get left(): number {
    return this.end - this.pos;
  }

  need(n: number): void {
    if (n > this.end - this.pos) this.fail("Unexpected end of data");
  }

  u8(): number {
    this.need(1);
    return this.b[this.pos++];
  }

  /** A length, or a special string encoding (returned as -1 - encoding). */
  lenOrEncoding(): number {
    const first = this.u8();
    const kind = first >> 6;
    if (kind === 0) return first & 0x3f;
    if (kind === 1) return ((first & 0x3f) << 8) | this.u8();
    if (kind === 3) return -1 - (first & 0x3f);
    if (first === 0x80) {
      this.need(4);
      const v = this.dv.getUint32(this.pos, false);
      this.pos += 4;
      return v;
    }
    if (first === 0x81) {
      this.need(8);
      const v = this.dv.getBigUint64(this.pos, false);
      this.pos += 8;
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail("Length out of range");
      return Number(v);
    }
    return this.fail("Unknown length encoding");
  }

  len(): number {
    const n = this.lenOrEncoding();
    if (n < 0) this.fail("Unexpected string encoding where a length was expected");
    return n;
  }

  /** A count of items that each take at least one byte: bounded by what is left. */
  count(): number {
    const n = this.len();
    if (n > this.left) this.fail("Count larger than the data");
    return n;
  }

  /** A string as bytes (INT forms as their decimal text, LZF decompressed). */
  stringBytes(): Uint8Array {
    const n = this.lenOrEncoding();
    if (n >= 0) {
      this.need(n);
      const out = this.b.subarray(this.pos, this.pos + n);
      this.pos += n;
      return out;
    }
    const enc = -1 - n;
    if (enc <= 2) return new TextEncoder().encode(this.intString(enc));
    if (enc === 3) return this.lzf();
    return this.fail("Unknown string encoding");
  }

  /** A string as a latin1 JS string. */
  string(): string {
    const n = this.lenOrEncoding();
    if (n >= 0) {
      this.need(n);
      const s = latin1Slice(this.view, this.pos, this.pos + n);
      this.pos += n;
      return s;
    }
    const enc = -1 - n;
    if (enc <= 2) return this.intString(enc);
    if (enc === 3) return bytesToLatin1(this.lzf());
    return this.fail("Unknown string encoding");
  }

  private intString(enc: number): string {
    const bytes = 1 << enc;
    this.need(bytes);
    const at = this.pos;
    this.pos += bytes;
    if (enc === 0) return String(this.dv.getInt8(at));
    if (enc === 1) return String(this.dv.getInt16(at, true));
    return String(this.dv.getInt32(at, true));
  }

  private lzf(): Uint8Array {
    const clen = this.len();
    const len = this.len();
    this.need(clen);
    if (len === 0 || len > clen * LZF_MAX_EXPANSION) this.fail("Invalid LZF compressed string");
    const out = lzfDecompress(this.b.subarray(this.pos, this.pos + clen), len);
    if (out === null) this.fail("Invalid LZF compressed string");
    this.pos += clen;
    return out;
  }

  /** 8-byte little-endian IEEE double (ZSET_2). */
  binaryDouble(): number {
    this.need(8);
    const d = this.dv.getFloat64(this.pos, true);
    this.pos += 8;
    return d;
  }

  /** The old string double (type 3): length byte, text, or 253/254/255 for nan/inf/-inf. */
  stringDouble(): number {
    const n = this.u8();
    if (n === 253) return NaN;
    if (n === 254) return Infinity;
    if (n === 255) return -Infinity;
    this.need(n);
    const text = latin1Slice(this.view, this.pos, this.pos + n);
    this.pos += n;
    const r = strtod(text);
    if (r.end === 0) this.fail("Invalid double");
    return r.value;
  }

  int32LE(): number {
    this.need(4);
    const v = this.dv.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  int64LE(): number {
    this.need(8);
    const v = this.dv.getBigInt64(this.pos, true);
    this.pos += 8;
    return Number(v);
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
}

/** A value that decoded to nothing: Redis skips it when loading a file and refuses it in RESTORE. */
class EmptyValue extends Error {}

function emptyValue(): never {
  throw new EmptyValue("empty value");
}

/** Field/value pairs into a hash; duplicates refused. */
function hashFromPairs(r: RdbInput, items: string[], listpack: boolean): HashValue {
  if (items.length % 2 !== 0) r.fail("Hash with an odd number of elements");
  if (items.length === 0) emptyValue();
  const map = new Map<string, string>();
  for (let i = 0; i < items.length; i += 2) {
    map.set(items[i], items[i + 1]);
    if (map.size !== i / 2 + 1) r.fail("Duplicate hash fields detected");
  }
  return new HashValue(map, listpack && map.size <= typeLimits.hashMaxListpackEntries);
}

/** Member/score pairs (any order) into a sorted set; NaN and duplicates refused. */
function zsetFromPairs(r: RdbInput, members: string[], scores: number[]): ZSetValue {
  if (members.length === 0) emptyValue();
  const order = members.map((_, i) => i);
  order.sort((a, b) => {
    if (scores[a] !== scores[b]) return scores[a] < scores[b] ? -1 : 1;
    return members[a] < members[b] ? -1 : members[a] > members[b] ? 1 : 0;
  });
  const seen = new Set<string>();
  const sortedMembers: string[] = new Array(members.length);
  const sortedScores: number[] = new Array(members.length);
  for (let i = 0; i < order.length; i++) {
    const m = members[order[i]];
    if (seen.has(m)) r.fail("Duplicate zset fields detected");
    seen.add(m);
    sortedMembers[i] = m;
    sortedScores[i] = scores[order[i]];
  }
  return ZSetValue.fromSorted(sortedMembers, sortedScores);
}

/** Listpack/ziplist member, score items into a sorted set. */
function zsetFromItems(r: RdbInput, items: string[]): ZSetValue {
  if (items.length % 2 !== 0) r.fail("Zset with an odd number of elements");
  const members: string[] = [];
  const scores: number[] = [];
  for (let i = 0; i < items.length; i += 2) {
    // zzlStrtod: whatever prefix strtod accepts (0 when none), as Redis reads listpack scores.
    const score = strtod(items[i + 1]).value;
    if (Number.isNaN(score)) r.fail("Zset with NAN score detected");
    members.push(items[i]);
    scores.push(score);
  }
  return zsetFromPairs(r, members, scores);
}

function setFromMembers(r: RdbInput, members: Iterable<string>): SetValue {
  const set = new SetValue();
  for (const m of members) if (!set.add(m)) r.fail("Duplicate set members detected");
  if (set.size === 0) emptyValue();
  return set;
}

function blobItems(r: RdbInput, decode: (b: Uint8Array) => string[] | null, what: string): string[] {
  const items = decode(r.stringBytes());
  if (items === null) r.fail(`${what} integrity check failed`);
  return items;
}

/** rdbLoadObject: a value of RDB type `type`. Throws RdbError, or EmptyValue for an empty one. */
function readValue(r: RdbInput, type: number): Value {
  switch (type) {
    case RDB_TYPE_STRING:
      return r.string();
    case RDB_TYPE_LIST: {
      const n = r.count();
      if (n === 0) emptyValue();
      const list = new ListValue();
      for (let i = 0; i < n; i++) list.pushBack(r.string());
      return list;
    }
    case RDB_TYPE_SET: {
      const n = r.count();
      const members: string[] = new Array(n);
      for (let i = 0; i < n; i++) members[i] = r.string();
      return setFromMembers(r, members);
    }
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2: {
      const n = r.count();
      const members: string[] = new Array(n);
      const scores: number[] = new Array(n);
      for (let i = 0; i < n; i++) {
        members[i] = r.string();
        const score = type === RDB_TYPE_ZSET_2 ? r.binaryDouble() : r.stringDouble();
        if (Number.isNaN(score)) r.fail("Zset with NAN score detected");
        scores[i] = score;
      }
      return zsetFromPairs(r, members, scores);
    }
    case RDB_TYPE_HASH: {
      const n = r.count();
      const items: string[] = new Array(2 * n);
      let small = n <= typeLimits.hashMaxListpackEntries;
      const maxValue = typeLimits.hashMaxListpackValue;
      for (let i = 0; i < 2 * n; i++) {
        const s = r.string();
        if (s.length > maxValue) small = false;
        items[i] = s;
      }
      return hashFromPairs(r, items, small);
    }
    case RDB_TYPE_SET_INTSET:
      return setFromMembers(r, blobItems(r, decodeIntset, "Intset"));
    case RDB_TYPE_HASH_LISTPACK:
      return hashFromPairs(r, blobItems(r, decodeListpack, "Hash listpack"), true);
    case RDB_TYPE_HASH_ZIPLIST:
      return hashFromPairs(r, blobItems(r, decodeZiplist, "Hash ziplist"), true);
    case RDB_TYPE_ZSET_LISTPACK:
      return zsetFromItems(r, blobItems(r, decodeListpack, "Zset listpack"));
    case RDB_TYPE_ZSET_ZIPLIST:
      return zsetFromItems(r, blobItems(r, decodeZiplist, "Zset ziplist"));
    case RDB_TYPE_LIST_ZIPLIST: {
      const items = blobItems(r, decodeZiplist, "List ziplist");
      if (items.length === 0) emptyValue();
      return ListValue.from(items);
    }
    case RDB_TYPE_LIST_QUICKLIST:
    case RDB_TYPE_LIST_QUICKLIST_2: {
      const nodes = r.count();
      const list = new ListValue();
      for (let i = 0; i < nodes; i++) {
        let container = QUICKLIST_NODE_PACKED;
        if (type === RDB_TYPE_LIST_QUICKLIST_2) {
          container = r.len();
          if (container !== QUICKLIST_NODE_PACKED && container !== QUICKLIST_NODE_PLAIN) {
            r.fail("Quicklist integrity check failed");
          }
        }
        if (container === QUICKLIST_NODE_PLAIN) {
          list.pushBack(r.string());
          continue;
        }
        const blob = r.stringBytes();
        if (blob.length === 0) r.fail("Quicklist node with no data");
        const items = type === RDB_TYPE_LIST_QUICKLIST_2 ? decodeListpack(blob) : decodeZiplist(blob);
        if (items === null) r.fail("Quicklist node integrity check failed");
        for (const item of items) list.pushBack(item);
      }
      if (list.length === 0) emptyValue();
      return list;
    }
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2:
      return readStreamValue(r, type === RDB_TYPE_STREAM_LISTPACKS_2);
    case RDB_TYPE_MODULE:
    case RDB_TYPE_MODULE_2:
      return r.fail("Module values are not supported");
    case RDB_TYPE_HASH_ZIPMAP:
      return r.fail("Zipmap hashes are not supported");
    default:
      return r.fail(`Unknown RDB object type ${type}`);
  }
}

/**
 * Whether a DUMP payload's footer is acceptable (verifyDumpPayload): at least 10 bytes, RDB version
 * at most 10, CRC64 matching (unless `skipChecksum`).
 */
export function verifyDumpPayload(bytes: Uint8Array, skipChecksum = false): boolean {
  const n = bytes.length;
  if (n < DUMP_FOOTER_BYTES) return false;
  const version = bytes[n - 10] | (bytes[n - 9] << 8);
  if (version > RDB_VERSION) return false;
  if (skipChecksum) return true;
  return new Crc64().update(bytes, 0, n - 8).matchesLE(bytes, n - 8);
}

/**
 * Parses a DUMP payload (the whole payload; its 10-byte footer should have passed
 * `verifyDumpPayload`) into a value; throws RdbError("Bad data format") on anything invalid,
 * empty values included. As in Redis, bytes between the value and the footer are ignored, and the
 * value is read from the whole buffer (footer included).
 */
export function parseDumpPayload(bytes: Uint8Array): Value {
  if (bytes.length < DUMP_FOOTER_BYTES + 1) throw new RdbError(ERR_BAD_DATA_FORMAT);
  // Redis reads the value from the whole payload buffer: a value may run into the footer bytes.
  const r = new RdbInput(bytes);
  try {
    const type = r.u8();
    return readValue(r, type);
  } catch (err) {
    if (err instanceof RdbError || err instanceof EmptyValue) throw new RdbError(ERR_BAD_DATA_FORMAT);
    throw err;
  }
}

/** Skips a module's opcode-tagged data up to its EOF opcode (rdbLoadCheckModuleValue). */
function skipModuleData(r: RdbInput): void {
  for (;;) {
    const opcode = r.len();
    if (opcode === MODULE_OPCODE_EOF) return;
    if (opcode === MODULE_OPCODE_SINT || opcode === MODULE_OPCODE_UINT) r.len();
    else if (opcode === MODULE_OPCODE_STRING) r.stringBytes();
    else if (opcode === MODULE_OPCODE_FLOAT) r.skip(4);
    else if (opcode === MODULE_OPCODE_DOUBLE) r.skip(8);
    else r.fail("Unknown module opcode");
  }
}

/** Reads the magic; returns the version. */
function readHeader(r: RdbInput): number {
  r.need(9);
  const magic = latin1Slice(r.view, 0, 9);
  if (!magic.startsWith("REDIS")) r.fail("Wrong signature trying to load DB");
  const digits = magic.slice(5);
  if (!/^[0-9]{4}$/.test(digits)) r.fail("Wrong signature trying to load DB");
  const version = Number(digits);
  if (version < 1 || version > RDB_VERSION) r.fail(`Can't handle RDB format version ${version}`);
  r.pos = 9;
  return version;
}

/**
 * Loads an RDB file into `dbs` (which the caller gives empty); throws RdbError on corrupt input
 * (then the caller discards `dbs`). `keepExpired`: a replica keeps already-expired keys, a master
 * drops them.
 */
export function loadRdb(bytes: Uint8Array, dbs: Db[], keepExpired: boolean): RdbLoadResult {
  const steps = loadRdbSteps(bytes, dbs, keepExpired, Infinity);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * `loadRdb` in steps: yields after every `keysPerStep` keys, so a replica can let its event loop run
 * (and answer -LOADING) while a large snapshot loads; returns the result at the end.
 */
export function* loadRdbSteps(
  bytes: Uint8Array,
  dbs: Db[],
  keepExpired: boolean,
  keysPerStep: number,
): Generator<void, RdbLoadResult> {
  let untilYield = keysPerStep;
  const r = new RdbInput(bytes);
  const version = readHeader(r);
  const result: RdbLoadResult = {
    aux: new Map(),
    keys: 0,
    expired: 0,
    emptySkipped: 0,
    functionsSkipped: 0,
    version,
  };
  const now = Date.now();
  let db = dbs[0];
  let expire = -1;
  for (;;) {
    const opcode = r.u8();
    if (opcode === RDB_OPCODE_EXPIRETIME) {
      expire = r.int32LE() * 1000;
      continue;
    }
    if (opcode === RDB_OPCODE_EXPIRETIME_MS) {
      expire = r.int64LE();
      continue;
    }
    if (opcode === RDB_OPCODE_FREQ) {
      r.u8();
      continue;
    }
    if (opcode === RDB_OPCODE_IDLE) {
      r.len();
      continue;
    }
    if (opcode === RDB_OPCODE_EOF) break;
    if (opcode === RDB_OPCODE_SELECTDB) {
      const id = r.len();
      if (id >= dbs.length) {
        r.fail(
          `FATAL: Data file was created with a Redis server configured to handle more than ${dbs.length} databases`,
        );
      }
      db = dbs[id];
      continue;
    }
    if (opcode === RDB_OPCODE_RESIZEDB) {
      r.len();
      r.len();
      continue;
    }
    if (opcode === RDB_OPCODE_AUX) {
      const key = r.string();
      const value = r.string();
      result.aux.set(key, value);
      continue;
    }
    if (opcode === RDB_OPCODE_MODULE_AUX) {
      r.len(); // module id
      if (r.len() !== MODULE_OPCODE_UINT) r.fail("Module aux data with a bad 'when' opcode");
      r.len();
      skipModuleData(r);
      continue;
    }
    if (opcode === RDB_OPCODE_FUNCTION) {
      r.stringBytes();
      r.stringBytes();
      if (r.len() !== 0) r.stringBytes();
      r.stringBytes();
      result.functionsSkipped++;
      continue;
    }
    if (opcode === RDB_OPCODE_FUNCTION2) {
      r.stringBytes();
      result.functionsSkipped++;
      continue;
    }
    const key = r.string();
    let value: Value;
    try {
      value = readValue(r, opcode);
    } catch (err) {
      if (!(err instanceof EmptyValue)) throw err;
      result.emptySkipped++;
      expire = -1;
      continue;
    }
    if (expire !== -1 && expire < now && !keepExpired) {
      if (db.hasStored(key)) r.fail("Duplicated key found in RDB file");
      result.expired++;
    } else {
      // A key already there leaves the size unchanged: the whole load fails, so the overwrite is harmless.
      const before = db.size;
      db.set(key, value, false, expire === -1 ? undefined : expire);
      if (db.size === before) r.fail("Duplicated key found in RDB file");
      result.keys++;
    }
    expire = -1;
    if (--untilYield === 0) {
      untilYield = keysPerStep;
      yield;
    }
  }
  if (version >= 5) {
    const end = r.pos;
    r.need(8);
    let stored = false;
    for (let k = 0; k < 8; k++) if (bytes[end + k] !== 0) stored = true;
    if (stored && !new Crc64().update(bytes, 0, end).matchesLE(bytes, end)) r.fail("Wrong RDB checksum");
  }
  return result;
}
