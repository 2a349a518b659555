/**
 * Failure detection on a 3-master tessera cluster (node timeout 1000 ms): a SIGSTOPped master goes `fail?` then
 * `fail` and the cluster goes down, then everything recovers after SIGCONT; fault injection with DEBUG
 * DROP-CLUSTER-PACKET-FILTER and DEBUG CLUSTERLINK KILL.
 */
import assert from "node:assert/strict";
import { RespConnection } from "../src/resp/connection.ts";
import { RespError, type RespValue } from "../src/resp/reply_parser.ts";
import { requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import {
  call,
  callOk,
  clusterInfo,
  clusterNodes,
  describeLines,
  eventually,
  lineOf,
  logTiming,
  myId,
  parseClusterNodes,
  startTesseraCluster,
  TEST_NODE_TIMEOUT_MS,
} from "./helpers/cluster.ts";

/** Polling period while watching for the short-lived `fail?` state. */
const FAST_POLL_MS = 20;
/** Recovery after SIGCONT must come within this: FAIL is undone after 2 x node timeout, plus gossip. */
const RECOVERY_BOUND_MS = 10_000;

/** Polls every node for `ms`: all stay plain masters, nobody flagged, and cluster_state stays ok. */
async function assertHealthyFor(nodes: { port: number }[], ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    for (const node of nodes) {
      const view = await clusterNodes(node.port);
      for (const line of view) {
        assert.deepEqual(line.flags.filter((f) => f !== "myself"), ["master"], `${node.port}:\n${describeLines(view)}`);
      }
      assert.equal((await clusterInfo(node.port)).cluster_state, "ok");
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** CLUSTER NODES over a kept connection (cheap enough to poll every 20 ms). */
async function nodesOver(conn: RespConnection) {
  const text = await conn.call("CLUSTER", "NODES");
  assert.equal(typeof text, "string", String(text));
  return parseClusterNodes(text as string);
}

serverTest("cluster failure: a SIGSTOPped master goes fail? then fail; SIGCONT recovers", async (t) => {
  if (!requireTool("redis-cli")) return;
  const { nodes } = await startTesseraCluster(t, 3);
  const [a, b, stopped] = nodes;
  const stoppedId = await myId(stopped.port);
  const watchers = await Promise.all([a, b].map((node) => RespConnection.connect(node.port)));
  t.defer(() => watchers.forEach((c) => c.close()));

  Deno.kill(stopped.proc.pid, "SIGSTOP");
  const stoppedAt = Date.now();
  let firstPfailMs = -1;
  const failMs = [-1, -1];
  while (failMs.includes(-1)) {
    assert.ok(Date.now() - stoppedAt < 10_000, "the stopped master was not flagged fail by both others within 10 s");
    for (const [i, conn] of watchers.entries()) {
      const flags = lineOf(await nodesOver(conn), stoppedId).flags;
      if (flags.includes("fail?") && firstPfailMs === -1) firstPfailMs = Date.now() - stoppedAt;
      if (flags.includes("fail") && failMs[i] === -1) failMs[i] = Date.now() - stoppedAt;
    }
    await new Promise((resolve) => setTimeout(resolve, FAST_POLL_MS));
  }
  logTiming("SIGSTOP -> first fail? seen", firstPfailMs);
  logTiming("SIGSTOP -> fail on both others", Math.max(...failMs));
  assert.ok(firstPfailMs !== -1, "PFAIL (fail?) was seen before FAIL");
  assert.ok(firstPfailMs >= TEST_NODE_TIMEOUT_MS, `fail? only after the node timeout, got ${firstPfailMs} ms`);
  assert.ok(firstPfailMs <= Math.min(...failMs), "fail? comes before fail");
  for (const node of [a, b]) {
    const view = await clusterNodes(node.port);
    assert.deepEqual(lineOf(view, stoppedId).flags, ["master", "fail"], describeLines(view));
    // cluster-require-full-coverage yes: a third of the slots are on a failed master.
    const info = await clusterInfo(node.port);
    assert.equal(info.cluster_state, "fail");
    assert.equal(info.cluster_slots_fail, "5461");
    const reply = await call(node.port, "GET", "any-key");
    assert.ok(reply instanceof RespError && reply.message === "CLUSTERDOWN The cluster is down", String(reply));
  }

  Deno.kill(stopped.proc.pid, "SIGCONT");
  const resumedAt = Date.now();
  const { elapsedMs } = await eventually("recovery after SIGCONT", async () => {
    for (const node of nodes) {
      const view = await clusterNodes(node.port);
      for (const line of view) {
        assert.deepEqual(line.flags.filter((f) => f !== "myself"), ["master"], `${node.port}:\n${describeLines(view)}`);
      }
      assert.equal((await clusterInfo(node.port)).cluster_state, "ok", `node ${node.port}`);
    }
  }, RECOVERY_BOUND_MS);
  logTiming("SIGCONT -> flags master and cluster_state:ok on all", elapsedMs);
  assert.ok(Date.now() - resumedAt <= RECOVERY_BOUND_MS);
});

/** CLUSTER LINKS (RESP2: one flat field/value array per link) as records. */
async function clusterLinks(port: number): Promise<Record<string, RespValue>[]> {
  const reply = await callOk(port, "CLUSTER", "LINKS");
  assert.ok(Array.isArray(reply), String(reply));
  return reply.map((link) => {
    assert.ok(Array.isArray(link));
    const record: Record<string, RespValue> = {};
    for (let i = 0; i + 1 < link.length; i += 2) record[String(link[i])] = link[i + 1];
    return record;
  });
}

serverTest("cluster fault injection: a node dropping PINGs stays up, as in Redis; filter -1 undoes it", async (t) => {
  if (!requireTool("redis-cli")) return;
  const { nodes } = await startTesseraCluster(t, 3, { args: ["--enable-debug-command", "yes"] });
  const [deaf, b, c] = nodes;
  const deafId = await myId(deaf.port);
  const pingsBefore = Number((await clusterInfo(deaf.port)).cluster_stats_messages_ping_received);

  // The filter drops incoming PINGs at `deaf`, so it never answers B's and C's pings with PONGs. It is not
  // flagged, though: its own PINGs keep reaching B and C, and any traffic counts as liveness. Checked against
  // redis-server 7.0.15: over 4.5 s, B's ping to the deaf node stayed pending and no flag appeared.
  assert.equal(await callOk(deaf.port, "DEBUG", "DROP-CLUSTER-PACKET-FILTER", "0"), "OK");
  await assertHealthyFor(nodes, 2.5 * TEST_NODE_TIMEOUT_MS);
  for (const node of [b, c]) {
    const view = await clusterNodes(node.port);
    const pingSent = lineOf(view, deafId).pingSent;
    assert.ok(
      pingSent !== 0 && Date.now() - pingSent > TEST_NODE_TIMEOUT_MS,
      `a ping to the deaf node stays unanswered for more than the node timeout:\n${describeLines(view)}`,
    );
  }
  assert.match(deaf.proc.output(), /Dropping packet that matches debug drop filter/);
  const pingsAfter = Number((await clusterInfo(deaf.port)).cluster_stats_messages_ping_received);
  assert.ok(pingsAfter > pingsBefore, `dropped PINGs are still counted as received (${pingsBefore} -> ${pingsAfter})`);

  // Filter off. The pending pings were lost, and (in Redis too) nothing re-sends them in a bounded time while
  // traffic flows; a new link does: B and C reconnect, ping on connect, and the node answers now.
  assert.equal(await callOk(deaf.port, "DEBUG", "DROP-CLUSTER-PACKET-FILTER", "-1"), "OK");
  for (const node of [b, c]) {
    assert.equal(await callOk(node.port, "DEBUG", "CLUSTERLINK", "KILL", "to", deafId), "OK");
  }
  const { elapsedMs } = await eventually("PINGs to the node answered again", async () => {
    for (const node of [b, c]) {
      const view = await clusterNodes(node.port);
      const pingSent = lineOf(view, deafId).pingSent;
      assert.ok(pingSent === 0 || Date.now() - pingSent < TEST_NODE_TIMEOUT_MS, describeLines(view));
    }
  }, 2000);
  logTiming("filter -1 and new links -> pending pings to the node answered", elapsedMs);
});

serverTest("cluster fault injection: DEBUG CLUSTERLINK KILL all: links come back, nobody is flagged", async (t) => {
  if (!requireTool("redis-cli")) return;
  const { nodes } = await startTesseraCluster(t, 3, { args: ["--enable-debug-command", "yes"] });
  const [a, b] = nodes;
  const [aId, bId] = await Promise.all([myId(a.port), myId(b.port)]);
  const linksTo = async (port: number, peer: string) =>
    (await clusterLinks(port)).filter((l) => l.node === peer).map((l) => `${l.direction}@${l["create-time"]}`);

  const before = await linksTo(a.port, bId);
  assert.deepEqual(before.map((l) => l.split("@")[0]).sort(), ["from", "to"], "A has a link each way with B");
  const killedAt = Date.now();
  assert.equal(await callOk(a.port, "DEBUG", "CLUSTERLINK", "KILL", "all", bId), "OK");
  const { elapsedMs } = await eventually("links between A and B re-established", async () => {
    for (const [port, peer] of [[a.port, bId], [b.port, aId]] as const) {
      const links = await clusterLinks(port);
      const fresh = links.filter((l) => l.node === peer && Number(l["create-time"]) >= killedAt);
      assert.deepEqual(fresh.map((l) => l.direction).sort(), ["from", "to"], JSON.stringify(links));
    }
  }, 2000);
  logTiming("CLUSTERLINK KILL all -> new links both ways", elapsedMs);
  // Nobody is flagged over the next node timeout, and the cluster stays up.
  await assertHealthyFor(nodes, TEST_NODE_TIMEOUT_MS);

  // Errors, with redis-server 7.0.15's texts.
  const unknown = "0".repeat(40);
  assert.equal(
    String(await call(a.port, "DEBUG", "CLUSTERLINK", "KILL", "all", unknown)),
    `ERR Unknown node ${unknown}`,
  );
  assert.equal(String(await call(a.port, "DEBUG", "CLUSTERLINK", "KILL", "bogus", bId)), "ERR Unknown direction bogus");
});
