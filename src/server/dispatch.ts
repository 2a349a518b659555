/**
 * Command dispatch, in Redis's processCommand order: lookup, arity, authentication,
 * MULTI queueing, then the call with its statistics, slowlog and MONITOR feed.
 */
import { authRequired } from "../commands/connection.ts";
import { recordLatency } from "./latency.ts";
import { logger } from "../log.ts";
import { cString } from "../resp/latin1.ts";
import type { Client } from "./client.ts";
import { routeCommand } from "../cluster/routing.ts";
import {
  CMD_ADMIN,
  CMD_BATCH_TIMED,
  CMD_LOADING,
  CMD_MOVABLE_KEYS,
  CMD_NO_AUTH,
  CMD_NO_MULTI,
  CMD_SKIP_MONITOR,
  CMD_SKIP_SLOWLOG,
  CMD_STALE,
  CMD_WRITE,
  type Command,
} from "../commands/table.ts";
import { discardTransaction } from "../commands/transactions.ts";
import { afterCommand } from "../store/blocking.ts";
import { flushPropagation, propagation } from "../replication/propagate.ts";
import { expiryControl } from "../store/keyspace.ts";
import { keyLocks, keyLockWait } from "../store/key_locks.ts";
import { ALLOWED_WHEN_SUBSCRIBED, restoreKeptPushes, subscribedModeError } from "./pubsub.ts";

/** Commands that run at once even inside MULTI (Redis's processCommand list). */
const MULTI_IMMEDIATE = new Set(["exec", "discard", "multi", "watch", "quit", "reset"]);

/** Commands MONITOR never shows: Redis skips admin commands and those flagged skip_monitor. */
const NOT_MONITORED = CMD_SKIP_MONITOR | CMD_ADMIN;

/**
 * Error-reply count when the last command's failure was judged (Redis's static prev_err_count):
 * EXEC counts as failed only for errors after its last queued command, as in Redis.
 */
let errorMark = 0;

/**
 * Finds the command (or subcommand) for argv, or writes Redis's error and returns null.
 * Records it as the client's last command (CLIENT LIST `cmd=`; `NULL` when unknown).
 */
export function resolveCommand(c: Client, argv: string[]): Command | null {
  const cmd = c.server.commands.lookup(argv[0]);
  if (cmd === undefined) {
    c.lastCommand = "NULL";
    let args = "";
    for (let i = 1; i < argv.length && args.length < 128; i++) {
      args += `'${cString(argv[i]).slice(0, 128 - args.length)}' `;
    }
    rejectCommand(c, `ERR unknown command '${cString(argv[0]).slice(0, 128)}', with args beginning with: ${args}`);
    return null;
  }
  if (cmd.subcommands !== null && argv.length >= 2) {
    const sub = cmd.subcommands.get(argv[1]) ?? cmd.subcommands.get(argv[1].toLowerCase());
    if (sub === undefined) {
      c.lastCommand = "NULL";
      rejectCommand(
        c,
        `ERR unknown subcommand '${cString(argv[1]).slice(0, 128)}'. Try ${argv[0].toUpperCase()} HELP.`,
      );
      return null;
    }
    c.lastCommand = sub.fullname;
    return checkArity(c, sub, argv) ? sub : null;
  }
  c.lastCommand = cmd.fullname;
  return checkArity(c, cmd, argv) ? cmd : null;
}

function checkArity(c: Client, cmd: Command, argv: string[]): boolean {
  if ((cmd.arity > 0 && cmd.arity !== argv.length) || argv.length < -cmd.arity) {
    rejectCommand(c, `ERR wrong number of arguments for '${cmd.fullname}' command`, cmd, argv);
    return false;
  }
  return true;
}

/**
 * Replies with an error that stops the command before it runs; inside MULTI it aborts EXEC.
 * A rejected EXEC itself discards the transaction and says why, as Redis's execCommandAbort.
 */
export function rejectCommand(c: Client, error: string, cmd?: Command, argv?: string[]): void {
  if (c.multi !== null) c.multiError = true;
  if (cmd === undefined) return c.server.replyError(c, error);
  cmd.stats.rejectedCalls++;
  if (cmd.fullname !== "exec") return c.server.replyError(c, error);
  discardTransaction(c);
  // Redis formats its own messages without the "ERR " code here (shared errors keep theirs).
  const reason = error.startsWith("ERR ") ? error.slice(4) : error;
  c.server.replyError(c, `EXECABORT Transaction discarded because of: ${reason}`);
  if (argv !== undefined && c.server.monitors.size > 0) c.server.feedMonitors(c, argv);
}

/** Runs one command from a client. */
export function dispatch(c: Client, argv: string[]): void {
  const outBefore = c.out.length;
  const cmd = resolveCommand(c, argv);
  let held: Promise<void> | null;
  if (cmd !== null) {
    if (!c.authenticated && (cmd.flags & CMD_NO_AUTH) === 0 && authRequired(c)) {
      rejectCommand(c, "NOAUTH Authentication required.", cmd, argv);
    } else if (c.server.cluster !== null && !c.isMaster && c.importJob === null && redirectedByCluster(c, cmd, argv)) {
      // answered with MOVED / ASK / CROSSSLOT / TRYAGAIN / CLUSTERDOWN
    } else if (expiryControl.replica && refusedOnReplica(c, cmd)) {
      // READONLY, or a stale replica's MASTERDOWN
    } else if (
      c.subCount + c.psubCount + c.ssubCount !== 0 && c.resp === 2 && !ALLOWED_WHEN_SUBSCRIBED.has(cmd.fullname)
    ) {
      rejectCommand(c, subscribedModeError(cmd.fullname), cmd, argv);
      // A refused CLIENT REPLY changes nothing: its error obeys the current reply mode like any other.
      if (c.replyMode !== "on") applyReplyMode(c, null, outBefore);
    } else if (c.server.pauseUntil !== 0 && !c.isMaster && c.server.mustPostpone(c, cmd)) {
      // CLIENT PAUSE: the read loop waits, then the command goes through dispatch again
      // (CLIENT REPLY is applied then, to the reply it really writes).
      c.waitFor = c.server.pauseEnded!.then(() => dispatch(c, argv));
      return;
    } else if (keyLocks.count !== 0 && !c.isMaster && (held = keyLockWait(c, cmd, argv)) !== null) {
      // A MIGRATE in flight holds a key this command names: it runs once the key is released.
      c.waitFor = held.then(() => dispatch(c, argv));
      return;
    } else if (c.multi !== null && !MULTI_IMMEDIATE.has(cmd.fullname)) {
      queueCommand(c, cmd, argv);
    } else {
      call(c, cmd, argv);
      // Clients blocked on keys this command filled are served now, before the next command (Redis's
      // handleClientsBlockedOnKeys); EXEC's commands are covered by the EXEC itself.
      afterCommand(c, cmd, argv);
    }
  }
  if (c.replyMode !== "on") applyReplyMode(c, cmd, outBefore);
  // ASKING is good for one command, or for a whole transaction (Redis's resetClient).
  if (c.asking && c.multi === null && (cmd === null || cmd.fullname !== "asking")) c.asking = false;
}

/**
 * Cluster routing (Redis's processCommand check before queueing or calling): commands with keys,
 * and EXEC over its queued commands. A redirect discards EXEC's transaction and fails any other
 * transaction, as in Redis.
 */
function redirectedByCluster(c: Client, cmd: Command, argv: string[]): boolean {
  const isExec = cmd.fullname === "exec";
  if (isExec ? c.multi === null : cmd.keySpecs.length === 0 && (cmd.flags & CMD_MOVABLE_KEYS) === 0) return false;
  const server = c.server;
  const error = routeCommand(server.cluster!.state, c, cmd, argv, isExec ? c.multi : null, server.keyInDb0);
  if (error === null) return false;
  if (isExec) discardTransaction(c);
  else if (c.multi !== null) c.multiError = true;
  cmd.stats.rejectedCalls++;
  server.replyError(c, error);
  return true;
}

/**
 * A replica answers -LOADING while it loads a snapshot, refuses writes from its clients (`replica-read-only`), and with
 * `replica-serve-stale-data no` most commands while its master link is down, as Redis does.
 */
function refusedOnReplica(c: Client, cmd: Command): boolean {
  if (c.isMaster) return false;
  if (c.server.loading && (cmd.flags & CMD_LOADING) === 0) {
    rejectCommand(c, "LOADING Redis is loading the dataset in memory", cmd);
    return true;
  }
  const config = c.server.config;
  if ((cmd.flags & CMD_WRITE) !== 0 && config.bool("replica-read-only")) {
    rejectCommand(c, "READONLY You can't write against a read only replica.", cmd);
    return true;
  }
  if (
    (cmd.flags & CMD_STALE) === 0 && !config.bool("replica-serve-stale-data") &&
    c.server.repl.link?.state !== "connected"
  ) {
    rejectCommand(
      c,
      "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
      cmd,
    );
    return true;
  }
  return false;
}

/** Queues a command inside MULTI (Redis's queueMultiCommand), or refuses a no_multi one. */
function queueCommand(c: Client, cmd: Command, argv: string[]): void {
  if ((cmd.flags & CMD_NO_MULTI) !== 0) {
    rejectCommand(c, "ERR Command not allowed inside a transaction", cmd);
    return;
  }
  // An aborted transaction keeps answering QUEUED but stores nothing, as Redis does.
  if (!c.multiError) c.multi!.push({ argv, cmd });
  c.out.raw("+QUEUED\r\n");
}

/** CLIENT REPLY OFF/SKIP: drops what one client command wrote (CLIENT REPLY itself decides its reply). */
function applyReplyMode(c: Client, cmd: Command | null, outBefore: number): void {
  if (cmd !== null && cmd.fullname === "client|reply") return;
  c.out.length = outBefore;
  // Pub/sub push frames are sent whatever CLIENT REPLY says (Redis's CLIENT_PUSHING).
  if (c.subscriptions !== null) restoreKeptPushes(c);
  if (c.replyMode === "skip") c.replyMode = "on";
}

/**
 * Runs a handler. A handler that throws (a bug, or V8's own limits such as its maximum string
 * length) must not take the connection or the server down: its partial reply is dropped, the
 * client gets an error and the log gets the stack.
 */
function runHandler(c: Client, cmd: Command, argv: string[]): void {
  const outBefore = c.out.length;
  try {
    cmd.handler(c, argv);
  } catch (err) {
    c.out.length = Math.min(c.out.length, outBefore);
    logger.warning(`Command '${cmd.fullname}' failed: ${(err as Error).stack ?? err}`);
    c.error(`ERR internal error while running '${cmd.fullname}': ${(err as Error).message ?? err}`);
  }
}

/** Calls a resolved command: stats, slowlog and MONITOR (also for each command EXEC runs). */
export function call(c: Client, cmd: Command, argv: string[]): void {
  const server = c.server;
  const stats = server.stats;
  const timer = c.batchTimer;
  errorMark = stats.errorReplies;
  const previous = server.currentClient;
  server.currentClient = c;
  const prop = propagation;
  const propagating = prop.active && !c.isMaster;
  let dirtyBefore = 0;
  let outerRewritten: string[] | null = null;
  let outerPrevented = false;
  let outerForced = false;
  if (propagating) {
    dirtyBefore = server.dirty;
    outerRewritten = prop.rewritten;
    outerPrevented = prop.prevented;
    outerForced = prop.forced;
    prop.rewritten = null;
    prop.prevented = false;
    prop.forced = false;
    prop.depth++;
  }
  if ((cmd.flags & CMD_BATCH_TIMED) !== 0 && timer.startedAt >= 0) {
    runHandler(c, cmd, argv);
    timer.addFast(cmd, argv);
  } else {
    const start = timer.lastNow >= 0 ? timer.lastNow : performance.now();
    // Consumed: commands this one runs (EXEC's) read the clock themselves.
    timer.lastNow = -1;
    runHandler(c, cmd, argv);
    const end = performance.now();
    const usec = (end - start) * 1000;
    if (timer.startedAt >= 0) {
      timer.timedUsec += usec;
      timer.lastNow = end;
    }
    cmd.stats.usec += usec;
    recordLatency(cmd.stats, usec);
    if ((cmd.flags & CMD_SKIP_SLOWLOG) === 0) server.slowlogCheck(c, argv, usec, cmd);
  }
  server.currentClient = previous;
  if (propagating) {
    // EXEC propagates the commands it ran, not itself.
    const propagates = !prop.prevented && (server.dirty > dirtyBefore || prop.forced) && cmd.fullname !== "exec";
    const own = propagates ? prop.rewritten ?? argv : null;
    prop.rewritten = outerRewritten;
    prop.prevented = outerPrevented;
    prop.forced = outerForced;
    if (--prop.depth === 0 && own !== null && prop.pending.length === 0) {
      // The common case, one plain write: straight to the stream, nothing queued.
      server.repl.feedCommand(c.db.id, own);
    } else {
      if (own !== null) prop.pending.push({ db: c.db.id, argv: own });
      if (prop.depth === 0) flushPropagation();
    }
    c.woff = server.repl.offset;
  }
  cmd.stats.calls++;
  if (stats.errorReplies !== errorMark) cmd.stats.failedCalls++;
  errorMark = stats.errorReplies;
  stats.commandsProcessed++;
  // Fed after the call, as Redis 7.0 does: EXEC's commands show before EXEC itself.
  if (server.monitors.size > 0 && (cmd.flags & NOT_MONITORED) === 0) server.feedMonitors(c, argv);
}
