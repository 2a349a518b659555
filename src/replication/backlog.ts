/**
 * The replication backlog: a ring of the most recent bytes of the replication stream, so a replica
 * that lost its link can continue from its offset (Redis's repl_backlog, PSYNC's partial resync).
 */

/** Smallest backlog Redis allows (CONFIG_REPL_BACKLOG_MIN_SIZE). */
export const REPL_BACKLOG_MIN_BYTES = 16 * 1024;

/** A fixed-size ring of stream bytes that knows the stream offset of its first byte. */
export class ReplBacklog {
  private ring: Uint8Array;
  /** Next write position in the ring. */
  private head = 0;
  /** Bytes held (at most the ring size). */
  histlen = 0;
  /** Stream offset of the first byte held (Redis's repl_backlog->offset). */
  offset: number;

  /** A backlog whose next byte will have stream offset `firstOffset`. */
  constructor(sizeBytes: number, firstOffset: number) {
    this.ring = new Uint8Array(Math.max(REPL_BACKLOG_MIN_BYTES, sizeBytes));
    this.offset = firstOffset;
  }

  /** Capacity in bytes. */
  get size(): number {
    return this.ring.length;
  }

  /** Appends stream bytes, dropping the oldest ones beyond the capacity. */
  append(bytes: Uint8Array): void {
    const ring = this.ring;
    const end = this.offset + this.histlen + bytes.length;
    let src = bytes.length > ring.length ? bytes.subarray(bytes.length - ring.length) : bytes;
    while (src.length > 0) {
      const n = Math.min(src.length, ring.length - this.head);
      ring.set(src.subarray(0, n), this.head);
      this.head = (this.head + n) % ring.length;
      src = src.subarray(n);
    }
    this.histlen = Math.min(this.histlen + bytes.length, ring.length);
    this.offset = end - this.histlen;
  }

  /** Whether the stream from `offset` on (up to the end) is held: PSYNC's data condition. */
  covers(offset: number): boolean {
    return offset >= this.offset && offset <= this.offset + this.histlen;
  }

  /** The bytes from stream offset `offset` to the end (call only when `covers(offset)`). */
  from(offset: number): Uint8Array {
    const skip = offset - this.offset;
    const len = this.histlen - skip;
    const out = new Uint8Array(len);
    const ring = this.ring;
    let start = (this.head - this.histlen + skip + ring.length * 2) % ring.length;
    let done = 0;
    while (done < len) {
      const n = Math.min(len - done, ring.length - start);
      out.set(ring.subarray(start, start + n), done);
      done += n;
      start = 0;
    }
    return out;
  }

  /** Changes the capacity, keeping the newest bytes that fit (CONFIG SET repl-backlog-size). */
  resize(sizeBytes: number): void {
    const size = Math.max(REPL_BACKLOG_MIN_BYTES, sizeBytes);
    if (size === this.ring.length) return;
    const end = this.offset + this.histlen;
    const keep = Math.min(this.histlen, size);
    const tail = this.from(end - keep);
    this.ring = new Uint8Array(size);
    this.ring.set(tail);
    this.head = keep % size;
    this.histlen = keep;
    this.offset = end - keep;
  }
}
