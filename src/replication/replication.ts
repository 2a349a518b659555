/**
 * The replication state of this node (Redis's server.repl_* fields): replication IDs and offset,
 * the backlog, the replicas attached here and, on a replica, the link to its master. Feeds the
 * replication stream and switches roles; the master side lives in master_side.ts, the replica side
 * in master_link.ts.
 */
import { ReplyWriter } from "../resp/writer.ts";
import { ReplBacklog } from "./backlog.ts";
import { type PendingCommand, propagation } from "./propagate.ts";
import { logger } from "../log.ts";
import type { Server } from "../server/server.ts";
import { randomHex40 } from "../server/server.ts";
import { expiryControl } from "../store/keyspace.ts";
import { MasterLink } from "./master_link.ts";
import type { ReplicaPeer } from "./master_side.ts";

/** replid2 when unset (40 '0's). */
export const NO_REPL_ID = "0".repeat(40);

/** Replication counters shown by INFO stats. */
export interface ReplicationStats {
  syncFull: number;
  syncPartialOk: number;
  syncPartialErr: number;
}

/** Replication state and stream of one node. */
export class Replication {
  replId = randomHex40();
  replId2 = NO_REPL_ID;
  /** Offset up to which replId2 is valid (second_repl_offset), -1 when unset. */
  secondOffset = -1;
  /** master_repl_offset: bytes ever fed into this history's stream. */
  offset = 0;
  backlog: ReplBacklog | null = null;
  /** Db of the last command sent down the stream (-1: the next one is preceded by SELECT). */
  lastSelectedDb = -1;
  /** Replicas attached here (from their PSYNC / SYNC on). */
  readonly replicas = new Set<ReplicaPeer>();
  /** The link to my master, null on a master. */
  link: MasterLink | null = null;
  readonly stats: ReplicationStats = { syncFull: 0, syncPartialOk: 0, syncPartialErr: 0 };
  /** Unix ms since when this master has had no replica (repl-backlog-ttl), 0 while it has some. */
  noReplicasSince = Date.now();
  /** Also receives every propagated command (an atomic slot migration forwards the writes of its slots). */
  private exportTap: ((db: number, argv: readonly string[]) => void) | null = null;
  private readonly streamWriter = new ReplyWriter();
  private flushScheduled = false;

  constructor(readonly server: Server) {
    propagation.feeder = (commands) => this.feedCommands(commands);
  }

  /** Whether this node replicates from a master. */
  get isReplica(): boolean {
    return this.link !== null;
  }

  /** Creates the backlog if there is none: a new history starts (Redis's createReplicationBacklog). */
  ensureBacklog(): void {
    if (this.backlog !== null) return;
    if (!this.isReplica) {
      this.replId = randomHex40();
      this.clearReplId2();
    }
    this.backlog = new ReplBacklog(this.server.config.num("repl-backlog-size"), this.offset + 1);
    this.refreshActive();
  }

  /** Forgets the previous history (after a full sync, or a new backlog). */
  clearReplId2(): void {
    this.replId2 = NO_REPL_ID;
    this.secondOffset = -1;
  }

  /** Starts a new history that continues the current one (a promotion: Redis's shiftReplicationId). */
  shiftReplId(): void {
    this.replId2 = this.replId;
    this.secondOffset = this.offset + 1;
    this.replId = randomHex40();
    logger.notice(
      `Setting secondary replication ID to ${this.replId2}, valid up to offset: ${this.secondOffset}. New replication ID is ${this.replId}`,
    );
  }

  /** Sets (or clears) the tap of an atomic slot migration. */
  setExportTap(tap: ((db: number, argv: readonly string[]) => void) | null): void {
    this.exportTap = tap;
    this.refreshActive();
  }

  /** Client commands are propagated only by a master that has a stream (or a slot migration to feed). */
  refreshActive(): void {
    propagation.active = (this.backlog !== null || this.exportTap !== null) && this.link === null;
    expiryControl.replica = this.link !== null;
    logger.role = this.link !== null ? "S" : "M";
  }

  /** Sends one top-level call's commands: bare when one, wrapped in MULTI/EXEC when several. */
  feedCommands(commands: readonly PendingCommand[]): void {
    const tap = this.exportTap;
    if (tap !== null) { for (const { db, argv } of commands) tap(db, argv); }
    if (this.backlog === null) return;
    const w = this.streamWriter;
    w.reset();
    const wrap = commands.length > 1;
    if (wrap) {
      this.encodeSelect(w, commands[0].db);
      w.bulkArray(MULTI);
    }
    for (const { db, argv } of commands) {
      this.encodeSelect(w, db);
      w.bulkArray(argv);
    }
    if (wrap) w.bulkArray(EXEC);
    this.feedBytes(w.bytes.subarray(0, w.length));
  }

  /** Sends one command, the common case of `feedCommands`. */
  feedCommand(db: number, argv: readonly string[]): void {
    this.exportTap?.(db, argv);
    if (this.backlog === null) return;
    const w = this.streamWriter;
    w.reset();
    this.encodeSelect(w, db);
    w.bulkArray(argv);
    this.feedBytes(w.bytes.subarray(0, w.length));
  }

  /** Sends a command that belongs to no db (PING, REPLCONF GETACK): no SELECT before it. */
  feedUnselected(argv: readonly string[]): void {
    if (this.backlog === null) return;
    const w = this.streamWriter;
    w.reset();
    w.bulkArray(argv);
    this.feedBytes(w.bytes.subarray(0, w.length));
  }

  private encodeSelect(w: ReplyWriter, db: number): void {
    if (db === this.lastSelectedDb) return;
    this.lastSelectedDb = db;
    w.bulkArray(["SELECT", String(db)]);
  }

  /** Appends stream bytes: to the backlog, the offset and every replica (held ones keep a copy). */
  feedBytes(bytes: Uint8Array): void {
    if (this.backlog === null) return;
    this.backlog.append(bytes);
    this.offset += bytes.length;
    for (const peer of this.replicas) {
      if (peer.held !== null) peer.held.push(bytes.slice());
      else if (peer.state !== "wait_bgsave") peer.client.out.rawBytes(bytes);
    }
    if (this.replicas.size > 0) this.scheduleFlush();
  }

  /** One write per replica for everything fed during this turn of the event loop. */
  private flushReplicas(): void {
    this.flushScheduled = false;
    for (const peer of this.replicas) {
      if (peer.held === null && peer.client.out.length > 0) peer.client.pushFlush();
    }
  }

  /** Replicates from a master (REPLICAOF host port, CLUSTER REPLICATE, a failover's old master). */
  setMaster(host: string, port: number): void {
    if (this.link !== null) {
      if (this.link.host === host && this.link.port === port) return;
      this.link.cancel();
    } else {
      logger.notice("Before turning into a replica, using my own master parameters to synthesize a cached master");
    }
    this.disconnectReplicas();
    this.link = new MasterLink(this, host, port);
    this.refreshActive();
    logger.notice(`Connecting to MASTER ${host}:${port}`);
    this.link.start();
  }

  /** Stops replicating and becomes a master that continues the same history (REPLICAOF NO ONE, promotion). */
  unsetMaster(): void {
    if (this.link === null) return;
    const link = this.link;
    this.link = null;
    link.cancel();
    this.shiftReplId();
    this.disconnectReplicas();
    this.lastSelectedDb = -1;
    this.refreshActive();
    logger.notice("MASTER MODE enabled");
  }

  /** Shuts replication down with the server: the link stops retrying, the role stays as it is. */
  stop(): void {
    this.link?.cancel();
  }

  /** Closes every replica connection (they come back with PSYNC). */
  disconnectReplicas(): void {
    for (const peer of [...this.replicas]) peer.client.close();
  }

  /** Schedules the stream's flush (callers that put bytes in a replica's output themselves). */
  scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flushReplicas());
  }

  /** Frees the backlog of a master without replicas for repl-backlog-ttl seconds (a new history then). */
  checkBacklogTtl(now: number): void {
    const ttl = this.server.config.num("repl-backlog-ttl");
    if (this.isReplica || this.backlog === null || this.replicas.size > 0 || ttl === 0) return;
    if (now - this.noReplicasSince < ttl * 1000) return;
    this.replId = randomHex40();
    this.clearReplId2();
    this.backlog = null;
    this.refreshActive();
    logger.notice(`Replication backlog freed after ${ttl} seconds without connected replicas.`);
  }
}

const MULTI = ["MULTI"];
const EXEC = ["EXEC"];
