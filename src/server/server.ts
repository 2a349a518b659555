/**
 * The server: owns the config, the databases, the command table and the clients; accepts
 * connections and runs the periodic cron (active expiry, idle client timeout).
 */
import { Config } from "../config/config.ts";
import { CommandTable } from "../commands/table.ts";
import { ALL_COMMANDS } from "../commands/index.ts";
import { Db, type KeyspaceObserver } from "../store/keyspace.ts";
import { Client } from "./client.ts";
import { logger } from "../log.ts";
import type { ParserLimits } from "../resp/parser.ts";
import { formatMonitorLine } from "./monitor.ts";

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

/** The Redis-compatible server. */
export class Server implements KeyspaceObserver {
  readonly config: Config;
  readonly commands = new CommandTable(ALL_COMMANDS);
  dbs: Db[] = [];
  readonly clients = new Map<number, Client>();
  readonly monitors = new Set<Client>();
  readonly stats = new ServerStats();
  readonly limits: ParserLimits & { queryBufferLimit: number } = { protoMaxBulkLen: 0, queryBufferLimit: 0 };
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
  activeExpireEnabled = true;
  private nextClientId = 1;
  private listeners: Deno.TcpListener[] = [];
  private cronTimer: ReturnType<typeof setTimeout> | undefined;
  private shuttingDown = false;
  port = 0;
  /** Called when SHUTDOWN stops the server; start-up resolves the process exit with it. */
  onShutdown: (() => void) | null = null;

  constructor(config: Config) {
    this.config = config;
    this.refreshLimits();
    const n = config.num("databases");
    for (let i = 0; i < n; i++) this.dbs.push(new Db(i, this));
  }

  /** Re-reads the limits the hot path uses (after CONFIG SET). */
  refreshLimits(): void {
    this.limits.protoMaxBulkLen = this.config.num("proto-max-bulk-len");
    this.limits.queryBufferLimit = this.config.num("client-query-buffer-limit");
  }

  /** Opens the listeners and starts accepting; resolves once listening. */
  start(): void {
    this.port = this.config.num("port");
    const binds = (this.config.str("bind") || "*").split(/\s+/).filter((b) => b !== "");
    for (const bind of binds) {
      const optional = bind.startsWith("-");
      const addr = optional ? bind.slice(1) : bind;
      const hostname = addr === "*" ? "0.0.0.0" : addr === "::*" ? "::" : addr;
      try {
        const listener = Deno.listen({ hostname, port: this.port, transport: "tcp" });
        this.listeners.push(listener);
        this.acceptLoop(listener);
      } catch (err) {
        if (optional) continue;
        logger.warning(`Warning: Could not create server TCP listening socket ${addr}:${this.port}: ${(err as Error).message}`);
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
    unwatchAll(c);
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

  /** Adds a slowlog entry if the command took longer than `slowlog-log-slower-than`. */
  slowlogCheck(c: Client, argv: string[], usec: number): void {
    const threshold = this.config.num("slowlog-log-slower-than");
    if (threshold < 0 || usec < threshold) return;
    const max = this.config.num("slowlog-max-len");
    this.slowlog.unshift({
      id: this.slowlogNextId++,
      time: Math.floor(Date.now() / 1000),
      usec: Math.floor(usec),
      argv: argv.slice(0, 32),
      addr: c.addr,
      name: c.name,
    });
    if (this.slowlog.length > max) this.slowlog.length = max;
  }

  // --- KeyspaceObserver ---

  /** Marks clients watching the key as dirty (their EXEC will fail). */
  keyModified(db: Db, key: string): void {
    const watchers = db.watched.get(key);
    if (watchers === undefined) return;
    for (const w of watchers) (w as Client).dirtyCas = true;
  }

  keyExpired(_db: Db, _key: string): void {
    this.stats.expiredKeys++;
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
    if (this.activeExpireEnabled) {
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
