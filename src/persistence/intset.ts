/**
 * Redis's intset blob (RDB type 11, rdb.md section 7): `<u32 encoding> <u32 count> <values LE>`,
 * sorted ascending, unique, each value in the smallest width (2, 4 or 8 bytes) that fits all.
 */
import { parseInt64 } from "../store/numbers.ts";

const INTSET_HDR_BYTES = 8;

/** Encodes canonical int64 strings (distinct) as an intset, sorted, in Redis's smallest width. */
export function encodeIntset(members: readonly string[]): Uint8Array {
  const values = members.map((m) => BigInt(parseInt64(m)!));
  values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let width = 2;
  for (const v of values) {
    if (v < -2147483648n || v > 2147483647n) width = 8;
    else if ((v < -32768n || v > 32767n) && width < 4) width = 4;
  }
  const out = new Uint8Array(INTSET_HDR_BYTES + values.length * width);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, width, true);
  dv.setUint32(4, values.length, true);
  let p = INTSET_HDR_BYTES;
  for (const v of values) {
    if (width === 2) dv.setInt16(p, Number(v), true);
    else if (width === 4) dv.setInt32(p, Number(v), true);
    else dv.setBigInt64(p, v, true);
    p += width;
  }
  return out;
}

/**
 * Decodes and validates an intset (Redis's deep intsetValidateIntegrity: width, size, count > 0,
 * strictly ascending); returns the members as decimal text, or null when malformed.
 */
export function decodeIntset(b: Uint8Array): string[] | null {
  if (b.length < INTSET_HDR_BYTES) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const width = dv.getUint32(0, true);
  const count = dv.getUint32(4, true);
  if (width !== 2 && width !== 4 && width !== 8) return null;
  if (count === 0 || INTSET_HDR_BYTES + count * width !== b.length) return null;
  const out: string[] = new Array(count);
  let prev: bigint | number | null = null;
  for (let i = 0, p = INTSET_HDR_BYTES; i < count; i++, p += width) {
    const v: number | bigint = width === 2
      ? dv.getInt16(p, true)
      : width === 4
      ? dv.getInt32(p, true)
      : dv.getBigInt64(p, true);
    if (prev !== null && !(prev < v)) return null;
    prev = v;
    out[i] = String(v);
  }
  return out;
}
