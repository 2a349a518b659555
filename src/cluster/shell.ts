/**
 * The thin I/O shell around the cluster state machine: the bus listener and links (`Deno.listen`,
 * `Deno.connect`), the 100 ms cron timer, nodes.conf on disk, and carrying out the effects the
 * state machine queues. Nothing here decides anything about the cluster.
 */
import { writeAll } from "../resp/connection.ts";
import { Buffer } from "node:buffer";
import { type ClusterDataView, type ClusterSettings, ClusterState, type Effect } from "./state.ts";
import { BusFrameReader, decodeMessage, encodeMessage, FrameError } from "./bus/codec.ts";
import { CLUSTER_CRON_PERIOD_MS, clusterTick } from "./cron.ts";
import { linkAccepted, linkDown, linkUp, processMessage, propagatePublish } from "./gossip.ts";
import { loadNodesConf, NodesConfError, serializeNodesConf } from "./nodes_conf.ts";
import {
  lockNodesConf,
  readNodesConf,
  removeStaleTempFiles,
  writeNodesConfAtomic,
  writeNodesConfInBackground,
} from "./nodes_conf_file.ts";
import { randomNodeId } from "./node.ts";
import type { BusMessage } from "./bus/message.ts";
import { updateClusterState } from "./failure.ts";
import { updateWriteFence } from "./write_fence.ts";
import type { Config } from "../config/config.ts";
import type { Db } from "../store/keyspace.ts";
import { logger } from "../log.ts";
import { afterReply } from "../server/after_reply.ts";
import { strerror } from "../config/parse.ts";

/** The bus port is the client port plus this, unless `cluster-port` is set. */
export const CLUSTER_PORT_INCR = 10000;
/** Bytes read from a bus socket at a time. */
const BUS_READ_BYTES = 64 * 1024;

/** Why the cluster could not start; the message is what the log says before exiting. */
export class ClusterStartError extends Error {}

/** The socket side of one link. */
interface LinkSocket {
  conn: Deno.TcpConn | null;
  /** Messages queued before the connection is up or while a write is in flight. */
  queue: Uint8Array[];
  writing: boolean;
  closed: boolean;
}

/** The settings the state machine reads, from the config. */
export function clusterSettings(config: Config): ClusterSettings {
  const port = config.num("port");
  const busPort = config.num("cluster-port") || port + CLUSTER_PORT_INCR;
  return {
    nodeTimeoutMs: config.num("cluster-node-timeout"),
    requireFullCoverage: config.bool("cluster-require-full-coverage"),
    allowReadsWhenDown: config.bool("cluster-allow-reads-when-down"),
    allowPubsubshardWhenDown: config.bool("cluster-allow-pubsubshard-when-down"),
    allowReplicaMigration: config.bool("cluster-allow-replica-migration"),
    migrationBarrier: config.num("cluster-migration-barrier"),
    replicaValidityFactor: config.num("cluster-replica-validity-factor"),
    replicaNoFailover: config.bool("cluster-replica-no-failover"),
    announceIp: config.str("cluster-announce-ip"),
    announceHostname: config.str("cluster-announce-hostname"),
    preferredEndpointType: config.str("cluster-preferred-endpoint-type") as ClusterSettings["preferredEndpointType"],
    port: config.num("cluster-announce-port") || port,
    pport: 0,
    cport: config.num("cluster-announce-bus-port") || busPort,
    replPingReplicaPeriodMs: config.num("repl-ping-replica-period") * 1000,
    electionBaseDelayMs: config.num("cluster-election-base-delay-ms"),
    electionRandomDelayMs: config.num("cluster-election-random-delay-ms"),
    electionRankDelayMs: config.num("cluster-election-rank-delay-ms"),
    writeFencePercent: config.num("cluster-write-fence-percent"),
  };
}

/**
 * How long a background save of nodes.conf waits, so that the reply is written first and a burst of changes is
 * saved once. A process crash in this window (or while the save runs) leaves the previous, complete file.
 */
const BACKGROUND_SAVE_DELAY_MS = 10;

/** Runs the cluster bus for one node. */
export class ClusterShell {
  readonly state: ClusterState;
  /** Receives PUBLISH / SPUBLISH messages from the bus for local subscribers (set by pub/sub). */
  onPublish: ((channel: string, message: string, shard: boolean) => void) | null = null;
  /** Told when my shard stops serving slots (set by pub/sub: their shard channels are dropped). */
  onShardSlotsLost: ((slots: number[]) => void) | null = null;
  /** Replicate from this master's client address (null: stop replicating, become a master). */
  onReplicate: ((master: { host: string; port: number } | null) => void) | null = null;
  /** Pause client writes until this unix ms (0: unpause), for a manual failover on a master. */
  onPauseWrites: ((untilMs: number) => void) | null = null;
  /** DEBUG DROP-CLUSTER-PACKET-FILTER: incoming messages of this type are dropped (-1: none). */
  dropPacketFilter = -1;
  /** DEBUG DROP-CLUSTER-PACKETS-FROM (tessera only): incoming messages from these senders are dropped. */
  readonly dropPacketsFrom = new Set<string>();
  private readonly sockets = new Map<number, LinkSocket>();
  private listener: Deno.TcpListener | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;
  private persistWanted = false;
  private fsyncWanted = false;
  /** A background save is wanted (with fsync), and whether one is running. */
  private backgroundWanted = false;
  private backgroundFsync = false;
  private backgroundSaving = false;
  private backgroundTimer: ReturnType<typeof setTimeout> | undefined;
  /** While `run(..., afterReply)` applies effects: bus writes wait for `flushDeferred`, on these links. */
  private deferringWrites = false;
  /** Messages a CLUSTER command sends, encoded and written once its reply is (see `run`). */
  private deferredSends: { link: number; msg: BusMessage }[] = [];
  /** Counts saves begun; a background save whose snapshot a later save has superseded is dropped. */
  private saveGeneration = 0;
  private readonly lock: Deno.FsFile;
  private stopped = false;

  private constructor(
    private readonly config: Config,
    private readonly db0: Db,
    private readonly configPath: string,
    lock: Deno.FsFile,
    state: ClusterState,
  ) {
    this.lock = lock;
    this.state = state;
  }

  /**
   * Loads (or creates) nodes.conf under its lock and builds the state. Throws ClusterStartError
   * with the log text when the file is locked by another node or corrupt.
   */
  static open(config: Config, db0: Db, data: ClusterDataView): ClusterShell {
    const path = config.str("cluster-config-file");
    const lock = lockNodesConf(path);
    if (!lock.ok) throw new ClusterStartError(lock.message);
    removeStaleTempFiles(path);
    const settings = clusterSettings(config);
    const now = Date.now();
    let text: string | null;
    try {
      text = readNodesConf(path);
    } catch (err) {
      throw new ClusterStartError(`Could not read the cluster config file ${path}: ${(err as Error).message}`);
    }
    let state: ClusterState;
    let fresh = false;
    if (text === null || text.length === 0) {
      state = new ClusterState(randomNodeId(Math.random), settings, data, now, Math.random);
      fresh = true;
    } else {
      try {
        state = loadNodesConf(text, settings, data, now, Math.random);
      } catch (err) {
        if (err instanceof NodesConfError) throw new ClusterStartError(err.logLines().join("\n"));
        throw err;
      }
    }
    const shell = new ClusterShell(config, db0, path, lock.file, state);
    shell.refreshSettings();
    if (fresh) {
      logger.notice(`No cluster configuration found, I'm ${state.myself.id}`);
      shell.save(true);
    }
    shell.applyEffects(state.drainEffects());
    return shell;
  }

  /** Starts the bus listener and the cron. */
  start(hostname: string): void {
    const busPort = this.config.num("cluster-port") || this.config.num("port") + CLUSTER_PORT_INCR;
    this.listener = Deno.listen({ hostname, port: busPort, transport: "tcp" });
    this.acceptLoop(this.listener);
    this.timer = setInterval(() => this.run((now) => clusterTick(this.state, now)), CLUSTER_CRON_PERIOD_MS);
    this.run((now) => updateClusterState(this.state, now));
  }

  /** Closes the listener and every link; saves nodes.conf if it changed. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    try {
      this.listener?.close();
    } catch {
      // closed
    }
    for (const [id] of this.sockets) this.closeSocket(id);
    clearTimeout(this.backgroundTimer);
    this.deferredSends = [];
    if (this.persistWanted || this.backgroundWanted || this.backgroundSaving) this.save(true);
    try {
      this.lock.close();
    } catch {
      // closed
    }
  }

  /**
   * Runs a state-machine step with `now`, then carries out its effects. For a client's command (`afterReply`) its
   * bus messages are encoded and written once the client loop has started writing the reply (src/server/after_reply.ts;
   * Redis queues them on the links and writes them once its event loop comes round).
   */
  run(step: (now: number) => void, afterReply = false): void {
    if (this.stopped) return;
    step(Date.now());
    this.deferringWrites = afterReply;
    try {
      this.applyEffects(this.state.drainEffects());
    } finally {
      this.deferringWrites = false;
    }
    // nodes.conf: saved now, or in the background, as the effects asked.
    if (this.persistWanted) this.save(this.fsyncWanted);
    else if (this.backgroundWanted) this.scheduleBackgroundSave();
  }

  /**
   * Starts a background save BACKGROUND_SAVE_DELAY_MS from now unless one is pending or running (which reschedules
   * when it ends): the reply goes out first, and a burst of changes (a reshard's SETSLOTs) is written once.
   */
  private scheduleBackgroundSave(): void {
    if (this.backgroundSaving || this.backgroundTimer !== undefined) return;
    this.backgroundTimer = setTimeout(() => {
      this.backgroundTimer = undefined;
      // Set here, not from the promise: a save with nothing to do ends before an assignment would happen.
      this.backgroundSaving = true;
      void this.saveInBackground();
    }, BACKGROUND_SAVE_DELAY_MS);
  }

  /** Re-reads the cluster settings from the config (at start and after CONFIG SET) and updates myself. */
  refreshSettings(): void {
    const settings = clusterSettings(this.config);
    this.state.settings = settings;
    const me = this.state.myself;
    me.port = settings.port;
    me.cport = settings.cport;
    me.pport = settings.pport;
    me.hostname = settings.announceHostname;
    if (settings.announceIp !== "") me.ip = settings.announceIp;
    // CONFIG SET cluster-write-fence-percent (or node timeout) takes effect at once.
    updateWriteFence(this.state);
  }

  /** Writes nodes.conf now (temp file, fsync, rename); returns the OS error text (C's strerror) on failure. */
  save(fsync: boolean): string | null {
    // This save covers any background one wanted or running: it writes the newer state, with the fsync either asked.
    fsync ||= this.backgroundFsync;
    this.persistWanted =
      this.fsyncWanted =
      this.backgroundWanted =
      this.backgroundFsync =
        false;
    this.saveGeneration++;
    try {
      writeNodesConfAtomic(this.configPath, serializeNodesConf(this.state), fsync);
      return null;
    } catch (err) {
      this.logSaveFailure(err);
      return strerror(err);
    }
  }

  private logSaveFailure(err: unknown): void {
    logger.warning(`Could not save the cluster config file ${this.configPath}: ${(err as Error).message}`);
  }

  /** Saves nodes.conf off the request path if a background save is still wanted; a failure is logged, as `save`'s. */
  private async saveInBackground(): Promise<void> {
    if (this.backgroundWanted && !this.stopped) {
      const fsync = this.backgroundFsync;
      this.backgroundWanted = this.backgroundFsync = false;
      const generation = ++this.saveGeneration;
      try {
        const text = serializeNodesConf(this.state);
        await writeNodesConfInBackground(this.configPath, text, fsync, () => generation === this.saveGeneration);
      } catch (err) {
        this.logSaveFailure(err);
      }
    }
    this.backgroundSaving = false;
    if (this.backgroundWanted && !this.stopped) this.scheduleBackgroundSave();
  }

  private applyEffects(effects: Effect[]): void {
    for (const effect of effects) {
      switch (effect.kind) {
        case "connect":
          this.connect(effect.link, effect.host, effect.port);
          break;
        case "send":
          if (!this.deferringWrites) {
            this.write(effect.link, encodeMessage(effect.msg));
          } else {
            if (this.deferredSends.length === 0) afterReply(() => this.sendDeferred());
            this.deferredSends.push({ link: effect.link, msg: effect.msg });
          }
          break;
        case "close":
          this.closeSocket(effect.link);
          break;
        case "persist":
          if (effect.background) {
            this.backgroundWanted = true;
            if (effect.fsync) this.backgroundFsync = true;
          } else {
            this.persistWanted = true;
            if (effect.fsync) this.fsyncWanted = true;
          }
          break;
        case "delete-slot-keys":
          for (const slot of effect.slots) for (const key of [...this.db0.slotKeys(slot)]) this.db0.delete(key);
          break;
        case "replicate": {
          const master = effect.masterId === null ? undefined : this.state.nodes.get(effect.masterId);
          if (effect.masterId !== null && master === undefined) break;
          this.onReplicate?.(master === undefined ? null : { host: master.ip, port: master.port });
          break;
        }
        case "pause-writes":
          this.onPauseWrites?.(effect.untilMs);
          break;
        case "shard-slots-lost":
          this.onShardSlotsLost?.(effect.slots);
          break;
        case "deliver-publish":
          this.onPublish?.(effect.channel, effect.message, effect.shard);
          break;
        case "log":
          logger.log(effect.level, effect.text);
          break;
      }
    }
  }

  private async acceptLoop(listener: Deno.TcpListener): Promise<void> {
    try {
      for await (const conn of listener) {
        try {
          conn.setNoDelay(true);
        } catch {
          // gone already
        }
        const peer = conn.remoteAddr as Deno.NetAddr;
        const local = conn.localAddr as Deno.NetAddr;
        let id = 0;
        this.run((now) => id = linkAccepted(this.state, now, peer.hostname, local.hostname));
        this.sockets.set(id, { conn, queue: [], writing: false, closed: false });
        this.readLoop(id, conn);
      }
    } catch {
      // listener closed
    }
  }

  private async connect(linkId: number, host: string, port: number): Promise<void> {
    const socket: LinkSocket = { conn: null, queue: [], writing: false, closed: false };
    this.sockets.set(linkId, socket);
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect({ hostname: host || "127.0.0.1", port, transport: "tcp" });
    } catch (err) {
      if (socket.closed) return;
      this.sockets.delete(linkId);
      logger.verbose(`Connection with Node at ${host}:${port} failed: ${(err as Error).message}`);
      this.run((now) => linkDown(this.state, linkId, now));
      return;
    }
    if (socket.closed) {
      conn.close();
      return;
    }
    try {
      conn.setNoDelay(true);
    } catch {
      // gone already
    }
    socket.conn = conn;
    const local = conn.localAddr as Deno.NetAddr;
    this.run((now) => linkUp(this.state, linkId, now, local.hostname));
    this.flush(linkId, socket);
    this.readLoop(linkId, conn);
  }

  private write(linkId: number, bytes: Uint8Array): void {
    const socket = this.sockets.get(linkId);
    if (socket === undefined || socket.closed) return;
    socket.queue.push(bytes);
    if (socket.conn !== null && !socket.writing) this.flush(linkId, socket);
  }

  /** Encodes and writes the messages `run(..., afterReply)` deferred. */
  private sendDeferred(): void {
    const sends = this.deferredSends;
    this.deferredSends = [];
    for (const { link, msg } of sends) this.write(link, encodeMessage(msg));
  }

  private async flush(linkId: number, socket: LinkSocket): Promise<void> {
    if (socket.writing || socket.conn === null) return;
    socket.writing = true;
    try {
      while (socket.queue.length > 0 && !socket.closed) {
        const bytes = socket.queue.length === 1 ? socket.queue[0] : Buffer.concat(socket.queue);
        socket.queue = [];
        await writeAll(socket.conn, bytes);
      }
    } catch {
      this.lost(linkId);
    } finally {
      socket.writing = false;
    }
  }

  private async readLoop(linkId: number, conn: Deno.TcpConn): Promise<void> {
    const reader = new BusFrameReader();
    const buf = new Uint8Array(BUS_READ_BYTES);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        reader.push(buf.subarray(0, n));
        for (;;) {
          const frame = reader.next();
          if (frame === null) break;
          if (frame instanceof FrameError) {
            this.state.droppedMessages++;
            logger.warning(frame.reason);
            this.drop(linkId);
            return;
          }
          if (!this.deliver(linkId, frame)) return;
        }
      }
    } catch {
      // reset by peer, or closed by us
    }
    this.lost(linkId);
  }

  /** Decodes and processes one frame; false when the link was closed because of it. */
  private deliver(linkId: number, frame: Uint8Array): boolean {
    const decoded = decodeMessage(frame);
    if (!decoded.ok) {
      if (decoded.ignore) return true;
      this.state.droppedMessages++;
      logger.warning(decoded.reason);
      this.drop(linkId);
      return false;
    }
    const msg = decoded.msg;
    if (msg.type === this.dropPacketFilter) {
      this.state.statsReceived[msg.type]++;
      logger.warning("Dropping packet that matches debug drop filter");
      return true;
    }
    // A simulated partition: silent, it would log every packet for as long as it lasts.
    if (this.dropPacketsFrom.size > 0 && this.dropPacketsFrom.has(msg.sender)) return true;
    this.run((now) => processMessage(this.state, linkId, msg, now));
    return this.state.links.has(linkId);
  }

  /** Closes a link because of what arrived on it. */
  private drop(linkId: number): void {
    this.run(() => this.state.freeLink(linkId));
  }

  /** The socket closed or failed under us. */
  private lost(linkId: number): void {
    const socket = this.sockets.get(linkId);
    if (socket === undefined || socket.closed) return;
    this.closeSocket(linkId);
    this.run((now) => linkDown(this.state, linkId, now));
  }

  private closeSocket(linkId: number): void {
    const socket = this.sockets.get(linkId);
    if (socket === undefined) return;
    this.sockets.delete(linkId);
    socket.closed = true;
    try {
      socket.conn?.close();
    } catch {
      // already closed
    }
  }

  /** Propagates a PUBLISH (or an SPUBLISH to my shard) to the other nodes. */
  publish(channel: string, message: string, shard: boolean): void {
    this.run(() => propagatePublish(this.state, channel, message, shard));
  }
}
