/**
 * x87 80-bit long double arithmetic, exact enough to reproduce INCRBYFLOAT: Redis parses with
 * `strtold`, adds in long double and prints with `%.17Lf`. JS doubles round differently (10.5 + 0.1
 * would print 10.59999999999999964), so values are kept as BigInt mantissa * 2^exponent with
 * the x87 64-bit mantissa and round-half-even, which is what the FPU does. Not a hot path.
 */

/** A finite long double: (-1)^neg * m * 2^e with m < 2^64; or an infinity. */
export interface LongDouble {
  neg: boolean;
  m: bigint;
  e: number;
  inf: boolean;
}

const MANTISSA_BITS = 64;
const TWO_64 = 1n << 64n;
/** Lowest exponent of the mantissa's last bit (subnormals included): 2^-16445. */
const MIN_EXP = -16445;
/** Highest exponent of the mantissa's last bit: values stay below 2^16384. */
const MAX_EXP = 16384 - MANTISSA_BITS;
/** Redis's MAX_LONG_DOUBLE_CHARS: the longest text string2ld and ld2string handle. */
export const MAX_LONG_DOUBLE_CHARS = 5 * 1024;

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** Rounds num/den * 2^shift (num >= 0, den > 0) to the nearest long double. */
function round(neg: boolean, num: bigint, den: bigint, shift: number): LongDouble {
  if (num === 0n) return { neg, m: 0n, e: 0, inf: false };
  // Choose e so that the quotient has 64 bits, then fix the estimate by one either way.
  let e = bitLength(num) - bitLength(den) - MANTISSA_BITS + shift;
  const quotient = (exp: number): [bigint, bigint, bigint] => {
    const s = exp - shift;
    if (s >= 0) {
      const d = den << BigInt(s);
      return [num / d, num % d, d];
    }
    const n = num << BigInt(-s);
    return [n / den, n % den, den];
  };
  let [q, r, d] = quotient(e);
  if (q >= TWO_64) [q, r, d] = quotient(++e);
  else if (q < TWO_64 >> 1n && e > MIN_EXP) [q, r, d] = quotient(--e);
  if (e < MIN_EXP) [q, r, d] = quotient(e = MIN_EXP);
  const twice = r * 2n;
  if (twice > d || (twice === d && (q & 1n) === 1n)) q++;
  if (q === TWO_64) {
    q >>= 1n;
    e++;
  }
  if (e > MAX_EXP) return { neg, m: 0n, e: 0, inf: true };
  return { neg, m: q, e, inf: false };
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const HEX = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/;
const INFINITY = /^([+-]?)(inf|infinity)$/i;

/**
 * Parses text like Redis's string2ld (strtold, then rejecting leading space, trailing bytes,
 * NaN and out-of-range results). Returns null when Redis would answer "not a valid float".
 */
export function parseLongDouble(s: string): LongDouble | null {
  if (s.length === 0 || s.length >= MAX_LONG_DOUBLE_CHARS) return null;
  let m = DECIMAL.exec(s);
  if (m !== null) {
    const intPart = m[2];
    const frac = m[3] ?? "";
    if (intPart === "" && frac === "") return null;
    const digits = (intPart + frac).replace(/^0+/, "");
    const neg = m[1] === "-";
    if (digits === "") return { neg, m: 0n, e: 0, inf: false };
    const exp10 = (m[4] === undefined ? 0 : Number(m[4])) - frac.length;
    const magnitude = exp10 + digits.length; // value is about 10^magnitude
    if (magnitude > 4940) return null; // ERANGE overflow
    if (magnitude < -4960) return null; // ERANGE underflow to zero
    const mant = BigInt(digits);
    const v = exp10 >= 0 ? round(neg, mant * 10n ** BigInt(exp10), 1n, 0) : round(neg, mant, 10n ** BigInt(-exp10), 0);
    if (v.inf || v.m === 0n) return null;
    return v;
  }
  m = HEX.exec(s);
  if (m !== null) {
    const intPart = m[2];
    const frac = m[3] ?? "";
    if (intPart === "" && frac === "") return null;
    const neg = m[1] === "-";
    const mant = BigInt("0x" + (intPart + frac || "0"));
    if (mant === 0n) return { neg, m: 0n, e: 0, inf: false };
    const exp2 = (m[4] === undefined ? 0 : Number(m[4])) - 4 * frac.length;
    if (exp2 + bitLength(mant) > 16400) return null;
    if (exp2 + bitLength(mant) < -16500) return null;
    const v = round(neg, mant, 1n, exp2);
    if (v.inf || v.m === 0n) return null;
    return v;
  }
  m = INFINITY.exec(s);
  if (m !== null) return { neg: m[1] === "-", m: 0n, e: 0, inf: true };
  return null;
}

/** a + b, rounded to long double. */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble {
  if (a.inf || b.inf) {
    if (a.inf && b.inf && a.neg !== b.neg) return { neg: false, m: 0n, e: 0, inf: true }; // NaN: callers reject
    return a.inf ? a : b;
  }
  if (a.m === 0n) return b.m === 0n ? { neg: a.neg && b.neg, m: 0n, e: 0, inf: false } : b;
  if (b.m === 0n) return a;
  const e = Math.min(a.e, b.e);
  const sa = (a.m << BigInt(a.e - e)) * (a.neg ? -1n : 1n);
  const sb = (b.m << BigInt(b.e - e)) * (b.neg ? -1n : 1n);
  const sum = sa + sb;
  if (sum === 0n) return { neg: false, m: 0n, e: 0, inf: false };
  return round(sum < 0n, sum < 0n ? -sum : sum, 1n, e);
}

/** Whether a + b is NaN (opposite infinities). */
export function isNaNSum(a: LongDouble, b: LongDouble): boolean {
  return a.inf && b.inf && a.neg !== b.neg;
}

/**
 * Redis's ld2string in human mode: `%.17Lf`, trailing zeros (and a bare dot) trimmed, `-0` shown
 * as `0`. Like Redis, a result longer than MAX_LONG_DOUBLE_CHARS becomes the empty string.
 */
export function formatLongDoubleHuman(v: LongDouble): string {
  if (v.inf) return v.neg ? "-inf" : "inf";
  const FRACTION_DIGITS = 17n;
  const scale = 10n ** FRACTION_DIGITS;
  let q: bigint;
  if (v.e >= 0) {
    q = (v.m << BigInt(v.e)) * scale;
  } else {
    const num = v.m * scale;
    const shift = BigInt(-v.e);
    q = num >> shift;
    const r = num - (q << shift);
    const half = 1n << (shift - 1n);
    if (r > half || (r === half && (q & 1n) === 1n)) q++;
  }
  let digits = q.toString().padStart(18, "0");
  let text = digits.slice(0, -17) + "." + digits.slice(-17);
  if (v.neg) text = "-" + text;
  if (text.length + 1 > MAX_LONG_DOUBLE_CHARS) return "";
  digits = text.replace(/0+$/, "");
  if (digits.endsWith(".")) digits = digits.slice(0, -1);
  return digits === "-0" ? "0" : digits;
}
