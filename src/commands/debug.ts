/**
 * DEBUG (behind `enable-debug-command`): HELP SLEEP SET-ACTIVE-EXPIRE DIGEST DIGEST-VALUE POPULATE
 * LOG CHANGE-REPL-ID. DIGEST follows Redis's debug.c SHA1 mixing, so digests match redis-server's.
 */
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import type { Value } from "../store/keyspace.ts";
import { HashValue } from "../store/types/hash.ts";
import { SetValue } from "../store/types/set.ts";
import { ListValue } from "../store/types/list.ts";
import { ZSetValue } from "../store/types/zset.ts";
import { SEQ_BITS, STREAM_ID_MAX, StreamValue, U64_MAX } from "../store/types/stream.ts";
import { formatDouble } from "../resp/writer.ts";
import { randomHex40 } from "../server/server.ts";
import { logger } from "../log.ts";
import { replyHelp, subcommandSyntaxError } from "./help.ts";
import { string2ll } from "../config/parse.ts";
import { Db } from "../store/keyspace.ts";
import { loadRdbIntoServer, logLoad, rdbPath, saveRdbSync } from "../persistence/rdb_file.ts";
import { loadRdb, RdbError } from "../persistence/rdb_reader.ts";

const DIGEST_BYTES = 20;
/** Redis's object type codes, mixed into each key's digest (OBJ_STRING, OBJ_LIST, ...). */
const OBJ_TYPE_CODES: Record<string, number> = { string: 0, list: 1, set: 2, zset: 3, hash: 4, stream: 6 };
/** POPULATE key names are built in a 128-byte buffer in Redis, so longer names are cut. */
const POPULATE_MAX_KEY_BYTES = 127;

const DEBUG_HELP = [
  "AOF-FLUSH-SLEEP <microsec>",
  "    Server will sleep before flushing the AOF, this is used for testing.",
  "ASSERT",
  "    Crash by assertion failed.",
  "CHANGE-REPL-ID",
  "    Change the replication IDs of the instance.",
  "    Dangerous: should be used only for testing the replication subsystem.",
  "CONFIG-REWRITE-FORCE-ALL",
  "    Like CONFIG REWRITE but writes all configuration options, including",
  "    keywords not listed in original configuration file or default values.",
  "CRASH-AND-RECOVER [<milliseconds>]",
  "    Hard crash and restart after a <milliseconds> delay (default 0).",
  "DIGEST",
  "    Output a hex signature representing the current DB content.",
  "DIGEST-VALUE <key> [<key> ...]",
  "    Output a hex signature of the values of all the specified keys.",
  "ERROR <string>",
  "    Return a Redis protocol error with <string> as message. Useful for clients",
  "    unit tests to simulate Redis errors.",
  "LEAK <string>",
  "    Create a memory leak of the input string.",
  "LOG <message>",
  "    Write <message> to the server log.",
  "HTSTATS <dbid>",
  "    Return hash table statistics of the specified Redis database.",
  "HTSTATS-KEY <key>",
  "    Like HTSTATS but for the hash table stored at <key>'s value.",
  "LOADAOF",
  "    Flush the AOF buffers on disk and reload the AOF in memory.",
  "REPLICATE <string>",
  "    Replicates the provided string to replicas, allowing data divergence.",
  "MALLCTL <key> [<val>]",
  "    Get or set a malloc tuning integer.",
  "MALLCTL-STR <key> [<val>]",
  "    Get or set a malloc tuning string.",
  "OBJECT <key>",
  "    Show low level info about `key` and associated value.",
  "DROP-CLUSTER-PACKET-FILTER <packet-type>",
  "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
  "OOM",
  "    Crash the server simulating an out-of-memory error.",
  "PANIC",
  "    Crash the server simulating a panic.",
  "POPULATE <count> [<prefix>] [<size>]",
  "    Create <count> string keys named key:<num>. If <prefix> is specified then",
  "    it is used instead of the 'key' prefix. These are not propagated to",
  "    replicas. Cluster slots are not respected so keys not belonging to the",
  "    current node can be created in cluster mode.",
  "PROTOCOL <type>",
  "    Reply with a test value of the specified type. <type> can be: string,",
  "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
  "    true, false.",
  "RELOAD [option ...]",
  "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
  "    * MERGE: conflicting keys will be loaded from RDB.",
  "    * NOFLUSH: the existing database will not be removed before load, but",
  "      conflicting keys will generate an exception and kill the server.",
  "    * NOSAVE: the database will be loaded from an existing RDB file.",
  "    Examples:",
  "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
  "      the database.",
  "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
  "      existing RDB file.",
  "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
  "      file to the database.",
  "RESTART [<milliseconds>]",
  "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
  "SDSLEN <key>",
  "    Show low level SDS string info representing `key` and value.",
  "SEGFAULT",
  "    Crash the server with sigsegv.",
  "SET-ACTIVE-EXPIRE <0|1>",
  "    Setting it to 0 disables expiring keys in background when they are not",
  "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
  "    default.",
  "QUICKLIST-PACKED-THRESHOLD <size>",
  "    Sets the threshold for elements to be inserted as plain vs packed nodes",
  "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
  "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
  "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
  "SLEEP <seconds>",
  "    Stop the server for <seconds>. Decimals allowed.",
  "STRINGMATCH-TEST",
  "    Run a fuzz tester against the stringmatchlen() function.",
  "STRUCTSIZE",
  "    Return the size of different Redis core C structures.",
  "LISTPACK <key>",
  "    Show low level info about the listpack encoding of <key>.",
  "QUICKLIST <key> [<0|1>]",
  "    Show low level info about the quicklist encoding of <key>.",
  "    The optional argument (0 by default) sets the level of detail",
  "CLIENT-EVICTION",
  "    Show low level client eviction pools info (maxmemory-clients).",
  "PAUSE-CRON <0|1>",
  "    Stop periodic cron job processing.",
  "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
  "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
  "    In case NEVER is provided the last observed peak will never be reset",
  "    In case RESET is provided the peak reset time will be restored to the default value",
  "REPLYBUFFER RESIZING <0|1>",
  "    Enable or disable the reply buffer resize cron job",
  "CLUSTERLINK KILL <to|from|all> <node-id>",
  "    Kills the link based on the direction to/from (both) with the provided node.",
];

// --- digest (Redis's xorDigest / mixDigest) ---

function sha1(bytes: Uint8Array): Uint8Array {
  return createHash("sha1").update(bytes).digest();
}

/** digest ^= SHA1(bytes): order-independent accumulation. */
function xorDigest(digest: Uint8Array, bytes: Uint8Array): void {
  const h = sha1(bytes);
  for (let j = 0; j < DIGEST_BYTES; j++) digest[j] ^= h[j];
}

/** digest = SHA1(digest ^ SHA1(bytes)): order-dependent accumulation. */
function mixDigest(digest: Uint8Array, bytes: Uint8Array): void {
  xorDigest(digest, bytes);
  digest.set(sha1(digest));
}

function latin1(s: string): Uint8Array {
  return Buffer.from(s, "latin1");
}

/** A 32-bit big-endian integer's bytes (Redis's htonl before mixing). */
function uint32BE(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

/**
 * Redis's xorObjectDigest: the value's type, its content, and a marker when the key has a TTL.
 * Every type's content is mixed in as Redis 7.0's debug.c does, so equal datasets give equal digests.
 */
function xorObjectDigest(db: Db, key: string, digest: Uint8Array, value: Value): void {
  const type = typeof value === "string" ? "string" : value.type;
  mixDigest(digest, uint32BE(OBJ_TYPE_CODES[type] ?? 0));
  if (typeof value === "string") mixDigest(digest, latin1(value));
  else if (value instanceof SetValue) {
    // Set members are XORed in, so the digest does not depend on their order.
    for (const member of value.members()) xorDigest(digest, latin1(member));
  } else if (value instanceof ListValue) {
    for (const element of value.values()) mixDigest(digest, latin1(element));
  } else if (value instanceof ZSetValue) {
    // Member and %.17g score mixed per element, elements XORed in (Redis 7.0's snprintf of the score).
    value.walk(0, false, (member, score) => {
      const element = new Uint8Array(DIGEST_BYTES);
      mixDigest(element, latin1(member));
      mixDigest(element, latin1(formatDouble(score)));
      xorDigest(digest, element);
      return true;
    });
  } else if (value instanceof StreamValue) {
    // Each live entry: "<ms>.<seq>", then its fields and values, all mixed in order (groups are not).
    value.walk(0n, STREAM_ID_MAX, false, (e) => {
      mixDigest(digest, latin1(`${e.id >> SEQ_BITS}.${e.id & U64_MAX}`));
      for (const item of e.fields) mixDigest(digest, latin1(item));
      return true;
    });
  } else if (value instanceof HashValue) {
    for (const [field, fieldValue] of value.map) {
      const element = new Uint8Array(DIGEST_BYTES);
      mixDigest(element, latin1(field));
      mixDigest(element, latin1(fieldValue));
      xorDigest(digest, element);
    }
  }
  if (db.getExpire(key) !== -1) xorDigest(digest, latin1("!!expire!!"));
}

/** DEBUG DIGEST: one digest of every database's keys and values; all zeros when empty. */
export function datasetDigest(dbs: readonly Db[]): Uint8Array {
  const final = new Uint8Array(DIGEST_BYTES);
  for (const db of dbs) {
    if (db.size === 0) continue;
    mixDigest(final, uint32BE(db.id));
    for (const key of db.keys()) {
      const value = db.get(key);
      if (value === undefined) continue;
      const digest = new Uint8Array(DIGEST_BYTES);
      mixDigest(digest, latin1(key));
      xorObjectDigest(db, key, digest, value);
      xorDigest(final, digest);
    }
  }
  return final;
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Blocks the whole process (DEBUG SLEEP stops the server, as in Redis). */
function sleepBlocking(ms: number): void {
  if (ms <= 0) return;
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** `enable-debug-command`: `yes`, or `local` for loopback clients. */
function debugAllowed(c: Client): boolean {
  const mode = c.server.config.str("enable-debug-command");
  return mode === "yes" || (mode === "local" && c.isLocal());
}

/** DEBUG POPULATE: `count [prefix] [size]`, values `value:N` cut or zero-padded to `size`. */
function populate(c: Client, argv: string[]): void {
  const keys = string2ll(argv[2]);
  if (keys === null || keys < 0) return c.error("ERR value is out of range, must be positive");
  let size = 0;
  if (argv.length === 5) {
    const n = string2ll(argv[4]);
    if (n === null || n < 0) return c.error("ERR value is out of range, must be positive");
    size = n;
  }
  const prefix = argv.length >= 4 ? argv[3] : "key";
  for (let j = 0; j < keys; j++) {
    const key = `${prefix}:${j}`.slice(0, POPULATE_MAX_KEY_BYTES);
    if (c.db.get(key) !== undefined) continue;
    let value = `value:${j}`;
    if (size > 0) value = size <= value.length ? value.slice(0, size) : value + "\0".repeat(size - value.length);
    c.db.set(key, value);
  }
  c.out.ok();
}

/** DEBUG CLUSTERLINK KILL to|from|all <node-id>: closes bus links to test failure handling. */
function killClusterLink(c: Client, direction: string, id: string): void {
  const shell = c.server.cluster;
  if (shell === null) return c.error("ERR Debug option only available for cluster mode enabled setup!");
  const node = shell.state.nodes.get(id);
  if (node === undefined) return c.error(`ERR Unknown node ${id}`);
  const dir = direction.toLowerCase();
  shell.run(() => {
    if ((dir === "to" || dir === "all") && node.link !== null) shell.state.freeLink(node.link);
    if ((dir === "from" || dir === "all") && node.inboundLink !== null) shell.state.freeLink(node.inboundLink);
  });
  // Redis 7.0 answers an unknown direction with an error and then +OK as well.
  if (dir !== "to" && dir !== "from" && dir !== "all") c.error(`ERR Unknown direction ${direction}`);
  c.out.ok();
}

/**
 * DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: saves dump.rdb (unless NOSAVE) and loads it back, replacing
 * the dataset (NOFLUSH keeps it; then a key also in the file is an error unless MERGE).
 */
function debugReload(c: Client, argv: string[]): void {
  let merge = false;
  let flush = true;
  let save = true;
  for (const opt of argv.slice(2)) {
    const o = opt.toLowerCase();
    if (o === "merge") merge = true;
    else if (o === "noflush") flush = false;
    else if (o === "nosave") save = false;
    else return c.error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
  }
  if (save && !saveRdbSync(c.server)) return c.error("ERR");
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(rdbPath(c.server));
    if (!flush && !merge) {
      // Without MERGE a key present in both is fatal in Redis; here it is refused before anything changes.
      const probe = c.server.dbs.map((db) => new Db(db.id, c.server));
      loadRdb(bytes, probe, true);
      for (let i = 0; i < probe.length; i++) {
        for (const key of probe[i].keys()) {
          if (c.server.dbs[i].hasStored(key)) throw new RdbError("Duplicated key found in RDB file");
        }
      }
    }
    const started = performance.now();
    const result = loadRdbIntoServer(c.server, bytes, !flush);
    logLoad(result, (performance.now() - started) / 1000);
  } catch (err) {
    logger.warning(`DEBUG RELOAD failed: ${(err as Error).message}`);
    return c.error("ERR Error trying to load the RDB dump, check server logs.");
  }
  logger.warning("DB reloaded by DEBUG RELOAD");
  c.out.ok();
}

export const debugCommands: Record<string, Handler> = {
  debug(c, argv) {
    if (!debugAllowed(c)) {
      return c.error(
        'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it ' +
          "from a local connection, otherwise you need to set this option in the configuration file, and then " +
          "restart the server.",
      );
    }
    const sub = argv[1].toLowerCase();
    const argc = argv.length;
    if (sub === "help" && argc === 2) {
      replyHelp(c, "DEBUG", DEBUG_HELP);
    } else if (sub === "sleep" && argc === 3) {
      // strtod semantics: a non-number sleeps 0 seconds.
      const seconds = parseFloat(argv[2]);
      sleepBlocking(Number.isFinite(seconds) ? seconds * 1000 : 0);
      c.out.ok();
    } else if (sub === "set-active-expire" && argc === 3) {
      // atoi semantics: anything that does not start with a non-zero number disables.
      c.server.activeExpireEnabled = (parseInt(argv[2], 10) || 0) !== 0;
      c.out.ok();
    } else if (sub === "digest" && argc === 2) {
      c.out.simple(hex(datasetDigest(c.server.dbs)));
    } else if (sub === "digest-value" && argc >= 2) {
      c.out.array(argc - 2);
      for (let j = 2; j < argc; j++) {
        const digest = new Uint8Array(DIGEST_BYTES);
        const value = c.db.get(argv[j]);
        if (value !== undefined) xorObjectDigest(c.db, argv[j], digest, value);
        c.out.simple(hex(digest));
      }
    } else if (sub === "populate" && argc >= 3 && argc <= 5) {
      populate(c, argv);
    } else if (sub === "log" && argc === 3) {
      logger.warning(`DEBUG LOG: ${argv[2]}`);
      c.out.ok();
    } else if (sub === "drop-cluster-packet-filter" && argc === 3) {
      const type = string2ll(argv[2]);
      if (type === null) return c.error("ERR value is not an integer or out of range");
      if (c.server.cluster !== null) c.server.cluster.dropPacketFilter = type;
      c.out.ok();
    } else if (sub === "drop-cluster-packets-from" && argc >= 3) {
      // Tessera only: a network partition for tests, by sender (node ids, or -1 to clear).
      const shell = c.server.cluster;
      if (shell === null) return c.error("ERR Debug option only available for cluster mode enabled setup!");
      shell.dropPacketsFrom.clear();
      if (argv[2] !== "-1") { for (const id of argv.slice(2)) shell.dropPacketsFrom.add(id); }
      c.out.ok();
    } else if (sub === "clusterlink" && argc === 5 && argv[2].toLowerCase() === "kill") {
      killClusterLink(c, argv[3], argv[4]);
    } else if (sub === "reload") {
      debugReload(c, argv);
    } else if (sub === "change-repl-id" && argc === 2) {
      c.server.repl.replId = randomHex40();
      c.server.repl.clearReplId2();
      logger.warning("Changing replication IDs after receiving DEBUG change-repl-id");
      c.out.ok();
    } else {
      subcommandSyntaxError(c, argv);
    }
  },
};
