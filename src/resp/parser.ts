/**
 * Incremental RESP request parser: multibulk (`*N\r\n$len\r\n...`) and inline commands,
 * across any read boundary, with Redis's limits and protocol error texts.
 * The client reads straight into `writable()` and calls `commit(n)`, so bytes are copied once.
 */
import { latin1View } from "./latin1.ts";
import { hintKeySlot, keyHashSlotBytes } from "../cluster/slots.ts";
import { splitArgs } from "./split_args.ts";

/** Longest inline request, or count line, Redis accepts without a newline (PROTO_INLINE_MAX_SIZE). */
export const PROTO_INLINE_MAX_SIZE = 64 * 1024;
const INT_MAX = 2147483647;
/** string2ll accepts strings shorter than LONG_STR_SIZE (21) characters, sign included. */
const MAX_LONG_LONG_CHARS = 20;
const LLONG_MAX_DIGITS = "9223372036854775807";
const LLONG_MIN_DIGITS = "9223372036854775808";
/** Unauthenticated clients may send at most this many arguments / bytes per argument. */
const UNAUTH_MULTIBULK_MAX = 10;
const UNAUTH_BULK_MAX = 16384;
const INITIAL_BUFFER_BYTES = 16 * 1024;
const CR = 13;
/** Slots of the command-name cache (a power of two). */
const NAME_CACHE_SIZE = 256;
/** First arguments up to this length get their hash slot computed from the bytes while parsing. */
const KEY_SLOT_HINT_MAX_BYTES = 128;
/** Longest argument decoded in JS rather than natively. */
const SHORT_ARG_MAX_BYTES = 32;

/**
 * SHORT_DECODERS[n](bytes, at) decodes n bytes with a single `String.fromCharCode(b[at], ...,
 * b[at + n - 1])` call: V8 then builds one flat string (concatenating pieces would make cons
 * strings, which Map lookups must flatten). Generated because the call needs a fixed arity.
 */
const SHORT_DECODERS: ((bytes: Uint8Array, at: number) => string)[] = Array.from(
  { length: SHORT_ARG_MAX_BYTES + 1 },
  (_, n) =>
    new Function(
      "fromCharCode",
      `return (b, i) => fromCharCode(${Array.from({ length: n }, (_, k) => `b[i + ${k}]`).join(", ")});`,
    )(String.fromCharCode),
);
const LF = 10;
/** Entries of the argument cache shared by all connections (a power of two); see `cachedArgument`. */
const ARG_CACHE_SIZE = 4096;
const argCache: (string | undefined)[] = new Array(ARG_CACHE_SIZE).fill(undefined);
/** Hash slot of each cached argument, -1 until it was a first argument. */
const argCacheSlots = new Int32Array(ARG_CACHE_SIZE).fill(-1);
const argCacheTags = new Int32Array(ARG_CACHE_SIZE).fill(-1);

/** Limits the parser enforces; read on every command so CONFIG SET takes effect at once. */
export interface ParserLimits {
  protoMaxBulkLen: number;
}

/** Parses requests out of a growing byte buffer. */
export class RespParser {
  private bytes = new Uint8Array(INITIAL_BUFFER_BYTES);
  private view = latin1View(this.bytes);
  private start = 0;
  private end = 0;
  /** Arguments still expected by the multibulk being parsed; 0 when between commands. */
  private pendingArgs = 0;
  /** Length of the bulk being waited for; -1 when its `$len` line is still to come. */
  private bulkLen = -1;
  private args: string[] = [];
  private readonly nameCache: (string | undefined)[] = new Array(NAME_CACHE_SIZE).fill(undefined);
  /** Set when `next()` returned null because the stream is invalid; the connection must close. */
  error: string | null = null;
  /** Whether the connection still has to authenticate (tightens limits as Redis does). */
  authRequired = false;
  /** Bytes ever received (a replica's master stream offset is counted from it). */
  received = 0;

  constructor(private limits: ParserLimits) {}

  /** Uses other limits (a replica's master link is exempt from the client ones). */
  setLimits(limits: ParserLimits): void {
    this.limits = limits;
  }

  /** Bytes buffered but not yet parsed into a command (the query buffer). */
  get buffered(): number {
    return this.end - this.start;
  }

  /** Free space to read into; grows or compacts the buffer so at least `min` bytes are free. */
  writable(min = 4096): Uint8Array {
    if (this.bytes.length - this.end < min) this.makeRoom(min);
    return this.bytes.subarray(this.end);
  }

  /** Marks `n` bytes written into `writable()` as received. */
  commit(n: number): void {
    this.end += n;
    this.received += n;
  }

  /** Appends bytes (for tests and callers that do not read in place). */
  feed(chunk: Uint8Array): void {
    this.writable(chunk.length).set(chunk);
    this.commit(chunk.length);
  }

  private makeRoom(min: number): void {
    const used = this.end - this.start;
    if (this.start > 0 && this.bytes.length - used >= min && used < this.bytes.length / 2) {
      this.bytes.copyWithin(0, this.start, this.end);
    } else {
      let size = this.bytes.length;
      while (size - used < min) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.bytes.subarray(this.start, this.end));
      this.bytes = next;
      this.view = latin1View(next);
    }
    this.start = 0;
    this.end = used;
  }

  /** Returns the next complete command, or null when more bytes are needed or on error (`error`). */
  next(): string[] | null {
    while (this.start < this.end) {
      if (this.pendingArgs === 0) {
        if (this.bytes[this.start] !== 42 /* '*' */) {
          const inline = this.parseInline();
          if (inline === null) return null;
          if (inline.length > 0) return inline;
          continue;
        }
        const count = this.quickCount(42 /* '*' */) ?? this.readCountLine("mbulk count");
        if (count === null) return null;
        if (count > INT_MAX) return this.fail("invalid multibulk length");
        if (count > UNAUTH_MULTIBULK_MAX && this.authRequired) return this.fail("unauthenticated multibulk length");
        if (count <= 0) continue;
        this.pendingArgs = count;
        this.args = [];
      }
      while (this.pendingArgs > 0) {
        if (this.bulkLen === -1) {
          if (this.start >= this.end) return null;
          const len = this.quickCount(36 /* '$' */) ?? this.readCountLine("bulk count");
          if (len === null) return null;
          if (len < 0 || len > this.limits.protoMaxBulkLen) return this.fail("invalid bulk length");
          if (len > UNAUTH_BULK_MAX && this.authRequired) return this.fail("unauthenticated bulk length");
          this.bulkLen = len;
          // Make room for the whole argument now so a big bulk is not regrown repeatedly.
          if (this.bytes.length - this.start < len + 2) this.makeRoom(len + 2 - (this.end - this.start));
        }
        if (this.end - this.start < this.bulkLen + 2) return null;
        let arg: string;
        if (this.args.length === 0) {
          arg = this.commandName(this.start, this.bulkLen);
        } else if (
          this.args.length === 1 ? this.bulkLen <= KEY_SLOT_HINT_MAX_BYTES : this.bulkLen <= SHORT_ARG_MAX_BYTES
        ) {
          arg = this.cachedArgument(this.start, this.bulkLen, this.args.length === 1);
        } else {
          arg = this.decode(this.start, this.bulkLen);
        }
        this.args.push(arg);
        // Like Redis, the two bytes after the bulk are skipped without being checked.
        this.start += this.bulkLen + 2;
        this.bulkLen = -1;
        this.pendingArgs--;
      }
      return this.args;
    }
    if (this.start === this.end) this.start = this.end = 0;
    return null;
  }

  /**
   * Reads `<prefix char><integer>\r\n` (the prefix is `$` for a bulk count); null when incomplete or
   * invalid (then `error` is set). Like Redis, the line ends at the first CR and the byte after it is
   * skipped unchecked; Redis finds the CR with strchr, so a NUL byte before it hides the line for good.
   */
  private readCountLine(what: "mbulk count" | "bulk count"): number | null {
    // A plain loop: `subarray().indexOf` allocates a view per line, three lines per command.
    const bytes = this.bytes;
    const end = this.end;
    let at = this.start;
    while (at < end && bytes[at] !== CR) at++;
    if (at >= end) return this.waitForLine(what);
    const cr = at - this.start;
    if (this.start + cr + 1 >= this.end) return null;
    const lineStart = this.start;
    const badPrefix = what === "bulk count" && this.bytes[lineStart] !== 36; /* '$' */
    const value = badPrefix ? null : parseStrictInt(this.bytes, lineStart + 1, lineStart + cr);
    if (value === null) {
      // A valid line holds no NUL, so the strchr quirk is checked only here, off the common path.
      if (this.hasNulBefore(cr)) return this.waitForLine(what);
      this.start += cr + 2;
      if (badPrefix) return this.fail(`expected '$', got '${String.fromCharCode(this.bytes[lineStart])}'`);
      return this.fail(what === "bulk count" ? "invalid bulk length" : "invalid multibulk length");
    }
    this.start += cr + 2;
    return value;
  }

  /**
   * The common `$<1-9 digits>\r\n` / `*<1-9 digits>\r\n` line, parsed in one pass; null sends every
   * other case (incomplete, signed, leading zeros, errors) to `readCountLine`, which has Redis's rules.
   */
  private quickCount(prefix: number): number | null {
    const b = this.bytes;
    let i = this.start;
    if (b[i] !== prefix) return null;
    let d = b[++i] - 48;
    if (d < 1 || d > 9) return null;
    let value = d;
    const limit = Math.min(this.end, i + 9);
    while (++i < limit) {
      d = b[i] - 48;
      if (d < 0 || d > 9) break;
      value = value * 10 + d;
    }
    if (i + 1 >= this.end || b[i] !== CR) return null;
    this.start = i + 2;
    return value;
  }

  /**
   * Decodes the command name. Clients repeat a few names, so the last decoded string per
   * (length, first byte, last byte) is reused when the bytes match: no allocation, and the
   * command table lookup hits V8's cached string hash.
   */
  private commandName(start: number, len: number): string {
    const bytes = this.bytes;
    if (len === 0 || len > 32) return this.view.latin1Slice(start, start + len);
    const slot = (len * 31 + bytes[start] * 7 + bytes[start + len - 1]) & (NAME_CACHE_SIZE - 1);
    const cached = this.nameCache[slot];
    if (cached !== undefined && cached.length === len) {
      let i = 0;
      while (i < len && cached.charCodeAt(i) === bytes[start + i]) i++;
      if (i === len) return cached;
    }
    const name = this.view.latin1Slice(start, start + len);
    this.nameCache[slot] = name;
    return name;
  }

  /**
   * Decodes a short argument through the argument cache; for the first one, most often a key, also hints its hash slot
   * (see hintKeySlot). Clients repeat keys, members and fields, so an argument seen twice in a row at its cache entry
   * (same length and bytes at a few places, then the same bytes) is kept and reused: no decode, no CRC16 for a key,
   * and Map and Set lookups find the string's hash already computed (a GET's lookup was a fifth of its in-process
   * cost with a fresh key string). An argument seen once only leaves a tag, so random ones neither keep strings alive
   * nor touch cold ones.
   */
  private cachedArgument(start: number, len: number, isFirst: boolean): string {
    const bytes = this.bytes;
    const last = start + len - 1;
    const at = len === 0 ? 0 : (len * 31 + bytes[start] * 7 + bytes[start + (len >> 1)] * 3 + bytes[last]) &
      (ARG_CACHE_SIZE - 1);
    const tag = len < 4
      ? len
      : (len << 24) ^ (bytes[last - 3] << 21) ^ (bytes[last - 2] << 14) ^ (bytes[last - 1] << 7) ^ bytes[last];
    const seen = argCacheTags[at] === tag;
    if (seen) {
      const cached = argCache[at];
      if (cached !== undefined && cached.length === len) {
        let i = len - 1;
        while (i >= 0 && cached.charCodeAt(i) === bytes[start + i]) i--;
        if (i < 0) {
          if (isFirst) {
            let slot = argCacheSlots[at];
            if (slot === -1) slot = argCacheSlots[at] = keyHashSlotBytes(bytes, start, start + len);
            hintKeySlot(cached, slot);
          }
          return cached;
        }
      }
    } else {
      argCacheTags[at] = tag;
    }
    const arg = this.decode(start, len);
    const slot = isFirst ? keyHashSlotBytes(bytes, start, start + len) : -1;
    if (seen) {
      argCache[at] = arg;
      argCacheSlots[at] = slot;
    }
    if (isFirst) hintKeySlot(arg, slot);
    return arg;
  }

  /**
   * Decodes an argument. Up to SHORT_ARG_MAX_BYTES one `String.fromCharCode` call with a fixed
   * number of arguments builds a flat string 30-40% faster than the native latin1 decoder (an op).
   */
  private decode(start: number, len: number): string {
    if (len > SHORT_ARG_MAX_BYTES) return this.view.latin1Slice(start, start + len);
    return SHORT_DECODERS[len](this.bytes, start);
  }

  /** No complete line yet: fails once the pending bytes exceed what Redis buffers for one line. */
  private waitForLine(what: string): null {
    if (this.end - this.start > PROTO_INLINE_MAX_SIZE) return this.fail(`too big ${what} string`);
    return null;
  }

  /** Whether a NUL byte lies in the `count` bytes at the parse position (C string functions stop there). */
  private hasNulBefore(count: number): boolean {
    const b = this.bytes;
    const to = this.start + count;
    for (let i = this.start; i < to; i++) if (b[i] === 0) return true;
    return false;
  }

  private parseInline(): string[] | null {
    const lf = this.bytes.subarray(this.start, this.end).indexOf(LF);
    if (lf === -1 || this.hasNulBefore(lf)) {
      if (this.end - this.start > PROTO_INLINE_MAX_SIZE) return this.fail("too big inline request");
      return null;
    }
    let lineEnd = this.start + lf;
    if (lineEnd > this.start && this.bytes[lineEnd - 1] === CR) lineEnd--;
    const line = this.view.latin1Slice(this.start, lineEnd);
    this.start += lf + 1;
    const args = splitArgs(line);
    if (args === null) return this.fail("unbalanced quotes in request");
    return args;
  }

  private fail(reason: string): null {
    this.error = `ERR Protocol error: ${reason}`;
    return null;
  }
}

/**
 * Parses a base-10 integer as Redis's string2ll does: no spaces, no '+', no leading zeros, at most
 * 20 characters, within the signed 64-bit range. Values beyond 2^53 come back rounded, which is
 * enough here: callers only compare them with limits far below that.
 */
function parseStrictInt(bytes: Uint8Array, from: number, to: number): number | null {
  if (from >= to || to - from > MAX_LONG_LONG_CHARS) return null;
  let i = from;
  let negative = false;
  if (bytes[i] === 45 /* '-' */) {
    negative = true;
    i++;
    if (i === to) return null;
  }
  if (bytes[i] === 48 /* '0' */) return to - i === 1 && !negative ? 0 : null;
  const digits = to - i;
  // The largest magnitude: LLONG_MAX, or one more for LLONG_MIN (their last digits are 7 and 8).
  const limit = negative ? LLONG_MIN_DIGITS : LLONG_MAX_DIGITS;
  if (digits > limit.length) return null;
  let value = 0;
  let cmp = 0; // sign of the first difference from `limit`, for a number as long as `limit`
  for (let j = 0; i < to; i++, j++) {
    const d = bytes[i] - 48;
    if (d < 0 || d > 9) return null;
    value = value * 10 + d;
    if (cmp === 0 && digits === limit.length) cmp = d + 48 - limit.charCodeAt(j);
  }
  if (cmp > 0) return null;
  return negative ? -value : value;
}
