/**
 * Reply encoder: appends RESP2 or RESP3 replies into one growable byte buffer, so all replies
 * of one read go out in a single write. Strings are latin1 (one char per byte).
 */

const INITIAL_BYTES = 16 * 1024;
/** Above this length a string is encoded with `TextEncoder.encodeInto` when it is pure ASCII. */
const ENCODE_INTO_MIN_CHARS = 64;
const asciiEncoder = new TextEncoder();

const CRLF = "\r\n";
/** Below this length bytes are copied one by one: cheaper than a subarray and a TypedArray.set call. */
const BYTE_LOOP_MAX_LEN = 64;

/** Growable output buffer with RESP encoders. */
export class ReplyWriter {
  bytes: Uint8Array = new Uint8Array(INITIAL_BYTES);
  length = 0;
  /** Protocol version negotiated with HELLO: 2 or 3. */
  resp: 2 | 3 = 2;

  /** Drops everything written (after it was sent). */
  reset(): void {
    this.length = 0;
    if (this.bytes.length > 4 * 1024 * 1024) this.bytes = new Uint8Array(INITIAL_BYTES);
  }

  private ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }

  /** Appends a latin1 string's bytes verbatim. */
  raw(s: string): void {
    this.ensure(s.length);
    this.put(s);
  }

  /** Copies a string's bytes at the end; the caller has ensured room. */
  private put(s: string): void {
    const n = s.length;
    const bytes = this.bytes;
    let at = this.length;
    if (n >= ENCODE_INTO_MIN_CHARS) {
      // Fast native path when the string is ASCII: then UTF-8 and latin1 agree byte for byte.
      const { read, written } = asciiEncoder.encodeInto(s, bytes.subarray(at, at + n));
      if (read === n && written === n) {
        this.length = at + n;
        return;
      }
    }
    for (let i = 0; i < n; i++) bytes[at++] = s.charCodeAt(i);
    this.length = at;
  }

  /** Writes `<prefix><n>\r\n` for a non-negative integer below 2^53; the caller has ensured room. */
  private header(prefix: number, n: number): void {
    const bytes = this.bytes;
    let at = this.length;
    bytes[at++] = prefix;
    if (n < 10) bytes[at++] = 48 + n;
    else at = putDigits(bytes, at, n, decimalDigits(n));
    bytes[at++] = 13;
    bytes[at++] = 10;
    this.length = at;
  }

  /** Appends raw bytes. */
  rawBytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.bytes.set(b, this.length);
    this.length += b.length;
  }

  /** `+OK` */
  ok(): void {
    this.ensure(5);
    // Five stores: cheaper here than a TypedArray.set call.
    const bytes = this.bytes;
    const at = this.length;
    bytes[at] = 43; // '+'
    bytes[at + 1] = 79; // 'O'
    bytes[at + 2] = 75; // 'K'
    bytes[at + 3] = 13;
    bytes[at + 4] = 10;
    this.length = at + 5;
  }

  /** A simple string reply (`+s`). */
  simple(s: string): void {
    this.raw("+" + s + CRLF);
  }

  /** An error reply; `s` starts with the error code (`ERR ...`). Newlines become spaces as in Redis. */
  error(s: string): void {
    if (s.includes("\r") || s.includes("\n")) s = s.replace(/[\r\n]/g, " ");
    this.raw("-" + s + CRLF);
  }

  /** An integer reply. */
  int(n: number | bigint): void {
    if (typeof n === "number" && n >= 0 && n <= Number.MAX_SAFE_INTEGER && Number.isInteger(n)) {
      this.ensure(24);
      this.header(58, /* ':' */ n);
    } else {
      this.raw(":" + n + CRLF);
    }
  }

  /** A bulk string reply. */
  bulk(s: string): void {
    this.ensure(s.length + 24);
    this.header(36, /* '$' */ s.length);
    this.put(s);
    this.bytes[this.length++] = 13;
    this.bytes[this.length++] = 10;
  }

  /** A bulk string reply holding an integer's decimal text (`String(n)`), written without making the string. */
  bulkInteger(n: number): void {
    if (!Number.isSafeInteger(n)) return this.bulk(String(n));
    const negative = n < 0;
    const abs = negative ? -n : n;
    const digits = decimalDigits(abs);
    this.ensure(48);
    this.header(36, /* '$' */ negative ? digits + 1 : digits);
    const bytes = this.bytes;
    let at = this.length;
    if (negative) bytes[at++] = 45; // '-'
    at = putDigits(bytes, at, abs, digits);
    bytes[at++] = 13;
    bytes[at++] = 10;
    this.length = at;
  }

  /** A bulk string reply of bytes[start, start + len). */
  bulkSlice(src: Uint8Array, start: number, len: number): void {
    this.ensure(len + 24);
    this.header(36, /* '$' */ len);
    const bytes = this.bytes;
    let at = this.length;
    if (len < BYTE_LOOP_MAX_LEN) {
      for (let i = start; i < start + len; i++) bytes[at++] = src[i];
    } else {
      bytes.set(src.subarray(start, start + len), at);
      at += len;
    }
    bytes[at++] = 13;
    bytes[at++] = 10;
    this.length = at;
  }

  /** A bulk string reply from bytes. */
  bulkBytes(b: Uint8Array): void {
    this.bulkSlice(b, 0, b.length);
  }

  /** The null bulk string: `$-1` in RESP2, `_` in RESP3. */
  nil(): void {
    this.raw(this.resp === 3 ? "_\r\n" : "$-1\r\n");
  }

  /** The null array: `*-1` in RESP2, `_` in RESP3. */
  nilArray(): void {
    this.raw(this.resp === 3 ? "_\r\n" : "*-1\r\n");
  }

  /** An array header of `n` elements. */
  array(n: number): void {
    this.ensure(24);
    this.header(42, /* '*' */ n);
  }

  /** A map header of `n` pairs (a flat array of 2n in RESP2). */
  map(n: number): void {
    this.raw(this.resp === 3 ? "%" + n + CRLF : "*" + 2 * n + CRLF);
  }

  /** A set header (an array in RESP2). */
  set(n: number): void {
    this.raw(this.resp === 3 ? "~" + n + CRLF : "*" + n + CRLF);
  }

  /** A push header (an array in RESP2). */
  push(n: number): void {
    this.raw(this.resp === 3 ? ">" + n + CRLF : "*" + n + CRLF);
  }

  /** A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2. */
  bool(b: boolean): void {
    this.raw(this.resp === 3 ? (b ? "#t\r\n" : "#f\r\n") : (b ? ":1\r\n" : ":0\r\n"));
  }

  /** A double: `,d` in RESP3, a bulk string in RESP2, formatted as Redis's `%.17g`. */
  double(d: number): void {
    const s = formatDouble(d);
    if (this.resp === 3) this.raw("," + s + CRLF);
    else this.bulk(s);
  }

  /** A verbatim string (`=len\r\ntxt:...` in RESP3, bulk in RESP2). */
  verbatim(s: string, format = "txt"): void {
    if (this.resp === 3) {
      this.raw("=" + (s.length + 4) + CRLF + format + ":");
      this.raw(s);
      this.raw(CRLF);
    } else {
      this.bulk(s);
    }
  }

  /** An array of bulk strings. */
  bulkArray(items: readonly string[]): void {
    this.array(items.length);
    for (const item of items) this.bulk(item);
  }
}

/** Number of decimal digits of a non-negative integer below 2^53. */
function decimalDigits(n: number): number {
  let digits = 1;
  // Small integer arithmetic for the common case (lengths and counts), doubles beyond 2^31.
  if (n <= 0x7fffffff) { for (let v = n; v >= 10; v = (v / 10) | 0) digits++; }
  else for (let v = n; v >= 10; v = Math.floor(v / 10)) digits++;
  return digits;
}

/** Writes the `digits` decimal digits of `n` (non-negative, below 2^53) from `at`, backwards; returns the end. */
function putDigits(bytes: Uint8Array, at: number, n: number, digits: number): number {
  const end = at + digits;
  if (n <= 0x7fffffff) {
    for (let i = end - 1, v = n; i >= at; i--) {
      const q = (v / 10) | 0;
      bytes[i] = 48 + v - q * 10;
      v = q;
    }
  } else {
    for (let i = end - 1, v = n; i >= at; i--, v = Math.floor(v / 10)) bytes[i] = 48 + (v % 10);
  }
  return end;
}

/**
 * Formats a double as Redis 7.0 replies do (`%.17g`, with `inf`/`-inf`/`nan`).
 */
export function formatDouble(d: number): string {
  if (d === Infinity) return "inf";
  if (d === -Infinity) return "-inf";
  if (Number.isNaN(d)) return "nan";
  // JS prints safe integers exactly as %.17g does; from 2^53 its shortest form can differ (99999999999999792).
  if (Number.isSafeInteger(d)) return Object.is(d, -0) ? "-0" : String(d);
  return toG17(d);
}

/** C's `%.17g`: 17 significant digits, exponent form below 1e-4 or from 1e17, trailing zeros dropped. */
export function toG17(d: number): string {
  if (d === 0) return Object.is(d, -0) ? "-0" : "0";
  const a = Math.abs(d);
  // toExponential rounds exact ties away from zero; glibc rounds them to even.
  let e = a.toExponential(tieRoundsDown(a) ? 17 : 16);
  const expAt = e.indexOf("e");
  const exp = Number(e.slice(expAt + 1));
  e = (e[0] + e.slice(2, 18)).slice(0, 17).replace(/0+$/, "");
  let s: string;
  if (exp < -4 || exp >= 17) {
    const mant = e.length > 1 ? e[0] + "." + e.slice(1) : e;
    s = `${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  } else if (exp < 0) {
    s = "0." + "0".repeat(-exp - 1) + e;
  } else if (e.length > exp + 1) {
    s = e.slice(0, exp + 1) + "." + e.slice(exp + 1);
  } else {
    s = e.padEnd(exp + 1, "0");
  }
  return d < 0 ? "-" + s : s;
}

/**
 * Whether `a` (> 0) lies exactly halfway between two 17-digit decimals and the lower one is even,
 * so that `%.17g` truncates where `toExponential(16)` would round up.
 */
function tieRoundsDown(a: number): boolean {
  const e18 = a.toExponential(17);
  if (e18[18] !== "5" || (e18.charCodeAt(17) - 48) % 2 !== 0) return false;
  // Exact decimal expansion of a = m * 2^exp2: with exp2 < 0 it is m * 5^-exp2 / 10^-exp2.
  const bits = new DataView(new Float64Array([a]).buffer).getBigUint64(0, true);
  const biased = Number(bits >> 52n);
  let m = bits & ((1n << 52n) - 1n);
  if (biased !== 0) m |= 1n << 52n;
  const exp2 = (biased === 0 ? 1 : biased) - 1075;
  // An integer-valued double never has exactly 18 significant digits ending in 5 (it would exceed 2^53).
  if (exp2 >= 0) return false;
  const digits = (m * 5n ** BigInt(-exp2)).toString().replace(/0+$/, "");
  return digits.length === 18;
}
