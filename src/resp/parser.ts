/**
 * Incremental RESP request parser: multibulk (`*N\r\n$len\r\n...`) and inline commands,
 * across any read boundary, with Redis's limits and protocol error texts.
 * The client reads straight into `writable()` and calls `commit(n)`, so bytes are copied once.
 */
import { latin1View } from "./latin1.ts";
import { splitArgs } from "./split_args.ts";

/** Longest inline request, or count line, Redis accepts without a newline (PROTO_INLINE_MAX_SIZE). */
export const PROTO_INLINE_MAX_SIZE = 64 * 1024;
const INT_MAX = 2147483647;
/** Unauthenticated clients may send at most this many arguments / bytes per argument. */
const UNAUTH_MULTIBULK_MAX = 10;
const UNAUTH_BULK_MAX = 16384;
const INITIAL_BUFFER_BYTES = 16 * 1024;
const CR = 13;
const LF = 10;

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
  /** Set when `next()` returned null because the stream is invalid; the connection must close. */
  error: string | null = null;
  /** Whether the connection still has to authenticate (tightens limits as Redis does). */
  authRequired = false;

  constructor(private readonly limits: ParserLimits) {}

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
        const count = this.readCountLine("mbulk count");
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
          if (this.bytes[this.start] !== 36 /* '$' */) {
            return this.fail(`expected '$', got '${String.fromCharCode(this.bytes[this.start])}'`);
          }
          const len = this.readCountLine("bulk count");
          if (len === null) return null;
          if (len < 0 || len > this.limits.protoMaxBulkLen) return this.fail("invalid bulk length");
          if (len > UNAUTH_BULK_MAX && this.authRequired) return this.fail("unauthenticated bulk length");
          this.bulkLen = len;
          // Make room for the whole argument now so a big bulk is not regrown repeatedly.
          if (this.bytes.length - this.start < len + 2) this.makeRoom(len + 2 - (this.end - this.start));
        }
        if (this.end - this.start < this.bulkLen + 2) return null;
        this.args.push(this.view.latin1Slice(this.start, this.start + this.bulkLen));
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

  /** Reads `<prefix char><integer>\r\n`; null when incomplete or invalid (then `error` is set). */
  private readCountLine(what: string): number | null {
    const cr = this.bytes.subarray(this.start, this.end).indexOf(CR);
    if (cr === -1 || this.start + cr + 1 >= this.end) {
      if (this.end - this.start > PROTO_INLINE_MAX_SIZE) return this.fail(`too big ${what} string`);
      return null;
    }
    const value = parseStrictInt(this.bytes, this.start + 1, this.start + cr);
    this.start += cr + 2;
    if (value === null) return this.fail(what === "bulk count" ? "invalid bulk length" : "invalid multibulk length");
    return value;
  }

  private parseInline(): string[] | null {
    const lf = this.bytes.subarray(this.start, this.end).indexOf(LF);
    if (lf === -1) {
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

/** Parses a base-10 integer as Redis's string2ll does: no spaces, no '+', no leading zeros. */
function parseStrictInt(bytes: Uint8Array, from: number, to: number): number | null {
  if (from >= to) return null;
  let i = from;
  let negative = false;
  if (bytes[i] === 45 /* '-' */) {
    negative = true;
    i++;
    if (i === to) return null;
  }
  if (bytes[i] === 48 /* '0' */) return to - i === 1 && !negative ? 0 : null;
  let value = 0;
  for (; i < to; i++) {
    const d = bytes[i] - 48;
    if (d < 0 || d > 9) return null;
    value = value * 10 + d;
  }
  if (value > Number.MAX_SAFE_INTEGER) return null;
  return negative ? -value : value;
}
