/**
 * CLUSTER SETSLOT, ASK, ASKING and TRYAGAIN end to end:
 * - differential: the same SETSLOT commands and the requests routed meanwhile (ASK, MOVED, TRYAGAIN, ASKING, the
 *   open-slot markers of CLUSTER NODES, the epoch bump that closes an import) on a tessera cluster and on a
 *   redis-server 7.0 cluster of the same shape, replies compared byte for byte with ids and ports masked;
 * - a slot migrated by hand as redis-cli does it (IMPORTING, MIGRATING, DUMP + RESTORE-ASKING + DEL per key, NODE)
 *   between tessera nodes, and in a cluster mixing tessera and redis-server nodes, in both directions.
 */
import assert from "node:assert/strict";
import { requireTool } from "./helpers/servers.ts";
import { serverTest, type ServerTestContext } from "./helpers/test.ts";
import {
  call,
  callOk,
  type ClusterNodeProcess,
  clusterNodes,
  describeLines,
  diagnose,
  eventually,
  keyPerSlot,
  lineOf,
  myId,
  type NodesLine,
  redisCliClusterCheck,
  redisCliClusterCreate,
  startRedisNode,
  startTesseraCluster,
  startTesseraNode,
  waitClusterOk,
} from "./helpers/cluster.ts";
import { encodeCommand, RespConnection } from "../src/resp/connection.ts";
import { Buffer } from "node:buffer";
import { RespError, type RespValue } from "../src/resp/reply_parser.ts";
import { keyHashSlot } from "../src/cluster/slots.ts";

/** Bound for gossip to spread a change (node timeout 1 s: pings go out several times a second). */
const CONVERGE_TIMEOUT_MS = 10_000;
/** Keys written into a migrated slot. */
const KEYS_PER_SLOT = 20;
/** A well-formed node id nobody has. */
const UNKNOWN_ID = "0123456789abcdef0123456789abcdef01234567";

// ---------------------------------------------------------------------------------------------------------------
// Differential: one tessera cluster and one redis-server cluster of the same shape.

/** Three nodes of one kind: masters A (slots 8192-16383, epoch 1) and B (0-8191, epoch 2), C a replica of B. */
interface Shape {
  nodes: Record<"a" | "b" | "c", ClusterNodeProcess>;
  ids: Record<"a" | "b" | "c", string>;
  /** Persistent connections to A and C (ASKING and MULTI need one connection). */
  conns: Record<"a" | "c", RespConnection>;
}

async function startShape(t: ServerTestContext, kind: "tessera" | "redis"): Promise<Shape> {
  const start = () => kind === "tessera" ? startTesseraNode(t) : startRedisNode(t);
  const [a, b, c] = await Promise.all([start(), start(), start()]);
  const [ia, ib, ic] = await Promise.all([a, b, c].map((n) => myId(n.port)));
  await callOk(a.port, "CLUSTER", "SET-CONFIG-EPOCH", "1");
  await callOk(b.port, "CLUSTER", "SET-CONFIG-EPOCH", "2");
  await callOk(a.port, "CLUSTER", "ADDSLOTSRANGE", "8192", "16383");
  await callOk(b.port, "CLUSTER", "ADDSLOTSRANGE", "0", "8191");
  await callOk(a.port, "CLUSTER", "MEET", "127.0.0.1", String(b.port));
  await callOk(a.port, "CLUSTER", "MEET", "127.0.0.1", String(c.port));
  await eventually(`${kind}: C knows B`, async () => lineOf(await clusterNodes(c.port), ib), CONVERGE_TIMEOUT_MS);
  await callOk(c.port, "CLUSTER", "REPLICATE", ib);
  await eventually(`${kind}: everyone sees C as B's replica, epochs settled`, async () => {
    for (const node of [a, b, c]) {
      const view = await clusterNodes(node.port);
      const text = `${kind} ${node.port}:\n${describeLines(view)}`;
      assert.equal(view.length, 3, text);
      assert.ok(lineOf(view, ic).flags.includes("slave"), text);
      assert.equal(lineOf(view, ic).master, ib, text);
      assert.equal(lineOf(view, ia).configEpoch, 1, text);
      assert.equal(lineOf(view, ib).configEpoch, 2, text);
      for (const line of view) assert.equal(line.linkState, "connected", text);
    }
  }, CONVERGE_TIMEOUT_MS);
  await waitClusterOk([a.port, b.port, c.port], CONVERGE_TIMEOUT_MS);
  const [ca, cc] = await Promise.all([RespConnection.connect(a.port), RespConnection.connect(c.port)]);
  t.defer(() => {
    ca.close();
    cc.close();
  });
  return { nodes: { a, b, c }, ids: { a: ia, b: ib, c: ic }, conns: { a: ca, c: cc } };
}

/** Node ids and ports of a shape replaced by role placeholders of the same length. */
function maskShape(raw: string, shape: Shape): string {
  let out = raw;
  for (const role of ["a", "b", "c"] as const) {
    out = out.replaceAll(shape.ids[role], role.toUpperCase().repeat(40));
    const port = shape.nodes[role].port;
    for (const p of [port + 10000, port]) {
      out = out.replace(new RegExp(`(?<![0-9])${p}(?![0-9])`, "g"), role.toUpperCase().repeat(String(p).length));
    }
  }
  return out;
}

/** One step: on node A or C, arguments built from the shape's ids (`$A`, `$B`, `$C` are replaced). */
type Step = { on: "a" | "c"; args: string[] } | { myselfLine: true } | { info: string[] };

/** CLUSTER NODES' line about myself, as a raw reply would be compared (masked by the caller). */
async function myselfLine(shape: Shape): Promise<string> {
  const text = await shape.conns.a.call("CLUSTER", "NODES");
  assert.equal(typeof text, "string");
  const line = (text as string).split("\n").find((l) => l.split(" ")[2]?.split(",").includes("myself"));
  assert.ok(line !== undefined, `no myself line in ${text}`);
  return line;
}

/** Selected CLUSTER INFO fields of A. */
async function infoFields(shape: Shape, fields: string[]): Promise<string> {
  const text = String(await shape.conns.a.call("CLUSTER", "INFO"));
  return text.split("\r\n").filter((l) => fields.includes(l.split(":")[0])).join(" ");
}

async function runStep(shape: Shape, step: Step): Promise<string> {
  if ("myselfLine" in step) {
    // The pong-received field of myself is a time (when the line was made): not compared.
    const fields = (await myselfLine(shape)).split(" ");
    fields[5] = "T";
    return maskShape(fields.join(" "), shape);
  }
  if ("info" in step) return await infoFields(shape, step.info);
  const args = step.args.map((a) => a === "$A" ? shape.ids.a : a === "$B" ? shape.ids.b : a === "$C" ? shape.ids.c : a);
  return maskShape(await shape.conns[step.on].callRaw(...args), shape);
}

/** Runs `steps` on both clusters; returns the mismatches. */
async function compareSteps(tessera: Shape, redis: Shape, steps: Step[]): Promise<string[]> {
  const failures: string[] = [];
  for (const step of steps) {
    const t = await runStep(tessera, step);
    const r = await runStep(redis, step);
    if (t !== r) {
      failures.push(`${JSON.stringify(step)}\n    tessera: ${JSON.stringify(t)}\n    redis:   ${JSON.stringify(r)}`);
    }
  }
  return failures;
}

serverTest("CLUSTER SETSLOT errors, open slots and ASK / ASKING / TRYAGAIN routing match redis-server", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([startShape(t, "tessera"), startShape(t, "redis")]);
  const perSlot = keyPerSlot();
  // Slot 15495 ("a", A's) is migrated from A to B; slot 100 (B's) is imported by A.
  const imp = perSlot[100];
  assert.equal(keyHashSlot("a"), 15495);
  const on = (node: "a" | "c", ...args: string[]): Step => ({ on: node, args });
  const a = (...args: string[]) => on("a", ...args);
  const setslot = (...args: string[]) => a("CLUSTER", "SETSLOT", ...args);
  const myself: Step = { myselfLine: true };
  const epochs: Step = { info: ["cluster_current_epoch", "cluster_my_epoch", "cluster_slots_assigned"] };
  const steps: Step[] = [
    // Syntax and argument checks, in Redis's order.
    a("CLUSTER", "SETSLOT"),
    a("CLUSTER", "SETSLOT", "15495"),
    setslot("abc", "MIGRATING", "$B"),
    setslot("-1", "STABLE"),
    setslot("16384", "STABLE"),
    setslot(" 1", "STABLE"),
    setslot("abc", "FOO"),
    setslot("15495", "FOO"),
    setslot("15495", "STABLE", "x"),
    setslot("15495", "MIGRATING"),
    setslot("15495", "IMPORTING"),
    setslot("15495", "NODE"),
    setslot("15495", "NODE", "$B", "x"),
    setslot("15495", "IMPORTING", "$B", "x"),
    setslot("100", "MIGRATING", "$B"),
    setslot("100", "MIGRATING", UNKNOWN_ID),
    setslot("15495", "IMPORTING", "$B"),
    setslot("15495", "IMPORTING", UNKNOWN_ID),
    setslot("15495", "MIGRATING", UNKNOWN_ID),
    setslot("15495", "MIGRATING", "abc\0def"),
    setslot("100", "IMPORTING", "short"),
    setslot("15495", "MIGRATING", "$C"),
    setslot("100", "IMPORTING", "$C"),
    setslot("15495", "NODE", UNKNOWN_ID),
    setslot("15495", "NODE", "x\0y"),
    setslot("15495", "NODE", "$C"),
    on("c", "CLUSTER", "SETSLOT", "100", "STABLE"),
    on("c", "CLUSTER", "SETSLOT", "x", "FOO"),
    on("c", "CLUSTER", "SETSLOT", "100", "NODE", "$C"),
    myself,
    // Migrating 15495 to B: keys here are served, missing ones get ASK, mixes get TRYAGAIN.
    a("SET", "a", "1"),
    a("SET", "{a}b", "2"),
    setslot("15495", "NODE", "$B"),
    setslot("15495", "MIGRATING", "$B"),
    setslot("15495", "migrating", "$B"),
    myself,
    a("GET", "a"),
    a("GET", "{a}zz"),
    a("SET", "{a}zz", "v"),
    a("EXISTS", "{a}zz"),
    a("MGET", "a", "{a}b"),
    a("MGET", "a", "{a}zz"),
    a("MGET", "{a}zz", "{a}yy"),
    a("MGET", "{a}zz", "{a}zz"),
    a("MGET", "a", "a"),
    a("MSET", "a", "3", "{a}zz", "4"),
    a("SPUBLISH", "{a}ch", "m"),
    a("MULTI"),
    a("GET", "a"),
    a("GET", "{a}zz"),
    a("EXEC"),
    a("MULTI"),
    a("GET", "a"),
    a("EXEC"),
    // ASKING on the source changes nothing: the slot is not importing there.
    a("ASKING"),
    a("GET", "{a}zz"),
    a("GET", "a"),
    // Importing 100 from B: MOVED without ASKING, served with it, once.
    setslot("100", "IMPORTING", "$B"),
    myself,
    a("GET", imp),
    a("ASKING"),
    a("GET", imp),
    a("GET", imp),
    a("ASKING"),
    a("SET", imp, "x"),
    a("GET", imp),
    a("ASKING"),
    a("MGET", imp, `{${imp}}other`),
    a("ASKING"),
    a("MGET", imp, imp),
    a("ASKING"),
    a("MULTI"),
    a("GET", imp),
    a("SET", `{${imp}}other`, "y"),
    a("EXEC"),
    a("MULTI"),
    a("ASKING"),
    a("GET", imp),
    a("EXEC"),
    a("SPUBLISH", imp, "m"),
    a("ASKING"),
    a("SPUBLISH", imp, "m"),
    a("READONLY"),
    a("GET", imp),
    a("READWRITE"),
    // B's replica knows nothing of open slots: READONLY reads of B's slots are served, the rest is MOVED.
    on("c", "READONLY"),
    on("c", "GET", imp),
    on("c", "GET", "a"),
    on("c", "ASKING"),
    on("c", "GET", "a"),
    on("c", "READWRITE"),
    on("c", "GET", imp),
    // STABLE closes both directions.
    setslot("100", "STABLE"),
    setslot("15495", "STABLE"),
    myself,
    a("GET", "{a}zz"),
    a("ASKING"),
    a("GET", imp),
    // Closing an import on myself takes the slot and bumps my configEpoch past everyone's.
    epochs,
    setslot("100", "IMPORTING", "$B"),
    setslot("15495", "MIGRATING", "$B"),
    myself,
    setslot("100", "NODE", "$A"),
    epochs,
    myself,
    a("GET", imp),
    // Giving away a slot that still has keys is refused; once empty it goes, and its migration closes.
    setslot("15495", "NODE", "$B"),
    a("DEL", "a", "{a}b"),
    setslot("15495", "NODE", "$B"),
    myself,
    epochs,
    a("GET", "a"),
    // NODE on a slot that is not mine and not open just reassigns it; STABLE on a stable slot is OK.
    setslot("15495", "NODE", "$A"),
    setslot("15495", "NODE", "$B"),
    setslot("200", "STABLE"),
    myself,
    epochs,
  ];
  const failures = await compareSteps(tessera, redis, steps);
  assert.deepEqual(failures, [], failures.join("\n"));
  const log = tessera.nodes.a.proc.output();
  assert.match(log, /configEpoch updated after importing slot 100/, "the epoch bump is logged as Redis does");
}, 90_000);

// ---------------------------------------------------------------------------------------------------------------
// Manual migrations with real processes.

/** The owner id of `slot` in a CLUSTER NODES view, null when unassigned. */
function ownerOf(view: NodesLine[], slot: number): string | null {
  for (const line of view) {
    for (const token of line.slots) {
      if (token.startsWith("[")) continue;
      const [first, last] = token.split("-").map(Number);
      if (slot >= first && slot <= (last ?? first)) return line.id;
    }
  }
  return null;
}

/** The open-slot markers of myself in a CLUSTER NODES view. */
function openSlots(view: NodesLine[]): string[] {
  const me = view.find((l) => l.flags.includes("myself"));
  assert.ok(me !== undefined);
  return me.slots.filter((s) => s.startsWith("["));
}

/** A hash tag whose slot `owner` serves, per `view`. */
function tagOwnedBy(view: NodesLine[], owner: string, skip: Set<number>): { tag: string; slot: number } {
  for (let i = 0;; i++) {
    const tag = `t${i}`;
    const slot = keyHashSlot(tag);
    if (!skip.has(slot) && ownerOf(view, slot) === owner) return { tag, slot };
  }
}

/** One command on its own connection after ASKING. */
async function askingCall(port: number, ...args: string[]): Promise<RespValue> {
  const conn = await RespConnection.connect(port);
  try {
    assert.equal(await conn.call("ASKING"), "OK");
    return await conn.call(...args);
  } finally {
    conn.close();
  }
}

function errorText(reply: RespValue): string {
  assert.ok(reply instanceof RespError, `expected an error reply, got ${JSON.stringify(reply)}`);
  return reply.message;
}

/** A migration's participants: source, target and the other masters, with their ids. */
interface Migration {
  src: ClusterNodeProcess;
  dst: ClusterNodeProcess;
  srcId: string;
  dstId: string;
  slot: number;
  /** The hash tag of the keys (`{tag}:i`). */
  tag: string;
  keys: string[];
}

/** Writes the keys of a migration to its source and opens the slot on both sides, as redis-cli does. */
async function openMigration(m: Migration): Promise<void> {
  for (const [i, key] of m.keys.entries()) assert.equal(await callOk(m.src.port, "SET", key, `v${i}`), "OK");
  assert.equal(await callOk(m.dst.port, "CLUSTER", "SETSLOT", String(m.slot), "IMPORTING", m.srcId), "OK");
  assert.equal(await callOk(m.src.port, "CLUSTER", "SETSLOT", String(m.slot), "MIGRATING", m.dstId), "OK");
  assert.deepEqual(openSlots(await clusterNodes(m.src.port)), [`[${m.slot}->-${m.dstId}]`]);
  assert.deepEqual(openSlots(await clusterNodes(m.dst.port)), [`[${m.slot}-<-${m.srcId}]`]);
}

/** Moves one key: DUMP on the source, RESTORE-ASKING on the target, DEL on the source (MIGRATE's steps). */
async function moveKey(m: Migration, key: string): Promise<void> {
  const payload = await callOk(m.src.port, "DUMP", key);
  assert.equal(typeof payload, "string", `DUMP ${key}`);
  assert.equal(await callOk(m.dst.port, "RESTORE-ASKING", key, "0", payload as string), "OK");
  assert.equal(await callOk(m.src.port, "DEL", key), 1);
}

/** What clients see halfway through: ASK for moved keys, ASKING serves them, TRYAGAIN for mixed multi-key. */
async function checkHalfway(m: Migration, moved: string, unmoved: string): Promise<void> {
  const ask = `ASK ${m.slot} 127.0.0.1:${m.dst.port}`;
  const moveDst = `MOVED ${m.slot} 127.0.0.1:${m.src.port}`;
  assert.equal(errorText(await call(m.src.port, "GET", moved)), ask);
  assert.equal(errorText(await call(m.src.port, "SET", `{${m.tag}}:new`, "x")), ask);
  assert.equal(await call(m.src.port, "GET", unmoved), `v${m.keys.indexOf(unmoved)}`);
  assert.equal(
    errorText(await call(m.src.port, "MGET", unmoved, moved)),
    "TRYAGAIN Multiple keys request during rehashing of slot",
  );
  assert.equal(errorText(await call(m.dst.port, "GET", moved)), moveDst);
  assert.equal(await askingCall(m.dst.port, "GET", moved), `v${m.keys.indexOf(moved)}`);
  assert.equal(
    errorText(await askingCall(m.dst.port, "MGET", moved, unmoved)),
    "TRYAGAIN Multiple keys request during rehashing of slot",
  );
}

/** Moves the remaining keys and closes the slot: NODE on the target, then the source; others learn by gossip. */
async function finishMigration(m: Migration, moved: Set<string>): Promise<void> {
  for (const key of m.keys) if (!moved.has(key)) await moveKey(m, key);
  assert.equal(await callOk(m.src.port, "CLUSTER", "COUNTKEYSINSLOT", String(m.slot)), 0);
  assert.equal(await callOk(m.dst.port, "CLUSTER", "SETSLOT", String(m.slot), "NODE", m.dstId), "OK");
  assert.equal(await callOk(m.src.port, "CLUSTER", "SETSLOT", String(m.slot), "NODE", m.dstId), "OK");
  assert.deepEqual(openSlots(await clusterNodes(m.src.port)), []);
  assert.deepEqual(openSlots(await clusterNodes(m.dst.port)), []);
}

/** Every node agrees `slot` belongs to `owner`, whose configEpoch is the unique greatest; keys are served there. */
async function checkConverged(nodes: ClusterNodeProcess[], m: Migration): Promise<void> {
  await eventually(`every node sees slot ${m.slot} on ${m.dstId}`, async () => {
    for (const node of nodes) {
      const view = await clusterNodes(node.port);
      const text = `${node.kind} ${node.port}:\n${describeLines(view)}`;
      assert.equal(ownerOf(view, m.slot), m.dstId, text);
      const masters = view.filter((l) => l.flags.includes("master"));
      const epochs = masters.map((l) => l.configEpoch);
      assert.equal(new Set(epochs).size, masters.length, `distinct config epochs: ${text}`);
    }
  }, CONVERGE_TIMEOUT_MS);
  for (const [i, key] of m.keys.entries()) {
    assert.equal(await callOk(m.dst.port, "GET", key), `v${i}`);
    assert.equal(errorText(await call(m.src.port, "GET", key)), `MOVED ${m.slot} 127.0.0.1:${m.dst.port}`);
  }
}

/** A whole manual migration of one slot, checked at each stage. */
async function migrateByHand(nodes: ClusterNodeProcess[], m: Migration): Promise<void> {
  await openMigration(m);
  const moved = new Set<string>();
  for (const key of m.keys.slice(0, m.keys.length / 2)) {
    await moveKey(m, key);
    moved.add(key);
  }
  await checkHalfway(m, m.keys[0], m.keys[m.keys.length - 1]);
  await finishMigration(m, moved);
  await checkConverged(nodes, m);
}

/** The keys of a migrated slot: `{tag}:i`. */
function slotKeys(tag: string): string[] {
  return Array.from({ length: KEYS_PER_SLOT }, (_, i) => `{${tag}}:${i}`);
}

serverTest("manual slot migration between tessera nodes: ASK, ASKING, TRYAGAIN, nodes.conf, gossip", async (t) => {
  if (!requireTool("redis-cli")) return;
  const { nodes } = await startTesseraCluster(t, 3);
  const ids = await Promise.all(nodes.map((n) => myId(n.port)));
  const [src, dst] = nodes;
  const view = await clusterNodes(src.port);
  const { tag, slot } = tagOwnedBy(view, ids[0], new Set());
  const m: Migration = { src, dst, srcId: ids[0], dstId: ids[1], slot, tag, keys: slotKeys(tag) };
  try {
    await openMigration(m);
    // nodes.conf keeps the open slots (saved in the background, soon after the reply).
    await eventually("open slots in nodes.conf", async () => {
      const dstConf = await Deno.readTextFile(`${dst.dir}/nodes.conf`);
      assert.match(dstConf, new RegExp(`\\[${slot}-<-${ids[0]}\\]`), dstConf);
      const srcConf = await Deno.readTextFile(`${src.dir}/nodes.conf`);
      assert.match(srcConf, new RegExp(`\\[${slot}->-${ids[1]}\\]`), srcConf);
    }, 2000);
    const epochBefore = lineOf(await clusterNodes(dst.port), ids[1]).configEpoch;
    const moved = new Set<string>();
    for (const key of m.keys.slice(0, KEYS_PER_SLOT / 2)) {
      await moveKey(m, key);
      moved.add(key);
    }
    await checkHalfway(m, m.keys[0], m.keys[KEYS_PER_SLOT - 1]);
    // A key that exists on neither side: ASK from the source, then the target serves the write with ASKING.
    const fresh = `{${tag}}:fresh`;
    assert.equal(errorText(await call(src.port, "SET", fresh, "f")), `ASK ${slot} 127.0.0.1:${dst.port}`);
    assert.equal(await askingCall(dst.port, "SET", fresh, "f"), "OK");
    assert.equal(await askingCall(dst.port, "GET", fresh), "f");
    // The third node only knows the slot's owner.
    assert.equal(errorText(await call(nodes[2].port, "GET", m.keys[0])), `MOVED ${slot} 127.0.0.1:${src.port}`);
    await finishMigration(m, moved);
    const dstLine = lineOf(await clusterNodes(dst.port), ids[1]);
    assert.ok(
      dstLine.configEpoch > epochBefore,
      `the target bumped its configEpoch: ${epochBefore} -> ${dstLine.configEpoch}`,
    );
    assert.match(dst.proc.output(), new RegExp(`configEpoch updated after importing slot ${slot}`));
    await eventually("import closed in nodes.conf", async () => {
      const conf = await Deno.readTextFile(`${dst.dir}/nodes.conf`);
      assert.ok(!conf.includes("-<-"), conf);
    }, 2000);
    await checkConverged(nodes, m);
    assert.equal(await callOk(dst.port, "GET", fresh), "f");
    // The third node was never told: it learned the new owner from the target's higher configEpoch.
    assert.equal(errorText(await call(nodes[2].port, "GET", m.keys[0])), `MOVED ${slot} 127.0.0.1:${dst.port}`);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await diagnose(nodes)}`);
  }
}, 90_000);

serverTest(
  "manual slot migration in a mixed cluster: tessera -> redis-server and redis-server -> tessera",
  async (t) => {
    if (!requireTool("redis-cli") || !requireTool("redis-server")) return;
    const nodes = await Promise.all([startTesseraNode(t), startRedisNode(t), startTesseraNode(t)]);
    const create = await redisCliClusterCreate(nodes.map((n) => n.port));
    if (create.code !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.output}`);
    await waitClusterOk(nodes.map((n) => n.port), CONVERGE_TIMEOUT_MS);
    const ids = await Promise.all(nodes.map((n) => myId(n.port)));
    const [tA, redis, tB] = nodes;
    try {
      const view = await clusterNodes(tA.port);
      const first = tagOwnedBy(view, ids[0], new Set());
      await migrateByHand(nodes, {
        src: tA,
        dst: redis,
        srcId: ids[0],
        dstId: ids[1],
        slot: first.slot,
        tag: first.tag,
        keys: slotKeys(first.tag),
      });
      const second = tagOwnedBy(await clusterNodes(redis.port), ids[1], new Set([first.slot]));
      await migrateByHand(nodes, {
        src: redis,
        dst: tB,
        srcId: ids[1],
        dstId: ids[2],
        slot: second.slot,
        tag: second.tag,
        keys: slotKeys(second.tag),
      });
      // redis-server shows the same open-slot markers as tessera.
      const probe = tagOwnedBy(await clusterNodes(redis.port), ids[1], new Set([first.slot, second.slot]));
      await callOk(tB.port, "CLUSTER", "SETSLOT", String(probe.slot), "IMPORTING", ids[1]);
      await callOk(redis.port, "CLUSTER", "SETSLOT", String(probe.slot), "MIGRATING", ids[2]);
      assert.deepEqual(openSlots(await clusterNodes(redis.port)), [`[${probe.slot}->-${ids[2]}]`]);
      assert.deepEqual(openSlots(await clusterNodes(tB.port)), [`[${probe.slot}-<-${ids[1]}]`]);
      assert.equal(
        errorText(await call(redis.port, "GET", `{${probe.tag}}x`)),
        `ASK ${probe.slot} 127.0.0.1:${tB.port}`,
      );
      await callOk(redis.port, "CLUSTER", "SETSLOT", String(probe.slot), "STABLE");
      await callOk(tB.port, "CLUSTER", "SETSLOT", String(probe.slot), "STABLE");
      const check = await eventually(
        "redis-cli --cluster check passes",
        async () => {
          const r = await redisCliClusterCheck(tA.port);
          assert.equal(r.code, 0, r.output);
          return r;
        },
        CONVERGE_TIMEOUT_MS,
        500,
      );
      assert.match(check.value.output, /All 16384 slots covered/);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await diagnose(nodes)}`);
    }
  },
  120_000,
);

serverTest("nodes.conf: background saves go on after a synchronous save took over a pending one", async (t) => {
  const node = await startTesseraNode(t);
  const id = await myId(node.port);
  const conn = await RespConnection.connect(node.port);
  t.defer(() => conn.close());
  // SETSLOT asks for a save 10 ms later; BUMPEPOCH saves at once, leaving that pending save nothing to do.
  await conn.writeRaw(Buffer.concat([
    encodeCommand(["CLUSTER", "SETSLOT", "1", "NODE", id]),
    encodeCommand(["CLUSTER", "BUMPEPOCH"]),
  ]));
  await conn.readReply();
  await conn.readReply();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(await conn.call("CLUSTER", "SETSLOT", "2", "NODE", id), "OK");
  await eventually("the later SETSLOT in nodes.conf", async () => {
    const conf = await Deno.readTextFile(`${node.dir}/nodes.conf`);
    assert.match(conf, /myself,master - \d+ \d+ \d+ connected 1-2\n/, conf);
  }, 2000);
});
