/**
 * `deno task cluster`: a local tessera cluster of 3 masters and 3 replicas on 127.0.0.1:30001-30006 (buses
 * 40001-40006), node timeout 2000 ms, data under ./cluster-data/<port>/. The nodes run detached, so they keep
 * running after this script exits. Run with --help for the commands and flags.
 */
import { parseArgs } from "node:util";
import { splitArgs } from "../src/resp/split_args.ts";
import { createCluster, ReplicateUnsupportedError } from "./cluster/create.ts";
import { type ClusterLayout, layoutPorts, makeLayout } from "./cluster/layout.ts";
import { nodeFiles, runningPid, startNode, stopNode, waitReady } from "./cluster/processes.ts";
import { DEFAULT_CALL_TIMEOUT_MS } from "./cluster/rpc.ts";
import { takeSnapshot } from "./cluster/snapshot.ts";
import { renderTable, summarize } from "./cluster/table.ts";
import { watch } from "./cluster/watch.ts";

const USAGE = `deno task cluster [command] [flags]

A local tessera cluster: 3 masters + 3 replicas on 127.0.0.1:30001-30006 (bus ports +10000).

commands:
  (none)   start the nodes that are not running, create the cluster if it does not exist yet, show the status
  start    start the nodes that are not running (detached: they outlive this script)
  create   start the nodes if needed, then join them: slots split evenly over the masters (ADDSLOTSRANGE),
           CLUSTER MEET, CLUSTER REPLICATE (with base 30001: 30004 -> 30001, 30005 -> 30002, 30006 -> 30003),
           and wait for cluster_state:ok on every node; steps already done are skipped
  stop     SIGTERM every node (by its pid file) and wait until it has exited (SIGKILL after --stop-grace ms)
  status   one line per node: process, role, slots, config epoch, cluster_state, replica link, FAIL flags
  clean    stop, then delete every node's folder (<dir>/<port>) and <dir> if it is then empty
  watch    a live view refreshed every --interval ms until Ctrl-C, with events such as
           "30001 failed, 30004 promoted"

flags:
  --base-port N      first client port (default 30001); the nodes use N .. N+count-1
  --dir PATH         data folder (default ./cluster-data); each node keeps nodes.conf, node.log, node.pid in
                     PATH/<port>/
  --node-timeout MS  cluster-node-timeout of every node (default 2000)
  --masters N        number of masters (default 3)
  --replicas N       replicas per master (default 1)
  --node-args "..."  more directives for every node, e.g. --node-args "--loglevel verbose --appendonly yes"
  --host IP          the address nodes are met at (default 127.0.0.1)
  --timeout MS       bound for start-up and for create (default 60000)
  --stop-grace MS    how long stop waits after SIGTERM before SIGKILL (default 10000)
  --interval MS      watch refresh period (default 500)
  --frames N         watch: stop after N frames (default: until Ctrl-C)
  -h, --help         this text

Connect with: redis-cli -c -p 30001`;

/** The parsed command line. */
interface Options {
  command: string;
  dir: string;
  layout: ClusterLayout;
  ports: number[];
  host: string;
  nodeTimeoutMs: number;
  nodeArgs: string[];
  timeoutMs: number;
  stopGraceMs: number;
  intervalMs: number;
  frames?: number;
}

class UsageError extends Error {}

function positiveInt(flags: Record<string, unknown>, name: string, fallback: number, min = 1): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} takes an integer >= ${min}, got ${raw}`);
  return n;
}

function parseOptions(args: string[]): Options | null {
  const { values: flags, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      "base-port": { type: "string" },
      dir: { type: "string" },
      "node-timeout": { type: "string" },
      masters: { type: "string" },
      replicas: { type: "string" },
      "node-args": { type: "string" },
      host: { type: "string" },
      timeout: { type: "string" },
      "stop-grace": { type: "string" },
      interval: { type: "string" },
      frames: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (flags.help) return null;
  if (positionals.length > 1) throw new UsageError(`one command at most, got: ${positionals.join(" ")}`);
  const command = positionals[0] ?? "";
  if (!["", "start", "create", "stop", "status", "clean", "watch"].includes(command)) {
    throw new UsageError(`unknown command '${command}'`);
  }
  const basePort = positiveInt(flags, "base-port", 30001);
  const masters = positiveInt(flags, "masters", 3);
  const replicas = positiveInt(flags, "replicas", 1, 0);
  const layout = makeLayout(basePort, masters, replicas);
  const ports = layoutPorts(layout);
  if (ports[ports.length - 1] + 10000 > 65535) throw new UsageError("the bus ports (client port + 10000) exceed 65535");
  const nodeArgs = splitArgs(flags["node-args"] ?? "");
  if (nodeArgs === null) throw new UsageError("--node-args: unbalanced quotes");
  return {
    command,
    dir: flags.dir ?? "./cluster-data",
    layout,
    ports,
    host: flags.host ?? "127.0.0.1",
    nodeTimeoutMs: positiveInt(flags, "node-timeout", 2000),
    nodeArgs,
    timeoutMs: positiveInt(flags, "timeout", 60_000),
    stopGraceMs: positiveInt(flags, "stop-grace", 10_000),
    intervalMs: positiveInt(flags, "interval", 500),
    frames: flags.frames === undefined ? undefined : positiveInt(flags, "frames", 1),
  };
}

/** Starts every node that is not running and waits until all answer; returns how many were started. */
async function start(opts: Options): Promise<number> {
  console.log(`>>> Starting ${opts.ports.length} nodes in ${opts.dir}`);
  const started: { port: number; pid: number }[] = [];
  for (const port of opts.ports) {
    const r = await startNode({ baseDir: opts.dir, port, nodeTimeoutMs: opts.nodeTimeoutMs, extraArgs: opts.nodeArgs });
    if (r.started) started.push({ port, pid: r.pid });
    else console.log(`    ${port} already running (pid ${r.pid})`);
  }
  await Promise.all(started.map(({ port, pid }) => waitReady(opts.dir, port, pid, opts.timeoutMs)));
  for (const { port, pid } of started) {
    console.log(`    ${port} started (pid ${pid}), log ${nodeFiles(opts.dir, port).logFile}`);
  }
  return started.length;
}

async function create(opts: Options): Promise<void> {
  const t0 = Date.now();
  const { changed } = await createCluster(opts.layout, {
    host: opts.host,
    timeoutMs: opts.timeoutMs,
    progress: (line) => console.log(line),
  });
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  console.log(changed ? `>>> Cluster created in ${seconds} s` : ">>> The cluster exists already: nothing to do");
}

async function stop(opts: Options): Promise<void> {
  const results = await Promise.all(opts.ports.map((port) => stopNode(opts.dir, port, opts.stopGraceMs)));
  for (const [i, r] of results.entries()) {
    const port = opts.ports[i];
    console.log(
      r === null
        ? `    ${port} was not running`
        : `    ${port} stopped (pid ${r.pid}${r.killed ? `, SIGKILL after ${opts.stopGraceMs} ms` : ""})`,
    );
  }
}

async function clean(opts: Options): Promise<void> {
  await stop(opts);
  for (const port of opts.ports) await Deno.remove(nodeFiles(opts.dir, port).dir, { recursive: true }).catch(() => {});
  // Only the node folders are removed recursively: --dir may point at a folder holding other things.
  await Deno.remove(opts.dir).catch(() => {});
  console.log(`    removed the node folders under ${opts.dir}`);
}

function pidOf(opts: Options): (port: number) => number | null {
  return (port) => runningPid(nodeFiles(opts.dir, port));
}

async function status(opts: Options): Promise<void> {
  const snap = await takeSnapshot(opts.ports, DEFAULT_CALL_TIMEOUT_MS);
  for (const line of renderTable(snap, pidOf(opts))) console.log(line);
  console.log(summarize(snap));
}

function printConnectHint(opts: Options): void {
  console.log(`\nConnect with: redis-cli -c -p ${opts.ports[0]}    (live view: deno task cluster watch)`);
}

async function main(args: string[]): Promise<number> {
  let opts: Options | null;
  try {
    opts = parseOptions(args);
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === null) {
    console.log(USAGE);
    return 0;
  }
  try {
    switch (opts.command) {
      case "start":
        await start(opts);
        break;
      case "create":
        await start(opts);
        await create(opts);
        printConnectHint(opts);
        break;
      case "":
        await start(opts);
        await create(opts);
        await status(opts);
        printConnectHint(opts);
        break;
      case "stop":
        await stop(opts);
        break;
      case "clean":
        await clean(opts);
        break;
      case "status":
        await status(opts);
        break;
      case "watch": {
        let stopped = false;
        const onSigint = () => stopped = true;
        Deno.addSignalListener("SIGINT", onSigint);
        const encoder = new TextEncoder();
        try {
          await watch({
            ports: opts.ports,
            pidOf: pidOf(opts),
            intervalMs: opts.intervalMs,
            frames: opts.frames,
            redraw: Deno.stdout.isTerminal(),
            stopped: () => stopped,
            write: (text) => {
              const bytes = encoder.encode(text);
              for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
            },
          });
        } finally {
          Deno.removeSignalListener("SIGINT", onSigint);
        }
        break;
      }
    }
    return 0;
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    if (err instanceof ReplicateUnsupportedError) await status(opts);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
