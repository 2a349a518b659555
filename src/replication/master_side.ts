/**
 * The master side of replication (Redis's syncCommand, masterTryPartialResynchronization, full
 * sync, replconfCommand ACK, WAIT): a replica is a client that sent PSYNC or SYNC; it gets either
 * the backlog from its offset (+CONTINUE) or a snapshot (+FULLRESYNC, an RDB on disk form `$len` or
 * diskless `$EOF:<mark>`) followed by the stream.
 */
import { writeAll } from "../resp/connection.ts";
import type { Client } from "../server/client.ts";
import type { Replication } from "./replication.ts";
import { encodeRdb } from "../persistence/rdb_writer.ts";
import { logger } from "../log.ts";
import { randomHex40 } from "../server/server.ts";
import { blockOnKeys, unblockClient } from "../store/blocking.ts";
import { latin1ToBytes } from "../resp/latin1.ts";

/** What a replica said in REPLCONF before PSYNC, and its state once it is a replica. */
export interface ReplicaPeer {
  readonly client: Client;
  /** wait_bgsave: waiting for the snapshot; send_bulk: the RDB is being sent; online: streaming. */
  state: "handshake" | "wait_bgsave" | "send_bulk" | "online";
  /** Highest REPLCONF ACK offset. */
  ackOffset: number;
  /** Unix ms of the last ACK (or of the sync start). */
  ackTime: number;
  listeningPort: number;
  announcedIp: string;
  capaEof: boolean;
  capaPsync2: boolean;
  /** Stream bytes kept back while the snapshot is on its way (null: they go to the output buffer). */
  held: Uint8Array[] | null;
  /** Diskless: the stream starts with the replica's first ACK after the RDB. */
  waitingFirstAck: boolean;
  /** An ACK came while the RDB was still being written (it can overtake the write's completion). */
  ackedDuringTransfer: boolean;
  /** Connected with the old SYNC (no ACKs, no +FULLRESYNC line). */
  oldSync: boolean;
}

/** The replica state of a client, created by its first REPLCONF. */
export function peerOf(c: Client): ReplicaPeer {
  if (c.replicaPeer === null) {
    c.replicaPeer = {
      client: c,
      state: "handshake",
      ackOffset: 0,
      ackTime: Date.now(),
      listeningPort: 0,
      announcedIp: "",
      capaEof: false,
      capaPsync2: false,
      held: null,
      waitingFirstAck: false,
      ackedDuringTransfer: false,
      oldSync: false,
    };
  }
  return c.replicaPeer;
}

/** Replicas waiting for the next diskless snapshot, and its timer. */
const disklessWaiting = new Set<ReplicaPeer>();
let disklessTimer: ReturnType<typeof setTimeout> | undefined;

/**
 * PSYNC / SYNC from a client (checks already done by the command): continue from the backlog when
 * the history and offset allow it, else a full sync.
 */
export function attachReplica(repl: Replication, c: Client, replId: string, offset: number, oldSync: boolean): void {
  const peer = peerOf(c);
  peer.oldSync = oldSync;
  c.isReplica = true;
  if (!oldSync && tryPartialSync(repl, peer, replId, offset)) return;
  if (!oldSync && replId !== "?") repl.stats.syncPartialErr++;
  repl.stats.syncFull++;
  startFullSync(repl, peer);
}

function tryPartialSync(repl: Replication, peer: ReplicaPeer, replId: string, offset: number): boolean {
  const history = replId === repl.replId || (replId === repl.replId2 && offset <= repl.secondOffset);
  if (!history || repl.backlog === null || !repl.backlog.covers(offset)) {
    if (replId !== "?") {
      logger.notice(
        history
          ? `Unable to partial resync with replica ${
            describePeer(peer)
          } for lack of backlog (Replica request was: ${offset}).`
          : `Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '${replId}', my replication IDs are '${repl.replId}' and '${repl.replId2}')`,
      );
    }
    return false;
  }
  const c = peer.client;
  c.out.raw(peer.capaPsync2 ? `+CONTINUE ${repl.replId}\r\n` : "+CONTINUE\r\n");
  c.out.rawBytes(repl.backlog.from(offset));
  peer.state = "online";
  peer.ackTime = Date.now();
  addReplica(repl, peer);
  repl.stats.syncPartialOk++;
  logger.notice(
    `Partial resynchronization request from ${describePeer(peer)} accepted. Sending ${
      repl.offset + 1 - offset
    } bytes of backlog starting from offset ${offset}.`,
  );
  return true;
}

function addReplica(repl: Replication, peer: ReplicaPeer): void {
  repl.replicas.add(peer);
  repl.noReplicasSince = 0;
}

/** Removes a closed replica connection. */
export function replicaClosed(repl: Replication, c: Client): void {
  const peer = c.replicaPeer;
  if (peer === null || !repl.replicas.has(peer)) return;
  repl.replicas.delete(peer);
  disklessWaiting.delete(peer);
  if (repl.replicas.size === 0) repl.noReplicasSince = Date.now();
  logger.notice(`Connection with replica ${describePeer(peer)} lost.`);
}

function startFullSync(repl: Replication, peer: ReplicaPeer): void {
  logger.notice(`Replica ${describePeer(peer)} asks for synchronization`);
  repl.ensureBacklog();
  peer.state = "wait_bgsave";
  peer.ackTime = Date.now();
  addReplica(repl, peer);
  const config = repl.server.config;
  if (!config.bool("repl-diskless-sync") || !peer.capaEof) {
    logger.notice("Starting BGSAVE for SYNC with target: disk");
    sendSnapshot(repl, [peer], false);
    return;
  }
  disklessWaiting.add(peer);
  const maxReplicas = config.num("repl-diskless-sync-max-replicas");
  const delayMs = config.num("repl-diskless-sync-delay") * 1000;
  if ((maxReplicas > 0 && disklessWaiting.size >= maxReplicas) || delayMs === 0) return startDiskless(repl);
  if (disklessTimer === undefined) {
    logger.notice(`Delay next BGSAVE for diskless SYNC`);
    disklessTimer = setTimeout(() => startDiskless(repl), delayMs);
  }
}

function startDiskless(repl: Replication): void {
  if (disklessTimer !== undefined) clearTimeout(disklessTimer);
  disklessTimer = undefined;
  const peers = [...disklessWaiting].filter((p) => !p.client.closed);
  disklessWaiting.clear();
  if (peers.length === 0) return;
  logger.notice(`Starting BGSAVE for SYNC with target: replicas sockets`);
  sendSnapshot(repl, peers, true);
}

/**
 * Takes the snapshot now (the stream from this offset on is held for each replica), then sends
 * +FULLRESYNC, the RDB and, once it is delivered (diskless: once the replica ACKs), the held stream.
 */
function sendSnapshot(repl: Replication, peers: ReplicaPeer[], diskless: boolean): void {
  // The next stream command is preceded by SELECT: the replica knows no db yet.
  repl.lastSelectedDb = -1;
  const rdb = encodeRdb(repl.server.dbs, { replStreamDb: 0, replId: repl.replId, replOffset: repl.offset });
  const fullResync = `+FULLRESYNC ${repl.replId} ${repl.offset}\r\n`;
  for (const peer of peers) {
    peer.state = "send_bulk";
    peer.held = [];
    peer.ackedDuringTransfer = false;
    const mark = diskless ? randomHex40() : "";
    const head = (peer.oldSync ? "" : fullResync) + (diskless ? `$EOF:${mark}\r\n` : `$${rdb.length}\r\n`);
    const parts = [latin1ToBytes(head), rdb];
    if (diskless) parts.push(latin1ToBytes(mark));
    writeDirect(peer, parts).then(() => {
      if (peer.client.closed) return;
      logger.notice(`Synchronization with replica ${describePeer(peer)} succeeded`);
      if (diskless && !peer.oldSync && !peer.ackedDuringTransfer) peer.waitingFirstAck = true;
      else goOnline(repl, peer);
    }).catch(() => peer.client.close());
  }
}

/** Writes bytes straight to the replica's socket, bypassing its output buffer (and its limits). */
async function writeDirect(peer: ReplicaPeer, parts: Uint8Array[]): Promise<void> {
  for (const part of parts) {
    await writeAll(peer.client.conn, part);
    peer.client.server.stats.netOutputBytes += part.length;
  }
}

/** The held stream goes out and the replica is online. */
function goOnline(repl: Replication, peer: ReplicaPeer): void {
  const held = peer.held ?? [];
  peer.held = null;
  peer.waitingFirstAck = false;
  peer.state = "online";
  peer.ackTime = Date.now();
  for (const bytes of held) peer.client.out.rawBytes(bytes);
  repl.scheduleFlush();
}

/** REPLCONF ACK from a replica: its applied offset. */
export function replicaAck(repl: Replication, c: Client, offset: number): void {
  const peer = c.replicaPeer;
  if (peer === null || !repl.replicas.has(peer)) return;
  if (offset > peer.ackOffset) peer.ackOffset = offset;
  peer.ackTime = Date.now();
  if (peer.waitingFirstAck) goOnline(repl, peer);
  else if (peer.state === "send_bulk") peer.ackedDuringTransfer = true;
  checkWaiters(repl);
}

/** `ip:port` of a replica for log lines. */
export function describePeer(peer: ReplicaPeer): string {
  return `${peerIp(peer)}:${peer.listeningPort}`;
}

/** The address a replica is shown with: the one it announced, else its connection's. */
export function peerIp(peer: ReplicaPeer): string {
  if (peer.announcedIp !== "") return peer.announcedIp;
  const addr = peer.client.addr;
  return addr.startsWith("[") ? addr.slice(1, addr.lastIndexOf("]")) : addr.slice(0, addr.lastIndexOf(":"));
}

/** Per-second master duties: keepalive newlines, PING, timed-out replicas, backlog TTL. */
export function masterCron(repl: Replication, now: number, tick: number): void {
  const config = repl.server.config;
  const pingPeriod = config.num("repl-ping-replica-period");
  if (repl.replicas.size > 0 && tick % pingPeriod === 0 && repl.server.pauseUntil === 0) {
    repl.feedUnselected(PING);
  }
  const timeoutMs = config.num("repl-timeout") * 1000;
  for (const peer of repl.replicas) {
    if (peer.state === "wait_bgsave") {
      writeDirect(peer, [NEWLINE]).catch(() => peer.client.close());
    } else if (peer.state === "online" && !peer.oldSync && now - peer.ackTime > timeoutMs) {
      logger.warning(`Disconnecting timedout replica (streaming sync): ${describePeer(peer)}`);
      peer.client.close();
    }
  }
  repl.checkBacklogTtl(now);
}

/** Number of online replicas that acknowledged `offset`. */
export function replicasAcked(repl: Replication, offset: number): number {
  let n = 0;
  for (const peer of repl.replicas) if (peer.state === "online" && peer.ackOffset >= offset) n++;
  return n;
}

/** Clients blocked in WAIT, with the offset and count each needs. */
const waiters = new Map<Client, { offset: number; needed: number }>();
let getackScheduled = false;

/** WAIT numreplicas timeout: replies at once when enough replicas acked, else blocks. */
export function waitForReplicas(repl: Replication, c: Client, needed: number, timeoutMs: number): void {
  const offset = c.woff;
  const acked = replicasAcked(repl, offset);
  if (acked >= needed || c.multi !== null) {
    c.out.int(acked);
    return;
  }
  waiters.set(c, { offset, needed });
  blockOnKeys(c, {
    keys: [],
    deadline: timeoutMs === 0 ? 0 : Date.now() + timeoutMs,
    serve: () => false,
    timedOut: () => {
      waiters.delete(c);
      c.out.int(replicasAcked(repl, offset));
    },
  });
  // Ask every replica for its offset once per event-loop turn (Redis's beforeSleep GETACK).
  if (!getackScheduled) {
    getackScheduled = true;
    queueMicrotask(() => {
      getackScheduled = false;
      if (waiters.size > 0 && repl.server.pauseUntil === 0) repl.feedUnselected(GETACK);
    });
  }
}

function checkWaiters(repl: Replication): void {
  for (const [c, w] of waiters) {
    const acked = replicasAcked(repl, w.offset);
    if (acked < w.needed) continue;
    waiters.delete(c);
    if (!unblockClient(c, "none")) continue;
    c.out.int(acked);
  }
}

const PING = ["ping"];
const GETACK = ["REPLCONF", "GETACK", "*"];
const NEWLINE = new Uint8Array([10]);
