/**
 * MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
 * [AUTH2 username password] [KEYS key ...], as Redis 7.0's migrateCommand: DUMP payloads sent as
 * pipelined RESTORE (RESTORE-ASKING in cluster mode) over a cached connection per host:port, keys
 * deleted here once the target acknowledged them, propagated as DEL.
 *
 * Redis blocks its whole event loop meanwhile; here only the calling client waits (`c.waitFor`),
 * and the keys being moved are held (src/store/key_locks.ts) so that no other client changes one
 * between its RESTORE on the target and its deletion here.
 */
import { NOTIFY_GENERIC, notifyKeyspaceEvent } from "../server/keyspace_events.ts";
import { Buffer } from "node:buffer";
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import type { Db } from "../store/keyspace.ts";
import { ERR_SYNTAX } from "./errors.ts";
import { parseInt64 } from "../store/numbers.ts";
import { dumpPayloadView, RdbBuffer } from "../persistence/rdb_writer.ts";
import { encodeCommand, RespConnection } from "../resp/connection.ts";
import { alsoPropagate } from "../replication/propagate.ts";
import { lockKeys } from "../store/key_locks.ts";
import { logger } from "../log.ts";

/** Most cached target connections (MIGRATE_SOCKET_CACHE_ITEMS). */
const MIGRATE_SOCKET_CACHE_ITEMS = 64;
/** A cached connection unused for longer than this is closed (MIGRATE_SOCKET_CACHE_TTL). */
const MIGRATE_SOCKET_CACHE_TTL_S = 10;
/** How often idle cached connections are looked for (Redis does it in serverCron, once a second). */
const MIGRATE_CACHE_SWEEP_MS = 1000;
/** The pipeline goes out in chunks of this size, each with the full timeout (as Redis's syncWrite loop). */
const MIGRATE_WRITE_CHUNK_BYTES = 64 * 1024;
/** Timeout used when the given one is 0 or negative. */
const MIGRATE_DEFAULT_TIMEOUT_MS = 1000;
/** Longest delay one timer may have. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const ERR_KEYS_NEED_EMPTY_KEY = "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string";
/** Redis 7.0 answers this (sic) when the target address cannot even be resolved. */
const ERR_CONNECTING = "IOERR error or timeout connecting to the client";
const ERR_INT = "ERR value is not an integer or out of range";
/** First size of the buffer a MIGRATE's RESTORE commands are written into. */
const RESTORES_INITIAL_BYTES = 512;

/** A connection to a target, reused by later MIGRATEs to the same host:port (migrateCachedSocket). */
interface CachedSocket {
  readonly name: string;
  readonly conn: RespConnection;
  /** The db selected on the target, as the decimal text of MIGRATE's argument; "-1" for none. */
  lastDbid: string;
  /** Unix seconds of the last use. */
  lastUseS: number;
  /** A MIGRATE is using it: the idle sweep and the cache eviction leave it alone. */
  busy: boolean;
  closed: boolean;
}

/** Cached connections by `host:port` (Redis's server.migrate_cached_sockets). */
const cache = new Map<string, CachedSocket>();
let sweepTimer: ReturnType<typeof setInterval> | undefined;
/** Tail of the work queued per target: one MIGRATE at a time uses a connection. */
const queues = new Map<string, Promise<void>>();

/** An I/O failure, as Redis's socket_err path sees it. */
class MigrateIoError extends Error {
  constructor(readonly writing: boolean, readonly timedOut: boolean) {
    super(`MIGRATE ${writing ? "write" : "read"} ${timedOut ? "timed out" : "failed"}`);
  }
}

/** The target's address could not be resolved: Redis replies without retrying. */
class MigrateResolveError extends Error {}

const TIMED_OUT = Symbol("timed out");

/** `p`, or TIMED_OUT after `ms`. A rejection after the timeout is ignored. */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  p.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expiry = new Promise<typeof TIMED_OUT>((resolve) => timer = setTimeout(() => resolve(TIMED_OUT), ms));
  return Promise.race([p, expiry]).finally(() => clearTimeout(timer));
}

/** Every step of a running MIGRATE, checked by one shared timeout set for the earliest deadline. */
const runningSteps = new Set<StepTimer>();
let watchdog: ReturnType<typeof setTimeout> | undefined;
let watchdogAt = Infinity;

/** Makes the shared timeout fire by `at` (performance.now() ms); a later or missing one is moved up. */
function armWatchdog(at: number): void {
  if (watchdog !== undefined && watchdogAt <= at) return;
  clearTimeout(watchdog);
  watchdogAt = at;
  watchdog = setTimeout(checkSteps, Math.max(0, at - performance.now()));
  Deno.unrefTimer(watchdog);
}

/** Aborts the steps past their deadline and re-arms for the next one. */
function checkSteps(): void {
  watchdog = undefined;
  watchdogAt = Infinity;
  const now = performance.now();
  let next = Infinity;
  for (const step of [...runningSteps]) {
    if (step.deadline <= now) step.expire();
    else if (step.deadline < next) next = step.deadline;
  }
  if (next !== Infinity) armWatchdog(next);
}

/**
 * MIGRATE's timeout, which Redis applies to each write and each reply line. One shared timeout serves every
 * MIGRATE (a sequence of MIGRATEs with the same timeout sets it once, not once each). A step that takes longer runs
 * its abort (closing the connection, as Redis then does anyway), which makes the step fail.
 */
class StepTimer {
  /** The last step failed because it took too long. */
  expired = false;
  /** When the running step times out (performance.now() ms). */
  deadline = Infinity;
  private abort: (() => void) | null = null;

  constructor(private readonly ms: number) {}

  /** A step starts; `abort` ends it if it lasts more than the timeout. */
  begin(abort: () => void): void {
    this.abort = abort;
    this.deadline = performance.now() + this.ms;
    runningSteps.add(this);
    armWatchdog(this.deadline);
  }

  /** The step ended (or no step is running: after the last one). */
  end(): void {
    this.abort = null;
    runningSteps.delete(this);
  }

  /** The step ran out of time. */
  expire(): void {
    const abort = this.abort;
    this.end();
    if (abort === null) return;
    this.expired = true;
    abort();
  }
}

/** C's atoi, which Redis applies to the port argument. */
function atoi(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  return m === null ? 0 : Number(BigInt.asIntN(32, BigInt(m[1])));
}

function closeSocket(cs: CachedSocket): void {
  if (cs.closed) return;
  cs.closed = true;
  cs.conn.close();
  if (cache.get(cs.name) === cs) cache.delete(cs.name);
  if (cache.size === 0 && sweepTimer !== undefined) {
    clearInterval(sweepTimer);
    sweepTimer = undefined;
  }
}

/** Redis's migrateCloseTimedoutSockets. */
function closeIdleSockets(): void {
  const nowS = Math.floor(Date.now() / 1000);
  for (const cs of [...cache.values()]) {
    if (!cs.busy && nowS - cs.lastUseS > MIGRATE_SOCKET_CACHE_TTL_S) closeSocket(cs);
  }
}

/**
 * Redis's migrateGetSocket: the cached connection for host:port, or a new one (evicting a random
 * idle one when the cache is full). Connect failures throw as Redis's later write would fail.
 */
async function getSocket(host: string, port: string, timeoutMs: number): Promise<CachedSocket> {
  const name = `${host}:${port}`;
  const cached = cache.get(name);
  if (cached !== undefined) {
    cached.lastUseS = Math.floor(Date.now() / 1000);
    return cached;
  }
  if (cache.size >= MIGRATE_SOCKET_CACHE_ITEMS) {
    const idle = [...cache.values()].filter((cs) => !cs.busy);
    if (idle.length > 0) closeSocket(idle[Math.floor(Math.random() * idle.length)]);
  }
  const portNum = atoi(port);
  if (portNum < 0) throw new MigrateResolveError();
  let result: RespConnection | typeof TIMED_OUT;
  const connecting = RespConnection.connect(portNum & 0xffff, host);
  try {
    result = await withTimeout(connecting, timeoutMs);
  } catch (err) {
    if (/lookup address|Name or service|nodename nor servname/i.test((err as Error).message)) {
      throw new MigrateResolveError();
    }
    throw new MigrateIoError(true, false);
  }
  if (result === TIMED_OUT) {
    connecting.then((conn) => conn.close(), () => {});
    throw new MigrateIoError(true, true);
  }
  const cs: CachedSocket = {
    name,
    conn: result,
    lastDbid: "-1",
    lastUseS: Math.floor(Date.now() / 1000),
    busy: false,
    closed: false,
  };
  cache.set(name, cs);
  if (sweepTimer === undefined) {
    const timer = setInterval(closeIdleSockets, MIGRATE_CACHE_SWEEP_MS);
    Deno.unrefTimer(timer);
    sweepTimer = timer;
  }
  return cs;
}

async function writeAll(cs: CachedSocket, bytes: Uint8Array, timer: StepTimer): Promise<void> {
  for (let pos = 0; pos < bytes.length; pos += MIGRATE_WRITE_CHUNK_BYTES) {
    timer.begin(() => cs.conn.close());
    try {
      await cs.conn.writeRaw(bytes.subarray(pos, Math.min(bytes.length, pos + MIGRATE_WRITE_CHUNK_BYTES)));
    } catch {
      throw new MigrateIoError(true, timer.expired);
    }
    timer.end();
  }
}

/**
 * Sends the pipeline and returns the reader of its reply lines. A pipeline of one chunk is not waited for:
 * its replies are read while the write completes (awaiting it first costs an event-loop turn per MIGRATE).
 * A read that fails while that write failed, or has not completed, reports the write's failure, as Redis,
 * which writes everything before reading, would.
 */
async function sendPipeline(
  cs: CachedSocket,
  bytes: Uint8Array,
  timer: StepTimer,
): Promise<() => Promise<string>> {
  if (bytes.length > MIGRATE_WRITE_CHUNK_BYTES) {
    await writeAll(cs, bytes, timer);
    return () => readLine(cs, timer);
  }
  let written = false;
  const settled = cs.conn.writeRaw(bytes).then(() => {
    written = true;
  }, () => cs.conn.close());
  return async () => {
    try {
      return await readLine(cs, timer);
    } catch (err) {
      // The connection is done for either way; closing it also ends a write still pending.
      cs.conn.close();
      await settled;
      throw written ? err : new MigrateIoError(true, (err as MigrateIoError).timedOut);
    }
  };
}

/** One reply line from the target (Redis's connSyncReadLine), without its CRLF. */
async function readLine(cs: CachedSocket, timer: StepTimer): Promise<string> {
  timer.begin(() => cs.conn.close());
  let raw: string;
  try {
    raw = (await cs.conn.readReply()).raw;
  } catch {
    throw new MigrateIoError(false, timer.expired);
  }
  timer.end();
  const eol = raw.indexOf("\r\n");
  return eol === -1 ? raw : raw.slice(0, eol);
}

/** What one MIGRATE sends and who waits for it. */
interface MigrateJob {
  client: Client;
  db: Db;
  host: string;
  port: string;
  dbid: string;
  timeoutMs: number;
  copy: boolean;
  username: string | null;
  password: string | null;
  /** Keys found (and still live) when the command ran, in order. */
  keys: string[];
  /** The RESTORE commands for `keys`, pipelined after AUTH and SELECT. */
  restores: Uint8Array;
}

/** The reply MIGRATE gives, and the keys the target acknowledged (to delete unless COPY). */
interface MigrateOutcome {
  error: string | null;
  acked: string[];
}

/** AUTH / SELECT as needed, then the RESTOREs, in one buffer. */
function pipelineFor(job: MigrateJob, select: boolean): Uint8Array {
  if (job.password === null && !select) return job.restores;
  const parts: Uint8Array[] = [];
  if (job.password !== null) {
    parts.push(encodeCommand(job.username !== null ? ["AUTH", job.username, job.password] : ["AUTH", job.password]));
  }
  if (select) parts.push(encodeCommand(["SELECT", job.dbid]));
  parts.push(job.restores);
  return Buffer.concat(parts);
}

/** The I/O part of Redis's migrateCommand, from `try_again` on, with its single retry. */
async function transfer(job: MigrateJob): Promise<MigrateOutcome> {
  const timer = new StepTimer(job.timeoutMs);
  try {
    return await transferSteps(job, timer);
  } finally {
    timer.end();
  }
}

async function transferSteps(job: MigrateJob, timer: StepTimer): Promise<MigrateOutcome> {
  let mayRetry = true;
  while (true) {
    let cs: CachedSocket;
    try {
      cs = await getSocket(job.host, job.port, job.timeoutMs);
    } catch (err) {
      if (err instanceof MigrateResolveError) return { error: ERR_CONNECTING, acked: [] };
      const io = err as MigrateIoError;
      // Redis "connects" anyway and fails on the first write: same retry rule.
      if (!io.timedOut && mayRetry) {
        mayRetry = false;
        continue;
      }
      return { error: "IOERR error or timeout writing to target instance", acked: [] };
    }
    cs.busy = true;
    try {
      const select = cs.lastDbid !== job.dbid;
      const reply = await sendPipeline(cs, pipelineFor(job, select), timer);
      const authReply = job.password !== null ? await reply() : "";
      const selectReply = select ? await reply() : "";
      let targetError: string | null = null;
      let socketError: MigrateIoError | null = null;
      const acked: string[] = [];
      let j = 0;
      for (; j < job.keys.length; j++) {
        let line: string;
        try {
          line = await reply();
        } catch (err) {
          // A failed write is handled as if it had failed before any reply was read.
          if ((err as MigrateIoError).writing) throw err;
          socketError = err as MigrateIoError;
          break;
        }
        const errLine = authReply.startsWith("-") ? authReply : selectReply.startsWith("-") ? selectReply : line;
        if (errLine.startsWith("-")) {
          if (targetError === null) {
            // After an error the selected db is unknown: SELECT again next time.
            cs.lastDbid = "-1";
            targetError = `ERR Target instance replied with error: ${errLine.slice(1)}`;
          }
        } else {
          acked.push(job.keys[j]);
        }
      }
      // Nothing was processed yet and the cached connection simply died: reconnect once.
      if (targetError === null && socketError !== null && j === 0 && mayRetry && !socketError.timedOut) {
        throw socketError;
      }
      if (socketError !== null) closeSocket(cs);
      if (targetError !== null) return { error: targetError, acked };
      if (socketError !== null) return { error: "IOERR error or timeout reading to target instance", acked };
      cs.lastDbid = job.dbid;
      return { error: null, acked };
    } catch (err) {
      if (!(err instanceof MigrateIoError)) throw err;
      closeSocket(cs);
      if (!err.timedOut && mayRetry) {
        mayRetry = false;
        continue;
      }
      return { error: `IOERR error or timeout ${err.writing ? "writing" : "reading"} to target instance`, acked: [] };
    } finally {
      cs.busy = false;
    }
  }
}

/** Runs `fn` after the work already queued for the same target (one MIGRATE per connection at a time). */
function queued(name: string, fn: () => Promise<void>): Promise<void> {
  const tail = (queues.get(name) ?? Promise.resolve()).then(fn);
  const settled = tail.catch(() => {});
  queues.set(name, settled);
  settled.then(() => {
    if (queues.get(name) === settled) queues.delete(name);
  });
  return tail;
}

/** Applies the outcome: deletes acknowledged keys (unless COPY), propagates DEL, replies. */
function finish(job: MigrateJob, outcome: MigrateOutcome): void {
  const c = job.client;
  if (!job.copy && outcome.acked.length > 0) {
    const deleted: string[] = [];
    for (const key of outcome.acked) {
      if (!job.db.delete(key)) continue;
      notifyKeyspaceEvent(NOTIFY_GENERIC, "del", key, job.db.id);
      deleted.push(key);
    }
    if (deleted.length > 0) {
      c.server.dirty += deleted.length;
      // Redis rewrites MIGRATE as DEL of the moved keys for replicas and the AOF.
      alsoPropagate(job.db.id, ["DEL", ...deleted]);
      c.woff = c.server.repl.offset;
    }
  }
  if (outcome.error === null) c.out.ok();
  else c.error(outcome.error);
}

/** The MIGRATE handler: Redis's argument checks and key lookups, then the transfer in the background. */
function migrate(c: Client, argv: string[]): void {
  let copy = false;
  let replace = false;
  let username: string | null = null;
  let password: string | null = null;
  let firstKey = 3;
  let numKeys = 1;
  for (let j = 6; j < argv.length; j++) {
    const moreArgs = argv.length - 1 - j;
    const opt = argv[j].toLowerCase();
    if (opt === "copy") {
      copy = true;
    } else if (opt === "replace") {
      replace = true;
    } else if (opt === "auth") {
      if (moreArgs === 0) return c.error(ERR_SYNTAX);
      password = argv[++j];
    } else if (opt === "auth2") {
      if (moreArgs < 2) return c.error(ERR_SYNTAX);
      username = argv[++j];
      password = argv[++j];
    } else if (opt === "keys") {
      if (argv[3].length !== 0) return c.error(ERR_KEYS_NEED_EMPTY_KEY);
      firstKey = j + 1;
      numKeys = argv.length - j - 1;
      break;
    } else {
      return c.error(ERR_SYNTAX);
    }
  }
  const timeoutArg = parseInt64(argv[5]);
  if (timeoutArg === null) return c.error(ERR_INT);
  const dbidArg = parseInt64(argv[4]);
  if (dbidArg === null) return c.error(ERR_INT);
  const timeoutMs = timeoutArg <= 0 ? MIGRATE_DEFAULT_TIMEOUT_MS : Math.min(Number(timeoutArg), MAX_TIMER_MS);

  const db = c.db;
  const found: string[] = [];
  for (let j = 0; j < numKeys; j++) {
    const key = argv[firstKey + j];
    if (db.lookupRead(key) !== undefined) found.push(key);
  }
  if (found.length === 0) return c.out.raw("+NOKEY\r\n");
  if (c.multi !== null) return c.error("ERR MIGRATE is not supported inside MULTI/EXEC");

  // Serialize now, as Redis does before any I/O; keys whose TTL ran out meanwhile are skipped.
  const restoreName = c.server.cluster !== null ? "RESTORE-ASKING" : "RESTORE";
  const now = Date.now();
  const keys: string[] = [];
  const restores = new RdbBuffer(RESTORES_INITIAL_BYTES);
  const argCount = replace ? "*5\r\n$" : "*4\r\n$";
  const afterPayload = replace ? "\r\n$7\r\nREPLACE\r\n" : "\r\n";
  for (const key of found) {
    const value = db.peek(key);
    if (value === undefined) continue;
    const expireAt = db.getExpire(key);
    let ttl = 0;
    if (expireAt !== -1) {
      ttl = expireAt - now;
      if (ttl < 0) continue;
      if (ttl < 1) ttl = 1;
    }
    keys.push(key);
    const payload = dumpPayloadView(value);
    const ttlText = String(ttl);
    restores.rawString(
      `${argCount}${restoreName.length}\r\n${restoreName}\r\n$${key.length}\r\n${key}\r\n` +
        `$${ttlText.length}\r\n${ttlText}\r\n$${payload.length}\r\n`,
    );
    restores.raw(payload);
    restores.rawString(afterPayload);
  }

  const job: MigrateJob = {
    client: c,
    db,
    host: argv[1],
    port: argv[2],
    dbid: String(dbidArg),
    timeoutMs,
    copy,
    username,
    password,
    keys,
    restores: restores.bytes(),
  };
  const release = lockKeys(db, keys);
  let resume!: () => void;
  c.waitFor = new Promise<void>((resolve) => resume = resolve);
  queued(`${job.host}:${job.port}`, async () => finish(job, await transfer(job)))
    .catch((err) => {
      logger.warning(`MIGRATE failed: ${(err as Error).stack ?? err}`);
      c.error(`ERR internal error while running 'migrate': ${(err as Error).message ?? err}`);
    })
    .finally(() => {
      release();
      resume();
    });
}

/** Handlers by command name. */
export const migrateCommands: Record<string, Handler> = {
  migrate,
};
