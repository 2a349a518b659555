/**
 * Faults during `redis-cli --cluster reshard`: the target or the source master is SIGKILLed while redis-cli moves
 * thousands of slots between masters of a 3 masters + 3 replicas cluster, inside a slot whose keys are half moved.
 * Once the dead master's replica has taken over and `redis-cli --cluster fix` has run until `check` is clean, every
 * key written before is readable with its value from exactly one master, the owner of its slot.
 *
 * The same scenario runs on redis-server 7.0 nodes as the reference, and passes there the same way: the killed
 * target leaves the source MIGRATING with some keys on the target's replica (fix moves them to one owner); a killed
 * source leaves the target IMPORTING from a dead node, which keeps that slot on the dead node in the target's view
 * (cluster_state:fail there until the fix). When the kill lands between the target's RESTORE and the source's DEL,
 * the keys of that MIGRATE batch exist on two masters; fix then compares them with DEBUG DIGEST-VALUE and replaces
 * one copy (hence enable-debug-command). Tessera's slower MIGRATE makes that window wider, so its reshard hits it
 * more often; the last test of each kind opens it on purpose, and both servers end in the same state.
 * RESHARD_FAULTS_VERBOSE=1 prints what redis-cli did.
 */
import assert from "node:assert/strict";
import { Cluster } from "ioredis";
import { serverTest, type ServerTestContext } from "./helpers/test.ts";
import { connect, requireTool } from "./helpers/servers.ts";
import {
  callOk,
  type ClusterNodeProcess,
  clusterNodes,
  diagnose,
  eventually,
  killNode,
  lineOf,
  logTiming,
  type NodesLine,
  redisCliClusterCheck,
  startRedisNode,
  startReplicatedCluster,
  startTesseraNode,
  waitClusterOk,
} from "./helpers/cluster.ts";
import { keyHashSlot } from "../src/cluster/slots.ts";

/** Long enough that the reshard's load on 2 shared cores does not look like a failure; failover takes ~2× this. */
const NODE_TIMEOUT_MS = 1500;
/**
 * DEBUG on: when the kill lands between the target's RESTORE and the source's DEL, a key exists on both sides, and
 * `redis-cli --cluster fix` compares the two copies with DEBUG DIGEST-VALUE before replacing one (it gives up if it
 * cannot, on redis-server as on tessera).
 */
const NODE_ARGS = ["--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes"];
const KEY_COUNT = 20_000;
/** Keys in the first HOT_SLOTS slots (about 10 per slot there). */
const HOT_KEY_COUNT = 15_000;
const HOT_SLOTS = 1500;
/** More slots than redis-cli can move before the kill, so the kill always lands mid-reshard. */
const RESHARD_SLOTS = 4000;
/** How long after redis-cli's first real slot move the victim is killed (at the next half-moved slot). */
const KILL_DELAY_MS = 500;
/** How long to wait for redis-cli to be inside a half-moved slot before killing anyway. */
const MID_SLOT_WAIT_MS = 5000;
/** Keys per MIGRATE (redis-cli's --cluster-pipeline): a hot slot takes about 3 batches. */
const MIGRATE_PIPELINE = 4;
const CLI_TIMEOUT_MS = 60_000;
/** redis-cli's MIGRATE timeout (its default is 60 s): a dead peer must fail the reshard quickly. */
const MIGRATE_TIMEOUT_MS = 5000;
const FIX_ATTEMPTS = 5;
/** Answers prepared for redis-cli fix's questions. */
const FIX_QUESTIONS = 16;
/** After a fix, how long `check` may take to come clean (nodes agreeing on the new epochs). */
const SETTLE_MS = 6000;
/** How long the stopped target lets the source's MIGRATE arrive, and then the target run it. */
const BATCH_ARRIVE_MS = 100;
const BATCH_APPLY_MS = 200;

type StartNode = (t: ServerTestContext) => Promise<ClusterNodeProcess>;

/**
 * The keys to write: most in the first HOT_SLOTS slots, which redis-cli moves first (it takes a source's slots in
 * order), so the kill usually lands while a slot's keys are being MIGRATEd; the rest spread over all slots.
 */
function keysToWrite(): Map<string, string> {
  const kv = new Map<string, string>();
  let hot = 0;
  for (let i = 0; kv.size < KEY_COUNT; i++) {
    const key = `key:${i}`;
    const isHot = keyHashSlot(key) < HOT_SLOTS;
    if (isHot && hot >= HOT_KEY_COUNT) continue;
    if (!isHot && kv.size - hot >= KEY_COUNT - HOT_KEY_COUNT) continue;
    if (isHot) hot++;
    kv.set(key, `value:${i}:${"x".repeat(i % 200)}`);
  }
  return kv;
}

/** Writes `kv` through an ioredis Cluster client. */
async function writeKeys(port: number, kv: Map<string, string>): Promise<void> {
  const cluster = new Cluster([{ host: "127.0.0.1", port }], { enableAutoPipelining: true });
  try {
    await Promise.all([...kv].map(([k, v]) => cluster.set(k, v)));
  } finally {
    cluster.disconnect();
  }
}

/** Waits until every replica holds as many keys as its master (the writes were only new keys). */
async function waitReplicasCaughtUp(lines: NodesLine[]): Promise<void> {
  await eventually("replicas caught up", async () => {
    for (const r of lines.filter((l) => l.flags.includes("slave"))) {
      const master = lines.find((l) => l.id === r.master)!;
      assert.equal(await callOk(r.port, "DBSIZE"), await callOk(master.port, "DBSIZE"), `replica ${r.port}`);
    }
  }, 15_000);
}

/** What redis-cli was doing when the victim died. */
interface ReshardRun {
  code: number;
  output: string;
  /** How many slot moves redis-cli had started. */
  movedBeforeKill: number;
  /** The slot being moved (-1 if none). */
  slot: number;
  /** Whether some but not all of that slot's keys had moved. */
  midSlot: boolean;
}

/**
 * Starts `redis-cli --cluster reshard` of RESHARD_SLOTS slots from `from` to `to` and SIGKILLs `victim` once
 * KILL_DELAY_MS have passed since the first slot move and redis-cli is inside a slot whose first keys have moved (its
 * output ends with the dots of a MIGRATE batch; it flushes them after each batch). Waits for redis-cli to exit.
 */
async function reshardAndKill(
  from: NodesLine,
  to: NodesLine,
  victim: ClusterNodeProcess,
  keysInSlot: Map<number, number>,
): Promise<ReshardRun> {
  const child = new Deno.Command("redis-cli", {
    args: [
      "--cluster",
      "reshard",
      `127.0.0.1:${from.port}`,
      "--cluster-from",
      from.id,
      "--cluster-to",
      to.id,
      "--cluster-slots",
      String(RESHARD_SLOTS),
      "--cluster-yes",
      "--cluster-timeout",
      String(MIGRATE_TIMEOUT_MS),
      "--cluster-pipeline",
      String(MIGRATE_PIPELINE),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const guard = setTimeout(() => child.kill("SIGKILL"), CLI_TIMEOUT_MS);
  let output = "";
  const decoder = new TextDecoder();
  // Real moves print "Moving slot N from ip:port to ip:port: "; the plan before them prints node ids only.
  const moves = () => output.match(/^Moving slot \d+ from \S+ to /gm)?.length ?? 0;
  // Inside a slot with some but not all of its keys moved: the last line has fewer dots than the slot has keys.
  const lastMove = () => output.slice(output.lastIndexOf("\n") + 1).match(/^Moving slot (\d+) from \S+ to \S+: (\.*)$/);
  const midSlot = () => {
    const m = lastMove();
    return m !== null && m[2].length > 0 && m[2].length < (keysInSlot.get(Number(m[1])) ?? 0);
  };
  let wake: (() => void) | null = null;
  const waitOutput = (ready: () => boolean, timeoutMs: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = () => {
        if (ready()) done();
      };
      wake();
    });
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      output += decoder.decode(chunk);
      wake?.();
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    wake?.();
    return s;
  });
  await waitOutput(() => exited || moves() > 0, CLI_TIMEOUT_MS);
  await new Promise((resolve) => setTimeout(resolve, KILL_DELAY_MS));
  await waitOutput(() => exited || midSlot(), MID_SLOT_WAIT_MS);
  const hitMidSlot = midSlot();
  const movedBeforeKill = moves();
  const slot = Number(lastMove()?.[1] ?? -1);
  await killNode(victim);
  const { code } = await status;
  await pumps;
  clearTimeout(guard);
  return { code, output, movedBeforeKill, slot, midSlot: hitMidSlot };
}

/** Whether `redis-cli --cluster check` output says the cluster is clean. */
function checkClean(output: string): boolean {
  return /\[OK\] All nodes agree about slots configuration\./.test(output) &&
    /\[OK\] All 16384 slots covered\./.test(output) && !/\[WARNING\]|\[ERR\]/.test(output);
}

/**
 * `redis-cli --cluster fix --cluster-yes --cluster-fix-with-unreachable-masters`: the killed master is still in the
 * node table (flagged fail), and redis-cli refuses to fix open slots with an unreachable master unless told so. With
 * that option it asks before covering slots even under --cluster-yes, so "yes" is typed on stdin.
 */
async function redisCliFix(port: number): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("redis-cli", {
    args: ["--cluster", "fix", `127.0.0.1:${port}`, "--cluster-yes", "--cluster-fix-with-unreachable-masters"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const guard = setTimeout(() => child.kill("SIGKILL"), CLI_TIMEOUT_MS);
  const writer = child.stdin.getWriter();
  // redis-cli reads each answer with read(stdin, 4 bytes): one "yes\n" per question.
  await writer.write(new TextEncoder().encode("yes\n".repeat(FIX_QUESTIONS))).catch(() => {});
  await writer.close().catch(() => {});
  const out = await child.output();
  clearTimeout(guard);
  const decoder = new TextDecoder();
  return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

/** Runs `redis-cli --cluster fix` until `check` is clean; returns how many fixes it took. */
async function fixUntilClean(port: number, log: string[]): Promise<number> {
  for (let fixes = 0; fixes <= FIX_ATTEMPTS; fixes++) {
    const deadline = Date.now() + (fixes === 0 ? 0 : SETTLE_MS);
    for (;;) {
      const check = await redisCliClusterCheck(port);
      if (checkClean(check.output)) return fixes;
      if (Date.now() >= deadline) {
        log.push(`--- check before fix ${fixes + 1}:\n${check.output}`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    if (fixes === FIX_ATTEMPTS) break;
    const fix = await redisCliFix(port);
    log.push(`--- fix ${fixes + 1} (exit ${fix.code}):\n${fix.output}`);
  }
  throw new Error(`redis-cli --cluster check not clean after ${FIX_ATTEMPTS} fixes:\n${log.join("\n")}`);
}

/** The slot -> owner id map of a CLUSTER NODES view (masters not flagged fail). */
function slotOwners(lines: NodesLine[]): Map<number, string> {
  const owners = new Map<number, string>();
  for (const line of lines) {
    if (!line.flags.includes("master") || line.flags.includes("fail")) continue;
    for (const token of line.slots) {
      if (token.startsWith("[")) continue;
      const [lo, hi] = token.split("-").map(Number);
      for (let s = lo; s <= (hi ?? lo); s++) owners.set(s, line.id);
    }
  }
  return owners;
}

/** What the live masters hold compared with what was written. */
interface KeyAudit {
  /** Written keys no live master holds. */
  lost: string[];
  /** Keys held by more than one live master. */
  duplicated: string[];
  /** Keys held by a master that does not own their slot. */
  misplaced: string[];
  /** Keys whose value differs from the written one. */
  wrongValue: string[];
  /** Keys held that were never written. */
  unknown: string[];
}

/** Lists every live master's keys (SCAN) and compares them with `kv`. */
async function auditKeys(port: number, kv: Map<string, string>): Promise<KeyAudit> {
  const lines = await clusterNodes(port);
  const owners = slotOwners(lines);
  const holders = new Map<string, Set<string>>();
  const audit: KeyAudit = { lost: [], duplicated: [], misplaced: [], wrongValue: [], unknown: [] };
  for (const master of lines.filter((l) => l.flags.includes("master") && !l.flags.includes("fail"))) {
    const conn = await connect(master.port);
    try {
      let cursor = "0";
      do {
        const [next, keys] = (await conn.call("SCAN", cursor, "COUNT", "1000")) as [string, string[]];
        cursor = next;
        for (const key of keys) {
          const ids = holders.get(key) ?? new Set<string>();
          holders.set(key, ids.add(master.id));
        }
      } while (cursor !== "0");
      // Values are read where the slot's owner says they are; a key on a non-owner counts as misplaced.
      const mine = [...holders].filter(([key, ids]) =>
        ids.has(master.id) && owners.get(keyHashSlot(key)) === master.id
      );
      for (const [key] of mine) {
        if (kv.has(key) && (await conn.call("GET", key)) !== kv.get(key)) audit.wrongValue.push(key);
      }
    } finally {
      conn.close();
    }
  }
  for (const [key, ids] of holders) {
    if (!kv.has(key)) audit.unknown.push(key);
    if (ids.size > 1) audit.duplicated.push(key);
    else if (!ids.has(owners.get(keyHashSlot(key)) ?? "")) audit.misplaced.push(key);
  }
  for (const key of kv.keys()) if (!holders.has(key)) audit.lost.push(key);
  return audit;
}

/** Reads every key back through a cluster client (following redirects); returns the wrong ones. */
async function wrongThroughClient(port: number, kv: Map<string, string>): Promise<string[]> {
  const cluster = new Cluster([{ host: "127.0.0.1", port }], { enableAutoPipelining: true });
  try {
    const keys = [...kv.keys()];
    const values = await Promise.all(keys.map((k) => cluster.get(k)));
    return keys.filter((k, i) => values[i] !== kv.get(k));
  } finally {
    cluster.disconnect();
  }
}

/** A 3 masters + 3 replicas cluster holding `kv`, with the masters that play source and target. */
interface Setup {
  nodes: ClusterNodeProcess[];
  kv: Map<string, string>;
  keysInSlot: Map<number, number>;
  source: NodesLine;
  target: NodesLine;
  /** The node processes of source and target. */
  sourceProc: ClusterNodeProcess;
  targetProc: ClusterNodeProcess;
  /** CLUSTER NODES before any fault (who replicates whom). */
  lines: NodesLine[];
}

/** Starts the cluster, writes the keys and waits for the replicas to have them. */
async function setUp(t: ServerTestContext, start: StartNode): Promise<Setup> {
  const nodes = await startReplicatedCluster(t, start);
  const kv = keysToWrite();
  await writeKeys(nodes[0].port, kv);
  const lines = await clusterNodes(nodes[0].port);
  await waitReplicasCaughtUp(lines);
  const [source, target] = lines.filter((l) => l.flags.includes("master")).sort((a, b) =>
    Number(a.slots[0].split("-")[0]) - Number(b.slots[0].split("-")[0])
  );
  const keysInSlot = new Map<number, number>();
  for (const key of kv.keys()) keysInSlot.set(keyHashSlot(key), (keysInSlot.get(keyHashSlot(key)) ?? 0) + 1);
  const procOf = (m: NodesLine) => nodes.find((n) => n.port === m.port)!;
  return { nodes, kv, keysInSlot, source, target, sourceProc: procOf(source), targetProc: procOf(target), lines };
}

/**
 * After `dead` was killed: waits for its replica's takeover, runs `beforeFix` (checks of the broken state), fixes
 * until `check` is clean, then audits the keys and asserts what Redis guarantees.
 */
async function recoverAndAudit(
  s: Setup,
  dead: NodesLine,
  what: string,
  log: string[],
  beforeFix: (heir: NodesLine) => Promise<void> = () => Promise.resolve(),
): Promise<void> {
  const started = Date.now();
  const heir = s.lines.find((l) => l.master === dead.id)!;
  const survivors = s.nodes.filter((n) => n.port !== dead.port);
  await eventually(`the ${what}'s replica takes over`, async () => {
    const me = (await clusterNodes(heir.port)).find((l) => l.flags.includes("myself"))!;
    assert.ok(me.flags.includes("master"), me.flags.join(","));
    // Not cluster_state ok everywhere: a target importing from a dead source keeps the slot on the dead node
    // (Redis skips importing slots when it learns a newer owner), so it stays "fail" until the fix.
    for (const n of survivors) {
      assert.ok(lineOf(await clusterNodes(n.port), heir.id).flags.includes("master"), `${n.port} sees the heir master`);
    }
  }, 30_000).catch(async (err) => {
    throw new Error(`${(err as Error).message}\n${log.join("\n")}\n${await diagnose(survivors)}`);
  });
  logTiming(`${what} killed: replica took over`, Date.now() - started);
  await beforeFix(heir);
  const fixes = await fixUntilClean(heir.port, log);
  logTiming(`${what} killed: clean after ${fixes} fix runs`, Date.now() - started);
  await waitClusterOk(survivors.map((n) => n.port), 15_000);
  if (Deno.env.get("RESHARD_FAULTS_VERBOSE") === "1") console.log(log.join("\n"));

  const audit = await auditKeys(heir.port, s.kv);
  const summary = Object.entries(audit).map(([k, v]) => `${k}: ${v.length} ${v.slice(0, 5).join(" ")}`).join("\n");
  const context = `${summary}\n${log.join("\n")}`;
  assert.deepEqual(audit.duplicated, [], context);
  assert.deepEqual(audit.misplaced, [], context);
  assert.deepEqual(audit.wrongValue, [], context);
  assert.deepEqual(audit.unknown, [], context);
  assert.deepEqual(audit.lost, [], context);
  assert.deepEqual(await wrongThroughClient(heir.port, s.kv), [], "every key through a cluster client");
}

/** Kills the source or the target in the middle of a redis-cli reshard, then recovers and audits. */
async function killDuringReshard(t: ServerTestContext, start: StartNode, victim: "source" | "target") {
  const s = await setUp(t, start);
  const dead = victim === "target" ? s.target : s.source;
  const reshard = await reshardAndKill(
    s.source,
    s.target,
    victim === "target" ? s.targetProc : s.sourceProc,
    s.keysInSlot,
  );
  const log = [
    `--- reshard (exit ${reshard.code}, killed during slot move #${reshard.movedBeforeKill}, slot ${reshard.slot}, ` +
    `${reshard.midSlot ? "keys half moved" : "not mid-slot"}):\n` + reshard.output.split("\n").slice(-15).join("\n"),
  ];
  assert.notEqual(reshard.code, 0, `the reshard was interrupted by the kill:\n${log.join("\n")}`);
  assert.ok(reshard.movedBeforeKill > 0, "slots were moving when the victim was killed");
  await recoverAndAudit(s, dead, victim, log);
}

/**
 * The window redis-cli's reshard hits only by chance (it is far narrower on redis-server): the source dies after
 * the target applied a MIGRATE batch but before the source saw the replies and deleted the keys. Made deterministic
 * with redis-cli's own steps for one slot: the target is stopped while the batch is sent, then the source is
 * stopped while the target runs it, then the source is killed. The batch's keys are then on two masters.
 */
async function killSourceAfterRestore(t: ServerTestContext, start: StartNode) {
  const s = await setUp(t, start);
  const slot = 0;
  const keys = [...s.kv.keys()].filter((k) => keyHashSlot(k) === slot);
  assert.ok(keys.length >= 4, `slot ${slot} has ${keys.length} keys`);
  await callOk(s.target.port, "CLUSTER", "SETSLOT", String(slot), "IMPORTING", s.source.id);
  await callOk(s.source.port, "CLUSTER", "SETSLOT", String(slot), "MIGRATING", s.target.id);
  const to = ["127.0.0.1", String(s.target.port), "", "0", String(MIGRATE_TIMEOUT_MS), "REPLACE", "KEYS"];
  const migrate = (batch: string[]) => ["MIGRATE", ...to, ...batch];
  const half = Math.floor(keys.length / 2);
  assert.equal(await callOk(s.source.port, ...migrate(keys.slice(0, half))), "OK");
  const conn = await connect(s.source.port);
  Deno.kill(s.targetProc.proc.pid, "SIGSTOP");
  const pending = conn.call(...migrate(keys.slice(half))).catch((err: Error) => err);
  await new Promise((resolve) => setTimeout(resolve, BATCH_ARRIVE_MS));
  Deno.kill(s.sourceProc.proc.pid, "SIGSTOP");
  Deno.kill(s.targetProc.proc.pid, "SIGCONT");
  await new Promise((resolve) => setTimeout(resolve, BATCH_APPLY_MS));
  await killNode(s.sourceProc);
  assert.ok(await pending instanceof Error, "the source died before answering the second MIGRATE");
  conn.close();
  const log: string[] = [];
  await recoverAndAudit(s, s.source, "source after the target's RESTORE", log, async (heir) => {
    const counts = await Promise.all(
      [heir, s.target].map(async (m) => Number(await callOk(m.port, "CLUSTER", "COUNTKEYSINSLOT", String(slot)))),
    );
    log.push(`--- slot ${slot} before the fix: ${counts.join(" + ")} keys of ${keys.length}`);
    assert.deepEqual(counts, [keys.length - half, keys.length], `the second batch is on both masters`);
  });
}

const tesseraNode: StartNode = (t) => startTesseraNode(t, { nodeTimeoutMs: NODE_TIMEOUT_MS, args: NODE_ARGS });
const redisNode: StartNode = (t) => startRedisNode(t, { nodeTimeoutMs: NODE_TIMEOUT_MS, args: NODE_ARGS });

for (const [kind, start] of [["tessera", tesseraNode], ["redis-server", redisNode]] as const) {
  const needTools = () => requireTool("redis-cli") && (kind === "tessera" || requireTool("redis-server"));
  for (const victim of ["target", "source"] as const) {
    serverTest(
      `${kind}: kill -9 the ${victim} mid redis-cli --cluster reshard; after fix every key has one owner`,
      async (t) => {
        if (needTools()) await killDuringReshard(t, start, victim);
      },
      120_000,
    );
  }
  serverTest(
    `${kind}: kill -9 the source after the target ran its MIGRATE batch; fix keeps one copy of each key`,
    async (t) => {
      if (needTools()) await killSourceAfterRestore(t, start);
    },
    120_000,
  );
}
