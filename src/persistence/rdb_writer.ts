/**
 * The RDB writer (Redis 7.0.15, RDB version 10; rdb.md): whole files for SAVE / full syncs and
 * DUMP payloads. Values are written in the form 7.0.15 writes for the same encoding (listpack,
 * intset, quicklist nodes split as 7.0.15 splits them, INT and LZF strings), so that payloads of
 * deterministic encodings are byte-identical to redis-server's.
 */
import type { Db, Value } from "../store/keyspace.ts";
import { ListValue } from "../store/types/list.ts";
import { HashValue } from "../store/types/hash.ts";
import { SetValue } from "../store/types/set.ts";
import { listpackScoreText, ZSetValue } from "../store/types/zset.ts";
import { formatDouble } from "../resp/writer.ts";
import { parseInt64 } from "../store/numbers.ts";
import { REDIS_VERSION } from "../version.ts";
import { Crc64 } from "./crc64.ts";
import { lzfCompress } from "./lzf.ts";
import { encodeListpack, listpackEntrySize } from "./listpack.ts";
import { encodeIntset } from "./intset.ts";
import type { ConfigLike } from "../store/access_clock.ts";
import { StreamValue } from "../store/types/stream.ts";
import { writeStreamValue } from "./rdb_stream.ts";

/** The RDB version written in files and DUMP payloads. */
export const RDB_VERSION = 10;

/** Object types (rdb.md section 5). */
export const RDB_TYPE_STRING = 0;
export const RDB_TYPE_LIST = 1;
export const RDB_TYPE_SET = 2;
export const RDB_TYPE_ZSET = 3;
export const RDB_TYPE_HASH = 4;
export const RDB_TYPE_ZSET_2 = 5;
export const RDB_TYPE_MODULE = 6;
export const RDB_TYPE_MODULE_2 = 7;
export const RDB_TYPE_HASH_ZIPMAP = 9;
export const RDB_TYPE_LIST_ZIPLIST = 10;
export const RDB_TYPE_SET_INTSET = 11;
export const RDB_TYPE_ZSET_ZIPLIST = 12;
export const RDB_TYPE_HASH_ZIPLIST = 13;
export const RDB_TYPE_LIST_QUICKLIST = 14;
export const RDB_TYPE_STREAM_LISTPACKS = 15;
export const RDB_TYPE_HASH_LISTPACK = 16;
export const RDB_TYPE_ZSET_LISTPACK = 17;
export const RDB_TYPE_LIST_QUICKLIST_2 = 18;
export const RDB_TYPE_STREAM_LISTPACKS_2 = 19;

/** Opcodes (rdb.md section 4). */
export const RDB_OPCODE_FUNCTION2 = 245;
export const RDB_OPCODE_FUNCTION = 246;
export const RDB_OPCODE_MODULE_AUX = 247;
export const RDB_OPCODE_IDLE = 248;
export const RDB_OPCODE_FREQ = 249;
export const RDB_OPCODE_AUX = 250;
export const RDB_OPCODE_RESIZEDB = 251;
export const RDB_OPCODE_EXPIRETIME_MS = 252;
export const RDB_OPCODE_EXPIRETIME = 253;
export const RDB_OPCODE_SELECTDB = 254;
export const RDB_OPCODE_EOF = 255;

/** Quicklist node containers (type 18). */
export const QUICKLIST_NODE_PLAIN = 1;
export const QUICKLIST_NODE_PACKED = 2;

/** Strings up to this length are tried as integers, longer ones as LZF (rdbSaveRawString). */
const INT_ENCODING_MAX_LEN = 11;
const LZF_MIN_LEN = 21;
/** LZF must save at least this many bytes to be used. */
const LZF_MIN_SAVING = 4;
/** A DUMP scratch buffer grown past this by a big value is dropped after use. */
const DUMP_SCRATCH_KEEP_BYTES = 1 << 20;
/** Room for a payload's CRC64, filled in after the bytes it covers. */
const CRC_PLACEHOLDER = new Uint8Array(8);
/** Quicklist node size limits by negative fill (optimization_level) and the safety limit, bytes. */
const QUICKLIST_SIZE_LEVELS = [4096, 8192, 16384, 32768, 65536];
const QUICKLIST_SAFETY_LIMIT_BYTES = 8192;
/** Bytes an element is assumed to add to a listpack besides its own (SIZE_ESTIMATE_OVERHEAD). */
const QUICKLIST_SIZE_ESTIMATE_OVERHEAD = 8;
/** Elements from this size get a PLAIN node of their own (packed_threshold: 1 GB). */
const QUICKLIST_PACKED_THRESHOLD_BYTES = 1 << 30;
/** Quicklist fill bounds (quicklistSetFill). */
const QUICKLIST_FILL_MAX = (1 << 15) - 1;
const QUICKLIST_FILL_MIN = -5;

/** Writer settings read from the config at each encode (defaults when no config is bound). */
export interface RdbWriteSettings {
  compression: boolean;
  checksum: boolean;
  listFill: number;
}

let boundConfig: ConfigLike | null = null;

/** Makes the writer follow this config's `rdbcompression`, `rdbchecksum`, `list-max-listpack-size`. */
export function bindRdbConfig(config: ConfigLike | null): void {
  boundConfig = config;
}

/** The settings in force now. */
export function rdbWriteSettings(): RdbWriteSettings {
  if (boundConfig === null) return { compression: true, checksum: true, listFill: -2 };
  return {
    compression: boundConfig.get("rdbcompression") as boolean,
    checksum: boundConfig.get("rdbchecksum") as boolean,
    listFill: boundConfig.get("list-max-listpack-size") as number,
  };
}

/** Replication fields written as AUX records (present only for replication-aware saves). */
export interface RdbAux {
  replStreamDb?: number;
  replId?: string;
  replOffset?: number;
}

/** A growable output buffer with RDB's primitive encodings. */
export class RdbBuffer {
  buf: Uint8Array;
  pos = 0;

  constructor(initial = 256, public settings: RdbWriteSettings = rdbWriteSettings()) {
    this.buf = new Uint8Array(initial);
  }

  /** Empties the buffer for reuse, with the settings in force now. */
  reset(): void {
    this.pos = 0;
    this.settings = rdbWriteSettings();
  }

  private ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** The bytes written so far (a view). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** A latin1 string's bytes, no prefix. */
  rawString(s: string): void {
    const n = s.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** rdbSaveLen: the smallest of the 1, 2, 5 and 9 byte forms. */
  len(n: number): void {
    this.ensure(9);
    const buf = this.buf;
    if (n < 64) {
      buf[this.pos++] = n;
    } else if (n < 16384) {
      buf[this.pos++] = 0x40 | (n >> 8);
      buf[this.pos++] = n & 0xff;
    } else if (n <= 0xffffffff) {
      buf[this.pos++] = 0x80;
      for (let k = 3; k >= 0; k--) buf[this.pos++] = Math.floor(n / 2 ** (8 * k)) & 0xff;
    } else {
      buf[this.pos++] = 0x81;
      const v = BigInt(n);
      for (let k = 7; k >= 0; k--) buf[this.pos++] = Number((v >> BigInt(8 * k)) & 0xffn);
    }
  }

  /** An int64 little-endian (expire times). */
  int64LE(n: number): void {
    this.ensure(8);
    new DataView(this.buf.buffer, this.buf.byteOffset).setBigInt64(this.pos, BigInt(n), true);
    this.pos += 8;
  }

  /** An IEEE double little-endian (ZSET_2 scores). */
  doubleLE(d: number): void {
    this.ensure(8);
    new DataView(this.buf.buffer, this.buf.byteOffset).setFloat64(this.pos, d, true);
    this.pos += 8;
  }

  /** rdbSaveRawString for a latin1 string: INT form, else LZF when it saves enough, else plain. */
  string(s: string): void {
    const n = s.length;
    if (n <= INT_ENCODING_MAX_LEN && this.tryInt(s)) return;
    if (n >= LZF_MIN_LEN && this.settings.compression) {
      const bytes = new Uint8Array(n);
      for (let i = 0; i < n; i++) bytes[i] = s.charCodeAt(i);
      if (this.tryLzf(bytes)) return;
    }
    this.len(n);
    this.rawString(s);
  }

  /** rdbSaveRawString for bytes (listpack / intset blobs). */
  blob(b: Uint8Array): void {
    if (b.length >= LZF_MIN_LEN && this.settings.compression && this.tryLzf(b)) return;
    this.len(b.length);
    this.raw(b);
  }

  /** rdbTryIntegerEncoding: a canonical integer in int8/16/32 range. */
  private tryInt(s: string): boolean {
    const v = parseInt64(s);
    if (v === null || typeof v === "bigint") return false;
    if (v >= -128 && v <= 127) {
      this.byte(0xc0);
      this.byte(v & 0xff);
    } else if (v >= -32768 && v <= 32767) {
      this.byte(0xc1);
      this.byte(v & 0xff);
      this.byte((v >> 8) & 0xff);
    } else if (v >= -2147483648 && v <= 2147483647) {
      this.byte(0xc2);
      for (let k = 0; k < 4; k++) this.byte((v >> (8 * k)) & 0xff);
    } else {
      return false;
    }
    return true;
  }

  private tryLzf(b: Uint8Array): boolean {
    const compressed = lzfCompress(b, b.length - LZF_MIN_SAVING);
    if (compressed === null) return false;
    this.byte(0xc3);
    this.len(compressed.length);
    this.len(b.length);
    this.raw(compressed);
    return true;
  }
}

/**
 * Redis's _quicklistNodeAllowInsert / quicklistNodeExceedsLimit: whether an element of `sz` bytes
 * joins a node of `nodeBytes` listpack bytes and `count` entries (the size is an overestimate).
 */
function nodeAllowsInsert(nodeBytes: number, count: number, sz: number, fill: number): boolean {
  if (sz >= QUICKLIST_PACKED_THRESHOLD_BYTES) return false;
  const newSize = nodeBytes + sz + QUICKLIST_SIZE_ESTIMATE_OVERHEAD;
  if (fill < 0) return newSize <= QUICKLIST_SIZE_LEVELS[Math.min(-fill, QUICKLIST_SIZE_LEVELS.length) - 1];
  if (newSize > QUICKLIST_SAFETY_LIMIT_BYTES) return false;
  return count + 1 <= (fill === 0 ? 1 : fill);
}

/** A list as 7.0.15 writes it (type 18): nodes as a list built by RPUSH would have them. */
function writeList(out: RdbBuffer, list: ListValue): void {
  const fill = Math.max(QUICKLIST_FILL_MIN, Math.min(QUICKLIST_FILL_MAX, out.settings.listFill));
  const elements = list.values();
  // Node boundaries first, then each node's listpack.
  const nodes: { start: number; end: number; plain: boolean }[] = [];
  let start = 0;
  let bytes = 0;
  let count = 0;
  for (let i = 0; i < elements.length; i++) {
    const sz = elements[i].length;
    if (count > 0 && nodeAllowsInsert(bytes, count, sz, fill)) {
      bytes += listpackEntrySize(elements[i]);
      count++;
      continue;
    }
    if (count > 0) nodes.push({ start, end: i, plain: false });
    if (sz >= QUICKLIST_PACKED_THRESHOLD_BYTES) {
      nodes.push({ start: i, end: i + 1, plain: true });
      start = i + 1;
      count = 0;
      bytes = 0;
      continue;
    }
    start = i;
    count = 1;
    bytes = 7 + listpackEntrySize(elements[i]);
  }
  if (count > 0) nodes.push({ start, end: elements.length, plain: false });
  out.len(nodes.length);
  for (const node of nodes) {
    if (node.plain) {
      out.len(QUICKLIST_NODE_PLAIN);
      out.string(elements[node.start]);
    } else {
      out.len(QUICKLIST_NODE_PACKED);
      out.blob(encodeListpack(elements.slice(node.start, node.end)));
    }
  }
}

/** The RDB object type byte of a value (rdbSaveObjectType); throws for unknown value kinds. */
export function rdbTypeOf(value: Value): number {
  if (typeof value === "string") return RDB_TYPE_STRING;
  if (value instanceof ListValue) return RDB_TYPE_LIST_QUICKLIST_2;
  if (value instanceof HashValue) return value.isListpack ? RDB_TYPE_HASH_LISTPACK : RDB_TYPE_HASH;
  if (value instanceof SetValue) return value.isIntset ? RDB_TYPE_SET_INTSET : RDB_TYPE_SET;
  if (value instanceof ZSetValue) return value.isListpack ? RDB_TYPE_ZSET_LISTPACK : RDB_TYPE_ZSET_2;
  if (value instanceof StreamValue) return RDB_TYPE_STREAM_LISTPACKS_2;
  throw new Error(`cannot serialize a value of type ${value.type}`);
}

/** rdbSaveObject: the value's bytes after its type byte. */
export function writeValue(out: RdbBuffer, value: Value): void {
  if (typeof value === "string") {
    out.string(value);
  } else if (value instanceof ListValue) {
    writeList(out, value);
  } else if (value instanceof HashValue) {
    if (value.isListpack) {
      const items: string[] = [];
      for (const [field, v] of value.map) items.push(field, v);
      out.blob(encodeListpack(items));
    } else {
      out.len(value.size);
      for (const [field, v] of value.map) {
        out.string(field);
        out.string(v);
      }
    }
  } else if (value instanceof SetValue) {
    const members = value.members();
    if (value.isIntset) {
      out.blob(encodeIntset(members));
    } else {
      out.len(members.length);
      for (const m of members) out.string(m);
    }
  } else if (value instanceof ZSetValue) {
    if (value.isListpack) {
      const items: string[] = [];
      value.walk(0, false, (member, score) => {
        items.push(member, listpackScoreText(score, formatDouble));
        return true;
      });
      out.blob(encodeListpack(items));
    } else {
      // From the highest score down, as 7.0.15 walks its skiplist from the tail.
      out.len(value.size);
      value.walk(value.size - 1, true, (member, score) => {
        out.string(member);
        out.doubleLE(score);
        return true;
      });
    }
  } else if (value instanceof StreamValue) {
    writeStreamValue(out, value);
  } else {
    throw new Error(`cannot serialize a value of type ${value.type}`);
  }
}

/** Reused by dumpPayloadView: a payload costs no allocation unless it outgrows the buffer. */
const dumpScratch = new RdbBuffer(1024);
const dumpCrc = new Crc64();

/**
 * DUMP payload of one value (type byte, value, version 10 LE, CRC64 LE), as a view of a shared buffer
 * that the next call overwrites: copy it (or write it out) before dumping another value.
 */
export function dumpPayloadView(value: Value): Uint8Array {
  const out = dumpScratch;
  out.reset();
  out.byte(rdbTypeOf(value));
  writeValue(out, value);
  out.byte(RDB_VERSION & 0xff);
  out.byte(RDB_VERSION >> 8);
  dumpCrc.lo = dumpCrc.hi = 0;
  dumpCrc.update(out.buf, 0, out.pos);
  const end = out.pos;
  out.raw(CRC_PLACEHOLDER);
  dumpCrc.writeLE(out.buf, end);
  // A huge value leaves a huge buffer behind: let it go.
  const payload = out.bytes();
  if (out.buf.length > DUMP_SCRATCH_KEEP_BYTES) out.buf = new Uint8Array(1024);
  return payload;
}

/** DUMP payload of one value, in its own array. */
export function dumpPayload(value: Value): Uint8Array {
  return dumpPayloadView(value).slice();
}

function auxField(out: RdbBuffer, key: string, value: string): void {
  out.byte(RDB_OPCODE_AUX);
  out.string(key);
  out.string(value);
}

/** The whole RDB file for these databases (CRC included). */
export function encodeRdb(dbs: readonly Db[], aux: RdbAux): Uint8Array {
  const out = new RdbBuffer(1 << 16);
  out.rawString(`REDIS${String(RDB_VERSION).padStart(4, "0")}`);
  const now = Date.now();
  auxField(out, "redis-ver", REDIS_VERSION);
  auxField(out, "redis-bits", "64");
  auxField(out, "ctime", String(Math.floor(now / 1000)));
  auxField(out, "used-mem", String(Deno.memoryUsage().heapUsed));
  if (aux.replId !== undefined) {
    auxField(out, "repl-stream-db", String(aux.replStreamDb ?? 0));
    auxField(out, "repl-id", aux.replId);
    auxField(out, "repl-offset", String(aux.replOffset ?? 0));
  }
  auxField(out, "aof-base", "0");
  for (const db of dbs) {
    if (db.size === 0) continue;
    out.byte(RDB_OPCODE_SELECTDB);
    out.len(db.id);
    out.byte(RDB_OPCODE_RESIZEDB);
    out.len(db.size);
    out.len(Math.min(db.expiresSize, db.size));
    db.forEachEntry((key, value, expire) => {
      // Already-expired keys are left out (a loading master would drop them anyway).
      if (expire !== -1 && expire <= now) return;
      if (expire !== -1) {
        out.byte(RDB_OPCODE_EXPIRETIME_MS);
        out.int64LE(expire);
      }
      out.byte(rdbTypeOf(value));
      out.string(key);
      writeValue(out, value);
    });
  }
  out.byte(RDB_OPCODE_EOF);
  const end = out.pos;
  out.raw(new Uint8Array(8));
  if (out.settings.checksum) new Crc64().update(out.buf, 0, end).writeLE(out.buf, end);
  return out.bytes();
}
