/**
 * One client connection: reads into the parser's buffer, runs every complete command of a read,
 * and sends all their replies with one write (design principle 5).
 */
import { RespParser } from "../resp/parser.ts";
import { ReplyWriter } from "../resp/writer.ts";
import type { Server } from "./server.ts";
import type { Db } from "../store/keyspace.ts";
import type { Command } from "../commands/table.ts";
import { dispatch } from "./dispatch.ts";
import { BatchTimer } from "./batch_timer.ts";
import { logger } from "../log.ts";
import { clientInfoString } from "./client_info.ts";
import { type ClientSubscriptions, unsubscribeAll } from "./pubsub.ts";
import type { ReplicaPeer } from "../replication/master_side.ts";
import type { MasterLink } from "../replication/master_link.ts";
import type { MigrationJob } from "../cluster/slot_migration.ts";
import { expiryControl } from "../store/keyspace.ts";
import { afterReplyTasks, runAfterReply } from "./after_reply.ts";

/** Bytes asked of each read. */
const READ_CHUNK_BYTES = 16 * 1024;
/** Redis's per-client static reply buffer (PROTO_REPLY_CHUNK_BYTES): output above it counts toward limits. */
export const PROTO_REPLY_CHUNK_BYTES = 16 * 1024;
/** Output buffer limit classes, in the order of `client-output-buffer-limit`'s value. */
const OBUF_CLASS_INDEX = { normal: 0, replica: 1, pubsub: 2 } as const;

/** A command queued by MULTI, resolved when queued as Redis does. */
export interface QueuedCommand {
  argv: string[];
  cmd: Command;
}

/** Connection state of one client. */
export class Client {
  readonly id: number;
  readonly parser: RespParser;
  /** Per-read-batch timing of fast commands (docs/performance.md). */
  readonly batchTimer = new BatchTimer();
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
  /**
   * A read src/store/blocking.ts started while the client was blocked on keys (Redis keeps reading a
   * blocked client, so a disconnect ends its wait): the loop awaits it instead of reading; it
   * resolves to 0 once its bytes are in the parser, or null at end of stream.
   */
  pendingRead: Promise<number | null> | null = null;
  readonly addr: string;
  readonly laddr: string;
  /** File descriptor number shown by CLIENT LIST. */
  readonly fd: number;
  /** ACL user (only `default` until ACL exists). */
  user = "default";
  /** Pub/sub subscription counts (CLIENT LIST sub/psub/ssub, client type `pubsub`). */
  subCount = 0;
  psubCount = 0;
  ssubCount = 0;
  /** Subscribed channels / patterns (src/server/pubsub.ts), null until the first (un)subscribe. */
  subscriptions: ClientSubscriptions | null = null;
  /** READONLY (cluster): reads of slots my master serves may run here instead of being redirected. */
  readonly = false;
  /** ASKING (cluster): the next command may use a slot being imported; dispatch clears it after one command. */
  asking = false;
  /** Whether this connection is a replica / master link (client types for CLIENT LIST / KILL). */
  isReplica = false;
  isMaster = false;
  /** Replication state of a replica connection (REPLCONF / PSYNC), null for other clients. */
  replicaPeer: ReplicaPeer | null = null;
  /** On a replica, the link whose master stream this client runs; null for other clients. */
  masterLink: MasterLink | null = null;
  /** An atomic slot migration this connection streams in (the target side), null for other clients. */
  importJob: MigrationJob | null = null;
  /** master_repl_offset after this client's last command: what WAIT waits for. */
  woff = 0;
  /** Unix seconds when the soft output limit was first exceeded, 0 when below it. */
  obufSoftLimitSince = 0;
  /** Highest reply-buffer size seen (CLIENT LIST `rbp=`). */
  replyPeak = 0;

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
    this.fd = server.allocateFd();
  }

  /** Client type as Redis's getClientType names it (MONITOR clients are `normal`). */
  type(): "normal" | "master" | "replica" | "pubsub" {
    if (this.isMaster) return "master";
    if (this.isReplica && !this.monitor) return "replica";
    if (this.subCount + this.psubCount + this.ssubCount > 0) return "pubsub";
    return "normal";
  }

  /** Whether the peer connects over loopback (Redis's islocalClient, for `enable-debug-command local`). */
  isLocal(): boolean {
    const host = (this.conn.remoteAddr as Deno.NetAddr).hostname;
    return host.startsWith("127.") || host === "::1" || host === "::ffff:127.0.0.1";
  }

  /** Reply bytes not yet written to the socket. */
  pendingOutput(): number {
    return this.out.length + this.sending.length;
  }

  /** Capacity of the reply buffers (CLIENT LIST `rbs=`). */
  replyBufferSize(): number {
    return this.out.bytes.length;
  }

  /**
   * Closes the client if its pending output passes `client-output-buffer-limit` for its class
   * (hard at once, soft after the configured seconds), as Redis's checkClientOutputBufferLimits.
   * Returns whether it was closed.
   */
  checkOutputBufferLimits(): boolean {
    const used = this.pendingOutput() - PROTO_REPLY_CHUNK_BYTES;
    if (used <= 0) {
      this.obufSoftLimitSince = 0;
      return false;
    }
    const type = this.type();
    const limits = this.server.config.get("client-output-buffer-limit") as number[];
    const base = OBUF_CLASS_INDEX[type === "master" ? "normal" : type] * 3;
    const hardBytes = limits[base];
    const softBytes = limits[base + 1];
    let hard = hardBytes > 0 && used >= hardBytes;
    let soft = softBytes > 0 && used >= softBytes;
    if (soft) {
      const now = Math.floor(Date.now() / 1000);
      if (this.obufSoftLimitSince === 0) {
        this.obufSoftLimitSince = now;
        soft = false;
      } else if (now - this.obufSoftLimitSince <= limits[base + 2]) {
        soft = false;
      }
    } else {
      this.obufSoftLimitSince = 0;
    }
    hard ||= soft;
    if (!hard) return false;
    logger.warning(
      `Client ${clientInfoString(this)} scheduled to be closed ASAP for overcoming of output buffer limits.`,
    );
    this.close();
    return true;
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
      // A master link hands over bytes that arrived with the snapshot.
      if (parser.buffered > 0) await this.processInput();
      while (!this.closed) {
        // A read started while the client was blocked on keys feeds its bytes to the parser itself.
        const pending = this.pendingRead;
        this.pendingRead = null;
        const n = await (pending ?? this.conn.read(parser.writable(READ_CHUNK_BYTES)));
        if (n === null) break;
        parser.commit(n);
        this.server.stats.netInputBytes += n;
        this.server.stats.readsProcessed++;
        this.lastInteraction = Date.now();
        if (parser.buffered > this.server.limits.queryBufferLimit && !this.isMaster) {
          logger.warning(`Closing client that reached max query buffer length: ${this.describe()}`);
          break;
        }
        await this.processInput();
        if (this.out.length > PROTO_REPLY_CHUNK_BYTES && this.checkOutputBufferLimits()) break;
        if (this.out.length > 0) await this.flush();
        else if (afterReplyTasks.length !== 0) runAfterReply();
        if (this.closeAfterReply) break;
      }
    } catch (err) {
      // Connection reset or write error: the client just goes away.
      logger.debug(`Client ${this.describe()} closed: ${(err as Error).stack ?? err}`);
    } finally {
      if (this.writing) await this.writing.catch(() => {});
      this.close();
    }
  }

  /**
   * Runs every complete command in the query buffer. Async although it usually finishes at once:
   * run() awaiting it lets every client whose read completed in the same event-loop turn run its
   * commands before any of their writes go out (measured: fewer, fuller turns; a synchronous call
   * was 30% slower at pipeline 16). One function, not an async wrapper around another: each extra
   * async level costs a promise and a microtask hop per read without adding to that effect.
   */
  private async processInput(): Promise<void> {
    const parser = this.parser;
    const timer = this.batchTimer;
    timer.begin();
    try {
      while (!this.closeAfterReply && !this.closed) {
        if (this.waitFor !== null) {
          // Other clients run during the wait: close this batch and open a new one after it.
          timer.end(this);
          if (this.out.length > 0) await this.flush();
          const waited = this.waitFor;
          await waited;
          // What ran after the wait (a postponed command) may have set a new wait.
          if (this.waitFor === waited) this.waitFor = null;
          timer.begin();
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
        if (this.masterLink === null) {
          dispatch(this, argv);
        } else {
          expiryControl.fromMaster = true;
          dispatch(this, argv);
          expiryControl.fromMaster = false;
          this.masterLink.commandApplied(this, argv);
        }
      }
    } finally {
      timer.end(this);
    }
  }

  /** Sends pending replies; concurrent callers share one write loop. */
  flush(): Promise<void> {
    // writeLoop clears `writing` itself when done (no `.finally` promise and closure per write); with nothing to
    // send it would finish before the assignment, so it starts only with something to send.
    if (this.writing === null && this.out.length > 0 && !this.closed) this.writing = this.writeLoop();
    // The replies' write has started (writeLoop runs up to its first await): deferred work may follow.
    if (afterReplyTasks.length !== 0) runAfterReply();
    return this.writing ?? Promise.resolve();
  }

  private async writeLoop(): Promise<void> {
    try {
      while (this.out.length > 0 && !this.closed) {
        const batch = this.out;
        this.out = this.sending;
        this.sending = batch;
        const bytes = batch.bytes;
        let offset = 0;
        const end = batch.length;
        while (offset < end) offset += await this.conn.write(bytes.subarray(offset, end));
        this.server.stats.netOutputBytes += end;
        this.server.stats.writesProcessed++;
        if (batch.bytes.length > this.replyPeak) this.replyPeak = batch.bytes.length;
        batch.reset();
      }
    } finally {
      this.writing = null;
    }
  }

  /** Queues an out-of-band reply (pub/sub, MONITOR) and starts sending it. */
  pushFlush(): void {
    if (this.pendingOutput() > PROTO_REPLY_CHUNK_BYTES && this.checkOutputBufferLimits()) return;
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
    if (this.subscriptions !== null) unsubscribeAll(this);
    this.server.clientClosed(this);
  }
}

function formatAddr(addr: Deno.NetAddr): string {
  return addr.hostname.includes(":") ? `[${addr.hostname}]:${addr.port}` : `${addr.hostname}:${addr.port}`;
}
