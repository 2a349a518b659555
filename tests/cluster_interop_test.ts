/**
 * tessera and Debian's redis-server 7.0 in one cluster: two tessera masters and one redis-server master meet
 * over the bus, split the slots with ADDSLOTSRANGE, agree on ids and slots, and each side detects the other's
 * death (SIGKILL) as FAIL.
 */
import assert from "node:assert/strict";
import { requireTool } from "./helpers/servers.ts";
import { serverTest, type ServerTestContext } from "./helpers/test.ts";
import {
  callOk,
  clusterInfo,
  type ClusterNodeProcess,
  clusterNodes,
  describeLines,
  eventually,
  killNode,
  lineOf,
  logTiming,
  myId,
  slotMap,
  startRedisNode,
  startTesseraNode,
  waitClusterOk,
} from "./helpers/cluster.ts";

/** The slot split: tessera A, tessera B, redis-server. */
const SPLIT: [string, string][] = [["0", "5460"], ["5461", "10922"], ["10923", "16383"]];

/** A mixed cluster, converged: [tessera A, tessera B, redis-server] and their ids. */
async function mixedCluster(t: ServerTestContext): Promise<{ nodes: ClusterNodeProcess[]; ids: string[] }> {
  const [a, b, redis] = await Promise.all([startTesseraNode(t), startTesseraNode(t), startRedisNode(t)]);
  const nodes = [a, b, redis];
  const ids = await Promise.all(nodes.map((node) => myId(node.port)));
  const started = Date.now();
  // redis-server meets tessera A, and tessera A meets tessera B: handshakes both ways, B reaches redis by gossip.
  assert.equal(await callOk(redis.port, "CLUSTER", "MEET", "127.0.0.1", String(a.port)), "OK");
  assert.equal(await callOk(a.port, "CLUSTER", "MEET", "127.0.0.1", String(b.port)), "OK");
  for (const [i, node] of nodes.entries()) {
    assert.equal(await callOk(node.port, "CLUSTER", "ADDSLOTSRANGE", ...SPLIT[i]), "OK");
  }
  const okMs = await waitClusterOk(nodes.map((node) => node.port), 15_000);
  logTiming("tessera+redis: MEET + ADDSLOTSRANGE to cluster_state:ok on all", okMs);

  // Everyone knows the same three masters with the same slots.
  const expected = new Map(ids.map((id, i) => [id, SPLIT[i].join("-")]));
  await eventually("same ids and slots everywhere", async () => {
    for (const node of nodes) {
      const view = await clusterNodes(node.port);
      const text = `node ${node.kind} ${node.port}:\n${describeLines(view)}`;
      assert.deepEqual(slotMap(view), new Map([...expected].sort(([x], [y]) => x.localeCompare(y))), text);
      for (const line of view) {
        assert.deepEqual(line.flags.filter((f) => f !== "myself"), ["master"], text);
        assert.equal(line.linkState, "connected", text);
        assert.equal(
          `${line.ip}:${line.port}@${line.cport}`,
          `127.0.0.1:${nodes[ids.indexOf(line.id)].port}@${nodes[ids.indexOf(line.id)].port + 10000}`,
          text,
        );
      }
      const info = await clusterInfo(node.port);
      assert.equal(info.cluster_known_nodes, "3", text);
      assert.equal(info.cluster_size, "3", text);
    }
  }, 5000);
  // All three started at config epoch 0: the epoch collision rule must make them distinct, on every node.
  const { elapsedMs } = await eventually("distinct config epochs, seen alike by all", async () => {
    const epochsSeen = [];
    for (const node of nodes) {
      const view = await clusterNodes(node.port);
      const epochs = ids.map((id) => lineOf(view, id).configEpoch);
      assert.equal(new Set(epochs).size, 3, `node ${node.kind} ${node.port}:\n${describeLines(view)}`);
      epochsSeen.push(epochs.join(","));
    }
    assert.equal(new Set(epochsSeen).size, 1, `epochs differ between nodes: ${epochsSeen.join(" / ")}`);
  }, 10_000);
  logTiming("tessera+redis: config epoch collisions resolved", elapsedMs);
  logTiming("tessera+redis: whole set-up", Date.now() - started);
  return { nodes, ids };
}

/** Waits until every watcher flags `id` as `fail` (not just `fail?`) and reports cluster_state:fail. */
async function waitMarkedFail(watchers: ClusterNodeProcess[], id: string, timeoutMs: number): Promise<number> {
  const { elapsedMs } = await eventually(`node ${id} flagged fail`, async () => {
    for (const node of watchers) {
      const view = await clusterNodes(node.port);
      const text = `seen by ${node.kind} ${node.port}:\n${describeLines(view)}`;
      assert.deepEqual(lineOf(view, id).flags, ["master", "fail"], text);
      assert.equal((await clusterInfo(node.port)).cluster_state, "fail", text);
    }
  }, timeoutMs);
  return elapsedMs;
}

serverTest("cluster interop: tessera and redis-server form one cluster; tessera sees redis-server fail", async (t) => {
  if (!requireTool("redis-server")) return;
  const { nodes, ids } = await mixedCluster(t);
  const [a, b, redis] = nodes;
  await killNode(redis);
  const ms = await waitMarkedFail([a, b], ids[2], 10_000);
  logTiming("tessera flags a SIGKILLed redis-server fail (node timeout 1000 ms)", ms);
});

serverTest("cluster interop: redis-server and tessera see a tessera node fail", async (t) => {
  if (!requireTool("redis-server")) return;
  const { nodes, ids } = await mixedCluster(t);
  const [a, b, redis] = nodes;
  await killNode(b);
  const ms = await waitMarkedFail([redis, a], ids[1], 10_000);
  logTiming("redis-server and tessera flag a SIGKILLed tessera fail (node timeout 1000 ms)", ms);
});
