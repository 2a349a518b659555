/**
 * `deno task bench`: tessera against redis-server (when installed), side by side, on this machine.
 * Throughput and p99 latency from redis-benchmark (SET/GET at pipeline 1 and 16, small and 1 KiB
 * values), alternating the servers over several rounds; then memory per key after loading small keys.
 *
 * Then the data types (redis-benchmark's list/set/hash/zset tests at pipeline 1 and 16, memory per
 * element of 1M-element containers) and the cluster figures: idle gossip per node of 6-master
 * clusters, and `redis-benchmark --cluster` on 3 masters. Then failover (kill -9 of a master of 3 masters +
 * 3 replicas, node timeout 2000 ms: until its replica is master, every node ok, a write succeeds) and the time of a
 * full sync of --keys keys to a fresh replica (scripts/bench/failover.ts). Then resharding: keys/s of
 * `redis-cli --cluster reshard` moving 1000 slots of a --reshard-keys key set, on both, and of tessera's atomic CLUSTER
 * MIGRATESLOTS (scripts/bench/reshard.ts).
 *
 *   deno task bench [--rounds N] [--quick] [--requests N] [--clients N] [--keys N] [--gossip-seconds N]
 *                   [--elements N] [--failover-rounds N] [--tessera-args "..."] [--reshard-keys N]
 *                   [--part all|standalone|types|cluster|failover|reshard]
 */
import { parseArgs } from "node:util";
import { hasCommand, type ServerProcess, startRedis, startTessera } from "../tests/helpers/servers.ts";
import { type BenchConfig, type BenchResult, runBenchmark } from "./bench/redis_benchmark.ts";
import { measureMemory, type MemoryResult } from "./bench/memory.ts";
import { type GossipResult, measureClusterThroughput, measureIdleGossip } from "./bench/cluster.ts";
import { LOADERS, memoryPerElement, TYPE_TESTS } from "./bench/types.ts";
import {
  FAILOVER_NODE_TIMEOUT_MS,
  type FailoverRound,
  measureFailoverRound,
  measureFullSync,
} from "./bench/failover.ts";
import { splitArgs } from "../src/resp/split_args.ts";
import { measureReshard, RESHARD_SLOTS, type ReshardMethod } from "./bench/reshard.ts";

/** The same settings for both servers: no persistence, DEBUG allowed (for DEBUG POPULATE). */
const SERVER_ARGS = ["--save", "", "--appendonly", "no", "--enable-debug-command", "yes"];
/** A redis-benchmark run that takes longer than this is killed and the benchmark fails. */
const RUN_TIMEOUT_MS = 180_000;
/** Fewest requests per `redis-benchmark --cluster` run: enough seconds that its quarter-second rounding is small. */
const CLUSTER_MIN_REQUESTS = 2_000_000;
/** Requests of the warm-up run before the measured rounds. */
const WARMUP_REQUESTS = 50_000;

type ServerName = "tessera" | "redis-server";

/** One figure's samples per server: requests/s and p99 latency (ms) of every round. */
interface Samples {
  rps: Record<ServerName, number[]>;
  p99Ms: Record<ServerName, number[]>;
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "n/a";
}

function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? (a / b).toFixed(2) : "n/a";
}

async function main(): Promise<number> {
  const { values: flags } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      rounds: { type: "string" },
      requests: { type: "string" },
      clients: { type: "string" },
      keys: { type: "string" },
      "gossip-seconds": { type: "string" },
      elements: { type: "string" },
      part: { type: "string", default: "all" },
      "failover-rounds": { type: "string" },
      "tessera-args": { type: "string" },
      "reshard-keys": { type: "string" },
    },
  });
  const part = flags.part;
  if (!["all", "standalone", "types", "cluster", "failover", "reshard"].includes(part)) {
    console.error("--part takes all, standalone, types, cluster, failover or reshard");
    return 2;
  }
  const quick = flags.quick;
  const rounds = Number(flags.rounds ?? (quick ? 1 : 3));
  const requests = Number(flags.requests ?? (quick ? 20_000 : 200_000));
  const clients = Number(flags.clients ?? 50);
  const keys = Number(flags.keys ?? (quick ? 100_000 : 1_000_000));
  const gossipSeconds = Number(flags["gossip-seconds"] ?? (quick ? 5 : 30));
  const elements = Number(flags.elements ?? (quick ? 100_000 : 1_000_000));
  const failoverRounds = Number(flags["failover-rounds"] ?? (quick ? 1 : 5));
  const reshardKeys = Number(flags["reshard-keys"] ?? 100_000);
  const numbers = [rounds, requests, clients, keys, gossipSeconds, elements, failoverRounds, reshardKeys];
  if (!numbers.every((n) => Number.isInteger(n) && n > 0)) {
    console.error(
      "--rounds, --requests, --clients, --keys, --gossip-seconds, --elements, --failover-rounds and --reshard-keys take positive integers",
    );
    return 2;
  }
  const tesseraArgs = splitArgs(flags["tessera-args"] ?? "");
  if (tesseraArgs === null) {
    console.error("--tessera-args: unbalanced quotes");
    return 2;
  }
  if (!hasCommand("redis-benchmark")) {
    console.error("redis-benchmark is not installed (apt-get install -y redis-tools)");
    return 1;
  }
  const withRedis = hasCommand("redis-server");
  if (!withRedis) console.log("redis-server is not installed: measuring tessera alone");

  const configs: (BenchConfig & { label: string })[] = [];
  for (const dataSize of [3, 1024]) {
    for (const pipeline of [1, 16]) {
      configs.push({
        label: `-P ${pipeline} -d ${dataSize}`,
        tests: ["set", "get"],
        requests,
        clients,
        pipeline,
        dataSize,
      });
    }
  }
  const samples = new Map<string, Samples>();
  const figure = (key: string): Samples => {
    let s = samples.get(key);
    if (!s) {
      samples.set(key, s = { rps: { tessera: [], "redis-server": [] }, p99Ms: { tessera: [], "redis-server": [] } });
    }
    return s;
  };

  const servers: ServerProcess[] = [];
  const stopAll = () => Promise.all(servers.splice(0).map((s) => s.stop()));
  const onSignal = () => {
    stopAll().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    if (part === "all" || part === "standalone") await standalone();
    if (part === "all" || part === "types") await types();
    if (part === "all" || part === "cluster") await cluster();
    if (part === "all" || part === "failover") await failover();
    if (part === "all" || part === "reshard") await reshard();
    return 0;
  } finally {
    await stopAll();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }

  async function types(): Promise<void> {
    const names: ServerName[] = withRedis ? ["tessera", "redis-server"] : ["tessera"];
    console.log(`data types: redis-benchmark -t ${TYPE_TESTS.join(",")} -n ${requests} -c ${clients}`);
    const rps = new Map<string, Record<ServerName, number[]>>();
    for (let round = 0; round < rounds; round++) {
      for (const name of round % 2 === 0 ? names : [...names].reverse()) {
        for (const pipeline of [1, 16]) {
          // A fresh server per run: LPOP/SPOP/ZPOPMIN consume what the pushes before them stored.
          const proc = name === "tessera" ? await startTessera(SERVER_ARGS) : await startRedis(SERVER_ARGS);
          servers.push(proc);
          const cfg = { tests: TYPE_TESTS, requests, clients, pipeline, dataSize: 3 };
          const results = await runBenchmark(proc.port, cfg, RUN_TIMEOUT_MS);
          for (const r of results) {
            const key = `${r.test.split(" ")[0]} -P ${pipeline}`;
            if (!rps.has(key)) rps.set(key, { tessera: [], "redis-server": [] });
            rps.get(key)![name].push(r.rps);
          }
          console.log(`  round ${round + 1} -P ${pipeline} ${name}: done`);
          await stopAll();
        }
      }
    }
    const lines = ["", "| data-type figure | tessera rps | redis-server rps | ratio |", "| --- | ---: | ---: | ---: |"];
    for (const [key, s] of rps) {
      const [t, r] = [median(s.tessera), median(s["redis-server"])];
      lines.push(`| ${key} | ${fmt(t)} | ${fmt(r)} | ${ratio(t, r)} |`);
    }
    console.log(`memory: one key of ${elements} elements per type, INFO used_memory per element`);
    lines.push(
      "",
      "| container, 1 key | tessera B/element | redis-server B/element | ratio |",
      "| --- | ---: | ---: | ---: |",
    );
    for (const loader of LOADERS) {
      const perElement: Partial<Record<ServerName, number>> = {};
      for (const name of names) {
        const proc = name === "tessera" ? await startTessera(SERVER_ARGS) : await startRedis(SERVER_ARGS);
        servers.push(proc);
        perElement[name] = await memoryPerElement(proc.port, loader, elements);
        await stopAll();
      }
      const [t, r] = [perElement.tessera ?? NaN, perElement["redis-server"] ?? NaN];
      console.log(`  ${loader.type}: tessera ${fmt(t, 1)}, redis-server ${fmt(r, 1)} B/element`);
      lines.push(`| ${loader.type} | ${fmt(t, 1)} | ${fmt(r, 1)} | ${ratio(t, r)} |`);
    }
    console.log(lines.join("\n"));
  }

  async function cluster(): Promise<void> {
    const names: ("tessera" | "redis-server")[] = withRedis ? ["tessera", "redis-server"] : ["tessera"];
    console.log(`cluster: idle gossip of 6-master clusters over ${gossipSeconds} s (node timeout 15000 ms)`);
    const gossip = new Map<string, GossipResult>();
    for (const name of names) {
      const g = await measureIdleGossip(name, gossipSeconds);
      gossip.set(name, g);
      console.log(`  ${name}: ${fmt(g.messagesPerSecond, 1)} msgs/s, ${fmt(g.bytesPerSecond)} bytes/s per node`);
    }
    // redis-benchmark --cluster runs threads and notices the end of a test only on its 250 ms timer, so the time it
    // reports is rounded up to a quarter second: 200k requests (about 1 s) made every figure 1.0, 1.25 or 1.5 s.
    const clusterRequests = quick ? requests : Math.max(requests, CLUSTER_MIN_REQUESTS);
    console.log(`cluster: redis-benchmark --cluster -t set,get -n ${clusterRequests} -c ${clients}, 3 masters`);
    const rps = new Map<string, Map<string, number>>();
    for (let round = 0; round < rounds; round++) {
      for (const name of round % 2 === 0 ? names : [...names].reverse()) {
        const r = await measureClusterThroughput(name, clusterRequests, clients);
        for (const [test, value] of r) {
          const key = `${test} ${name}`;
          if (!rps.has(key)) rps.set(key, new Map());
          rps.get(key)!.set(String(round), value);
        }
        console.log(`  round ${round + 1} ${name}: ${[...r].map(([t, v]) => `${t} ${fmt(v)} rps`).join(", ")}`);
      }
    }
    const t = gossip.get("tessera")!;
    const r = gossip.get("redis-server");
    const lines = [
      "",
      "| cluster figure | tessera | redis-server | ratio |",
      "| --- | ---: | ---: | ---: |",
      `| idle gossip msgs/s per node | ${fmt(t.messagesPerSecond, 1)} | ${fmt(r?.messagesPerSecond ?? NaN, 1)} | ${
        ratio(t.messagesPerSecond, r?.messagesPerSecond ?? NaN)
      } |`,
      `| idle gossip bytes/s per node | ${fmt(t.bytesPerSecond)} | ${fmt(r?.bytesPerSecond ?? NaN)} | ${
        ratio(t.bytesPerSecond, r?.bytesPerSecond ?? NaN)
      } |`,
    ];
    for (const test of ["SET", "GET"]) {
      const tm = median([...(rps.get(`${test} tessera`)?.values() ?? [])]);
      const rm = median([...(rps.get(`${test} redis-server`)?.values() ?? [])]);
      lines.push(`| redis-benchmark --cluster ${test} rps | ${fmt(tm)} | ${fmt(rm)} | ${ratio(tm, rm)} |`);
    }
    console.log(lines.join("\n"));
  }

  async function reshard(): Promise<void> {
    console.log(
      `resharding: ${RESHARD_SLOTS} slots of a ${reshardKeys}-key set between two of 3 masters, ${rounds} round(s)`,
    );
    const runs: { label: string; kind: "tessera" | "redis-server"; method: ReshardMethod }[] = [
      { label: "tessera redis-cli reshard", kind: "tessera", method: "redis-cli reshard" },
      { label: "tessera MIGRATESLOTS", kind: "tessera", method: "MIGRATESLOTS" },
    ];
    if (withRedis) {
      runs.push({ label: "redis-server redis-cli reshard", kind: "redis-server", method: "redis-cli reshard" });
    }
    const rates = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const run of round % 2 === 0 ? runs : [...runs].reverse()) {
        const r = await measureReshard(run.kind, run.method, reshardKeys);
        const rate = r.keys / (r.ms / 1000);
        rates.set(run.label, [...(rates.get(run.label) ?? []), rate]);
        console.log(`  round ${round + 1} ${run.label}: ${r.keys} keys in ${fmt(r.ms)} ms, ${fmt(rate)} keys/s`);
      }
    }
    const m = (label: string) => median(rates.get(label) ?? []);
    const redisRate = m("redis-server redis-cli reshard");
    const tesseraRate = m("tessera redis-cli reshard");
    const atomicRate = m("tessera MIGRATESLOTS");
    console.log([
      "",
      `Medians of ${rounds} round(s), keys moved per second.`,
      "",
      "| figure | keys/s | ratio |",
      "| --- | ---: | ---: |",
      `| redis-cli --cluster reshard, redis-server | ${fmt(redisRate)} | 1.00 |`,
      `| redis-cli --cluster reshard, tessera | ${fmt(tesseraRate)} | ${ratio(tesseraRate, redisRate)} |`,
      `| CLUSTER MIGRATESLOTS, tessera (vs tessera's reshard) | ${fmt(atomicRate)} | ${
        ratio(atomicRate, tesseraRate)
      } |`,
    ].join("\n"));
  }

  async function failover(): Promise<void> {
    // tessera with defaults, tessera with the extra directives (when given), redis-server.
    const runs: { label: string; kind: "tessera" | "redis-server"; extra: string[] }[] = [
      { label: "tessera", kind: "tessera", extra: [] },
    ];
    if (tesseraArgs!.length > 0) {
      runs.push({ label: `tessera ${tesseraArgs!.join(" ")}`, kind: "tessera", extra: tesseraArgs! });
    }
    if (withRedis) runs.push({ label: "redis-server", kind: "redis-server", extra: [] });
    console.log(
      `failover: kill -9 of a master, 3 masters + 3 replicas, node timeout ${FAILOVER_NODE_TIMEOUT_MS} ms, ` +
        `${failoverRounds} round(s)`,
    );
    // A kind that cannot fail over yet (tessera before replication) is reported and the others still run.
    const failures: string[] = [];
    const failovers = new Map<string, FailoverRound[]>();
    const failoverFailed = new Set<string>();
    for (let round = 0; round < failoverRounds; round++) {
      for (const run of round % 2 === 0 ? runs : [...runs].reverse()) {
        if (failoverFailed.has(run.label)) continue;
        try {
          const r = await measureFailoverRound(run.kind, round, run.extra);
          if (!failovers.has(run.label)) failovers.set(run.label, []);
          failovers.get(run.label)!.push(r);
          console.log(
            `  round ${round + 1} ${run.label}: promoted ${fmt(r.promotedMs)} ms, every node ok ` +
              `${fmt(r.allOkMs)} ms, write ${fmt(r.writeMs)} ms`,
          );
        } catch (err) {
          failoverFailed.add(run.label);
          failures.push(`failover, ${run.label}: ${(err as Error).message}`);
          console.log(`  ${run.label} FAILED: ${(err as Error).message}`);
        }
      }
    }
    console.log(`full sync: a fresh replica of a master holding ${keys} keys, ${failoverRounds} round(s)`);
    const syncs = new Map<string, number[]>();
    const syncFailed = new Set<string>();
    for (let round = 0; round < failoverRounds; round++) {
      for (const run of round % 2 === 0 ? runs : [...runs].reverse()) {
        if (syncFailed.has(run.label)) continue;
        try {
          const ms = await measureFullSync(run.kind, keys, run.extra);
          if (!syncs.has(run.label)) syncs.set(run.label, []);
          syncs.get(run.label)!.push(ms);
          console.log(`  round ${round + 1} ${run.label}: ${fmt(ms)} ms`);
        } catch (err) {
          syncFailed.add(run.label);
          failures.push(`full sync, ${run.label}: ${(err as Error).message}`);
          console.log(`  ${run.label} FAILED: ${(err as Error).message}`);
        }
      }
    }
    const redis = "redis-server";
    const labels = runs.map((r) => r.label);
    const lines = [
      "",
      `Medians of ${failoverRounds} round(s), ms; ratio = tessera / redis-server.`,
      "",
      `| figure | ${labels.join(" | ")} | ${labels.filter((l) => l !== redis).map((l) => `ratio ${l}`).join(" | ")} |`,
      `| --- |${" ---: |".repeat(labels.length * 2 - (withRedis ? 1 : 0))}`,
    ];
    const row = (figure: string, value: (label: string) => number) => {
      const values = labels.map(value);
      const r = value(redis);
      const ratios = labels.filter((l) => l !== redis).map((l) => ratio(value(l), withRedis ? r : NaN));
      lines.push(`| ${figure} | ${values.map((v) => fmt(v)).join(" | ")} | ${ratios.join(" | ")} |`);
    };
    const pick = (f: keyof FailoverRound) => (label: string) => median((failovers.get(label) ?? []).map((r) => r[f]));
    row("kill -9 to replica is master", pick("promotedMs"));
    row("kill -9 to every node ok", pick("allOkMs"));
    row("kill -9 to a write to its slots succeeds", pick("writeMs"));
    row(`full sync of ${keys} keys`, (label) => median(syncs.get(label) ?? []));
    console.log(lines.join("\n"));
    if (failures.length > 0) throw new Error(`the failover part failed:\n${failures.join("\n")}`);
  }

  async function standalone(): Promise<void> {
    console.log(`throughput: redis-benchmark -t set,get -n ${requests} -c ${clients}, ${rounds} round(s)`);
    const targets: [ServerName, ServerProcess][] = [["tessera", await startTessera(SERVER_ARGS)]];
    servers.push(targets[0][1]);
    if (withRedis) {
      const redis = await startRedis(SERVER_ARGS);
      servers.push(redis);
      targets.push(["redis-server", redis]);
    }
    // A discarded warm-up, so tessera's JIT is not measured compiling in the first figure.
    for (const [, proc] of targets) {
      await runBenchmark(proc.port, { ...configs[0], requests: WARMUP_REQUESTS, pipeline: 16 }, RUN_TIMEOUT_MS);
    }
    for (let round = 0; round < rounds; round++) {
      for (const cfg of configs) {
        // Alternate which server goes first so drift (thermal, caches) does not favour one.
        const order = round % 2 === 0 ? targets : [...targets].reverse();
        for (const [name, proc] of order) {
          const results: BenchResult[] = await runBenchmark(proc.port, cfg, RUN_TIMEOUT_MS);
          for (const r of results) {
            const f = figure(`${r.test} ${cfg.label}`);
            f.rps[name].push(r.rps);
            f.p99Ms[name].push(r.p99Ms);
          }
          const line = results.map((r) => `${r.test} ${fmt(r.rps)} rps p99 ${r.p99Ms} ms`).join(", ");
          console.log(`  round ${round + 1} ${cfg.label} ${name}: ${line}`);
        }
      }
    }
    await stopAll();

    console.log(`memory: ${keys} small keys into fresh servers`);
    const memory = new Map<ServerName, MemoryResult>();
    for (const [name, start] of [["tessera", startTessera], ["redis-server", startRedis]] as const) {
      if (name === "redis-server" && !withRedis) continue;
      const proc = await start(SERVER_ARGS);
      servers.push(proc);
      const m = await measureMemory(proc.port, proc.pid, keys);
      memory.set(name, m);
      console.log(
        `  ${name} (${m.method}): used_memory ${fmt(m.usedMemoryPerKey ?? NaN)} B/key, RSS ${fmt(m.rssPerKey)} B/key`,
      );
      await stopAll();
    }

    printTable(samples, memory, { rounds, requests, clients, keys });
  }
}

/** The final markdown table, ready for the README. */
function printTable(
  samples: Map<string, Samples>,
  memory: Map<ServerName, MemoryResult>,
  run: { rounds: number; requests: number; clients: number; keys: number },
): void {
  const lines = [
    "",
    `Medians of ${run.rounds} round(s), redis-benchmark -n ${run.requests} -c ${run.clients}; ratio = tessera / redis-server.`,
    "",
    "| figure | tessera rps | redis-server rps | rps ratio | tessera p99 ms | redis-server p99 ms | p99 ratio |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const [key, s] of samples) {
    const [tr, rr] = [median(s.rps.tessera), median(s.rps["redis-server"])];
    const [tp, rp] = [median(s.p99Ms.tessera), median(s.p99Ms["redis-server"])];
    lines.push(
      `| ${key} | ${fmt(tr)} | ${fmt(rr)} | ${ratio(tr, rr)} | ${fmt(tp, 3)} | ${fmt(rp, 3)} | ${ratio(tp, rp)} |`,
    );
  }
  const t = memory.get("tessera");
  const r = memory.get("redis-server");
  const used = (m?: MemoryResult) => fmt(m?.usedMemoryPerKey ?? NaN);
  const rss = (m?: MemoryResult) => fmt(m?.rssPerKey ?? NaN);
  lines.push(
    "",
    `Memory after loading ${run.keys} keys (\`key:N\` = \`value:N\`), bytes per key. used_memory is each server's INFO`,
    "figure: redis-server's allocator count; tessera's V8 heap in use. RSS is the VmRSS growth of the process.",
    "",
    "| measure | tessera | redis-server | ratio |",
    "| --- | ---: | ---: | ---: |",
    `| INFO used_memory / key | ${used(t)} | ${used(r)} | ${
      ratio(t?.usedMemoryPerKey ?? NaN, r?.usedMemoryPerKey ?? NaN)
    } |`,
    `| RSS delta / key | ${rss(t)} | ${rss(r)} | ${ratio(t?.rssPerKey ?? NaN, r?.rssPerKey ?? NaN)} |`,
  );
  if (t) lines.push("", `tessera loaded its keys with ${t.method}.`);
  console.log(lines.join("\n"));
}

if (import.meta.main) Deno.exit(await main());
