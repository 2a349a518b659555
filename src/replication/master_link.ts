/**
 * The replica side (Redis's syncWithMaster, readSyncBulkPayload, replicationCreateMasterClient):
 * connect to the master, handshake, PSYNC with my history and offset, then either load the
 * snapshot (+FULLRESYNC) or continue (+CONTINUE), and run the stream through a master client whose
 * replies are dropped. Retries once a second after any failure; a half-received or corrupt
 * snapshot is discarded and the old dataset stays.
 */
import { Client } from "../server/client.ts";
import { Db } from "../store/keyspace.ts";
import { loadRdbSteps } from "../persistence/rdb_reader.ts";
import { logger } from "../log.ts";
import { ReplBacklog } from "./backlog.ts";
import type { Replication } from "./replication.ts";
import { SocketReader } from "./socket_reader.ts";
import { encodeCommand, writeAll } from "../resp/connection.ts";
import { latin1ToBytes } from "../resp/latin1.ts";
import { ReplyWriter } from "../resp/writer.ts";
import { Buffer } from "node:buffer";

/** Each synchronous read of the handshake waits at most this long (CONFIG_REPL_SYNCIO_TIMEOUT). */
const SYNC_IO_TIMEOUT_MS = 5000;
/** Pause between attempts (Redis's replicationCron retries every second). */
const RETRY_DELAY_MS = 1000;
/** Keys loaded between two turns of the event loop while a snapshot loads (about 10 ms of work). */
const LOAD_KEYS_PER_STEP = 10_000;
/** A master client's limits: Redis exempts its master from bulk and query buffer limits. */
const MASTER_PARSER_LIMITS = { protoMaxBulkLen: Number.MAX_SAFE_INTEGER };

/** Link states as ROLE names them. */
export type LinkState = "connect" | "connecting" | "handshake" | "sync" | "connected";

/** A replica's link to its master. */
export class MasterLink {
  state: LinkState = "connect";
  /** The master client once the stream runs. */
  client: Client | null = null;
  private conn: Deno.TcpConn | null = null;
  private cancelled = false;
  /** Unix ms the link went down (INFO master_link_down_since_seconds); 0 while up and before the first sync. */
  downSince = 0;
  /** Transfer progress while a snapshot arrives (-1 total: `$EOF:` form, size unknown). */
  syncTotalBytes = 0;
  syncReadBytes = 0;
  syncLastIo = 0;
  /** Bytes of master stream received (INFO slave_read_repl_offset = base + received). */
  private streamBase = 0;
  /** Commands applied since the last complete one (a MULTI block), re-encoded for my backlog. */
  private pendingArgvs: string[][] = [];
  private readonly encoder = new ReplyWriter();
  private writeChain: Promise<void> = Promise.resolve();

  constructor(readonly repl: Replication, readonly host: string, readonly port: number) {}

  /** Starts the connect / sync / stream loop. */
  start(): void {
    this.loop();
  }

  /** Stops for good (REPLICAOF NO ONE, another master). */
  cancel(): void {
    this.cancelled = true;
    this.closeConnection();
  }

  private closeConnection(): void {
    if (this.client !== null) {
      this.client.close();
      this.client = null;
    }
    try {
      this.conn?.close();
    } catch {
      // already closed
    }
    this.conn = null;
  }

  private async loop(): Promise<void> {
    while (!this.cancelled) {
      try {
        await this.syncOnce();
      } catch (err) {
        if (!this.cancelled) logger.warning(`Master link error (${this.host}:${this.port}): ${(err as Error).message}`);
      }
      this.closeConnection();
      if (this.cancelled) return;
      if (this.state === "connected") {
        logger.notice("Connection with master lost.");
        this.downSince = Date.now();
      }
      this.state = "connect";
      await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
    }
  }

  /** One connection: handshake, sync, then the stream until the link drops. */
  private async syncOnce(): Promise<void> {
    const server = this.repl.server;
    this.state = "connecting";
    const conn = await Deno.connect({ hostname: this.host, port: this.port, transport: "tcp" });
    if (this.cancelled) return conn.close();
    this.conn = conn;
    conn.setNoDelay(true);
    logger.notice("MASTER <-> REPLICA sync started");
    const reader = new SocketReader(conn, SYNC_IO_TIMEOUT_MS);
    this.state = "handshake";
    await this.send(["PING"]);
    const pong = await reader.readLine();
    if (pong.startsWith("-") && !/^-(NOAUTH|NOPERM|ERR operation not permitted)/.test(pong)) {
      throw new Error(`Error reply to PING from master: '${pong}'`);
    }
    logger.notice("Master replied to PING, replication can continue...");
    const config = server.config;
    const batch: string[][] = [];
    const auth = config.str("masterauth");
    const user = config.str("masteruser");
    if (auth !== "") batch.push(user !== "" ? ["AUTH", user, auth] : ["AUTH", auth]);
    const announcePort = config.num("replica-announce-port") || server.port;
    batch.push(["REPLCONF", "listening-port", String(announcePort)]);
    const announceIp = config.str("replica-announce-ip");
    if (announceIp !== "") batch.push(["REPLCONF", "ip-address", announceIp]);
    batch.push(["REPLCONF", "capa", "eof", "capa", "psync2"]);
    await this.write(Buffer.concat(batch.map(encodeCommand)));
    for (const argv of batch) {
      const reply = await reader.readLine();
      if (!reply.startsWith("-")) continue;
      if (argv[0] === "AUTH") throw new Error(`Unable to AUTH to MASTER: ${reply}`);
      logger.notice(`(Non critical) Master does not understand REPLCONF ${argv[1]}: ${reply}`);
    }
    const repl = this.repl;
    logger.notice(`Trying a partial resynchronization (request ${repl.replId}:${repl.offset + 1}).`);
    await this.send(["PSYNC", repl.replId, String(repl.offset + 1)]);
    let reply = await reader.readLine();
    while (reply === "") reply = await reader.readLine();
    if (reply.startsWith("+FULLRESYNC")) {
      const [, id, off] = reply.split(" ");
      logger.notice(`Full resync from master: ${id}:${off}`);
      await this.fullSync(reader, id ?? "", Number(off));
    } else if (reply.startsWith("+CONTINUE")) {
      const newId = reply.slice(9).trim();
      logger.notice("Successful partial resynchronization with master.");
      if (newId.length === 40 && newId !== repl.replId) {
        repl.replId2 = repl.replId;
        repl.secondOffset = repl.offset + 1;
        repl.replId = newId;
        repl.disconnectReplicas();
        logger.notice(`Master replication ID changed to ${newId}`);
      }
      logger.notice("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
      repl.ensureBacklog();
    } else if (reply.startsWith("-NOMASTERLINK") || reply.startsWith("-LOADING")) {
      throw new Error(`Master is currently unable to PSYNC but should be in the future: ${reply}`);
    } else {
      throw new Error(`Unexpected reply to PSYNC from master: ${reply}`);
    }
    await this.stream(conn, reader.leftover());
  }

  /** Reads the snapshot after +FULLRESYNC and loads it in place of the dataset. */
  private async fullSync(reader: SocketReader, replId: string, offset: number): Promise<void> {
    const repl = this.repl;
    const server = repl.server;
    this.state = "sync";
    // The transfer may pause for long (a delayed diskless sync): the bound is repl-timeout of silence.
    const transfer = reader;
    transfer.timeoutMs = server.config.num("repl-timeout") * 1000;
    let header = await transfer.readLine();
    while (header === "") header = await transfer.readLine();
    if (header.startsWith("-")) throw new Error(`MASTER aborted replication with an error: ${header}`);
    if (!header.startsWith("$")) throw new Error(`Bad protocol from MASTER, the first byte is not '$': ${header}`);
    const progress = (done: number) => {
      this.syncReadBytes = done;
      this.syncLastIo = Date.now();
    };
    this.syncReadBytes = 0;
    this.syncLastIo = Date.now();
    let rdb: Uint8Array;
    let diskless = false;
    if (header.startsWith("$EOF:") && header.length >= 45) {
      diskless = true;
      this.syncTotalBytes = -1;
      logger.notice("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to parser");
      rdb = await transfer.readUntilMark(latin1ToBytes(header.slice(5, 45)), progress);
    } else {
      const len = Number(header.slice(1));
      if (!Number.isSafeInteger(len) || len < 0) throw new Error(`Bad RDB length from MASTER: ${header}`);
      this.syncTotalBytes = len;
      logger.notice(`MASTER <-> REPLICA sync: receiving ${len} bytes from master to disk`);
      rdb = await transfer.readExact(len, progress);
    }
    logger.notice("MASTER <-> REPLICA sync: Flushing old data");
    logger.notice("MASTER <-> REPLICA sync: Loading DB in memory");
    const started = performance.now();
    const fresh = server.dbs.map((db) => new Db(db.id, server));
    // A corrupt snapshot throws here and the current dataset stays as it was. The event loop runs between
    // steps: clients get -LOADING (Redis flushes first, so it has no old dataset to serve either).
    server.loading = true;
    try {
      const steps = loadRdbSteps(rdb, fresh, true, LOAD_KEYS_PER_STEP);
      while (!steps.next().done) {
        await new Promise((r) => setTimeout(r, 0));
        if (this.cancelled) throw new Error("replication stopped during the load");
      }
    } finally {
      server.loading = false;
    }
    for (let i = 0; i < fresh.length; i++) server.dbs[i].swapContents(fresh[i]);
    server.dirty++;
    logger.notice(`Done loading RDB, keys loaded: ${server.dbs.reduce((n, db) => n + db.size, 0)}.`);
    logger.notice(
      `MASTER <-> REPLICA sync: Finished with success (${((performance.now() - started) / 1000).toFixed(3)}s)`,
    );
    repl.replId = replId.length === 40 ? replId : repl.replId;
    repl.clearReplId2();
    repl.offset = offset;
    repl.backlog = new ReplBacklog(server.config.num("repl-backlog-size"), offset + 1);
    repl.disconnectReplicas();
    if (diskless) await this.send(["REPLCONF", "ACK", String(offset)]);
  }

  /** Runs the master stream through a master client until the link drops. */
  private async stream(conn: Deno.TcpConn, leftover: Uint8Array): Promise<void> {
    const repl = this.repl;
    const server = repl.server;
    const client = server.attachClient(conn);
    client.isMaster = true;
    client.authenticated = true;
    client.parser.authRequired = false;
    client.parser.setLimits(MASTER_PARSER_LIMITS);
    client.replyMode = "off";
    client.masterLink = this;
    this.client = client;
    this.state = "connected";
    this.downSince = 0;
    this.streamBase = repl.offset;
    this.pendingArgvs = [];
    if (leftover.length > 0) client.parser.feed(leftover);
    logger.notice("MASTER <-> REPLICA sync: Master client created, the stream runs.");
    await client.run();
  }

  /**
   * After each command from the master: once no transaction is open, its bytes count as applied
   * (slave_repl_offset) and go on to my own backlog and sub-replicas.
   */
  commandApplied(c: Client, argv: string[]): void {
    this.pendingArgvs.push(argv);
    if (c.multi !== null) return;
    const w = this.encoder;
    w.reset();
    for (const a of this.pendingArgvs) w.bulkArray(a);
    this.pendingArgvs = [];
    const applied = this.streamBase + c.parser.received - c.parser.buffered;
    const repl = this.repl;
    if (applied - repl.offset !== w.length) {
      // The master wrote a command in a non-canonical form: my backlog cannot mirror its bytes.
      logger.warning("Replication stream bytes differ from their canonical form: backlog reset.");
      repl.offset = applied;
      repl.backlog = new ReplBacklog(repl.server.config.num("repl-backlog-size"), applied + 1);
      return;
    }
    repl.feedBytes(w.bytes.subarray(0, w.length));
  }

  /**
   * How long my data has not been refreshed by my master (Redis's data age for elections): since the
   * last byte from it while the link is up, since the link went down, or forever if it never came up.
   */
  idleMs(now: number): number {
    if (this.state === "connected" && this.client !== null) return now - this.client.lastInteraction;
    return this.downSince === 0 ? now : now - this.downSince;
  }

  /** Offset of the master stream received so far (applied or not). */
  readOffset(): number {
    const c = this.client;
    return c === null ? this.repl.offset : this.streamBase + c.parser.received;
  }

  /** REPLCONF ACK with my applied offset (every second, and on GETACK). */
  sendAck(): void {
    if (this.state !== "connected") return;
    this.send(["REPLCONF", "ACK", String(this.repl.offset)]).catch(() => this.client?.close());
  }

  private send(argv: string[]): Promise<void> {
    return this.write(encodeCommand(argv));
  }

  /** Writes in order on the master connection (ACKs may be sent from several places). */
  private write(bytes: Uint8Array): Promise<void> {
    const conn = this.conn;
    if (conn === null) return Promise.resolve();
    this.writeChain = this.writeChain.catch(() => {}).then(() => writeAll(conn, bytes));
    return this.writeChain;
  }
}
