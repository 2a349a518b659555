/** Process start-up: argv and config file, logging, chdir, listeners, signals. */
import { SlotMigrations } from "../cluster/slot_migration.ts";
import { Config, ConfigFileError, ConfigOpenError } from "../config/config.ts";
import { applyCommandRenames } from "../config/rename.ts";
import { splitArgs } from "../resp/split_args.ts";
import { strerror } from "../config/parse.ts";
import { resolve } from "node:path";
import { bindHostname, Server } from "./server.ts";
import { ClusterShell, ClusterStartError } from "../cluster/shell.ts";
import type { ClusterDataView } from "../cluster/state.ts";
import { logger } from "../log.ts";
import { REDIS_VERSION, TESSERA_VERSION } from "../version.ts";
import { reprString } from "./monitor.ts";
import { attachClusterPubSub } from "./pubsub.ts";
import { loadRdbAtStartup } from "../persistence/rdb_file.ts";
import { bindRdbConfig } from "../persistence/rdb_writer.ts";

const USAGE = `Usage: ./tessera [/path/to/redis.conf] [options] [-]
       ./tessera - (read config from stdin)
       ./tessera -v or --version
       ./tessera -h or --help

Examples:
       ./tessera (run the server with default config)
       ./tessera /etc/redis/6379.conf
       ./tessera --port 7777
       ./tessera --port 7777 --replicaof 127.0.0.1 8888
       ./tessera /etc/myredis.conf --loglevel verbose -
       ./tessera /etc/myredis.conf --loglevel verbose
`;

/**
 * Turns command-line options into redis.conf text as redis-server 7.0 does: `--port 1` becomes
 * `port "1"`; a name given alone takes the next argument as its value even if it starts with `--`;
 * `--save` followed by another option (or last) means `save ""`.
 */
export function argsToConfigText(args: string[]): string {
  let options = "";
  let handledLastConfigArg = true;
  for (let j = 0; j < args.length; j++) {
    const arg = args[j];
    if (handledLastConfigArg && arg.startsWith("--")) {
      if (options.length > 0) options += "\n";
      options += arg.slice(2) + " ";
      const words = splitArgs(arg);
      if (words !== null && words.length === 1) {
        // Only an option name: the next argument is its value.
        handledLastConfigArg = false;
        const nextIsOption = j !== args.length - 1 && args[j + 1].startsWith("--");
        if (arg.toLowerCase() === "--save" && (nextIsOption || j === args.length - 1)) {
          options += '""';
          handledLastConfigArg = nextIsOption;
        } else if (arg.toLowerCase() === "--sentinel" && nextIsOption) {
          handledLastConfigArg = true;
        }
      } else {
        // Name and value in one argument ("--port 6380").
        handledLastConfigArg = true;
      }
    } else {
      options += reprString(arg) + " ";
      handledLastConfigArg = true;
    }
  }
  return options;
}

/** Runs tessera with redis-server's arguments; resolves to the exit code. */
export async function runMain(args: string[]): Promise<number> {
  if (args[0] === "-v" || args[0] === "--version") {
    console.log(`tessera server v=${TESSERA_VERSION} redis_version=${REDIS_VERSION} deno=${Deno.version.deno} bits=64`);
    return 0;
  }
  if (args[0] === "-h" || args[0] === "--help") {
    console.log(USAGE);
    return 0;
  }
  const config = new Config();
  // As in Redis, `dir` changes directory while the file is read (later `include`s are relative to it).
  config.chdirOnSet = true;
  let configText = "";
  let rest = args;
  if (args.length > 0 && !args[0].startsWith("--")) {
    const file = args[0];
    rest = args.slice(1);
    try {
      configText = file === "-" ? await new Response(Deno.stdin.readable).text() : await Deno.readTextFile(file);
      if (file !== "-") config.configFile = resolve(file);
    } catch (err) {
      logger.warning(`Fatal error, can't open config file '${file}': ${strerror(err)}`);
      return 1;
    }
  }
  if (rest.length > 0 && rest[rest.length - 1] === "-") {
    rest = rest.slice(0, -1);
    configText += "\n" + await new Response(Deno.stdin.readable).text();
  }
  const fullText = configText + "\n" + argsToConfigText(rest);
  logger.notice("oO0OoO0OoO0Oo tessera is starting oO0OoO0OoO0Oo");
  try {
    config.loadText(fullText);
  } catch (err) {
    if (err instanceof ConfigFileError) {
      console.error(err.report(REDIS_VERSION));
      return 1;
    }
    if (err instanceof ConfigOpenError) {
      logger.warning(err.message);
      return 1;
    }
    throw err;
  }
  logger.file = config.str("logfile");
  logger.level = config.str("loglevel") as typeof logger.level;
  logger.notice(
    `tessera version=${TESSERA_VERSION}, redis_version=${REDIS_VERSION}, bits=64, pid=${Deno.pid}, just started`,
  );
  logger.notice(
    args.length === 0 ? "Warning: no config file specified, using the default config." : "Configuration loaded",
  );
  const server = new Server(config);
  applyCommandRenames(server.commands, config.renamedCommands);
  logger.role = "M";
  const port = config.num("port");
  const mode = config.bool("cluster-enabled") ? "cluster" : "standalone";
  logger.raw(
    `tessera ${TESSERA_VERSION} (Redis ${REDIS_VERSION} compatible) 64 bit\nRunning in ${mode} mode\nPort: ${port}\n PID: ${Deno.pid}\n\n`,
  );
  if (config.bool("cluster-enabled")) {
    try {
      server.cluster = ClusterShell.open(config, server.dbs[0], clusterDataView(server));
      attachClusterPubSub(server);
      attachClusterReplication(server);
      server.slotMigrations = new SlotMigrations(server);
    } catch (err) {
      if (!(err instanceof ClusterStartError)) throw err;
      for (const line of err.message.split("\n")) logger.warning(line);
      return 1;
    }
  }
  // The dataset is loaded before any client can connect; a corrupt file stops start-up.
  bindRdbConfig(config);
  if (!loadRdbAtStartup(server)) {
    server.shutdown();
    return 1;
  }
  try {
    server.start();
    server.cluster?.start(busHostname(config));
  } catch (err) {
    logger.warning(`Could not start: ${(err as Error).message}`);
    server.shutdown();
    return 1;
  }
  logger.notice("Server initialized");
  const replicaOf = config.get("replicaof") as string[];
  if (server.cluster === null && replicaOf.length === 2) server.repl.setMaster(replicaOf[0], Number(replicaOf[1]));
  logger.notice("Ready to accept connections tcp");
  return await new Promise<number>((resolve) => {
    const onSignal = (name: string) => () => {
      logger.warning(`Received ${name} scheduling shutdown...`);
      logger.warning("User requested shutdown...");
      server.shutdown();
      logger.warning("tessera is now ready to exit, bye bye...");
      resolve(0);
    };
    Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));
    Deno.addSignalListener("SIGINT", onSignal("SIGINT"));
    server.onShutdown = () => resolve(0);
  });
}

/** What the cluster logic asks of the dataset: keys per slot of db 0, replication offset. */
function clusterDataView(server: Server): ClusterDataView {
  return {
    countKeysInSlot: (slot) => server.dbs[0].slotSize(slot),
    dbSize: () => server.dbs[0].size,
    replOffset: () => server.repl.offset,
    masterLinkIdleMs: (now) => server.repl.link?.idleMs(now) ?? 0,
  };
}

/** The cluster decides whom this node replicates (CLUSTER REPLICATE, failovers) and pauses writes for a manual failover. */
function attachClusterReplication(server: Server): void {
  const shell = server.cluster!;
  shell.onReplicate = (master) =>
    master === null ? server.repl.unsetMaster() : server.repl.setMaster(master.host, master.port);
  shell.onPauseWrites = (untilMs) => untilMs === 0 ? server.unpauseClients() : server.pauseClients(untilMs, true);
}

/** The bus listens on the first `bind` address, as the client port does. */
function busHostname(config: Config): string {
  const first = (config.str("bind") || "*").split(/\s+/).find((b) => b !== "") ?? "*";
  return bindHostname(first.startsWith("-") ? first.slice(1) : first);
}
