/** A minimal outbound RESP connection: send commands, read replies in order. */
import { Buffer } from "node:buffer";
import { bytesToLatin1 } from "./latin1.ts";
import { parseReply, type RespValue } from "./reply_parser.ts";

/** Writes every byte to a connection or file (a single write may take only part of them). */
export async function writeAll(to: { write(p: Uint8Array): Promise<number> }, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await to.write(bytes.subarray(done));
}

/** Encodes a command as a RESP multibulk (arguments are latin1 strings). */
export function encodeCommand(args: readonly string[]): Uint8Array {
  let text = `*${args.length}\r\n`;
  for (const a of args) text += `$${a.length}\r\n${a}\r\n`;
  return Buffer.from(text, "latin1");
}

/** Free space each read may fill. */
const READ_SPACE_BYTES = 64 * 1024;

/** One TCP connection to a RESP server (tests, MIGRATE, slot migration): commands out, replies parsed back. */
export class RespConnection {
  /** Bytes received and not yet consumed are `buffer[start, end)`; reads go to the free space after `end`. */
  private buffer = new Uint8Array(READ_SPACE_BYTES);
  private start = 0;
  private end = 0;

  private constructor(private readonly conn: Deno.TcpConn) {}

  /** Connects to host:port. */
  static async connect(port: number, hostname = "127.0.0.1"): Promise<RespConnection> {
    const conn = await Deno.connect({ port, hostname });
    conn.setNoDelay(true);
    return new RespConnection(conn);
  }

  /** Sends raw bytes (for protocol tests). */
  async writeRaw(bytes: Uint8Array | string): Promise<void> {
    await writeAll(this.conn, typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
  }

  /** Sends one command and returns its decoded reply. */
  async call(...args: string[]): Promise<RespValue> {
    await this.writeRaw(encodeCommand(args));
    return (await this.readReply()).value;
  }

  /** Sends one command and returns the reply's exact bytes as a latin1 string. */
  async callRaw(...args: string[]): Promise<string> {
    await this.writeRaw(encodeCommand(args));
    return (await this.readReply()).raw;
  }

  /** Reads the next reply; rejects if the server closes first. */
  async readReply(): Promise<{ value: RespValue; raw: string }> {
    while (true) {
      const pending = this.buffer.subarray(this.start, this.end);
      const parsed = parseReply(pending, 0);
      if (parsed !== null) {
        const raw = bytesToLatin1(pending.subarray(0, parsed.end));
        this.start += parsed.end;
        if (this.start === this.end) this.start = this.end = 0;
        return { value: parsed.value, raw };
      }
      await this.fill();
    }
  }

  /** Reads whatever arrives until the server closes; returns it as latin1. */
  async readUntilClose(): Promise<string> {
    try {
      while (true) await this.fill();
    } catch {
      // closed
    }
    const raw = bytesToLatin1(this.buffer.subarray(this.start, this.end));
    this.start = this.end = 0;
    return raw;
  }

  /** Reads more bytes after `end`, first making READ_SPACE_BYTES of room (moving the pending bytes, or growing). */
  private async fill(): Promise<void> {
    if (this.buffer.length - this.end < READ_SPACE_BYTES) {
      const pending = this.end - this.start;
      if (this.buffer.length - pending >= READ_SPACE_BYTES) {
        this.buffer.copyWithin(0, this.start, this.end);
      } else {
        const next = new Uint8Array(Math.max(this.buffer.length * 2, pending + READ_SPACE_BYTES));
        next.set(this.buffer.subarray(this.start, this.end));
        this.buffer = next;
      }
      this.start = 0;
      this.end = pending;
    }
    const n = await this.conn.read(this.buffer.subarray(this.end));
    if (n === null) throw new Error("connection closed");
    this.end += n;
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}
