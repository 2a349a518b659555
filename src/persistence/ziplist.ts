/**
 * Redis's ziplist (rdb.md section 10), read only: the blob inside RDB types 10, 12, 13 and 14 that
 * Redis 6.x payloads and files still carry. Every length and offset is checked against the blob.
 */
import { latin1Slice, latin1View } from "../resp/latin1.ts";

const ZIP_HDR_BYTES = 10;
const ZIP_END = 0xff;
/** Header count meaning "count by walking". */
const ZIP_COUNT_UNKNOWN = 65535;
/** prevlen values from this one on use the 5-byte form. */
const ZIP_BIG_PREVLEN = 254;

/** Decodes and validates a ziplist; returns its elements (integers as decimal text) or null. */
export function decodeZiplist(b: Uint8Array): string[] | null {
  const size = b.length;
  if (size < ZIP_HDR_BYTES + 1) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(0, true) !== size || b[size - 1] !== ZIP_END) return null;
  const tail = dv.getUint32(4, true);
  const declared = dv.getUint16(8, true);
  const view = latin1View(b);
  const out: string[] = [];
  const end = size - 1;
  let p = ZIP_HDR_BYTES;
  let prevSize = 0;
  let lastStart = ZIP_HDR_BYTES;
  while (p < end) {
    const start = p;
    // prevlen must match the previous entry's size.
    let prevlen: number;
    if (b[p] < ZIP_BIG_PREVLEN) {
      prevlen = b[p];
      p += 1;
    } else if (b[p] === ZIP_BIG_PREVLEN) {
      if (p + 5 > end) return null;
      prevlen = dv.getUint32(p + 1, true);
      p += 5;
    } else {
      return null;
    }
    if (prevlen !== prevSize) return null;
    if (p >= end) return null;
    const h = b[p];
    let value: string;
    const kind = h >> 6;
    if (kind === 0) {
      const len = h & 0x3f;
      if (p + 1 + len > end) return null;
      value = latin1Slice(view, p + 1, p + 1 + len);
      p += 1 + len;
    } else if (kind === 1) {
      if (p + 2 > end) return null;
      const len = ((h & 0x3f) << 8) | b[p + 1];
      if (p + 2 + len > end) return null;
      value = latin1Slice(view, p + 2, p + 2 + len);
      p += 2 + len;
    } else if (h === 0x80) {
      if (p + 5 > end) return null;
      const len = dv.getUint32(p + 1, false);
      if (p + 5 + len > end) return null;
      value = latin1Slice(view, p + 5, p + 5 + len);
      p += 5 + len;
    } else if (kind === 2) {
      return null;
    } else {
      let bytes: number;
      if (h === 0xc0) bytes = 2;
      else if (h === 0xd0) bytes = 4;
      else if (h === 0xe0) bytes = 8;
      else if (h === 0xf0) bytes = 3;
      else if (h === 0xfe) bytes = 1;
      else if (h >= 0xf1 && h <= 0xfd) bytes = 0;
      else return null;
      if (p + 1 + bytes > end) return null;
      const at = p + 1;
      if (bytes === 0) value = String((h & 0x0f) - 1);
      else if (bytes === 1) value = String(dv.getInt8(at));
      else if (bytes === 2) value = String(dv.getInt16(at, true));
      else if (bytes === 4) value = String(dv.getInt32(at, true));
      else if (bytes === 8) value = String(dv.getBigInt64(at, true));
      else {
        const u = b[at] | (b[at + 1] << 8) | (b[at + 2] << 16);
        value = String(u >= 0x800000 ? u - 0x1000000 : u);
      }
      p += 1 + bytes;
    }
    out.push(value);
    prevSize = p - start;
    lastStart = start;
  }
  if (out.length > 0 && tail !== lastStart) return null;
  if (out.length === 0 && tail !== ZIP_HDR_BYTES) return null;
  if (declared !== ZIP_COUNT_UNKNOWN && declared !== out.length) return null;
  return out;
}
