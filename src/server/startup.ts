/** Process start-up: argv and config file, logging, chdir, listeners, signals. */
import { Config, ConfigFileError } from "../config/config.ts";
import { Server } from "./server.ts";
import { logger } from "../log.ts";
import { REDIS_VERSION, TESSERA_VERSION } from "../version.ts";
import { reprString } from "./monitor.ts";

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

/** Turns command-line options into redis.conf text, as redis-server does (`--port 1` -> `port 1`). */
export function argsToConfigText(args: string[]): string {
  const lines: string[] = [];
  let current: string[] | null = null;
  for (const arg of args) {
    if (arg.startsWith("--") && arg.length > 2) {
      if (current) lines.push(current.join(" "));
      current = [arg.slice(2)];
    } else {
      if (current === null) current = [];
      current.push(reprString(arg));
    }
  }
  if (current) lines.push(current.join(" "));
  return lines.join("\n");
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
  let configText = "";
  let rest = args;
  if (args.length > 0 && !args[0].startsWith("--")) {
    const file = args[0];
    rest = args.slice(1);
    try {
      configText = file === "-" ? await new Response(Deno.stdin.readable).text() : await Deno.readTextFile(file);
      if (file !== "-") config.configFile = await Deno.realPath(file);
    } catch (err) {
      console.error(`Fatal error, can't open config file '${file}': ${(err as Error).message}`);
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
      console.error(
        `\n*** FATAL CONFIG FILE ERROR (Redis ${REDIS_VERSION}) ***\n` +
          `Reading the configuration file, at line ${err.lineNumber}\n>>> '${err.line}'\n${err.reason}`,
      );
      return 1;
    }
    throw err;
  }
  logger.file = config.str("logfile");
  logger.level = config.str("loglevel") as typeof logger.level;
  logger.notice(
    `tessera version=${TESSERA_VERSION}, redis_version=${REDIS_VERSION}, bits=64, pid=${Deno.pid}, just started`,
  );
  logger.notice(args.length === 0 ? "Warning: no config file specified, using the default config." : "Configuration loaded");
  try {
    Deno.chdir(config.str("dir"));
  } catch (err) {
    logger.warning(`Can't chdir to '${config.str("dir")}': ${(err as Error).message}`);
    return 1;
  }
  const server = new Server(config);
  logger.role = "M";
  const port = config.num("port");
  const mode = config.bool("cluster-enabled") ? "cluster" : "standalone";
  logger.raw(`tessera ${TESSERA_VERSION} (Redis ${REDIS_VERSION} compatible) 64 bit\nRunning in ${mode} mode\nPort: ${port}\n PID: ${Deno.pid}\n\n`);
  try {
    server.start();
  } catch {
    return 1;
  }
  logger.notice("Server initialized");
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
