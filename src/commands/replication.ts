/** REPLICAOF / SLAVEOF, REPLCONF, PSYNC / SYNC, WAIT, ROLE. */
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import { string2ll } from "../config/parse.ts";
import { attachReplica, peerOf, replicaAck, waitForReplicas } from "../replication/master_side.ts";
import { writeRole } from "../replication/info.ts";
import { logger } from "../log.ts";
import { ERR_NOT_INTEGER } from "./errors.ts";

/** REPLICAOF host port | NO ONE (refused in cluster mode, as Redis does). */
function replicaof(c: Client, argv: string[]): void {
  const server = c.server;
  if (server.cluster !== null) return c.error("ERR REPLICAOF not allowed in cluster mode.");
  const repl = server.repl;
  if (argv[1].toLowerCase() === "no" && argv[2].toLowerCase() === "one") {
    server.config.record("replicaof", []);
    if (repl.isReplica) {
      repl.unsetMaster();
      logger.notice(`MASTER MODE enabled (user request from '${c.describe()}')`);
    }
    return c.out.ok();
  }
  if (c.isReplica) return c.error("ERR Command is not valid when client is a replica.");
  const port = string2ll(argv[2]);
  if (port === null || port < 0 || port > 65535) return c.error("ERR Invalid master port");
  if (repl.link !== null && repl.link.host === argv[1] && repl.link.port === port) {
    logger.notice(
      "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.",
    );
    return c.out.simple("OK Already connected to specified master");
  }
  repl.setMaster(argv[1], port);
  server.config.record("replicaof", [argv[1], String(port)]);
  logger.notice(`REPLICAOF ${argv[1]}:${port} enabled (user request from '${c.describe()}')`);
  c.out.ok();
}

/** REPLCONF option value ... (replconfCommand). */
function replconf(c: Client, argv: string[]): void {
  if (argv.length % 2 === 0) return c.error("ERR syntax error");
  const repl = c.server.repl;
  for (let i = 1; i < argv.length; i += 2) {
    const option = argv[i].toLowerCase();
    const value = argv[i + 1];
    if (option === "listening-port") {
      const port = string2ll(value);
      if (port === null) return c.error(ERR_NOT_INTEGER);
      peerOf(c).listeningPort = port;
    } else if (option === "ip-address") {
      if (value.length >= 256) {
        return c.error(`ERR REPLCONF ip-address provided by replica instance is too long: ${value.length} bytes`);
      }
      peerOf(c).announcedIp = value;
    } else if (option === "capa") {
      const lower = value.toLowerCase();
      if (lower === "eof") peerOf(c).capaEof = true;
      else if (lower === "psync2") peerOf(c).capaPsync2 = true;
    } else if (option === "ack") {
      // No reply, and only from a replica (Redis ignores it from other clients).
      const offset = string2ll(value);
      if (offset !== null && c.isReplica) replicaAck(repl, c, offset);
      return;
    } else if (option === "getack") {
      if (c.masterLink !== null) c.masterLink.sendAck();
      return;
    } else if (option === "rdb-only") {
      const v = string2ll(value);
      if (v !== 0 && v !== 1) return c.error("ERR value is out of range, value must between 0 and 1");
    } else if (option === "rdb-filter-only") {
      // Only "functions" exists, and tessera has no functions to filter.
    } else {
      return c.error(`ERR Unrecognized REPLCONF option: ${argv[i]}`);
    }
  }
  c.out.ok();
}

/** PSYNC replid offset / SYNC (syncCommand's checks, in its order). */
function sync(c: Client, argv: string[]): void {
  if (c.isReplica) return;
  const repl = c.server.repl;
  const isPsync = argv[0].toLowerCase() === "psync";
  if (isPsync && argv.length > 3) {
    if (argv[3].toLowerCase() !== "failover") return c.error("ERR syntax error");
    if (!repl.isReplica) return c.error("ERR PSYNC FAILOVER can't be sent to a master.");
    return c.error("ERR PSYNC FAILOVER replid must match my replid.");
  }
  if (repl.isReplica && repl.link!.state !== "connected") {
    return c.error("NOMASTERLINK Can't SYNC while not connected with my master");
  }
  if (c.out.length > 0) return c.error("ERR SYNC and PSYNC are invalid with pending output");
  let offset = -1;
  if (isPsync) {
    const parsed = string2ll(argv[2]);
    if (parsed === null) return c.error(ERR_NOT_INTEGER);
    offset = parsed;
  }
  attachReplica(repl, c, isPsync ? argv[1] : "?", offset, !isPsync);
}

/** WAIT numreplicas timeout. */
function wait(c: Client, argv: string[]): void {
  const repl = c.server.repl;
  if (repl.isReplica) {
    return c.error(
      "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.",
    );
  }
  const needed = string2ll(argv[1]);
  if (needed === null) return c.error(ERR_NOT_INTEGER);
  const timeout = string2ll(argv[2]);
  if (timeout === null) return c.error("ERR timeout is not an integer or out of range");
  if (timeout < 0) return c.error("ERR timeout is negative");
  waitForReplicas(repl, c, needed, timeout);
}

/** Handlers by command name. */
export const replicationCommands: Record<string, Handler> = {
  replicaof,
  slaveof: replicaof,
  replconf,
  psync: sync,
  sync,
  wait,
  role(c) {
    writeRole(c.server, c.out);
  },
};
