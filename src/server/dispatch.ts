/**
 * Command dispatch, in Redis's processCommand order: lookup, arity, authentication,
 * MULTI queueing, then the call with its statistics, slowlog and MONITOR feed.
 */
import type { Client } from "./client.ts";
import { type Command, CMD_NO_AUTH, CMD_SKIP_MONITOR, CMD_SKIP_SLOWLOG } from "../commands/table.ts";

/** Commands that run at once even inside MULTI. */
const MULTI_IMMEDIATE = new Set(["exec", "discard", "multi", "watch", "quit", "reset"]);

/** Finds the command (or subcommand) for argv, or writes Redis's error and returns null. */
export function resolveCommand(c: Client, argv: string[]): Command | null {
  const cmd = c.server.commands.lookup(argv[0]);
  if (cmd === undefined) {
    let args = "";
    for (let i = 1; i < argv.length && args.length < 128; i++) {
      args += `'${argv[i].slice(0, 128 - args.length)}' `;
    }
    rejectCommand(c, `ERR unknown command '${argv[0].slice(0, 128)}', with args beginning with: ${args}`);
    return null;
  }
  if (cmd.subcommands !== null && argv.length >= 2) {
    const sub = cmd.subcommands.get(argv[1]) ?? cmd.subcommands.get(argv[1].toLowerCase());
    if (sub === undefined) {
      rejectCommand(c, `ERR unknown subcommand '${argv[1].slice(0, 128)}'. Try ${argv[0].toUpperCase()} HELP.`);
      return null;
    }
    return checkArity(c, sub, argv) ? sub : null;
  }
  return checkArity(c, cmd, argv) ? cmd : null;
}

function checkArity(c: Client, cmd: Command, argv: string[]): boolean {
  if ((cmd.arity > 0 && cmd.arity !== argv.length) || argv.length < -cmd.arity) {
    rejectCommand(c, `ERR wrong number of arguments for '${cmd.fullname}' command`, cmd);
    return false;
  }
  return true;
}

/** Replies with an error that stops the command before it runs; inside MULTI it aborts EXEC. */
export function rejectCommand(c: Client, error: string, cmd?: Command): void {
  if (c.multi !== null) c.multiError = true;
  if (cmd) cmd.stats.rejectedCalls++;
  c.server.replyError(c, error);
}

/** Runs one command from a client. */
export function dispatch(c: Client, argv: string[]): void {
  const server = c.server;
  const cmd = resolveCommand(c, argv);
  if (cmd === null) return;
  if (!c.authenticated && (cmd.flags & CMD_NO_AUTH) === 0) {
    rejectCommand(c, "NOAUTH Authentication required.", cmd);
    return;
  }
  if (c.multi !== null && !MULTI_IMMEDIATE.has(cmd.fullname)) {
    c.multi.push({ argv });
    c.out.raw("+QUEUED\r\n");
    return;
  }
  call(c, cmd, argv);
  void server;
}

/** Calls a resolved command: stats, slowlog, MONITOR and CLIENT REPLY handling. */
export function call(c: Client, cmd: Command, argv: string[]): void {
  const server = c.server;
  if (server.monitors.size > 0 && (cmd.flags & CMD_SKIP_MONITOR) === 0) server.feedMonitors(c, argv);
  const errorsBefore = server.stats.errorReplies;
  const outBefore = c.out.length;
  const start = performance.now();
  server.currentClient = c;
  cmd.handler(c, argv);
  server.currentClient = null;
  const usec = (performance.now() - start) * 1000;
  cmd.stats.calls++;
  cmd.stats.usec += usec;
  if (server.stats.errorReplies !== errorsBefore) cmd.stats.failedCalls++;
  server.stats.commandsProcessed++;
  c.lastCommand = cmd.fullname;
  if ((cmd.flags & CMD_SKIP_SLOWLOG) === 0) server.slowlogCheck(c, argv, usec);
  if (c.replyMode !== "on") {
    // CLIENT REPLY OFF/SKIP: drop what this command wrote (CLIENT REPLY ON itself replies).
    if (cmd.fullname !== "client|reply") c.out.length = outBefore;
    if (c.replyMode === "skip" && cmd.fullname !== "client|reply") c.replyMode = "on";
  }
}
