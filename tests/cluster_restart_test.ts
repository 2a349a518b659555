/**
 * A cluster node's identity lives in nodes.conf: a restarted node keeps its id, epochs and slots and rejoins; a
 * second process cannot take a nodes.conf in use; a corrupt nodes.conf stops start-up.
 */
import assert from "node:assert/strict";
import { requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import {
  clusterArgs,
  clusterInfo,
  clusterNodes,
  describeLines,
  freeClusterPort,
  lineOf,
  logTiming,
  myId,
  runTesseraToExit,
  slotMap,
  startTesseraCluster,
  startTesseraNode,
  tempDir,
  TEST_NODE_TIMEOUT_MS,
  waitClusterOk,
} from "./helpers/cluster.ts";

/** Redis's log line when nodes.conf is locked by another process. */
const LOCKED = /Sorry, the cluster configuration file \S*nodes\.conf is already used by a different Redis Cluster node/;
/** Redis's log line for a nodes.conf it cannot parse. */
const CORRUPTED = "Unrecoverable error: corrupted cluster config file.";

serverTest("cluster restart: SIGTERM and restart on the same dir keeps id, epochs and slots; it rejoins", async (t) => {
  if (!requireTool("redis-cli")) return;
  const { nodes } = await startTesseraCluster(t, 3);
  const [a, , restarted] = nodes;
  const id = await myId(restarted.port);
  const viewBefore = await clusterNodes(restarted.port);
  const meBefore = lineOf(viewBefore, id);
  const infoBefore = await clusterInfo(restarted.port);

  const status = await restarted.proc.stop();
  assert.equal(status.code, 0, "SIGTERM exits 0");
  const conf = await Deno.readTextFile(`${restarted.dir}/nodes.conf`);
  assert.match(
    conf,
    new RegExp(`^${id} 127\\.0\\.0\\.1:${restarted.port}@${restarted.port + 10000} myself,master `, "m"),
  );
  assert.match(conf, /^vars currentEpoch 3 lastVoteEpoch 0$/m);

  const startedAt = Date.now();
  const again = await startTesseraNode(t, { port: restarted.port, dir: restarted.dir });
  assert.equal(await myId(again.port), id, "same node id after restart");
  const viewAfter = await clusterNodes(again.port);
  const meAfter = lineOf(viewAfter, id);
  assert.equal(meAfter.configEpoch, meBefore.configEpoch, describeLines(viewAfter));
  assert.deepEqual(meAfter.slots, meBefore.slots, describeLines(viewAfter));
  assert.deepEqual(meAfter.flags, ["myself", "master"]);
  assert.deepEqual(slotMap(viewAfter), slotMap(viewBefore), "it remembers every node's slots");
  const infoAfter = await clusterInfo(again.port);
  assert.equal(infoAfter.cluster_current_epoch, infoBefore.cluster_current_epoch);
  assert.equal(infoAfter.cluster_my_epoch, infoBefore.cluster_my_epoch);

  const ports = [nodes[0].port, nodes[1].port, again.port];
  const okMs = await waitClusterOk(ports, 10_000);
  logTiming("restart on the same dir -> cluster_state:ok on all", Date.now() - startedAt);
  logTiming("  of which waiting for ok after the node accepted clients", okMs);
  const seenByOther = await clusterNodes(a.port);
  assert.deepEqual(lineOf(seenByOther, id).flags, ["master"], describeLines(seenByOther));
  assert.equal(lineOf(seenByOther, id).configEpoch, meBefore.configEpoch);
});

serverTest("cluster restart: a second process on a nodes.conf in use refuses to start", async (t) => {
  const owner = await startTesseraNode(t);
  const id = await myId(owner.port);
  const second = await runTesseraToExit(clusterArgs(freeClusterPort(), owner.dir, TEST_NODE_TIMEOUT_MS), 10_000);
  assert.equal(second.timedOut, false, `the second process kept running:\n${second.output}`);
  assert.notEqual(second.code, 0, second.output);
  assert.match(second.output, LOCKED);
  // The first node is untouched.
  assert.equal(await myId(owner.port), id);
  assert.match(await Deno.readTextFile(`${owner.dir}/nodes.conf`), new RegExp(`^${id} .*myself,master`, "m"));
});

serverTest("cluster restart: a corrupt nodes.conf stops start-up and is left as it was", async (t) => {
  const id = "a".repeat(40);
  const corrupt = {
    "unknown flag": `${id} 127.0.0.1:7000@17000 myself,master,bogus - 0 0 1 connected 0-100\n` +
      "vars currentEpoch 1 lastVoteEpoch 0\n",
    "line with 5 fields": `${id} 127.0.0.1:7000@17000 myself,master - 0\nvars currentEpoch 1 lastVoteEpoch 0\n`,
    "no myself line": `${id} 127.0.0.1:7000@17000 master - 0 0 1 connected 0-100\n` +
      "vars currentEpoch 1 lastVoteEpoch 0\n",
  };
  for (const [what, text] of Object.entries(corrupt)) {
    const dir = await tempDir(t);
    await Deno.writeTextFile(`${dir}/nodes.conf`, text);
    const run = await runTesseraToExit(clusterArgs(freeClusterPort(), dir, TEST_NODE_TIMEOUT_MS), 10_000);
    assert.equal(run.timedOut, false, `${what}: the process kept running:\n${run.output}`);
    assert.notEqual(run.code, 0, `${what}:\n${run.output}`);
    assert.ok(run.output.includes(CORRUPTED), `${what}:\n${run.output}`);
    assert.equal(await Deno.readTextFile(`${dir}/nodes.conf`), text, `${what}: nodes.conf unchanged`);
  }
});
