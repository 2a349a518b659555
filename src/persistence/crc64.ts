/**
 * Redis's CRC64 (Jones polynomial, reflected, start 0, no final XOR): the checksum of RDB files and
 * DUMP payloads (crc.md section 2). Kept as two 32-bit halves so no BigInt runs per byte.
 */

/** The reflected polynomial 0x95AC9329AC4BC9B5, split in halves. */
const POLY_HI = 0x95ac9329;
const POLY_LO = 0xac4bc9b5;

const TABLE_LO = new Uint32Array(256);
const TABLE_HI = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let lo = i;
  let hi = 0;
  for (let k = 0; k < 8; k++) {
    const odd = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (odd) {
      lo = (lo ^ POLY_LO) >>> 0;
      hi = (hi ^ POLY_HI) >>> 0;
    }
  }
  TABLE_LO[i] = lo;
  TABLE_HI[i] = hi;
}

/** A running CRC64; `update` may be called on consecutive chunks. */
export class Crc64 {
  lo = 0;
  hi = 0;

  /** Feeds bytes[start, end). */
  update(bytes: Uint8Array, start = 0, end = bytes.length): this {
    let lo = this.lo;
    let hi = this.hi;
    for (let i = start; i < end; i++) {
      const idx = (lo ^ bytes[i]) & 0xff;
      lo = TABLE_LO[idx] ^ ((lo >>> 8) | (hi << 24));
      hi = TABLE_HI[idx] ^ (hi >>> 8);
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    return this;
  }

  /** The checksum as an unsigned 64-bit value. */
  value(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** Writes the checksum little-endian at out[at..at+8). */
  writeLE(out: Uint8Array, at: number): void {
    const lo = this.lo;
    const hi = this.hi;
    for (let k = 0; k < 4; k++) out[at + k] = (lo >>> (8 * k)) & 0xff;
    for (let k = 0; k < 4; k++) out[at + 4 + k] = (hi >>> (8 * k)) & 0xff;
  }

  /** Whether out[at..at+8) holds this checksum, little-endian. */
  matchesLE(bytes: Uint8Array, at: number): boolean {
    const lo = (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
    const hi = (bytes[at + 4] | (bytes[at + 5] << 8) | (bytes[at + 6] << 16) | (bytes[at + 7] << 24)) >>> 0;
    return lo === this.lo && hi === this.hi;
  }
}

/** CRC64 of bytes[start, end). */
export function crc64(bytes: Uint8Array, start = 0, end = bytes.length): bigint {
  return new Crc64().update(bytes, start, end).value();
}
