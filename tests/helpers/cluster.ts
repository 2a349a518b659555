/**
 * Cluster test helpers: ports whose bus port is free too, tessera and redis-server cluster nodes in their own
 * temporary dirs, `redis-cli --cluster create`, polling until a condition holds, and parsers for CLUSTER NODES /
 * CLUSTER INFO. Every process started here is registered with the serverTest context, so it is stopped by PID.
 */
import assert from "node:assert/strict";
import { RespConnection } from "../../src/resp/connection.ts";
import { RespError, type RespValue } from "../../src/resp/reply_parser.ts";
import { CLUSTER_SLOTS, keyHashSlot } from "../../src/cluster/slots.ts";
import { type ServerProcess, startRedis } from "./servers.ts";
import type { ServerTestContext } from "./test.ts";

/** The bus port is the client port plus this (Redis's CLUSTER_PORT_INCR). */
export const BUS_PORT_OFFSET = 10000;
/** Client ports are drawn from [FIRST, FIRST + COUNT): below Linux's ephemeral range, with buses in 30000-39999. */
const CLUSTER_PORT_FIRST = 20000;
const CLUSTER_PORT_COUNT = 10000;
/** Node timeout for tests: short, so failure detection takes about a second. */
export const TEST_NODE_TIMEOUT_MS = 1000;
/** How often conditions are polled. */
export const POLL_INTERVAL_MS = 50;
/** Bound for one RESP call made by these helpers (a stopped node must not hang a test silently). */
const CALL_TIMEOUT_MS = 5000;
const MAIN_TS = new URL("../../main.ts", import.meta.url).pathname;

/** Ports handed out by this process, so two nodes started close together never get the same one. */
const handedOut = new Set<number>();

function canListen(port: number): boolean {
  try {
    Deno.listen({ hostname: "0.0.0.0", port }).close();
    return true;
  } catch {
    return false;
  }
}

/** A client port that is free and whose bus port (port + 10000) is free too. */
export function freeClusterPort(): number {
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = CLUSTER_PORT_FIRST + Math.floor(Math.random() * CLUSTER_PORT_COUNT);
    if (handedOut.has(port)) continue;
    if (!canListen(port) || !canListen(port + BUS_PORT_OFFSET)) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error("no free port pair (port, port + 10000) found");
}

/**
 * The first of `count` consecutive client ports that are free with their bus ports (port + 10000), for tools that
 * take a base port (`deno task cluster --base-port`).
 */
export function freeClusterPortRun(count: number): number {
  for (let attempt = 0; attempt < 500; attempt++) {
    const base = CLUSTER_PORT_FIRST + Math.floor(Math.random() * (CLUSTER_PORT_COUNT - count));
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if (ports.some((port) => handedOut.has(port))) continue;
    if (!ports.every((port) => canListen(port) && canListen(port + BUS_PORT_OFFSET))) continue;
    for (const port of ports) handedOut.add(port);
    return base;
  }
  throw new Error(`no run of ${count} free port pairs (port, port + 10000) found`);
}

/** A cluster node under test: a tessera or redis-server process, its port and its own dir. */
export interface ClusterNodeProcess {
  kind: "tessera" | "redis";
  port: number;
  /** The node's working dir (nodes.conf lives there); tessera only, redis-server uses startRedis's temp dir. */
  dir: string;
  proc: ServerProcess;
}

/** Options for a cluster node. */
export interface ClusterNodeOptions {
  port?: number;
  /** Reuse a dir (e.g. to restart a node on its nodes.conf); a fresh temporary dir otherwise. */
  dir?: string;
  nodeTimeoutMs?: number;
  /** More `--directive value` arguments. */
  args?: string[];
}

/** A fresh temporary dir, removed when the test ends. */
export async function tempDir(t: ServerTestContext, prefix = "tessera-cluster-"): Promise<string> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix }));
  t.defer(() => Deno.remove(dir, { recursive: true }).catch(() => {}));
  return dir;
}

/** The arguments that make a tessera node a cluster node in `dir`. */
export function clusterArgs(port: number, dir: string, nodeTimeoutMs: number, extra: string[] = []): string[] {
  return [
    "--port",
    String(port),
    "--cluster-enabled",
    "yes",
    "--cluster-node-timeout",
    String(nodeTimeoutMs),
    "--dir",
    dir,
    ...extra,
  ];
}

/** Starts a tessera cluster node (own dir, bus on port + 10000) and waits until it accepts clients. */
export async function startTesseraNode(
  t: ServerTestContext,
  opts: ClusterNodeOptions = {},
): Promise<ClusterNodeProcess> {
  const port = opts.port ?? freeClusterPort();
  const dir = opts.dir ?? await tempDir(t);
  const args = clusterArgs(port, dir, opts.nodeTimeoutMs ?? TEST_NODE_TIMEOUT_MS, opts.args);
  const proc = await t.tessera(args, { port });
  // A node a test SIGSTOPped must be continued, or its SIGTERM waits for the 3 s SIGKILL fallback.
  t.defer(() => {
    try {
      Deno.kill(proc.pid, "SIGCONT");
    } catch {
      // gone
    }
  });
  return { kind: "tessera", port, dir, proc };
}

/** Starts Debian's redis-server as a cluster node (its own temp dir) and waits until it accepts clients. */
export async function startRedisNode(
  t: ServerTestContext,
  opts: Omit<ClusterNodeOptions, "dir"> = {},
): Promise<ClusterNodeProcess> {
  const port = opts.port ?? freeClusterPort();
  const proc = await startRedis([
    "--cluster-enabled",
    "yes",
    "--cluster-node-timeout",
    String(opts.nodeTimeoutMs ?? TEST_NODE_TIMEOUT_MS),
    ...(opts.args ?? []),
  ], { port });
  t.defer(async () => {
    try {
      Deno.kill(proc.pid, "SIGCONT");
    } catch {
      // gone
    }
    await proc.stop();
  });
  return { kind: "redis", port, dir: "", proc };
}

/** SIGKILLs a node and waits until the process is gone. */
export async function killNode(node: ClusterNodeProcess): Promise<void> {
  try {
    Deno.kill(node.proc.pid, "SIGKILL");
  } catch {
    // already gone
  }
  await node.proc.child.status;
}

/** Sends one command on a fresh connection; error replies come back as RespError values. */
export async function call(port: number, ...args: string[]): Promise<RespValue> {
  const conn = await RespConnection.connect(port);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      conn.call(...args),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${args.join(" ")} on port ${port}: no reply in ${CALL_TIMEOUT_MS} ms`)),
          CALL_TIMEOUT_MS,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    conn.close();
  }
}

/** Like `call`, but an error reply throws (with the command and port in the message). */
export async function callOk(port: number, ...args: string[]): Promise<RespValue> {
  const reply = await call(port, ...args);
  if (reply instanceof RespError) throw new Error(`${args.join(" ")} on port ${port}: ${reply.message}`);
  return reply;
}

/** One line of CLUSTER NODES, split into its fields. */
export interface NodesLine {
  id: string;
  ip: string;
  port: number;
  cport: number;
  flags: string[];
  master: string;
  pingSent: number;
  pongRecv: number;
  configEpoch: number;
  linkState: string;
  /** Slot tokens as printed (`0-5460`, `7`, `[12->-id]`). */
  slots: string[];
}

/** Parses CLUSTER NODES text (every line ends with `\n`). */
export function parseClusterNodes(text: string): NodesLine[] {
  assert.ok(text === "" || text.endsWith("\n"), `CLUSTER NODES text must end with a newline: ${JSON.stringify(text)}`);
  return text.split("\n").filter((line) => line !== "").map((line) => {
    const fields = line.split(" ");
    assert.ok(fields.length >= 8, `CLUSTER NODES line with fewer than 8 fields: ${line}`);
    const address = fields[1].split(",")[0];
    const at = address.lastIndexOf("@");
    const colon = address.lastIndexOf(":", at);
    return {
      id: fields[0],
      ip: address.slice(0, colon),
      port: Number(address.slice(colon + 1, at)),
      cport: Number(address.slice(at + 1)),
      flags: fields[2].split(","),
      master: fields[3],
      pingSent: Number(fields[4]),
      pongRecv: Number(fields[5]),
      configEpoch: Number(fields[6]),
      linkState: fields[7],
      slots: fields.slice(8),
    };
  });
}

/** CLUSTER NODES of the node on `port`, parsed. */
export async function clusterNodes(port: number): Promise<NodesLine[]> {
  const text = await callOk(port, "CLUSTER", "NODES");
  assert.equal(typeof text, "string", `CLUSTER NODES on ${port} is a bulk string`);
  return parseClusterNodes(text as string);
}

/** CLUSTER INFO of the node on `port`, as field -> value. */
export async function clusterInfo(port: number): Promise<Record<string, string>> {
  const text = await callOk(port, "CLUSTER", "INFO");
  assert.equal(typeof text, "string", `CLUSTER INFO on ${port} is a bulk string`);
  const fields: Record<string, string> = {};
  for (const line of (text as string).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

/** node id -> its slot tokens joined by spaces, for comparing the views of different nodes. */
export function slotMap(lines: NodesLine[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of [...lines].sort((a, b) => a.id.localeCompare(b.id))) {
    map.set(line.id, line.slots.filter((s) => !s.startsWith("[")).join(" "));
  }
  return map;
}

/** The line about `id` in a CLUSTER NODES view; fails if the node is not known. */
export function lineOf(lines: NodesLine[], id: string): NodesLine {
  const line = lines.find((l) => l.id === id);
  assert.ok(line !== undefined, `node ${id} not in CLUSTER NODES:\n${describeLines(lines)}`);
  return line;
}

/** CLUSTER NODES lines again as text, for failure messages. */
export function describeLines(lines: NodesLine[]): string {
  return lines.map((l) =>
    `${l.id} ${l.ip}:${l.port}@${l.cport} ${l.flags.join(",")} ${l.master} ${l.pingSent} ${l.pongRecv} ` +
    `${l.configEpoch} ${l.linkState} ${l.slots.join(" ")}`.trimEnd()
  ).join("\n");
}

/** CLUSTER MYID of the node on `port`. */
export async function myId(port: number): Promise<string> {
  const id = await callOk(port, "CLUSTER", "MYID");
  assert.equal(typeof id, "string");
  return id as string;
}

/**
 * Calls `check` every `intervalMs` until it resolves without throwing (assertions inside are the condition);
 * after `timeoutMs` rethrows its last error with `what`. Returns the value and the time it took.
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T>,
  timeoutMs: number,
  intervalMs = POLL_INTERVAL_MS,
): Promise<{ value: T; elapsedMs: number }> {
  const started = Date.now();
  for (;;) {
    try {
      return { value: await check(), elapsedMs: Date.now() - started };
    } catch (err) {
      if (Date.now() - started >= timeoutMs) {
        throw new Error(`${what}: not reached within ${timeoutMs} ms; last: ${(err as Error).message}`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits until CLUSTER INFO says cluster_state:ok on every port; returns the time it took. */
export async function waitClusterOk(ports: number[], timeoutMs = 10_000): Promise<number> {
  const { elapsedMs } = await eventually("cluster_state:ok on all nodes", async () => {
    for (const port of ports) assert.equal((await clusterInfo(port)).cluster_state, "ok", `node ${port}`);
  }, timeoutMs);
  return elapsedMs;
}

/** Runs a program to its end (killed after `timeoutMs`); returns exit code and stdout + stderr. */
export async function runToExit(
  cmd: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number; output: string; timedOut: boolean }> {
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
  }, timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr), timedOut };
}

/** Runs tessera with `args` and waits for it to exit by itself (for start-up failures). */
export function runTesseraToExit(args: string[], timeoutMs = 15_000) {
  return runToExit(Deno.execPath(), ["run", "--allow-all", MAIN_TS, ...args], timeoutMs);
}

/** `redis-cli --cluster create` of the given ports (all masters) with `--cluster-yes`. */
export function redisCliClusterCreate(ports: number[], timeoutMs = 15_000) {
  return runToExit("redis-cli", [
    "--cluster",
    "create",
    ...ports.map((p) => `127.0.0.1:${p}`),
    "--cluster-yes",
  ], timeoutMs);
}

/** `redis-cli --cluster check` through the node on `port`. */
export function redisCliClusterCheck(port: number, timeoutMs = 15_000) {
  return runToExit("redis-cli", ["--cluster", "check", `127.0.0.1:${port}`], timeoutMs);
}

/**
 * Starts `n` tessera nodes, creates a cluster of `n` masters with `redis-cli --cluster create --cluster-yes` and
 * waits for cluster_state:ok everywhere. Fails with redis-cli's output if the create fails.
 */
export async function startTesseraCluster(
  t: ServerTestContext,
  n: number,
  opts: Omit<ClusterNodeOptions, "port" | "dir"> = {},
): Promise<{ nodes: ClusterNodeProcess[]; createOutput: string; createMs: number; okMs: number }> {
  const nodes = await Promise.all(Array.from({ length: n }, () => startTesseraNode(t, opts)));
  const started = Date.now();
  const create = await redisCliClusterCreate(nodes.map((node) => node.port));
  const createMs = Date.now() - started;
  if (create.code !== 0) {
    throw new Error(
      `redis-cli --cluster create failed (exit ${create.code}):\n${create.output}\n${await diagnose(nodes)}`,
    );
  }
  const okMs = await waitClusterOk(nodes.map((node) => node.port));
  return { nodes, createOutput: create.output, createMs, okMs };
}

/** CLUSTER NODES of every node and the end of its log, for a failure message. */
export async function diagnose(nodes: ClusterNodeProcess[]): Promise<string> {
  const parts: string[] = [];
  for (const node of nodes) {
    let view: string;
    try {
      view = String(await call(node.port, "CLUSTER", "NODES"));
    } catch (err) {
      view = `(no answer: ${(err as Error).message})`;
    }
    const log = node.proc.output().split("\n").slice(-40).join("\n");
    parts.push(`--- ${node.kind} ${node.port} CLUSTER NODES:\n${view}\n--- its log (end):\n${log}`);
  }
  return parts.join("\n");
}

/**
 * One key per slot: `keys[slot]` hashes to `slot`. Found by trying `k<i>` in order (deterministic; about 170k
 * tries cover all 16384 slots).
 */
export function keyPerSlot(): string[] {
  const keys: string[] = new Array(CLUSTER_SLOTS);
  let missing = CLUSTER_SLOTS;
  for (let i = 0; missing > 0; i++) {
    const key = `k${i}`;
    const slot = keyHashSlot(key);
    if (keys[slot] === undefined) {
      keys[slot] = key;
      missing--;
    }
  }
  return keys;
}

/**
 * Sends every command in one write on one connection and reads all replies in order (a raw pipeline).
 */
export async function pipeline(port: number, commands: string[][]): Promise<RespValue[]> {
  const conn = await RespConnection.connect(port);
  try {
    let text = "";
    for (const args of commands) {
      text += `*${args.length}\r\n`;
      for (const a of args) text += `$${a.length}\r\n${a}\r\n`;
    }
    await conn.writeRaw(text);
    const replies: RespValue[] = [];
    for (let i = 0; i < commands.length; i++) replies.push((await conn.readReply()).value);
    return replies;
  } finally {
    conn.close();
  }
}

/** A log line for the report: how long a cluster event took. */
export function logTiming(what: string, ms: number): void {
  console.log(`[cluster timing] ${what}: ${ms} ms`);
}

/**
 * Six nodes from `start` made 3 masters + 3 replicas by `redis-cli --cluster create --cluster-replicas 1`; waits for
 * cluster_state:ok everywhere and every replica's link up.
 */
export async function startReplicatedCluster(
  t: ServerTestContext,
  start: (t: ServerTestContext) => Promise<ClusterNodeProcess>,
): Promise<ClusterNodeProcess[]> {
  const nodes = await Promise.all(Array.from({ length: 6 }, () => start(t)));
  const create = await runToExit("redis-cli", [
    "--cluster",
    "create",
    ...nodes.map((n) => `127.0.0.1:${n.port}`),
    "--cluster-replicas",
    "1",
    "--cluster-yes",
  ], 60_000);
  assert.equal(create.code, 0, `redis-cli --cluster create failed:\n${create.output}\n${await diagnose(nodes)}`);
  await waitClusterOk(nodes.map((n) => n.port), 30_000);
  await eventually("every replica's link is up", async () => {
    const replicas = (await clusterNodes(nodes[0].port)).filter((l) => l.flags.includes("slave"));
    assert.equal(replicas.length, 3, "3 replicas");
    for (const r of replicas) {
      assert.match((await callOk(r.port, "INFO", "replication")) as string, /master_link_status:up/, `${r.port}`);
    }
  }, 30_000);
  return nodes;
}
