/** CONFIG GET SET REWRITE RESETSTAT HELP, with Redis 7.0's replies and errors. */
import type { CommandStats, Handler } from "./table.ts";
import { ServerStats } from "../server/server.ts";
import { rewriteConfigFile } from "../config/rewrite.ts";
import { logger } from "../log.ts";
import { replyHelp } from "./help.ts";

/** Redis's CONFIG HELP lines (replyHelp adds the first line and HELP). */
const HELP = [
  "GET <pattern>",
  "    Return parameters matching the glob-like <pattern> and their values.",
  "SET <directive> <value>",
  "    Set the configuration <directive> to <value>.",
  "RESETSTAT",
  "    Reset statistics reported by the INFO command.",
  "REWRITE",
  "    Rewrite the configuration file.",
];

const configGet: Handler = (c, argv) => {
  const pairs = c.server.config.match(argv.slice(2));
  c.out.map(pairs.length);
  for (const [name, value] of pairs) {
    c.out.bulk(name);
    c.out.bulk(value);
  }
};

const configSet: Handler = (c, argv) => {
  if (argv.length % 2 !== 0) {
    c.error("ERR syntax error");
    return;
  }
  const pairs: [string, string][] = [];
  for (let i = 2; i < argv.length; i += 2) pairs.push([argv[i], argv[i + 1]]);
  const result = c.server.config.setMany(pairs, c.server, c.isLocal());
  if (result.ok) c.out.ok();
  else c.error(result.error);
};

const configRewrite: Handler = (c) => {
  const file = c.server.config.configFile;
  if (file === null) {
    c.error("ERR The server is running without a config file");
    return;
  }
  const error = rewriteConfigFile(c.server.config, file);
  if (error !== null) {
    logger.warning(`CONFIG REWRITE failed: ${error}`);
    c.error(`ERR Rewriting config file: ${error}`);
    return;
  }
  logger.warning("CONFIG REWRITE executed with success.");
  c.out.ok();
};

/** Resets INFO stats, INFO commandstats and errorstats; the slowlog and latency data stay. */
const configResetStat: Handler = (c) => {
  const server = c.server;
  Object.assign(server.stats, new ServerStats());
  for (const cmd of server.commands.commands.values()) {
    resetCommandStats(cmd.stats);
    for (const sub of cmd.subcommands?.values() ?? []) resetCommandStats(sub.stats);
  }
  c.out.ok();
};

function resetCommandStats(stats: CommandStats): void {
  stats.calls = 0;
  stats.usec = 0;
  stats.rejectedCalls = 0;
  stats.failedCalls = 0;
}

const configHelp: Handler = (c) => replyHelp(c, "config", HELP);

export const configCommands: Record<string, Handler> = {
  "config|get": configGet,
  "config|set": configSet,
  "config|rewrite": configRewrite,
  "config|resetstat": configResetStat,
  "config|help": configHelp,
};
