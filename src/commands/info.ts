/**
 * INFO: Redis 7.0's sections, field names and order, generated only when asked (never on the
 * hot path). Other families can replace a section's generator with `registerInfoSection`
 * (replication, persistence, cluster) as they grow.
 */
import { persistenceState } from "../persistence/rdb_file.ts";
import { replicationInfoLines } from "../replication/info.ts";
import process from "node:process";
import type { Handler } from "./table.ts";
import type { Command } from "./table.ts";
import type { Server } from "../server/server.ts";
import { REDIS_VERSION } from "../version.ts";
import { histogramPercentile, type TrackedStats } from "../server/latency.ts";
import { formatPercentile } from "../config/parse.ts";
import { pubsubCounts } from "../server/pubsub.ts";

/** Produces a section's `field:value` lines (without the `# Title` header). */
export type InfoSection = (server: Server) => string[];

/** Every section in the order Redis prints them, with its title. */
const SECTION_ORDER: [name: string, title: string][] = [
  ["server", "Server"],
  ["clients", "Clients"],
  ["memory", "Memory"],
  ["persistence", "Persistence"],
  ["stats", "Stats"],
  ["replication", "Replication"],
  ["cpu", "CPU"],
  ["modules", "Modules"],
  ["commandstats", "Commandstats"],
  ["errorstats", "Errorstats"],
  ["latencystats", "Latencystats"],
  ["cluster", "Cluster"],
  ["keyspace", "Keyspace"],
];

/** Sections of plain `INFO` / `INFO default` (Redis's default_sections). */
const DEFAULT_SECTIONS = [
  "server",
  "clients",
  "memory",
  "persistence",
  "stats",
  "replication",
  "cpu",
  "module_list",
  "errorstats",
  "cluster",
  "keyspace",
];

/** How many keys with a TTL INFO looks at to estimate `avg_ttl`. */
const AVG_TTL_SAMPLE_KEYS = 1000;

/** Redis's bytesToHuman: `919.20K`, `6.27M`, `200B`. */
export function bytesToHuman(n: number): string {
  const units = ["K", "M", "G", "T", "P"];
  if (n < 1024) return `${n}B`;
  let d = n / 1024;
  for (const unit of units) {
    if (d < 1024 || unit === "P") return `${d.toFixed(2)}${unit}`;
    d /= 1024;
  }
  return `${n}B`;
}

/** `%.2f` of a ratio, 0 when the divisor is 0. */
function ratio(a: number, b: number): string {
  return (b === 0 ? 0 : a / b).toFixed(2);
}

/** `sec.usec` as Redis prints CPU times (`%ld.%06ld`). */
function cpuSeconds(micros: number): string {
  return `${Math.floor(micros / 1e6)}.${String(Math.floor(micros % 1e6)).padStart(6, "0")}`;
}

function executablePath(): string {
  try {
    const url = new URL(Deno.mainModule);
    if (url.protocol === "file:") return url.pathname;
  } catch {
    // fall through
  }
  return Deno.execPath();
}

function memoryStats(server: Server): { used: number; rss: number; heapTotal: number; heapUsed: number } {
  const m = Deno.memoryUsage();
  const used = m.heapUsed + m.external;
  if (m.heapUsed > server.memoryPeak) server.memoryPeak = m.heapUsed;
  return { used, rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed };
}

function configOr<T>(server: Server, name: string, fallback: T): T {
  return server.config.directive(name) === undefined ? fallback : server.config.get(name) as T;
}

const SECTIONS: Record<string, InfoSection> = {
  server(s) {
    const now = Date.now();
    const uptime = Math.floor((now - s.startedAt) / 1000);
    const hz = s.config.num("hz");
    return [
      `redis_version:${REDIS_VERSION}`,
      "redis_git_sha1:00000000",
      "redis_git_dirty:0",
      "redis_build_id:0",
      `redis_mode:${s.config.bool("cluster-enabled") ? "cluster" : "standalone"}`,
      `os:${Deno.build.os === "linux" ? "Linux" : Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
      "arch_bits:64",
      "monotonic_clock:POSIX clock_gettime",
      "multiplexing_api:epoll",
      "atomicvar_api:c11-builtin",
      "gcc_version:0.0.0",
      `process_id:${Deno.pid}`,
      "process_supervised:no",
      `run_id:${s.runId}`,
      `tcp_port:${s.port}`,
      `server_time_usec:${now * 1000}`,
      `uptime_in_seconds:${uptime}`,
      `uptime_in_days:${Math.floor(uptime / 86400)}`,
      `hz:${hz}`,
      `configured_hz:${hz}`,
      `lru_clock:${Math.floor(now / 1000) & 0xffffff}`,
      `executable:${executablePath()}`,
      `config_file:${s.config.configFile ?? ""}`,
      "io_threads_active:0",
    ];
  },
  clients(s) {
    let maxIn = 0;
    let maxOut = 0;
    let blocked = 0;
    for (const c of s.clients.values()) {
      if (c.parser.buffered > maxIn) maxIn = c.parser.buffered;
      const pending = c.pendingOutput();
      if (pending > maxOut) maxOut = pending;
      if (c.waitFor !== null) blocked++;
    }
    return [
      `connected_clients:${s.clients.size}`,
      "cluster_connections:0",
      `maxclients:${s.config.num("maxclients")}`,
      `client_recent_max_input_buffer:${maxIn}`,
      `client_recent_max_output_buffer:${maxOut}`,
      `blocked_clients:${blocked}`,
      "tracking_clients:0",
      "clients_in_timeout_table:0",
    ];
  },
  memory(s) {
    const m = memoryStats(s);
    const peak = Math.max(s.memoryPeak, m.heapUsed);
    let clientsMem = 0;
    for (const c of s.clients.values()) clientsMem += c.replyBufferSize() + c.parser.buffered;
    const overhead = Math.min(m.used, s.memoryStartup + clientsMem);
    const dataset = m.used - overhead;
    const maxmemory = configOr(s, "maxmemory", 0);
    const system = Deno.systemMemoryInfo().total;
    return [
      `used_memory:${m.used}`,
      `used_memory_human:${bytesToHuman(m.used)}`,
      `used_memory_rss:${m.rss}`,
      `used_memory_rss_human:${bytesToHuman(m.rss)}`,
      `used_memory_peak:${peak}`,
      `used_memory_peak_human:${bytesToHuman(peak)}`,
      `used_memory_peak_perc:${ratio(m.used * 100, peak)}%`,
      `used_memory_overhead:${overhead}`,
      `used_memory_startup:${s.memoryStartup}`,
      `used_memory_dataset:${dataset}`,
      `used_memory_dataset_perc:${ratio(dataset * 100, m.used - s.memoryStartup)}%`,
      `allocator_allocated:${m.heapUsed}`,
      `allocator_active:${m.heapTotal}`,
      `allocator_resident:${m.rss}`,
      `total_system_memory:${system}`,
      `total_system_memory_human:${bytesToHuman(system)}`,
      "used_memory_lua:0",
      "used_memory_vm_eval:0",
      "used_memory_lua_human:0B",
      "used_memory_scripts_eval:0",
      "number_of_cached_scripts:0",
      "number_of_functions:0",
      "number_of_libraries:0",
      "used_memory_vm_functions:0",
      "used_memory_vm_total:0",
      "used_memory_vm_total_human:0B",
      "used_memory_functions:0",
      "used_memory_scripts:0",
      "used_memory_scripts_human:0B",
      `maxmemory:${maxmemory}`,
      `maxmemory_human:${bytesToHuman(maxmemory)}`,
      `maxmemory_policy:${configOr(s, "maxmemory-policy", "noeviction")}`,
      `allocator_frag_ratio:${ratio(m.heapTotal, m.heapUsed)}`,
      `allocator_frag_bytes:${m.heapTotal - m.heapUsed}`,
      `allocator_rss_ratio:${ratio(m.rss, m.heapTotal)}`,
      `allocator_rss_bytes:${m.rss - m.heapTotal}`,
      `rss_overhead_ratio:${ratio(m.rss, m.rss)}`,
      "rss_overhead_bytes:0",
      `mem_fragmentation_ratio:${ratio(m.rss, m.used)}`,
      `mem_fragmentation_bytes:${m.rss - m.used}`,
      "mem_not_counted_for_evict:0",
      "mem_replication_backlog:0",
      "mem_total_replication_buffers:0",
      "mem_clients_slaves:0",
      `mem_clients_normal:${clientsMem}`,
      "mem_cluster_links:0",
      "mem_aof_buffer:0",
      "mem_allocator:v8",
      "active_defrag_running:0",
      "lazyfree_pending_objects:0",
      "lazyfreed_objects:0",
    ];
  },
  persistence(s) {
    const ps = persistenceState;
    return [
      `loading:${s.loading ? 1 : 0}`,
      "async_loading:0",
      "current_cow_peak:0",
      "current_cow_size:0",
      "current_cow_size_age:0",
      "current_fork_perc:0.00",
      "current_save_keys_processed:0",
      "current_save_keys_total:0",
      `rdb_changes_since_last_save:${s.dirty}`,
      `rdb_bgsave_in_progress:${ps.bgsaveInProgress ? 1 : 0}`,
      `rdb_last_save_time:${s.lastSave}`,
      `rdb_last_bgsave_status:${ps.lastSaveOk ? "ok" : "err"}`,
      `rdb_last_bgsave_time_sec:${ps.lastBgsaveSeconds}`,
      `rdb_current_bgsave_time_sec:${ps.bgsaveInProgress ? Math.floor((Date.now() - ps.bgsaveStartedMs) / 1000) : -1}`,
      `rdb_saves:${ps.saves}`,
      "rdb_last_cow_size:0",
      `rdb_last_load_keys_expired:${ps.lastLoadKeysExpired}`,
      `rdb_last_load_keys_loaded:${ps.lastLoadKeysLoaded}`,
      `aof_enabled:${configOr(s, "appendonly", false) ? 1 : 0}`,
      "aof_rewrite_in_progress:0",
      "aof_rewrite_scheduled:0",
      "aof_last_rewrite_time_sec:-1",
      "aof_current_rewrite_time_sec:-1",
      "aof_last_bgrewrite_status:ok",
      "aof_rewrites:0",
      "aof_rewrites_consecutive_failures:0",
      "aof_last_write_status:ok",
      "aof_last_cow_size:0",
      "module_fork_in_progress:0",
      "module_fork_last_cow_size:0",
    ];
  },
  stats(s) {
    const st = s.stats;
    const pubsub = pubsubCounts(s);
    return [
      `total_connections_received:${st.totalConnections}`,
      `total_commands_processed:${st.commandsProcessed}`,
      `instantaneous_ops_per_sec:${st.opsPerSec.value()}`,
      `total_net_input_bytes:${st.netInputBytes}`,
      `total_net_output_bytes:${st.netOutputBytes}`,
      "total_net_repl_input_bytes:0",
      "total_net_repl_output_bytes:0",
      `instantaneous_input_kbps:${(st.inputKbps.value() / 1024).toFixed(2)}`,
      `instantaneous_output_kbps:${(st.outputKbps.value() / 1024).toFixed(2)}`,
      "instantaneous_input_repl_kbps:0.00",
      "instantaneous_output_repl_kbps:0.00",
      `rejected_connections:${st.rejectedConnections}`,
      `sync_full:${s.repl.stats.syncFull}`,
      `sync_partial_ok:${s.repl.stats.syncPartialOk}`,
      `sync_partial_err:${s.repl.stats.syncPartialErr}`,
      `expired_keys:${st.expiredKeys}`,
      "expired_stale_perc:0.00",
      `expired_time_cap_reached_count:${st.expiredTimeCapReached}`,
      "expire_cycle_cpu_milliseconds:0",
      "evicted_keys:0",
      "evicted_clients:0",
      "total_eviction_exceeded_time:0",
      "current_eviction_exceeded_time:0",
      `keyspace_hits:${st.keyspaceHits}`,
      `keyspace_misses:${st.keyspaceMisses}`,
      `pubsub_channels:${pubsub.channels}`,
      `pubsub_patterns:${pubsub.patterns}`,
      `pubsubshard_channels:${pubsub.shardChannels}`,
      "latest_fork_usec:0",
      "total_forks:0",
      "migrate_cached_sockets:0",
      "slave_expires_tracked_keys:0",
      "active_defrag_hits:0",
      "active_defrag_misses:0",
      "active_defrag_key_hits:0",
      "active_defrag_key_misses:0",
      "total_active_defrag_time:0",
      "current_active_defrag_time:0",
      "tracking_total_keys:0",
      "tracking_total_items:0",
      "tracking_total_prefixes:0",
      "unexpected_error_replies:0",
      `total_error_replies:${st.errorReplies}`,
      "dump_payload_sanitizations:0",
      `total_reads_processed:${st.readsProcessed}`,
      `total_writes_processed:${st.writesProcessed}`,
      "io_threaded_reads_processed:0",
      "io_threaded_writes_processed:0",
      "reply_buffer_shrinks:0",
      "reply_buffer_expands:0",
    ];
  },
  replication(s) {
    return replicationInfoLines(s);
  },
  cpu() {
    const u = process.cpuUsage();
    return [
      `used_cpu_sys:${cpuSeconds(u.system)}`,
      `used_cpu_user:${cpuSeconds(u.user)}`,
      "used_cpu_sys_children:0.000000",
      "used_cpu_user_children:0.000000",
      `used_cpu_sys_main_thread:${cpuSeconds(u.system)}`,
      `used_cpu_user_main_thread:${cpuSeconds(u.user)}`,
    ];
  },
  modules() {
    return [];
  },
  commandstats(s) {
    const lines: string[] = [];
    forEachCommand(s, (cmd) => {
      const st = cmd.stats;
      if (st.calls === 0 && st.failedCalls === 0 && st.rejectedCalls === 0) return;
      const usec = Math.floor(st.usec);
      lines.push(
        `cmdstat_${cmd.fullname}:calls=${st.calls},usec=${usec},usec_per_call=${ratio(usec, st.calls)}` +
          `,rejected_calls=${st.rejectedCalls},failed_calls=${st.failedCalls}`,
      );
    });
    return lines;
  },
  errorstats(s) {
    // Redis keeps error codes in a radix tree, so they come out sorted.
    return [...s.stats.errors.entries()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
      .map(([code, count]) => `errorstat_${code}:count=${count}`);
  },
  latencystats(s) {
    const percentiles = configOr<number[]>(s, "latency-tracking-info-percentiles", [50, 99, 99.9]);
    const lines: string[] = [];
    forEachCommand(s, (cmd) => {
      const h = (cmd.stats as TrackedStats).histogram;
      if (h === undefined || cmd.stats.calls === 0) return;
      const parts = percentiles.map((p) => `p${formatPercentile(p)}=${histogramPercentile(h, p).toFixed(3)}`);
      lines.push(`latency_percentiles_usec_${cmd.fullname}:${parts.join(",")}`);
    });
    return lines;
  },
  cluster(s) {
    return [`cluster_enabled:${s.config.bool("cluster-enabled") ? 1 : 0}`];
  },
  keyspace(s) {
    const lines: string[] = [];
    for (const db of s.dbs) {
      if (db.size === 0) continue;
      lines.push(`db${db.id}:keys=${db.size},expires=${db.expiresSize},avg_ttl=${averageTtl(db)}`);
    }
    return lines;
  },
};

/** Calls `fn` for every command and subcommand in the table. */
export function forEachCommand(s: Server, fn: (cmd: Command) => void): void {
  for (const cmd of s.commands.commands.values()) {
    if (cmd.subcommands === null) fn(cmd);
    else for (const sub of cmd.subcommands.values()) fn(sub);
  }
}

/** Estimated average TTL (ms) from the first keys with a TTL, as Redis's avg_ttl is an estimate too. */
function averageTtl(db: Server["dbs"][number]): number {
  if (db.expiresSize === 0) return 0;
  const now = Date.now();
  let sum = 0;
  let n = 0;
  let visited = 0;
  for (const key of db.keys()) {
    if (++visited > AVG_TTL_SAMPLE_KEYS * 10) break;
    const when = db.getExpire(key);
    if (when === -1) continue;
    sum += Math.max(0, when - now);
    if (++n >= AVG_TTL_SAMPLE_KEYS) break;
  }
  return n === 0 ? 0 : Math.floor(sum / n);
}

/** Replaces (or adds) the generator of a section, e.g. replication once it exists. */
export function registerInfoSection(name: string, section: InfoSection): void {
  SECTIONS[name] = section;
}

/** Builds INFO's text for the requested section names (Redis 7.0's genInfoSectionDict rules). */
export function generateInfo(server: Server, args: string[]): string {
  const wanted = new Set<string>();
  let all = false;
  if (args.length === 0) { for (const s of DEFAULT_SECTIONS) wanted.add(s); }
  for (const arg of args) {
    const lower = arg.toLowerCase();
    if (lower === "default") { for (const s of DEFAULT_SECTIONS) wanted.add(s); }
    else if (lower === "all" || lower === "everything") all = true;
    else wanted.add(lower);
  }
  let text = "";
  let sections = 0;
  for (const [name, title] of SECTION_ORDER) {
    const included = all || wanted.has(name) || (name === "modules" && wanted.has("module_list"));
    if (!included) continue;
    if (sections++ > 0) text += "\r\n";
    text += `# ${title}\r\n`;
    for (const line of SECTIONS[name](server)) text += line + "\r\n";
  }
  return text;
}

export const infoCommands: Record<string, Handler> = {
  info(c, argv) {
    c.out.verbatim(generateInfo(c.server, argv.slice(1)));
  },
};
