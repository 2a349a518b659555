/**
 * Reply encoder: appends RESP2 or RESP3 replies into one growable byte buffer, so all replies
 * of one read go out in a single write. Strings are latin1 (one char per byte).
 */

const INITIAL_BYTES = 16 * 1024;
/** Above this length a string is encoded with `TextEncoder.encodeInto` when it is pure ASCII. */
const ENCODE_INTO_MIN_CHARS = 64;
const asciiEncoder = new TextEncoder();

/** Redis's shared replies, pre-encoded once. */
const CRLF = "\r\n";

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
    const n = s.length;
    this.ensure(n);
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

  /** Appends raw bytes. */
  rawBytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.bytes.set(b, this.length);
    this.length += b.length;
  }

  /** `+OK` */
  ok(): void {
    this.raw("+OK\r\n");
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
    this.raw(":" + n + CRLF);
  }

  /** A bulk string reply. */
  bulk(s: string): void {
    this.raw("$" + s.length + CRLF);
    this.raw(s);
    this.raw(CRLF);
  }

  /** A bulk string reply from bytes. */
  bulkBytes(b: Uint8Array): void {
    this.raw("$" + b.length + CRLF);
    this.rawBytes(b);
    this.raw(CRLF);
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
    this.raw("*" + n + CRLF);
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

/**
 * Formats a double as Redis replies do (`%.17g`, with `inf`/`-inf`/`nan`).
 * Shortest round-trip digits are used, which is what Redis 7.0 emits via its fpconv `%.17g` path.
 */
export function formatDouble(d: number): string {
  if (d === Infinity) return "inf";
  if (d === -Infinity) return "-inf";
  if (Number.isNaN(d)) return "nan";
  if (Number.isInteger(d) && Math.abs(d) < 1e17) return Object.is(d, -0) ? "-0" : String(d);
  return toG17(d);
}

/** C's `%.17g`: 17 significant digits, exponent form below 1e-4 or from 1e17. */
export function toG17(d: number): string {
  if (d === 0) return Object.is(d, -0) ? "-0" : "0";
  const exp = Math.floor(Math.log10(Math.abs(d)));
  let s: string;
  if (exp < -4 || exp >= 17) {
    s = d.toExponential(16);
    let [mant, e] = s.split("e");
    if (mant.includes(".")) mant = mant.replace(/0+$/, "").replace(/\.$/, "");
    const sign = e[0] === "-" ? "-" : "+";
    const digits = e.replace(/^[+-]/, "").padStart(2, "0");
    return `${mant}e${sign}${digits}`;
  }
  s = d.toFixed(Math.max(0, 16 - exp));
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s;
}
