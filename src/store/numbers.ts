/**
 * Integer parsing with Redis's `string2ll` rules (no sign `+`, no leading zeros, no spaces, int64
 * range). Numbers stay JS numbers while they are safe integers; BigInt is only the slow path.
 */

/** Largest and smallest int64 values. */
export const INT64_MAX = 9223372036854775807n;
export const INT64_MIN = -9223372036854775808n;

/** Digits a string may have and still be parsed without BigInt (10^15 < 2^53). */
const FAST_DIGITS = 15;

/**
 * Parses an int64 like Redis's string2ll. Returns a number when the value is a safe integer, a
 * bigint when it is a valid int64 beyond that, and null when the text is not an integer.
 */
export function parseInt64(s: string): number | bigint | null {
  const len = s.length;
  if (len === 0 || len > 20) return null;
  let i = 0;
  let negative = false;
  if (s.charCodeAt(0) === 45) { // '-'
    if (len === 1) return null;
    negative = true;
    i = 1;
  }
  const first = s.charCodeAt(i);
  if (first === 48) return len === 1 ? 0 : null; // "0" only; "-0" and "01" are not integers
  if (first < 49 || first > 57) return null;
  let n = 0;
  for (; i < len; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
  }
  const digits = negative ? len - 1 : len;
  if (digits <= FAST_DIGITS) return negative ? -n : n;
  const big = BigInt(s);
  if (big > INT64_MAX || big < INT64_MIN) return null;
  const asNumber = Number(big);
  return Number.isSafeInteger(asNumber) ? asNumber : big;
}

/** Parses an int64 and converts it to a (possibly rounded) JS number; null when invalid. */
export function parseInt64Number(s: string): number | null {
  const v = parseInt64(s);
  return v === null ? null : Number(v);
}

/** Parses an int64 as a bigint; null when invalid. */
export function parseInt64Big(s: string): bigint | null {
  const v = parseInt64(s);
  return v === null ? null : BigInt(v);
}

/** Whether a string value would get Redis's `int` encoding (it round-trips through string2ll). */
export function isIntEncodable(s: string): boolean {
  return s.length <= 20 && parseInt64(s) !== null;
}

/** Parses a 32-bit signed int (Redis's getIntFromObject); null when invalid or out of range. */
export function parseInt32(s: string): number | null {
  const v = parseInt64(s);
  if (v === null || typeof v === "bigint" || v > 2147483647 || v < -2147483648) return null;
  return v;
}

/**
 * `value + incr` as Redis's INCRBY / HINCRBY compute it, in decimal: plain numbers while the sum is
 * a safe integer, BigInt near the edge; null when the int64 sum would overflow.
 */
export function addInt64(value: number | bigint, incr: number | bigint): string | null {
  if (typeof value === "number" && typeof incr === "number" && Number.isSafeInteger(value + incr)) {
    return String(value + incr);
  }
  const v = BigInt(value);
  const i = BigInt(incr);
  if ((i < 0n && v < 0n && i < INT64_MIN - v) || (i > 0n && v > 0n && i > INT64_MAX - v)) return null;
  return String(v + i);
}
