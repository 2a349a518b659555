/**
 * One client connection: reads into the parser's buffer, runs every complete command of a read,
 * and sends all their replies with one write (design principle 5).
 */
import { RespParser } from "../resp/parser.ts";
import { ReplyWriter } from "../resp/writer.ts";
import type { Server } from "./server.ts";
import type { Db } from "../store/keyspace.ts";
import { dispatch } from "./dispatch.ts";
import { logger } from "../log.ts";

/** Bytes asked of each read. */
const READ_CHUNK_BYTES = 16 * 1024;

/** A command queued by MULTI. */
export interface QueuedCommand {
  argv: string[];
}

/** Connection state of one client. */
export class Client {
  readonly id: number;
  readonly parser: RespParser;
  /** Replies being built; swapped with `sending` when a write starts. */
  out = new ReplyWriter();
  private sending = new ReplyWriter();
  private writing: Promise<void> | null = null;
  db: Db;
  name = "";
  /** RESP protocol version chosen with HELLO. */
  resp: 2 | 3 = 2;
  authenticated: boolean;
  readonly createdAt = Date.now();
  lastInteraction = Date.now();
  /** Name of the last command run (CLIENT LIST `cmd=`). */
  lastCommand = "NULL";
  /** MULTI state: null outside a transaction. */
  multi: QueuedCommand[] | null = null;
  /** Set when a command could not be queued: EXEC then answers EXECABORT. */
  multiError = false;
  /** Watched keys per db; a modification makes `dirtyCas` true. */
  watched: { db: Db; key: string; expiredAtWatch: boolean }[] = [];
  dirtyCas = false;
  /** Close once pending replies are sent (QUIT, protocol error, CLIENT KILL). */
  closeAfterReply = false;
  closed = false;
  /** Client flags for CLIENT LIST (`N`, `M` monitor, `x` in MULTI ...). */
  monitor = false;
  /** CLIENT REPLY ON|OFF|SKIP. */
  replyMode: "on" | "off" | "skip" = "on";
  noEvict = false;
  /** A promise the read loop waits on before running more commands (CLIENT PAUSE, blocking ops). */
  waitFor: Promise<void> | null = null;
  readonly addr: string;
  readonly laddr: string;

  constructor(readonly server: Server, readonly conn: Deno.TcpConn, id: number) {
    this.id = id;
    this.parser = new RespParser(server.limits);
    this.db = server.dbs[0];
    this.authenticated = server.config.str("requirepass") === "";
    this.parser.authRequired = !this.authenticated;
    const remote = conn.remoteAddr as Deno.NetAddr;
    const local = conn.localAddr as Deno.NetAddr;
    this.addr = formatAddr(remote);
    this.laddr = formatAddr(local);
  }

  /** Sets the protocol for both reply buffers. */
  setResp(resp: 2 | 3): void {
    this.resp = resp;
    this.out.resp = resp;
    this.sending.resp = resp;
  }

  /** The read loop: runs until the peer closes, an error occurs or the client is killed. */
  async run(): Promise<void> {
    const parser = this.parser;
    try {
      while (!this.closed) {
        const n = await this.conn.read(parser.writable(READ_CHUNK_BYTES));
        if (n === null) break;
        parser.commit(n);
        this.lastInteraction = Date.now();
        if (parser.buffered > this.server.limits.queryBufferLimit) {
          logger.warning(`Closing client that reached max query buffer length: ${this.describe()}`);
          break;
        }
        await this.processInput();
        if (this.out.length > 0) await this.flush();
        if (this.closeAfterReply) break;
      }
    } catch {
      // Connection reset or write error: the client just goes away.
    } finally {
      if (this.writing) await this.writing.catch(() => {});
      this.close();
    }
  }

  /** Runs every complete command in the query buffer. */
  private async processInput(): Promise<void> {
    const parser = this.parser;
    while (!this.closeAfterReply && !this.closed) {
      if (this.waitFor !== null) {
        if (this.out.length > 0) await this.flush();
        await this.waitFor;
        this.waitFor = null;
        continue;
      }
      const argv = parser.next();
      if (argv === null) {
        if (parser.error !== null) {
          this.server.stats.protocolErrors++;
          logger.verbose(`Protocol error (${parser.error}) from client: ${this.describe()}`);
          this.out.error(parser.error);
          this.closeAfterReply = true;
        }
        return;
      }
      dispatch(this, argv);
    }
  }

  /** Sends pending replies; concurrent callers share one write loop. */
  flush(): Promise<void> {
    if (this.writing === null) {
      this.writing = this.writeLoop().finally(() => {
        this.writing = null;
      });
    }
    return this.writing;
  }

  private async writeLoop(): Promise<void> {
    while (this.out.length > 0 && !this.closed) {
      const batch = this.out;
      this.out = this.sending;
      this.sending = batch;
      const bytes = batch.bytes;
      let offset = 0;
      const end = batch.length;
      while (offset < end) offset += await this.conn.write(bytes.subarray(offset, end));
      this.server.stats.netOutputBytes += end;
      batch.reset();
    }
  }

  /** Queues an out-of-band reply (pub/sub, MONITOR) and starts sending it. */
  pushFlush(): void {
    this.flush().catch(() => this.close());
  }

  /** Replies with an error (`ERR ...`), counted in INFO errorstats. */
  error(message: string): void {
    this.server.replyError(this, message);
  }

  /** `id=.. addr=..` summary used in log lines. */
  describe(): string {
    return `id=${this.id} addr=${this.addr} laddr=${this.laddr} name=${this.name}`;
  }

  /** Closes the connection and unregisters the client. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
    this.server.clientClosed(this);
  }
}

function formatAddr(addr: Deno.NetAddr): string {
  return addr.hostname.includes(":") ? `[${addr.hostname}]:${addr.port}` : `${addr.hostname}:${addr.port}`;
}
