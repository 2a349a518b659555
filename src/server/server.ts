/**
 * The server: owns the config, the databases, the command table and the clients; accepts
 * connections and runs the periodic cron (active expiry, idle client timeout).
 */
import { Config } from "../config/config.ts";
import { CommandTable } from "../commands/table.ts";
import { ALL_COMMANDS } from "../commands/index.ts";
import { Db, type KeyspaceObserver } from "../store/keyspace.ts";
import { refreshAccessClock } from "../store/access_clock.ts";
import { serveReadyKeys, signalKeyReady } from "../store/blocking.ts";
import { Client } from "./client.ts";
import { logger } from "../log.ts";
import type { ParserLimits } from "../resp/parser.ts";
import { formatMonitorLine } from "./monitor.ts";
import { touchWatchedKey } from "../commands/transactions.ts";
import { attachHistograms, LatencyMonitor } from "./latency.ts";
import { InstantaneousMetric } from "./metrics.ts";
import { CMD_FAST, CMD_WRITE, type Command } from "../commands/table.ts";
import type { ClusterShell } from "../cluster/shell.ts";
import type { SlotMigrations } from "../cluster/slot_migration.ts";
import { refreshTypeLimits } from "../store/types/limits.ts";
import { Replication } from "../replication/replication.ts";
import { saveRdbSync } from "../persistence/rdb_file.ts";
import { replicaClosed } from "../replication/master_side.ts";
import { replicationCron } from "../replication/cron.ts";
import { alsoPropagate, propagation } from "../replication/propagate.ts";
import { NOTIFY_EXPIRED, notifyKeyspaceEvent, setKeyspaceEvents } from "./keyspace_events.ts";

/** Server-wide counters reported by INFO stats. */
export class ServerStats {
  totalConnections = 0;
  rejectedConnections = 0;
  commandsProcessed = 0;
  netInputBytes = 0;
  netOutputBytes = 0;
  expiredKeys = 0;
  expiredTimeCapReached = 0;
  keyspaceHits = 0;
  keyspaceMisses = 0;
  errorReplies = 0;
  protocolErrors = 0;
  /** Socket reads and reply writes (INFO total_reads_processed / total_writes_processed). */
  readsProcessed = 0;
  writesProcessed = 0;
  /** Sampled rates for INFO instantaneous_* fields. */
  readonly opsPerSec = new InstantaneousMetric();
  readonly inputKbps = new InstantaneousMetric();
  readonly outputKbps = new InstantaneousMetric();
  /** Error counts by error code (the word before the first space): INFO errorstats. */
  errors = new Map<string, number>();
}

/** One slowlog entry. */
export interface SlowlogEntry {
  id: number;
  time: number;
  usec: number;
  argv: string[];
  addr: string;
  name: string;
}

/** Longest slowlog argv and argument kept (SLOWLOG_ENTRY_MAX_ARGC / SLOWLOG_ENTRY_MAX_STRING). */
const SLOWLOG_ENTRY_MAX_ARGC = 32;
const SLOWLOG_ENTRY_MAX_STRING = 128;
/** How often the instantaneous metrics take a sample (Redis's run_with_period(100)). */
const METRIC_SAMPLE_PERIOD_MS = 100;

/** 40 random hex characters (run_id, master_replid). */
export function randomHex40(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** The Redis-compatible server. */
export class Server implements KeyspaceObserver {
  readonly config: Config;
  readonly commands = new CommandTable(ALL_COMMANDS);
  dbs: Db[] = [];
  readonly clients = new Map<number, Client>();
  readonly monitors = new Set<Client>();
  readonly stats = new ServerStats();
  /** Config values read on every command or read, cached here and refreshed by their apply hooks. */
  readonly limits: ParserLimits & { queryBufferLimit: number; slowlogUsec: number; latencyMs: number } = {
    protoMaxBulkLen: 0,
    queryBufferLimit: 0,
    slowlogUsec: 0,
    latencyMs: 0,
  };
  slowlog: SlowlogEntry[] = [];
  private slowlogNextId = 0;
  /** Changes since the last save (INFO rdb_changes_since_last_save). */
  dirty = 0;
  lastSave = Math.floor(Date.now() / 1000);
  readonly startedAt = Date.now();
  /** Client whose command is running (for MONITOR and CLIENT commands). */
  currentClient: Client | null = null;
  /** Unix ms until which clients are paused, and whether only writes are paused. */
  pauseUntil = 0;
  pauseWritesOnly = false;
  /** Resolves when the current CLIENT PAUSE ends; postponed commands wait on it. */
  pauseEnded: Promise<void> | null = null;
  private pauseResolve: (() => void) | null = null;
  private pauseTimer: ReturnType<typeof setTimeout> | undefined;
  activeExpireEnabled = true;
  /** INFO run_id: random per process, as in Redis. */
  readonly runId = randomHex40();
  readonly latency = new LatencyMonitor();
  /** Heap bytes at start-up and the highest seen (INFO used_memory_startup / used_memory_peak). */
  readonly memoryStartup = Deno.memoryUsage().heapUsed;
  memoryPeak = this.memoryStartup;
  /** Largest query / output buffer seen recently (INFO client_recent_max_*). */
  recentMaxInput = 0;
  recentMaxOutput = 0;
  private lastMetricSample = 0;
  /** File descriptor numbers shown by CLIENT LIST: reused lowest-first, as the kernel does. */
  private freeFds: number[] = [];
  private nextFd = 8;
  private nextClientId = 1;
  private listeners: Deno.TcpListener[] = [];
  private cronTimer: ReturnType<typeof setTimeout> | undefined;
  private shuttingDown = false;
  port = 0;
  /** Whether db 0 holds a key (cluster routing counts missing keys of migrating slots); one closure for all calls. */
  readonly keyInDb0 = (key: string): boolean => this.dbs[0].has(key);
  /** The cluster bus and state when `cluster-enabled yes`, else null. */
  cluster: ClusterShell | null = null;
  /** Atomic slot migrations (cluster mode only). */
  slotMigrations: SlotMigrations | null = null;
  /** A replica is loading its master's snapshot: commands without the `loading` flag get -LOADING. */
  loading = false;
  /** Replication IDs, offset, backlog, replicas and the link to my master. */
  readonly repl: Replication = new Replication(this);
  /** Seconds counter of the replication cron (Redis's replicationCron runs once a second). */
  private replCronTick = 0;
  private lastReplCron = 0;
  /** Called when SHUTDOWN stops the server; start-up resolves the process exit with it. */
  onShutdown: (() => void) | null = null;

  constructor(config: Config) {
    this.config = config;
    this.refreshLimits();
    const n = config.num("databases");
    for (let i = 0; i < n; i++) this.dbs.push(new Db(i, this, true));
    setKeyspaceEvents(this, config.get("notify-keyspace-events") as number);
    refreshAccessClock(config); // a configured LRU/LFU policy tracks access from the first command
    attachHistograms(this.commands.commands.values());
  }

  /** Re-reads the limits the hot path uses (after CONFIG SET). */
  refreshLimits(): void {
    this.limits.protoMaxBulkLen = this.config.num("proto-max-bulk-len");
    this.limits.queryBufferLimit = this.config.num("client-query-buffer-limit");
    this.limits.slowlogUsec = this.config.num("slowlog-log-slower-than");
    this.limits.latencyMs = this.config.num("latency-monitor-threshold");
    refreshTypeLimits(this.config);
    this.cluster?.refreshSettings();
  }

  /** Opens the listeners and starts accepting; resolves once listening. */
  start(): void {
    this.port = this.config.num("port");
    const binds = (this.config.str("bind") || "*").split(/\s+/).filter((b) => b !== "");
    for (const bind of binds) {
      const optional = bind.startsWith("-");
      const addr = optional ? bind.slice(1) : bind;
      const hostname = bindHostname(addr);
      try {
        const listener = Deno.listen({ hostname, port: this.port, transport: "tcp" });
        this.listeners.push(listener);
        this.acceptLoop(listener);
      } catch (err) {
        if (optional) continue;
        logger.warning(
          `Warning: Could not create server TCP listening socket ${addr}:${this.port}: ${(err as Error).message}`,
        );
        throw err;
      }
    }
    this.scheduleCron();
  }

  private async acceptLoop(listener: Deno.TcpListener): Promise<void> {
    try {
      for await (const conn of listener) this.accept(conn);
    } catch {
      // listener closed
    }
  }

  private accept(conn: Deno.TcpConn): void {
    try {
      conn.setNoDelay(true);
      if (this.config.num("tcp-keepalive") > 0) conn.setKeepAlive(true);
    } catch {
      // the socket may already be gone
    }
    if (this.clients.size >= this.config.num("maxclients")) {
      this.stats.rejectedConnections++;
      conn.write(new TextEncoder().encode("-ERR max number of clients reached\r\n")).catch(() => {}).finally(() => {
        try {
          conn.close();
        } catch {
          // gone
        }
      });
      return;
    }
    const client = new Client(this, conn, this.nextClientId++);
    this.clients.set(client.id, client);
    this.stats.totalConnections++;
    logger.verbose(`Accepted ${client.addr}`);
    client.run();
  }

  /** Unregisters a closed client. */
  clientClosed(c: Client): void {
    this.clients.delete(c.id);
    this.monitors.delete(c);
    this.freeFds.push(c.fd);
    this.freeFds.sort((a, b) => b - a);
    unwatchAll(c);
    if (c.replicaPeer !== null) replicaClosed(this.repl, c);
    if (c.importJob !== null) this.slotMigrations?.importClosed(c);
  }

  /** Writes an error reply and counts it for INFO errorstats. */
  replyError(c: Client, message: string): void {
    this.stats.errorReplies++;
    const space = message.indexOf(" ");
    const code = space === -1 ? message : message.slice(0, space);
    this.stats.errors.set(code, (this.stats.errors.get(code) ?? 0) + 1);
    c.out.error(message);
  }

  /** Sends a command line to every MONITOR client. */
  feedMonitors(c: Client, argv: string[]): void {
    const line = formatMonitorLine(c, argv);
    for (const m of this.monitors) {
      if (m === c) continue;
      m.out.simple(line);
      m.pushFlush();
    }
  }

  /** The replication role HELLO reports. */
  role(): "master" | "replica" {
    return this.repl.isReplica ? "replica" : "master";
  }

  /** Registers a client on a connection this server opened itself (a replica's link to its master). */
  attachClient(conn: Deno.TcpConn): Client {
    const client = new Client(this, conn, this.nextClientId++);
    this.clients.set(client.id, client);
    return client;
  }

  /** A file descriptor number for a new client (CLIENT LIST `fd=`). */
  allocateFd(): number {
    return this.freeFds.pop() ?? this.nextFd++;
  }

  /**
   * After a command: adds a slowlog entry if it took at least `slowlog-log-slower-than` usec, and
   * a latency sample (`command` / `fast-command`) if it took at least `latency-monitor-threshold` ms.
   */
  slowlogCheck(c: Client, argv: string[], usec: number, cmd?: Command): void {
    const latencyMs = this.limits.latencyMs;
    if (latencyMs > 0 && usec / 1000 >= latencyMs) {
      this.latency.addSample(
        cmd !== undefined && (cmd.flags & CMD_FAST) !== 0 ? "fast-command" : "command",
        Math.floor(usec / 1000),
      );
    }
    const threshold = this.limits.slowlogUsec;
    if (threshold < 0 || usec < threshold) return;
    const max = this.config.num("slowlog-max-len");
    this.slowlog.unshift({
      id: this.slowlogNextId++,
      time: Math.floor(Date.now() / 1000),
      usec: Math.floor(usec),
      argv: slowlogArgv(argv),
      addr: c.addr,
      name: c.name,
    });
    if (this.slowlog.length > max) this.slowlog.length = max;
  }

  /** Empties the slowlog (SLOWLOG RESET). */
  slowlogReset(): void {
    this.slowlog = [];
  }

  // --- CLIENT PAUSE ---

  /** Pauses clients until `endMs` (unix ms); a longer or stricter pause wins, as in Redis's pauseClients. */
  pauseClients(endMs: number, writesOnly: boolean): void {
    if (this.pauseUntil === 0) this.pauseWritesOnly = writesOnly;
    else if (!writesOnly) this.pauseWritesOnly = false;
    if (endMs > this.pauseUntil) this.pauseUntil = endMs;
    if (this.pauseEnded === null) this.pauseEnded = new Promise((resolve) => this.pauseResolve = resolve);
    clearTimeout(this.pauseTimer);
    this.pauseTimer = setTimeout(() => this.unpauseClients(), Math.max(0, this.pauseUntil - Date.now()));
  }

  /** Ends the pause and lets postponed commands run. */
  unpauseClients(): void {
    clearTimeout(this.pauseTimer);
    this.pauseUntil = 0;
    this.pauseWritesOnly = false;
    const resolve = this.pauseResolve;
    this.pauseEnded = null;
    this.pauseResolve = null;
    resolve?.();
  }

  /**
   * Whether a command must wait for CLIENT PAUSE to end (Redis's processCommand): every command in
   * ALL mode; in WRITE mode commands that write or may replicate (EVAL, PUBLISH, ...) and EXEC of such.
   */
  mustPostpone(c: Client, cmd: Command): boolean {
    if (this.pauseUntil === 0) return false;
    if (!this.pauseWritesOnly) return true;
    if (mayReplicate(cmd)) return true;
    if (cmd.fullname === "exec" && c.multi !== null) return c.multi.some((q) => mayReplicate(q.cmd));
    return false;
  }

  /**
   * Shuts down on SHUTDOWN: logs as Redis does, closes listeners and clients, then resolves the
   * process exit (`onShutdown`). `save` is unused until persistence exists.
   */
  shutdownCommand(flags: { save: boolean; nosave: boolean; now: boolean; force: boolean }): string | null {
    logger.warning("User requested shutdown...");
    if (flags.save && !flags.nosave) {
      logger.notice("Saving the final RDB snapshot before exiting.");
      if (!saveRdbSync(this) && !flags.force) {
        logger.warning("Error trying to save the DB, can't exit.");
        return "ERR Errors trying to SHUTDOWN. Check logs.";
      }
    }
    this.shutdown();
    logger.warning("tessera is now ready to exit, bye bye...");
    this.onShutdown?.();
    return null;
  }

  // --- KeyspaceObserver ---

  /** Marks clients watching the key as dirty (their EXEC will fail). */
  keyModified(db: Db, key: string): void {
    touchWatchedKey(db, key);
  }

  keyExpired(db: Db, key: string): void {
    notifyKeyspaceEvent(NOTIFY_EXPIRED, "expired", key, db.id);
    // A consumer group reader blocked on the key is told it is gone (served after the command or expiry cycle).
    signalKeyReady(db, key);
    this.stats.expiredKeys++;
    if (propagation.active) alsoPropagate(db.id, [this.config.bool("lazyfree-lazy-expire") ? "UNLINK" : "DEL", key]);
  }

  // --- cron ---

  private scheduleCron(): void {
    const hz = Math.max(1, Math.min(500, this.config.num("hz")));
    this.cronTimer = setTimeout(() => {
      this.cron(hz);
      if (!this.shuttingDown) this.scheduleCron();
    }, 1000 / hz);
  }

  /** Periodic work: Redis's serverCron subset. */
  private cron(hz: number): void {
    const nowMs = Date.now();
    if (nowMs - this.lastMetricSample >= METRIC_SAMPLE_PERIOD_MS) {
      this.lastMetricSample = nowMs;
      this.stats.opsPerSec.sample(nowMs, this.stats.commandsProcessed);
      this.stats.inputKbps.sample(nowMs, this.stats.netInputBytes);
      this.stats.outputKbps.sample(nowMs, this.stats.netOutputBytes);
      const heap = Deno.memoryUsage().heapUsed;
      if (heap > this.memoryPeak) this.memoryPeak = heap;
    }
    if (refreshAccessClock(this.config)) { for (const db of this.dbs) db.syncAccessTracking(); }
    if (nowMs - this.lastReplCron >= 1000) {
      this.lastReplCron = nowMs;
      replicationCron(this.repl, nowMs, this.replCronTick++);
    }
    // Redis 7.0 pauses active expiry while clients are paused (the dataset must not change);
    // a replica's keys expire only by its master's DELs.
    if (this.activeExpireEnabled && this.pauseUntil === 0 && !this.repl.isReplica) {
      // Redis's slow cycle may use 25% of each cron period.
      const deadline = performance.now() + 250 / hz;
      for (const db of this.dbs) {
        if (db.expiresSize === 0) continue;
        const r = db.activeExpire(deadline);
        if (r.timedOut) {
          this.stats.expiredTimeCapReached++;
          break;
        }
      }
      serveReadyKeys();
    }
    const timeoutSec = this.config.num("timeout");
    if (timeoutSec > 0) {
      const now = Date.now();
      for (const c of this.clients.values()) {
        if (c.monitor || c.waitFor !== null) continue;
        if (now - c.lastInteraction > timeoutSec * 1000) {
          logger.verbose("Closing idle client");
          c.close();
        }
      }
    }
  }

  /** Closes listeners and clients; the process may exit after this. */
  shutdown(): void {
    this.shuttingDown = true;
    clearTimeout(this.cronTimer);
    this.cluster?.stop();
    this.repl.stop();
    for (const l of this.listeners) {
      try {
        l.close();
      } catch {
        // closed
      }
    }
    for (const c of [...this.clients.values()]) c.close();
  }
}

/** The address to listen on for a `bind` entry (`*` is every IPv4 address, `::*` every IPv6 one). */
export function bindHostname(addr: string): string {
  return addr === "*" ? "0.0.0.0" : addr === "::*" ? "::" : addr;
}

/** Removes all of a client's WATCHes. */
export function unwatchAll(c: Client): void {
  for (const w of c.watched) {
    const set = w.db.watched.get(w.key);
    if (set === undefined) continue;
    set.delete(c);
    if (set.size === 0) w.db.watched.delete(w.key);
  }
  c.watched = [];
  c.dirtyCas = false;
}

/** A slowlog copy of argv: at most 32 arguments and 128 bytes each, with Redis's markers. */
function slowlogArgv(argv: string[]): string[] {
  const argc = Math.min(argv.length, SLOWLOG_ENTRY_MAX_ARGC);
  const out: string[] = new Array(argc);
  for (let j = 0; j < argc; j++) {
    if (argc !== argv.length && j === argc - 1) {
      out[j] = `... (${argv.length - argc + 1} more arguments)`;
    } else if (argv[j].length > SLOWLOG_ENTRY_MAX_STRING) {
      out[j] = `${argv[j].slice(0, SLOWLOG_ENTRY_MAX_STRING)}... (${
        argv[j].length - SLOWLOG_ENTRY_MAX_STRING
      } more bytes)`;
    } else {
      out[j] = argv[j];
    }
  }
  return out;
}

/** Commands Redis 7.0 flags `may_replicate` (not shown by COMMAND INFO, so not in the metadata). */
const MAY_REPLICATE = new Set(["eval", "evalsha", "fcall", "publish", "spublish", "pfcount"]);

/** Whether CLIENT PAUSE WRITE holds this command back. */
function mayReplicate(cmd: Command): boolean {
  return (cmd.flags & CMD_WRITE) !== 0 || MAY_REPLICATE.has(cmd.fullname);
}
