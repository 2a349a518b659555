/**
 * Redis 7.0's listpack format (rdb.md section 6): the blob inside RDB types 16, 17 and 18. The
 * encoder makes 7.0.15's exact choices (lpEncodeGetType) so blobs are byte-identical; the decoder
 * validates every entry (Redis's deep lpValidateIntegrity) and never reads past the blob.
 */
import { parseInt64 } from "../store/numbers.ts";
import { latin1Slice, latin1View } from "../resp/latin1.ts";

/** Header (total bytes u32 + element count u16) and end marker sizes. */
const LP_HDR_BYTES = 6;
const LP_EOF = 0xff;
/** The header count meaning "count by walking". */
const LP_NUMELE_UNKNOWN = 65535;

/** An element's encoding decided once: an integer or string form and its size. */
interface EncodedEntry {
  /** Integer value (number or bigint) when stored as an integer, else null. */
  int: number | bigint | null;
  /** Encoding + data bytes (without the backlen). */
  size: number;
}

/** Bytes of the backlen for an entry of `len` encoding+data bytes (lpEncodeBacklen). */
function backlenBytes(len: number): number {
  return len <= 127 ? 1 : len < 16383 ? 2 : len < 2097151 ? 3 : len < 268435455 ? 4 : 5;
}

const INT32_MIN_BIG = -(2n ** 31n);
const INT32_LIMIT_BIG = 2n ** 31n;

/** Encoding + data bytes of an integer element (7-bit, 13-bit, 16, 24, 32 or 64-bit forms). */
function intSize(v: number | bigint): number {
  if (typeof v === "bigint") {
    if (v < INT32_MIN_BIG || v >= INT32_LIMIT_BIG) return 9;
    v = Number(v);
  }
  if (v >= 0 && v <= 127) return 1;
  if (v >= -4096 && v <= 4095) return 2;
  if (v >= -32768 && v <= 32767) return 3;
  if (v >= -8388608 && v <= 8388607) return 4;
  if (v >= -2147483648 && v <= 2147483647) return 5;
  return 9;
}

function classify(s: string): EncodedEntry {
  const v = parseInt64(s);
  if (v !== null) return { int: v, size: intSize(v) };
  const len = s.length;
  return { int: null, size: len + (len < 64 ? 1 : len < 4096 ? 2 : 5) };
}

function writeIntLE(out: Uint8Array, at: number, v: number | bigint, bytes: number): void {
  if (typeof v === "bigint" || bytes === 8) {
    let u = BigInt.asUintN(64, BigInt(v));
    for (let k = 0; k < bytes; k++) {
      out[at + k] = Number(u & 0xffn);
      u >>= 8n;
    }
    return;
  }
  let u = v < 0 ? v + 2 ** (8 * bytes) : v;
  for (let k = 0; k < bytes; k++) {
    out[at + k] = u % 256;
    u = Math.floor(u / 256);
  }
}

/** Writes one element at `at`; returns the offset after its backlen. */
function writeEntry(out: Uint8Array, at: number, s: string, e: EncodedEntry): number {
  const v = e.int;
  if (v !== null) {
    switch (e.size) {
      case 1:
        out[at] = v as number;
        break;
      case 2: {
        const u = (v as number) < 0 ? (1 << 13) + (v as number) : v as number;
        out[at] = 0xc0 | (u >> 8);
        out[at + 1] = u & 0xff;
        break;
      }
      case 3:
        out[at] = 0xf1;
        writeIntLE(out, at + 1, v, 2);
        break;
      case 4:
        out[at] = 0xf2;
        writeIntLE(out, at + 1, v, 3);
        break;
      case 5:
        out[at] = 0xf3;
        writeIntLE(out, at + 1, v, 4);
        break;
      default:
        out[at] = 0xf4;
        writeIntLE(out, at + 1, v, 8);
    }
  } else {
    const len = s.length;
    let p = at;
    if (len < 64) {
      out[p++] = 0x80 | len;
    } else if (len < 4096) {
      out[p++] = 0xe0 | (len >> 8);
      out[p++] = len & 0xff;
    } else {
      out[p++] = 0xf0;
      writeIntLE(out, p, len, 4);
      p += 4;
    }
    for (let i = 0; i < len; i++) out[p + i] = s.charCodeAt(i);
  }
  let p = at + e.size;
  const len = e.size;
  const groups = backlenBytes(len);
  // Most significant 7-bit group first; every later byte carries the continuation bit.
  for (let g = groups - 1; g >= 0; g--) {
    const bits = Math.floor(len / 2 ** (7 * g)) & 0x7f;
    out[p++] = g === groups - 1 ? bits : bits | 0x80;
  }
  return p;
}

/** Size of the listpack entry (encoding + data + backlen) for `s`, as Redis would encode it. */
export function listpackEntrySize(s: string): number {
  const e = classify(s);
  return e.size + backlenBytes(e.size);
}

/** `listpackEntrySize` of an integer's decimal text, without making the text (an int64 value). */
export function listpackIntEntrySize(v: number | bigint): number {
  return intSize(v) + 1;
}

/** Encodes elements as a listpack, byte-identical to Redis 7.0.15's. */
export function encodeListpack(elements: readonly string[]): Uint8Array {
  const enc: EncodedEntry[] = new Array(elements.length);
  let total = LP_HDR_BYTES + 1;
  for (let i = 0; i < elements.length; i++) {
    const e = classify(elements[i]);
    enc[i] = e;
    total += e.size + backlenBytes(e.size);
  }
  const out = new Uint8Array(total);
  writeIntLE(out, 0, total, 4);
  const n = elements.length < LP_NUMELE_UNKNOWN ? elements.length : LP_NUMELE_UNKNOWN;
  out[4] = n & 0xff;
  out[5] = n >> 8;
  let p = LP_HDR_BYTES;
  for (let i = 0; i < elements.length; i++) p = writeEntry(out, p, elements[i], enc[i]);
  out[p] = LP_EOF;
  return out;
}

function readIntLE(b: Uint8Array, at: number, bytes: number): number | bigint {
  if (bytes === 8) {
    let u = 0n;
    for (let k = 7; k >= 0; k--) u = (u << 8n) | BigInt(b[at + k]);
    const v = BigInt.asIntN(64, u);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  let v = 0;
  for (let k = bytes - 1; k >= 0; k--) v = v * 256 + b[at + k];
  if (b[at + bytes - 1] & 0x80) v -= 2 ** (8 * bytes);
  return v;
}

/**
 * Decodes and validates a listpack blob; returns its elements (integers as decimal text), or null
 * when the blob is malformed in any way.
 */
export function decodeListpack(b: Uint8Array): string[] | null {
  const size = b.length;
  if (size < LP_HDR_BYTES + 1) return null;
  const total = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  if (total !== size || b[size - 1] !== LP_EOF) return null;
  const declared = b[4] | (b[5] << 8);
  const view = latin1View(b);
  const out: string[] = [];
  let p = LP_HDR_BYTES;
  const end = size - 1;
  while (p < end) {
    const h = b[p];
    let dataLen: number; // encoding + data
    let value: string;
    if (h < 0x80) {
      dataLen = 1;
      value = String(h);
    } else if (h < 0xc0) {
      const len = h & 0x3f;
      dataLen = 1 + len;
      if (p + dataLen > end) return null;
      value = latin1Slice(view, p + 1, p + dataLen);
    } else if (h < 0xe0) {
      if (p + 2 > end) return null;
      dataLen = 2;
      const u = ((h & 0x1f) << 8) | b[p + 1];
      value = String(u >= 4096 ? u - 8192 : u);
    } else if (h < 0xf0) {
      if (p + 2 > end) return null;
      const len = ((h & 0x0f) << 8) | b[p + 1];
      dataLen = 2 + len;
      if (p + dataLen > end) return null;
      value = latin1Slice(view, p + 2, p + dataLen);
    } else if (h === 0xf0) {
      if (p + 5 > end) return null;
      const len = (b[p + 1] | (b[p + 2] << 8) | (b[p + 3] << 16) | (b[p + 4] << 24)) >>> 0;
      dataLen = 5 + len;
      if (p + dataLen > end) return null;
      value = latin1Slice(view, p + 5, p + dataLen);
    } else if (h >= 0xf1 && h <= 0xf4) {
      const bytes = h === 0xf1 ? 2 : h === 0xf2 ? 3 : h === 0xf3 ? 4 : 8;
      dataLen = 1 + bytes;
      if (p + dataLen > end) return null;
      value = String(readIntLE(b, p + 1, bytes));
    } else {
      return null; // 0xf5..0xfe invalid, 0xff too early
    }
    const blen = backlenBytes(dataLen);
    if (p + dataLen + blen > end) return null;
    // The backlen must encode dataLen exactly as Redis writes it (lpValidateNext).
    let q = p + dataLen;
    for (let g = blen - 1; g >= 0; g--) {
      const bits = Math.floor(dataLen / 2 ** (7 * g)) & 0x7f;
      if (b[q++] !== (g === blen - 1 ? bits : bits | 0x80)) return null;
    }
    out.push(value);
    p = q;
  }
  if (declared !== LP_NUMELE_UNKNOWN && declared !== out.length) return null;
  return out;
}
