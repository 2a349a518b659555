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

/** One TCP connection to a RESP server. */
export class RespConnection {
  private buffer = new Uint8Array(0);

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
      const parsed = parseReply(this.buffer, 0);
      if (parsed !== null) {
        const raw = bytesToLatin1(this.buffer.subarray(0, parsed.end));
        this.buffer = this.buffer.slice(parsed.end);
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
    const raw = bytesToLatin1(this.buffer);
    this.buffer = new Uint8Array(0);
    return raw;
  }

  private async fill(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.conn.read(chunk);
    if (n === null) throw new Error("connection closed");
    const next = new Uint8Array(this.buffer.length + n);
    next.set(this.buffer);
    next.set(chunk.subarray(0, n), this.buffer.length);
    this.buffer = next;
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
