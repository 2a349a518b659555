/**
 * Atomic slot migration (beyond Redis 7.0; Valkey 9's CLUSTER MIGRATESLOTS is the model). The source master
 * streams the slots to the target over the target's client port, with no open slots and so no ASK: a snapshot
 * of each slot (RESTORE ... ABSTTL), then every write the source applies to a slot already sent, then a brief
 * pause of writes and `CLUSTER SYNCSLOTS FINISH`, at which the target claims the slots with a new configEpoch.
 * Until that instant the source owns and serves the slots and the target keeps the copies out of sight; a crash
 * of either side before it rolls back (the target drops its copies when the stream ends, the source goes on), a
 * crash after it is an ordinary failure of the new owner.
 */
import { writeAll } from "../resp/connection.ts";
import type { Server } from "../server/server.ts";
import type { Client } from "../server/client.ts";
import { ReplyWriter } from "../resp/writer.ts";
import { parseReply, RespError } from "../resp/reply_parser.ts";
import { dumpPayloadView } from "../persistence/rdb_writer.ts";
import { commandKeyPositions } from "../commands/table.ts";
import { CLUSTER_SLOTS, keyHashSlot } from "./slots.ts";
import { bumpEpochWithoutConsensus } from "./epochs.ts";
import { broadcastPong } from "./gossip.ts";
import { updateClusterState } from "./failure.ts";
import type { ClusterNode } from "./node.ts";
import { logger } from "../log.ts";
import { bytesToLatin1 } from "../resp/latin1.ts";

/** How long the source pauses writes for the handoff at most (a failed handoff rolls back after it). */
const HANDOFF_TIMEOUT_MS = 5000;
/** Snapshot bytes queued before the source waits for the socket (bounds memory, lets clients run). */
const SNAPSHOT_CHUNK_BYTES = 256 * 1024;
/** Keys per DEL sent to the source's replicas when the moved keys are dropped. */
const DEL_BATCH_KEYS = 1000;
/** Finished jobs kept for CLUSTER GETSLOTMIGRATIONS. */
const FINISHED_JOBS_KEPT = 32;

/** An inclusive slot range. */
export interface SlotRange {
  start: number;
  end: number;
}

type JobState = "connecting" | "snapshot" | "handoff" | "success" | "failed" | "cancelled";

/** One migration as this node sees it (exporting as the source, importing as the target). */
export interface MigrationJob {
  id: string;
  operation: "EXPORT" | "IMPORT";
  /** The other node's id. */
  node: string;
  ranges: SlotRange[];
  /** 1 for each slot of the job. */
  slots: Uint8Array;
  state: JobState;
  message: string;
  keys: number;
  createdAt: number;
  updatedAt: number;
}

/** An export: the stream to the target and which slots it already carries. */
interface ExportJob extends MigrationJob {
  target: ClusterNode;
  /** 1 once a slot's snapshot is queued: later writes to it are forwarded. */
  sent: Uint8Array;
  out: ReplyWriter;
  conn: Deno.TcpConn | null;
  writing: Promise<void> | null;
  /** Commands sent and replies received so far. */
  commandsSent: number;
  repliesSeen: number;
  /** Resolvers waiting for the reply count to reach a number. */
  waiters: { count: number; resolve: (reply: unknown) => void; reject: (err: Error) => void }[];
  lastReply: unknown;
  failure: Error | null;
  cancelled: boolean;
}

function slotBitmap(ranges: SlotRange[]): Uint8Array {
  const slots = new Uint8Array(CLUSTER_SLOTS);
  for (const r of ranges) slots.fill(1, r.start, r.end + 1);
  return slots;
}

function formatRanges(ranges: SlotRange[]): string {
  return ranges.map((r) => r.start === r.end ? `${r.start}` : `${r.start}-${r.end}`).join(" ");
}

/** The migrations of one node, both directions. */
export class SlotMigrations {
  private readonly exports: ExportJob[] = [];
  private readonly finished: MigrationJob[] = [];
  private readonly imports = new Map<Client, MigrationJob>();
  private nextId = 1;

  constructor(private readonly server: Server) {}

  /** Every job, running ones first (CLUSTER GETSLOTMIGRATIONS). */
  jobs(): MigrationJob[] {
    return [...this.exports, ...this.imports.values(), ...this.finished];
  }

  // --- source side ---

  /** CLUSTER MIGRATESLOTS: checks, then starts the export in the background; an error text or null. */
  startExport(targetId: string, ranges: SlotRange[]): string | null {
    const shell = this.server.cluster!;
    const state = shell.state;
    const me = state.myself;
    if (!state.isMaster(me)) return "ERR Only masters can migrate slots";
    const target = state.nodes.get(targetId);
    if (target === undefined) return `ERR Unknown node ${targetId}`;
    if (target === me) return "ERR Can't migrate slots to myself";
    if (!state.isMaster(target)) return "ERR Target node is not a master";
    const slots = slotBitmap(ranges);
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
      if (slots[slot] === 0) continue;
      if (state.slots[slot] !== me) return `ERR I'm not the owner of hash slot ${slot}`;
      if (state.migratingTo[slot] !== null || state.importingFrom[slot] !== null) {
        return `ERR Slot ${slot} is open (importing or migrating)`;
      }
      if (this.exports.some((job) => job.slots[slot] === 1)) return `ERR Slot ${slot} is already being migrated`;
    }
    const now = Date.now();
    const job: ExportJob = {
      id: `${me.id.slice(0, 8)}-${this.nextId++}`,
      operation: "EXPORT",
      node: target.id,
      ranges,
      slots,
      state: "connecting",
      message: "",
      keys: 0,
      createdAt: now,
      updatedAt: now,
      target,
      sent: new Uint8Array(CLUSTER_SLOTS),
      out: new ReplyWriter(),
      conn: null,
      writing: null,
      commandsSent: 0,
      repliesSeen: 0,
      waiters: [],
      lastReply: null,
      failure: null,
      cancelled: false,
    };
    this.exports.push(job);
    this.refreshTap();
    logger.notice(`Slot migration ${job.id}: moving slots ${formatRanges(ranges)} to ${target.id}`);
    this.runExport(job).catch((err) => this.endExport(job, "failed", (err as Error).message));
    return null;
  }

  /** CLUSTER CANCELSLOTMIGRATIONS: stops every export not yet handing off; the number cancelled. */
  cancelExports(): number {
    let n = 0;
    for (const job of this.exports) {
      if (job.state === "handoff" || job.cancelled) continue;
      job.cancelled = true;
      n++;
      this.endExport(job, "cancelled", "cancelled by CLUSTER CANCELSLOTMIGRATIONS");
    }
    return n;
  }

  /** Forwards a propagated write to the target when its slot's snapshot is already on the way. */
  private tap = (_db: number, argv: readonly string[]): void => {
    const cmd = this.server.commands.lookup(argv[0]);
    if (cmd === undefined) return;
    const positions = commandKeyPositions(cmd, argv as string[]);
    if (positions.length === 0) {
      // A flush cannot be forwarded (it would empty the target): the exports start over by hand.
      if (cmd.name === "flushall" || cmd.name === "flushdb" || cmd.name === "swapdb") {
        for (const job of [...this.exports]) this.endExport(job, "failed", `${cmd.name} during the migration`);
      }
      return;
    }
    const slot = keyHashSlot(argv[positions[0]]);
    for (const job of this.exports) {
      if (job.sent[slot] === 1 && job.state !== "connecting") {
        this.queue(job, argv);
        this.flush(job);
      }
    }
  };

  private refreshTap(): void {
    this.server.repl.setExportTap(this.exports.length > 0 ? this.tap : null);
  }

  private queue(job: ExportJob, argv: readonly string[]): void {
    job.out.bulkArray(argv);
    job.commandsSent++;
  }

  /** Starts writing what is queued; resolves when the queue is empty. */
  private flush(job: ExportJob): Promise<void> {
    if (job.writing === null && job.out.length > 0 && job.conn !== null) {
      const conn = job.conn;
      job.writing = (async () => {
        try {
          while (job.out.length > 0) {
            const bytes = job.out.bytes.slice(0, job.out.length);
            job.out.reset();
            await writeAll(conn, bytes);
          }
        } finally {
          job.writing = null;
        }
      })();
      job.writing.catch((err) => this.failStream(job, err as Error));
    }
    return job.writing ?? Promise.resolve();
  }

  /** Waits until `count` replies arrived; resolves with the last one (an error reply rejects). */
  private replies(job: ExportJob, count: number, timeoutMs: number): Promise<unknown> {
    if (job.failure !== null) return Promise.reject(job.failure);
    if (job.repliesSeen >= count) return Promise.resolve(job.lastReply);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no reply from the target in time")), timeoutMs);
      job.waiters.push({
        count,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  private failStream(job: ExportJob, err: Error): void {
    if (job.failure !== null) return;
    job.failure = err;
    for (const w of job.waiters.splice(0)) w.reject(err);
  }

  /** Reads the target's replies: every one must be a success; waiters wake at their count. */
  private async readReplies(job: ExportJob, conn: Deno.TcpConn): Promise<void> {
    let buf = new Uint8Array(64 * 1024);
    let len = 0;
    try {
      while (true) {
        if (len === buf.length) {
          const grown = new Uint8Array(buf.length * 2);
          grown.set(buf);
          buf = grown;
        }
        const n = await conn.read(buf.subarray(len));
        if (n === null) throw new Error("the target closed the connection");
        len += n;
        let pos = 0;
        while (true) {
          const parsed = parseReply(buf, pos, len);
          if (parsed === null) break;
          pos = parsed.end;
          job.repliesSeen++;
          job.lastReply = parsed.value;
          if (parsed.value instanceof RespError) throw new Error(`the target replied: ${parsed.value.message}`);
          for (const w of job.waiters.filter((w) => job.repliesSeen >= w.count)) {
            job.waiters.splice(job.waiters.indexOf(w), 1);
            w.resolve(parsed.value);
          }
        }
        buf.copyWithin(0, pos, len);
        len -= pos;
      }
    } catch (err) {
      this.failStream(job, err as Error);
    }
  }

  private async runExport(job: ExportJob): Promise<void> {
    const server = this.server;
    const shell = server.cluster!;
    const conn = await Deno.connect({ hostname: job.target.ip || "127.0.0.1", port: job.target.port });
    conn.setNoDelay(true);
    job.conn = conn;
    if (job.cancelled) return conn.close();
    this.readReplies(job, conn);
    const auth = server.config.str("masterauth");
    const user = server.config.str("masteruser");
    if (auth !== "") this.queue(job, user !== "" ? ["AUTH", user, auth] : ["AUTH", auth]);
    const rangeArgs = job.ranges.flatMap((r) => [String(r.start), String(r.end)]);
    this.queue(job, ["CLUSTER", "SYNCSLOTS", "START", job.id, shell.state.myself.id, ...rangeArgs]);
    await this.flush(job);
    await this.replies(job, job.commandsSent, HANDOFF_TIMEOUT_MS);
    this.touch(job, "snapshot");
    const db = server.dbs[0];
    const delayUs = server.config.num("cluster-slot-migration-key-delay-us");
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
      if (job.slots[slot] === 0) continue;
      if (job.cancelled || job.failure !== null) throw job.failure ?? new Error("cancelled");
      // One slot's snapshot is queued in a single turn, so writes to it are either in it or forwarded after it.
      for (const key of [...db.slotKeys(slot)]) {
        const entry = db.entry(key);
        if (entry === undefined) continue;
        const payload = bytesToLatin1(dumpPayloadView(entry.value));
        const ttl = String(entry.expire === -1 ? 0 : entry.expire);
        this.queue(job, ["RESTORE", key, ttl, payload, "REPLACE", "ABSTTL"]);
        job.keys++;
        if (delayUs > 0) await new Promise((r) => setTimeout(r, delayUs / 1000));
      }
      job.sent[slot] = 1;
      // Bytes go out as soon as a slot is queued; the snapshot waits for the socket only past a chunk.
      const writing = this.flush(job);
      if (job.out.length >= SNAPSHOT_CHUNK_BYTES) await writing;
    }
    await this.flush(job);
    this.touch(job, "handoff");
    // The handoff: no write may land on the source after the target has taken the slots.
    const pausedAt = Date.now();
    server.pauseClients(pausedAt + HANDOFF_TIMEOUT_MS, true);
    try {
      this.queue(job, ["CLUSTER", "SYNCSLOTS", "FINISH", job.id]);
      await this.flush(job);
      let epoch: number;
      try {
        epoch = Number(await this.replies(job, job.commandsSent, HANDOFF_TIMEOUT_MS));
      } catch (err) {
        // The target may or may not have taken the slots: the cluster's view decides.
        if (!await this.targetTookSlots(job)) throw err;
        epoch = job.target.configEpoch;
      }
      this.completeExport(job, epoch);
      logger.notice(
        `Slot migration ${job.id}: ${job.keys} keys moved to ${job.target.id}, writes paused ${
          Date.now() - pausedAt
        } ms`,
      );
    } finally {
      server.unpauseClients();
    }
  }

  /** After a lost FINISH reply: waits up to a node timeout for gossip to show the target owning every slot. */
  private async targetTookSlots(job: ExportJob): Promise<boolean> {
    const state = this.server.cluster!.state;
    const deadline = Date.now() + state.settings.nodeTimeoutMs;
    while (Date.now() < deadline) {
      let all = true;
      for (let slot = 0; slot < CLUSTER_SLOTS && all; slot++) {
        if (job.slots[slot] === 1 && state.slots[slot] !== job.target) all = false;
      }
      if (all) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  /** The target owns the slots: give them to it here, drop my copies (and my replicas'). */
  private completeExport(job: ExportJob, epoch: number): void {
    const server = this.server;
    const shell = server.cluster!;
    this.removeExport(job);
    shell.run((now) => {
      const state = shell.state;
      if (epoch > job.target.configEpoch) job.target.configEpoch = epoch;
      if (epoch > state.currentEpoch) state.currentEpoch = epoch;
      for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
        if (job.slots[slot] === 1 && state.slots[slot] === state.myself) state.setSlotOwner(slot, job.target);
      }
      updateClusterState(state, now);
      state.persist(true);
      broadcastPong(state, now);
    });
    const db = server.dbs[0];
    let batch: string[] = ["DEL"];
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
      if (job.slots[slot] === 0) continue;
      for (const key of [...db.slotKeys(slot)]) {
        db.delete(key);
        batch.push(key);
        if (batch.length > DEL_BATCH_KEYS) {
          server.repl.feedCommand(0, batch);
          batch = ["DEL"];
        }
      }
    }
    if (batch.length > 1) server.repl.feedCommand(0, batch);
    server.dirty++;
    this.finish(job, "success", "");
    job.conn?.close();
  }

  private removeExport(job: ExportJob): void {
    const at = this.exports.indexOf(job);
    if (at !== -1) this.exports.splice(at, 1);
    this.refreshTap();
  }

  private endExport(job: ExportJob, state: JobState, message: string): void {
    if (!this.exports.includes(job)) return;
    this.removeExport(job);
    try {
      job.conn?.close();
    } catch {
      // closed
    }
    this.failStream(job, new Error(message));
    logger.warning(`Slot migration ${job.id} ${state}: ${message}; the slots stay here`);
    this.finish(job, state, message);
  }

  // --- target side ---

  /** CLUSTER SYNCSLOTS START from a source: checks, drops stale keys, binds the job to the connection. */
  startImport(c: Client, id: string, sourceId: string, ranges: SlotRange[]): string | null {
    const state = this.server.cluster!.state;
    const me = state.myself;
    if (!state.isMaster(me)) return "ERR Only masters can import slots";
    const source = state.nodes.get(sourceId);
    if (source === undefined) return `ERR Unknown node ${sourceId}`;
    if (this.imports.has(c)) return "ERR This connection is already importing slots";
    const slots = slotBitmap(ranges);
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
      if (slots[slot] === 0) continue;
      if (state.slots[slot] !== source) return `ERR Slot ${slot} is not served by ${sourceId} in my view`;
      for (const job of this.imports.values()) {
        if (job.slots[slot] === 1) return `ERR Slot ${slot} is already being imported`;
      }
    }
    const now = Date.now();
    const job: MigrationJob = {
      id,
      operation: "IMPORT",
      node: sourceId,
      ranges,
      slots,
      state: "snapshot",
      message: "",
      keys: 0,
      createdAt: now,
      updatedAt: now,
    };
    this.dropKeys(slots);
    this.imports.set(c, job);
    c.importJob = job;
    logger.notice(`Slot migration ${id}: importing slots ${formatRanges(ranges)} from ${sourceId}`);
    return null;
  }

  /** CLUSTER SYNCSLOTS FINISH: everything before it is applied; take the slots with a new configEpoch. */
  finishImport(c: Client, id: string): number | string {
    const job = this.imports.get(c);
    if (job === undefined || job.id !== id) return "ERR No such slot import on this connection";
    const shell = this.server.cluster!;
    let epoch = 0;
    shell.run((now) => {
      const state = shell.state;
      for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
        if (job.slots[slot] === 1) state.setSlotOwner(slot, state.myself);
      }
      bumpEpochWithoutConsensus(state);
      epoch = state.myself.configEpoch;
      updateClusterState(state, now);
      state.persist(true);
      broadcastPong(state, now);
    });
    job.keys = countKeys(this.server, job.slots);
    this.imports.delete(c);
    c.importJob = null;
    this.finish(job, "success", "");
    logger.notice(`Slot migration ${id}: slots ${formatRanges(job.ranges)} taken over with configEpoch ${epoch}`);
    return epoch;
  }

  /** The source's connection closed before FINISH: the copies go, the slots were never ours. */
  importClosed(c: Client): void {
    const job = this.imports.get(c);
    if (job === undefined) return;
    this.imports.delete(c);
    const dropped = this.dropKeys(job.slots);
    logger.warning(`Slot migration ${job.id} aborted by the source: ${dropped} imported keys dropped`);
    this.finish(job, "failed", "the source's connection closed before the handoff");
  }

  /** Deletes my keys in these slots (not mine to serve); returns how many. */
  private dropKeys(slots: Uint8Array): number {
    const db = this.server.dbs[0];
    let n = 0;
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
      if (slots[slot] === 0 || db.slotSize(slot) === 0) continue;
      for (const key of [...db.slotKeys(slot)]) {
        db.delete(key);
        n++;
      }
    }
    return n;
  }

  // --- bookkeeping ---

  private touch(job: MigrationJob, state: JobState): void {
    job.state = state;
    job.updatedAt = Date.now();
  }

  private finish(job: MigrationJob, state: JobState, message: string): void {
    this.touch(job, state);
    job.message = message;
    this.finished.unshift(job);
    if (this.finished.length > FINISHED_JOBS_KEPT) this.finished.pop();
  }
}

function countKeys(server: Server, slots: Uint8Array): number {
  let n = 0;
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) if (slots[slot] === 1) n += server.dbs[0].slotSize(slot);
  return n;
}

export { formatRanges };
