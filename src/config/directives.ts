/**
 * The directive table: every directive Redis 7.0.15 knows (its CONFIG GET names, aliases, types,
 * defaults, bounds and flags, checked against a real redis-server). Directives tessera does not act
 * on yet are marked `noEffect`: accepted, validated, stored and returned by CONFIG GET / REWRITE.
 */
import type { ConfigValue, Directive } from "./directive.ts";
import { logger, type LogLevel } from "../log.ts";
import * as special from "./special.ts";
import { refreshAccessClock } from "../store/access_clock.ts";
import type { Db } from "../store/keyspace.ts";
import type { Server } from "../server/server.ts";
import { setKeyspaceEvents } from "../server/keyspace_events.ts";

/**
 * Eviction settings the keyspace's access clock caches (OBJECT FREQ/IDLETIME, LFU counters); a
 * policy change starts or stops per-key access tracking, so the dbs drop fields no longer used.
 */
const refreshAccess = (server: { config: Parameters<typeof refreshAccessClock>[0]; dbs: Db[] }) => {
  if (refreshAccessClock(server.config)) { for (const db of server.dbs) db.syncAccessTracking(); }
};

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
const UINT_MAX = 4294967295;
/** LONG_MAX / LLONG_MAX / SSIZE_MAX (2^63-1) as a JS number; printed exactly by `formatBound`. */
export const LLONG_MAX = 2 ** 63;
/** ULLONG_MAX (2^64-1) as a JS number. */
export const ULLONG_MAX = 2 ** 64;

/** Prints a bound as Redis's `%lld` / `%llu` would (JS numbers cannot hold 2^63-1 exactly). */
export function formatBound(n: number): string {
  if (n === LLONG_MAX) return "9223372036854775807";
  if (n === ULLONG_MAX) return "18446744073709551615";
  return String(n);
}

/** Hosts for cluster-announce-hostname: letters, digits, `-` and `.`, under NET_HOST_STR_LEN. */
function validHostname(v: ConfigValue): string | void {
  const s = v as string;
  if (s.length >= 256) return "Hostnames must be less than 256 characters";
  if (!/^[A-Za-z0-9.-]*$/.test(s)) return "Hostnames may only contain alphanumeric characters, hyphens or dots";
}

function baseName(what: string, kind: "filename" | "dirname", allowEmpty: boolean) {
  return (v: ConfigValue): string | void => {
    const s = v as string;
    if (!allowEmpty && s === "") return `${what} can't be empty`;
    if (s.includes("/")) return `${what} can't be a path, just a ${kind}`;
  };
}

/** proc-title-template: only Redis's known `{variables}`, balanced braces. */
function validProcTitle(v: ConfigValue): string | void {
  const s = v as string;
  const known = new Set([
    "{title}",
    "{listen-addr}",
    "{server-mode}",
    "{port}",
    "{tls-port}",
    "{unixsocket}",
    "{config-file}",
  ]);
  const stripped = s.replace(/\{[^{}]*\}/g, (m) => known.has(m) ? "" : "\u0000");
  if (stripped.includes("\u0000") || /[{}]/.test(stripped) || s.trim() === "") {
    return "template format is invalid or contains unknown variables";
  }
}

/** Debian's redis-server is built without the defrag-capable jemalloc; tessera answers the same. */
function noActiveDefrag(v: ConfigValue): string | void {
  if (v === true) {
    return "Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution";
  }
}

const refreshLimits = (s: { refreshLimits(): void }) => void s.refreshLimits();
/** Cluster directives the running cluster reads: CONFIG SET refreshes its settings. */
const clusterSetting = { noEffect: false, apply: refreshLimits };
/** Replication directives: read when used. */
const replSetting = { noEffect: false };

/** CONFIG SET repl-backlog-size resizes the backlog at once, keeping its newest bytes. */
function resizeBacklog(server: Server, value: ConfigValue): void {
  server.repl.backlog?.resize(value as number);
}

const bool = (name: string, def: "yes" | "no", extra: Partial<Directive> = {}): Directive => ({
  name,
  type: "bool",
  default: def,
  mutable: true,
  noEffect: true,
  ...extra,
});
/** A row builder for the bounded numeric types (`int`, `memory`). */
const ranged =
  (type: "int" | "memory") =>
  (name: string, def: string, min: number, max: number, extra: Partial<Directive> = {}): Directive => ({
    name,
    type,
    default: def,
    mutable: true,
    min,
    max,
    noEffect: true,
    ...extra,
  });
const int = ranged("int");
const mem = ranged("memory");
const str = (name: string, def: string, extra: Partial<Directive> = {}): Directive => ({
  name,
  type: "string",
  default: def,
  mutable: true,
  noEffect: true,
  ...extra,
});
/** A string Redis keeps as NULL when empty (no default). */
const nstr = (name: string, extra: Partial<Directive> = {}): Directive =>
  str(name, "", { emptyIsNull: true, ...extra });
const enm = (name: string, def: string, values: string[], extra: Partial<Directive> = {}): Directive => ({
  name,
  type: "enum",
  default: def,
  mutable: true,
  values,
  noEffect: true,
  ...extra,
});
const immutable = { mutable: false };

/** All directives; CONFIG REWRITE appends new lines in this order. */
export const DIRECTIVES: Directive[] = [
  // --- network ---
  int("port", "6379", 0, 65535, { noEffect: false }),
  {
    name: "bind",
    type: "special",
    default: "* -::*",
    mutable: true,
    multiArg: true,
    parse: (args) => {
      const r = special.parseBind(args);
      return Array.isArray(r) ? r.join(" ") : r;
    },
    rewrite: (v, isDefault) => special.rewriteBind((v as string).split(" ").filter((a) => a !== ""), isDefault),
  },
  nstr("bind-source-addr"),
  enm("enable-protected-configs", "no", ["no", "yes", "local"], { ...immutable, noEffect: false }),
  enm("enable-debug-command", "no", ["no", "yes", "local"], { ...immutable, noEffect: false }),
  enm("enable-module-command", "no", ["no", "yes", "local"], immutable),
  bool("protected-mode", "yes"),
  int("tcp-backlog", "511", 0, INT_MAX, immutable),
  nstr("unixsocket", immutable),
  int("unixsocketperm", "0", 0, 0o777, { ...immutable, octal: true, unsigned: true }),
  int("socket-mark-id", "0", 0, UINT_MAX, { ...immutable, unsigned: true }),
  int("timeout", "0", 0, INT_MAX, { noEffect: false }),
  int("tcp-keepalive", "300", 0, INT_MAX, { noEffect: false }),

  // --- TLS ---
  int("tls-port", "0", 0, 65535),
  nstr("tls-cert-file"),
  nstr("tls-key-file"),
  nstr("tls-key-file-pass"),
  nstr("tls-client-cert-file"),
  nstr("tls-client-key-file"),
  nstr("tls-client-key-file-pass"),
  nstr("tls-dh-params-file"),
  nstr("tls-ca-cert-file"),
  nstr("tls-ca-cert-dir"),
  enm("tls-auth-clients", "yes", ["no", "yes", "optional"]),
  bool("tls-replication", "no"),
  bool("tls-cluster", "no"),
  nstr("tls-protocols"),
  nstr("tls-ciphers"),
  nstr("tls-ciphersuites"),
  bool("tls-prefer-server-ciphers", "no"),
  bool("tls-session-caching", "yes"),
  int("tls-session-cache-size", "20480", 0, INT_MAX),
  int("tls-session-cache-timeout", "300", 0, INT_MAX),

  // --- general ---
  bool("daemonize", "no", immutable),
  enm("supervised", "no", ["upstart", "systemd", "auto", "no"], immutable),
  nstr("pidfile", immutable),
  enm("loglevel", "notice", ["debug", "verbose", "notice", "warning"], {
    noEffect: false,
    apply: (_s, v) => void (logger.level = v as LogLevel),
  }),
  str("logfile", "", { ...immutable, noEffect: false }),
  bool("syslog-enabled", "no", immutable),
  str("syslog-ident", "redis", immutable),
  enm("syslog-facility", "local0", [
    "user",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
  ], immutable),
  bool("crash-log-enabled", "yes"),
  bool("crash-memcheck-enabled", "yes"),
  int("databases", "16", 1, INT_MAX, { ...immutable, noEffect: false }),
  bool("always-show-logo", "no", immutable),
  bool("set-proc-title", "yes", immutable),
  str("proc-title-template", "{title} {listen-addr} {server-mode}", { validate: validProcTitle }),

  // --- snapshotting ---
  {
    name: "save",
    type: "special",
    default: "3600 1 300 100 60 10000",
    mutable: true,
    multiArg: true,
    accumulate: true,
    parse: (args) => special.parseSave(args),
    format: special.formatSave,
    rewrite: special.rewriteSave,
    noEffect: true,
  },
  bool("stop-writes-on-bgsave-error", "yes"),
  bool("rdbcompression", "yes", { noEffect: false }),
  bool("rdbchecksum", "yes", { ...immutable, noEffect: false }),
  enm("sanitize-dump-payload", "no", ["no", "yes", "clients"]),
  str("dbfilename", "dump.rdb", {
    protected: true,
    validate: baseName("dbfilename", "filename", true),
    noEffect: false,
  }),
  bool("rdb-del-sync-files", "no"),
  {
    name: "dir",
    type: "special",
    default: "./",
    mutable: true,
    protected: true,
    parse: (args) => args.length === 1 ? args[0] : { error: "wrong number of arguments" },
    format: () => special.currentDir(),
    rewrite: special.rewriteDir,
  },

  // --- replication ---
  {
    name: "replicaof",
    aliases: ["slaveof"],
    type: "special",
    default: "no one",
    mutable: false,
    multiArg: true,
    parse: (args) => special.parseReplicaOf(args),
    format: (v) => (v as string[]).join(" "),
    rewrite: special.rewriteReplicaOf,
  },
  nstr("masterauth", replSetting),
  nstr("masteruser", replSetting),
  bool("replica-serve-stale-data", "yes", { aliases: ["slave-serve-stale-data"], ...replSetting }),
  bool("replica-read-only", "yes", { aliases: ["slave-read-only"], ...replSetting }),
  bool("repl-diskless-sync", "yes", replSetting),
  int("repl-diskless-sync-delay", "5", 0, INT_MAX, replSetting),
  int("repl-diskless-sync-max-replicas", "0", 0, INT_MAX, replSetting),
  enm("repl-diskless-load", "disabled", ["disabled", "on-empty-db", "swapdb"]),
  int("repl-ping-replica-period", "10", 1, INT_MAX, { aliases: ["repl-ping-slave-period"], ...replSetting }),
  int("repl-timeout", "60", 1, INT_MAX, replSetting),
  bool("repl-disable-tcp-nodelay", "no"),
  mem("repl-backlog-size", "1mb", 1, LLONG_MAX, { noEffect: false, apply: resizeBacklog }),
  int("repl-backlog-ttl", "3600", 0, LLONG_MAX, replSetting),
  int("replica-priority", "100", 0, INT_MAX, { aliases: ["slave-priority"], ...replSetting }),
  enm("propagation-error-behavior", "ignore", ["ignore", "panic", "panic-on-replicas"]),
  bool("replica-ignore-disk-write-errors", "no"),
  bool("replica-announced", "yes", replSetting),
  int("min-replicas-to-write", "0", 0, INT_MAX, { aliases: ["min-slaves-to-write"] }),
  int("min-replicas-max-lag", "10", 0, INT_MAX, { aliases: ["min-slaves-max-lag"] }),
  nstr("replica-announce-ip", { aliases: ["slave-announce-ip"], ...replSetting }),
  int("replica-announce-port", "0", 0, 65535, { aliases: ["slave-announce-port"], ...replSetting }),

  // --- keys tracking, security ---
  int("tracking-table-max-keys", "1000000", 0, LLONG_MAX),
  int("acllog-max-len", "128", 0, LLONG_MAX, { unsigned: true }),
  str("aclfile", "", immutable),
  enm("acl-pubsub-default", "resetchannels", ["allchannels", "resetchannels"]),
  nstr("requirepass", { noEffect: false }),

  // --- clients, memory ---
  int("maxclients", "10000", 1, UINT_MAX, { unsigned: true, noEffect: false }),
  mem("maxmemory", "0", 0, ULLONG_MAX, { unsigned: true, apply: refreshAccess, noEffect: false }),
  enm("maxmemory-policy", "noeviction", [
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
  ], { apply: refreshAccess, noEffect: false }),
  int("maxmemory-samples", "5", 1, INT_MAX),
  int("maxmemory-eviction-tenacity", "10", 0, 100),
  bool("replica-ignore-maxmemory", "yes", { aliases: ["slave-ignore-maxmemory"] }),
  int("active-expire-effort", "1", 1, 10),
  bool("lazyfree-lazy-eviction", "no"),
  bool("lazyfree-lazy-expire", "no", replSetting),
  bool("lazyfree-lazy-server-del", "no"),
  bool("replica-lazy-flush", "no", { aliases: ["slave-lazy-flush"] }),
  bool("lazyfree-lazy-user-del", "no"),
  bool("lazyfree-lazy-user-flush", "no"),
  enm("oom-score-adj", "no", ["no", "yes", "relative", "absolute"], { synonyms: { relative: "yes" } }),
  {
    name: "oom-score-adj-values",
    type: "special",
    default: "0 200 800",
    mutable: true,
    multiArg: true,
    parse: (args) => special.parseOomScoreAdjValues(args),
    format: (v) => (v as number[]).join(" "),
    rewrite: (v, isDefault) => [{ line: `oom-score-adj-values ${(v as number[]).join(" ")}`, force: !isDefault }],
    noEffect: true,
  },
  bool("disable-thp", "yes", immutable),
  mem("maxmemory-clients", "0", -100, LLONG_MAX, { percent: true }),

  // --- threads, AOF ---
  int("io-threads", "1", 1, 128, immutable),
  bool("io-threads-do-reads", "no", immutable),
  bool("appendonly", "no"),
  str("appendfilename", "appendonly.aof", { ...immutable, validate: baseName("appendfilename", "filename", false) }),
  str("appenddirname", "appendonlydir", { ...immutable, validate: baseName("appenddirname", "dirname", false) }),
  enm("appendfsync", "everysec", ["everysec", "always", "no"]),
  bool("no-appendfsync-on-rewrite", "no"),
  int("auto-aof-rewrite-percentage", "100", 0, INT_MAX),
  mem("auto-aof-rewrite-min-size", "64mb", 0, LLONG_MAX),
  bool("aof-load-truncated", "yes"),
  bool("aof-use-rdb-preamble", "yes"),
  bool("aof-timestamp-enabled", "no"),
  bool("aof-disable-auto-gc", "no"),
  enm("shutdown-on-sigint", "default", ["default", "save", "nosave", "now", "force"], { flags: true, multiArg: true }),
  enm("shutdown-on-sigterm", "default", ["default", "save", "nosave", "now", "force"], { flags: true, multiArg: true }),
  int("shutdown-timeout", "10", 0, INT_MAX),
  int("busy-reply-threshold", "5000", 0, LLONG_MAX, { aliases: ["lua-time-limit"] }),

  // --- cluster ---
  bool("cluster-enabled", "no", { ...immutable, noEffect: false }),
  str("cluster-config-file", "nodes.conf", { ...immutable, noEffect: false }),
  int("cluster-node-timeout", "15000", 0, LLONG_MAX, clusterSetting),
  int("cluster-port", "0", 0, 65535, { ...immutable, noEffect: false }),
  int("cluster-replica-validity-factor", "10", 0, INT_MAX, {
    aliases: ["cluster-slave-validity-factor"],
    ...clusterSetting,
  }),
  int("cluster-migration-barrier", "1", 0, INT_MAX, clusterSetting),
  bool("cluster-allow-replica-migration", "yes", clusterSetting),
  bool("cluster-require-full-coverage", "yes", clusterSetting),
  bool("cluster-replica-no-failover", "no", { aliases: ["cluster-slave-no-failover"], ...clusterSetting }),
  bool("cluster-allow-reads-when-down", "no", clusterSetting),
  bool("cluster-allow-pubsubshard-when-down", "yes", clusterSetting),
  mem("cluster-link-sendbuf-limit", "0", 0, ULLONG_MAX, { unsigned: true }),
  nstr("cluster-announce-hostname", { validate: validHostname, ...clusterSetting }),
  enm("cluster-preferred-endpoint-type", "ip", ["ip", "hostname", "unknown-endpoint"], clusterSetting),
  nstr("cluster-announce-ip", clusterSetting),
  int("cluster-announce-port", "0", 0, 65535, clusterSetting),
  int("cluster-announce-tls-port", "0", 0, 65535),
  int("cluster-announce-bus-port", "0", 0, 65535, clusterSetting),
  // Tessera-only (hidden, so CONFIG GET * matches Redis): the election delay's terms and the write fence.
  int("cluster-election-base-delay-ms", "500", 0, 60000, { hidden: true, ...clusterSetting }),
  // Tessera only, for tests: slows an atomic slot migration's snapshot down (like Redis's rdb-key-save-delay).
  int("cluster-slot-migration-key-delay-us", "0", 0, 10_000_000, { hidden: true, noEffect: false }),
  int("cluster-election-random-delay-ms", "500", 0, 60000, { hidden: true, ...clusterSetting }),
  int("cluster-election-rank-delay-ms", "1000", 0, 60000, { hidden: true, ...clusterSetting }),
  int("cluster-write-fence-percent", "90", 0, 100, { hidden: true, ...clusterSetting }),

  // --- slow log, latency ---
  int("slowlog-log-slower-than", "10000", -1, LLONG_MAX, { noEffect: false, apply: refreshLimits }),
  int("slowlog-max-len", "128", 0, LLONG_MAX, { unsigned: true, noEffect: false }),
  int("latency-monitor-threshold", "0", 0, LLONG_MAX, { noEffect: false, apply: refreshLimits }),
  bool("latency-tracking", "yes"),
  {
    name: "latency-tracking-info-percentiles",
    type: "special",
    default: "50 99 99.9",
    mutable: true,
    multiArg: true,
    parse: (args) => special.parseLatencyPercentiles(args),
    format: special.formatLatencyPercentiles,
    noEffect: false,
    rewrite: special.rewriteLatencyPercentiles,
  },
  {
    name: "notify-keyspace-events",
    type: "special",
    default: '""',
    mutable: true,
    parse: (args) => special.parseNotifyKeyspaceEvents(args),
    format: special.formatNotifyKeyspaceEvents,
    rewrite: special.rewriteNotifyKeyspaceEvents,
    noEffect: false,
    apply: (server, value) => setKeyspaceEvents(server, value as number),
  },

  // --- data structures ---
  int("hash-max-listpack-entries", "512", 0, LLONG_MAX, {
    aliases: ["hash-max-ziplist-entries"],
    unsigned: true,
    noEffect: false,
    apply: refreshLimits,
  }),
  mem("hash-max-listpack-value", "64", 0, LLONG_MAX, {
    aliases: ["hash-max-ziplist-value"],
    unsigned: true,
    noEffect: false,
    apply: refreshLimits,
  }),
  int("list-max-listpack-size", "-2", INT_MIN, INT_MAX, { aliases: ["list-max-ziplist-size"] }),
  int("list-compress-depth", "0", 0, INT_MAX),
  int("set-max-intset-entries", "512", 0, LLONG_MAX, { unsigned: true, noEffect: false, apply: refreshLimits }),
  int("zset-max-listpack-entries", "128", 0, LLONG_MAX, {
    aliases: ["zset-max-ziplist-entries"],
    unsigned: true,
    noEffect: false,
    apply: refreshLimits,
  }),
  mem("zset-max-listpack-value", "64", 0, LLONG_MAX, {
    aliases: ["zset-max-ziplist-value"],
    unsigned: true,
    noEffect: false,
    apply: refreshLimits,
  }),
  mem("hll-sparse-max-bytes", "3000", 0, LLONG_MAX, { unsigned: true, noEffect: false }),
  // Read by XADD when it starts a stream node.
  mem("stream-node-max-bytes", "4kb", 0, LLONG_MAX, { unsigned: true, noEffect: false }),
  int("stream-node-max-entries", "100", 0, LLONG_MAX, { noEffect: false }),
  bool("activerehashing", "yes"),
  {
    name: "client-output-buffer-limit",
    type: "special",
    default: "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60",
    mutable: true,
    multiArg: true,
    parse: special.parseClientOutputBufferLimit,
    format: special.formatClientOutputBufferLimit,
    rewrite: special.rewriteClientOutputBufferLimit,
    noEffect: false,
  },
  mem("client-query-buffer-limit", "1gb", 1024 * 1024, LLONG_MAX, {
    unsigned: true,
    noEffect: false,
    apply: refreshLimits,
  }),
  mem("proto-max-bulk-len", "512mb", 1024 * 1024, LLONG_MAX, { noEffect: false, apply: refreshLimits }),
  int("hz", "10", 0, INT_MAX, {
    noEffect: false,
    normalize: (v) => Math.max(1, Math.min(500, v as number)),
  }),
  bool("dynamic-hz", "yes"),
  bool("aof-rewrite-incremental-fsync", "yes"),
  bool("rdb-save-incremental-fsync", "yes"),
  int("lfu-log-factor", "10", 0, INT_MAX, { apply: refreshAccess, noEffect: false }),
  int("lfu-decay-time", "1", 0, INT_MAX, { apply: refreshAccess, noEffect: false }),

  // --- active defragmentation ---
  bool("activedefrag", "no", { validate: noActiveDefrag }),
  mem("active-defrag-ignore-bytes", "100mb", 1, LLONG_MAX, { unsigned: true }),
  int("active-defrag-threshold-lower", "10", 0, 1000),
  int("active-defrag-threshold-upper", "100", 0, 1000),
  int("active-defrag-cycle-min", "1", 1, 99),
  int("active-defrag-cycle-max", "25", 1, 99),
  int("active-defrag-max-scan-fields", "1000", 1, LLONG_MAX, { unsigned: true }),
  bool("jemalloc-bg-thread", "yes"),
  nstr("server_cpulist", immutable),
  nstr("bio_cpulist", immutable),
  nstr("aof_rewrite_cpulist", immutable),
  nstr("bgsave_cpulist", immutable),
  str("ignore-warnings", ""),

  // --- hidden (testing) configs: CONFIG GET patterns skip them ---
  bool("use-exit-on-panic", "no", { hidden: true }),
  int("rdb-key-save-delay", "0", INT_MIN, INT_MAX, { hidden: true }),
  int("key-load-delay", "0", INT_MIN, INT_MAX, { hidden: true }),
  int("watchdog-period", "0", 0, INT_MAX, { hidden: true }),
  int("loading-process-events-interval-bytes", "2097152", 1024, INT_MAX, { hidden: true }),
];

/** Directives Redis 7.0 still accepts in a config file and ignores (with their exact word count). */
export const DEPRECATED_DIRECTIVES: Record<string, number> = {
  "list-max-ziplist-entries": 2,
  "list-max-ziplist-value": 2,
  "lua-replicate-commands": 2,
};
