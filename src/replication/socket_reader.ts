/**
 * Buffered reads from a socket with a deadline, for the replica's handshake and snapshot transfer:
 * lines, exact byte counts, and "until this end mark" (diskless `$EOF:` payloads).
 */

/** A read that saw no byte for the allowed time, or a closed connection. */
export class SocketReadError extends Error {}

const CHUNK_BYTES = 64 * 1024;

/** Reads from one connection; `leftover()` hands what was buffered beyond the last read to the next owner. */
export class SocketReader {
  private buf = new Uint8Array(CHUNK_BYTES);
  private start = 0;
  private end = 0;
  /** Bytes received so far (INFO master_sync_read_bytes). */
  received = 0;
  /** Unix ms of the last byte received. */
  lastIo = Date.now();

  /** A read that gets no byte for this long fails. */
  timeoutMs: number;

  constructor(private readonly conn: Deno.Conn, timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  /** One line without its CR LF (a lone LF also ends a line). */
  async readLine(): Promise<string> {
    while (true) {
      const lf = this.buf.subarray(this.start, this.end).indexOf(10);
      if (lf !== -1) {
        let stop = this.start + lf;
        const next = stop + 1;
        if (stop > this.start && this.buf[stop - 1] === 13) stop--;
        let line = "";
        for (let i = this.start; i < stop; i++) line += String.fromCharCode(this.buf[i]);
        this.start = next;
        return line;
      }
      if (this.end - this.start > 64 * 1024) throw new SocketReadError("line too long");
      await this.fill();
    }
  }

  /** Exactly `n` bytes, reporting progress after each read. */
  async readExact(n: number, progress?: (done: number) => void): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      if (this.start === this.end) await this.fill();
      const take = Math.min(n - done, this.end - this.start);
      out.set(this.buf.subarray(this.start, this.start + take), done);
      this.start += take;
      done += take;
      progress?.(done);
    }
    return out;
  }

  /** Everything up to `mark` (excluded), which must end the payload. */
  async readUntilMark(mark: Uint8Array, progress?: (done: number) => void): Promise<Uint8Array> {
    let out = new Uint8Array(1024 * 1024);
    let len = 0;
    while (true) {
      if (this.start === this.end) await this.fill();
      const take = this.end - this.start;
      if (len + take > out.length) {
        const grown = new Uint8Array(Math.max(out.length * 2, len + take));
        grown.set(out.subarray(0, len));
        out = grown;
      }
      out.set(this.buf.subarray(this.start, this.end), len);
      this.start = this.end;
      len += take;
      progress?.(len);
      if (len >= mark.length && endsWith(out, len, mark)) return out.subarray(0, len - mark.length);
    }
  }

  /** Bytes received but not consumed yet. */
  leftover(): Uint8Array {
    return this.buf.slice(this.start, this.end);
  }

  private async fill(): Promise<void> {
    if (this.start === this.end) this.start = this.end = 0;
    if (this.end === this.buf.length) {
      const grown = new Uint8Array(this.buf.length * 2);
      grown.set(this.buf.subarray(this.start, this.end));
      this.end -= this.start;
      this.start = 0;
      this.buf = grown;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((_, reject) => {
      timer = setTimeout(() => reject(new SocketReadError("timeout")), this.timeoutMs);
    });
    try {
      const read = this.conn.read(this.buf.subarray(this.end));
      // A read abandoned on timeout rejects later, when the connection is closed: not an unhandled error.
      read.catch(() => {});
      const n = await Promise.race([read, timeout]);
      if (n === null) throw new SocketReadError("connection closed");
      this.end += n;
      this.received += n;
      this.lastIo = Date.now();
    } finally {
      clearTimeout(timer);
    }
  }
}

function endsWith(buf: Uint8Array, len: number, mark: Uint8Array): boolean {
  const at = len - mark.length;
  for (let i = 0; i < mark.length; i++) if (buf[at + i] !== mark[i]) return false;
  return true;
}
