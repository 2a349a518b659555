/**
 * Minority write fencing (issue 4, 5b) with real processes: a master is cut off from the rest of the
 * cluster bus while a client keeps writing to it; its replica is elected on the other side. The
 * partition is tessera's DEBUG DROP-CLUSTER-PACKETS-FROM on both sides. While the replication link
 * survives, every write the old master acknowledged is still there after the heal; when it is cut
 * too, only writes acknowledged before the fence rose can be lost.
 */
import assert from "node:assert/strict";
import { serverTest, type ServerTestContext } from "./helpers/test.ts";
import { connect, requireTool } from "./helpers/servers.ts";
import {
  callOk,
  type ClusterNodeProcess,
  clusterNodes,
  eventually,
  logTiming,
  type NodesLine,
  startReplicatedCluster,
  startTesseraNode,
  waitClusterOk,
} from "./helpers/cluster.ts";
import { keyHashSlot } from "../src/cluster/slots.ts";
import { RespError } from "../src/resp/reply_parser.ts";

const NODE_TIMEOUT_MS = 2000;

function replicatedCluster(t: ServerTestContext, fencePercent: number): Promise<ClusterNodeProcess[]> {
  const args = [
    "--enable-debug-command",
    "yes",
    "--repl-diskless-sync-delay",
    "0",
    "--cluster-write-fence-percent",
    String(fencePercent),
  ];
  return startReplicatedCluster(t, (t) => startTesseraNode(t, { nodeTimeoutMs: NODE_TIMEOUT_MS, args }));
}

function keyServedBy(line: NodesLine): string {
  const [lo, hi] = line.slots[0].split("-").map(Number);
  for (let i = 0;; i++) {
    const slot = keyHashSlot(`counter:${i}`);
    if (slot >= lo && slot <= hi) return `counter:${i}`;
  }
}

/** Partitions `master` from the bus, writes to it throughout, heals; returns acknowledged and kept counts. */
async function partitionAndCount(
  nodes: ClusterNodeProcess[],
  cutReplication = false,
): Promise<{ acked: number; kept: number; lastAckMs: number; electedMs: number }> {
  const lines = await clusterNodes(nodes[0].port);
  const replica = lines.find((l) => l.flags.includes("slave"))!;
  const master = lines.find((l) => l.id === replica.master)!;
  const others = lines.filter((l) => l.id !== master.id);
  const key = keyServedBy(master);
  let acked = 0;
  let lastAckAt = 0;
  let stop = false;
  // A writer that outlives a failed test must not throw into the test runner.
  const writer = (async () => {
    const conn = await connect(master.port);
    if (cutReplication) await conn.call("AUTH", "cut");
    while (!stop) {
      const reply = await conn.call("INCR", key);
      if (reply instanceof RespError) await new Promise((r) => setTimeout(r, 5));
      else {
        acked = Math.max(acked, Number(reply));
        lastAckAt = Date.now();
      }
    }
    conn.close();
  })().catch((err) => {
    stop = true;
    console.error(`writer stopped: ${err.message}`);
  });
  await eventually("writes flowing", () => Promise.resolve(assert.ok(acked > 100)), 10_000);
  const cutAt = Date.now();
  if (cutReplication) {
    // The replica cannot come back: it has no password for its master.
    const admin = await connect(master.port);
    await admin.call("CONFIG", "SET", "requirepass", "cut");
    await admin.call("CLIENT", "KILL", "TYPE", "replica");
    await admin.call("DEBUG", "DROP-CLUSTER-PACKETS-FROM", ...others.map((l) => l.id));
    admin.close();
  } else {
    await callOk(master.port, "DEBUG", "DROP-CLUSTER-PACKETS-FROM", ...others.map((l) => l.id));
  }
  for (const l of others) await callOk(l.port, "DEBUG", "DROP-CLUSTER-PACKETS-FROM", master.id);
  await eventually("the replica is elected on the majority side", async () => {
    const view = await clusterNodes(replica.port);
    assert.ok(view.find((l) => l.id === replica.id)!.flags.includes("master"));
  }, 20_000);
  const electedMs = Date.now() - cutAt;
  logTiming("partition to replica elected", electedMs);
  // Keep writing to the old master a while after the election, as a client that was not told would.
  await new Promise((r) => setTimeout(r, 1500));
  stop = true;
  await writer;
  for (const n of nodes) {
    if (n.port === master.port && cutReplication) {
      const c = await connect(n.port);
      await c.call("AUTH", "cut");
      await c.call("CONFIG", "SET", "requirepass", "");
      await c.call("DEBUG", "DROP-CLUSTER-PACKETS-FROM", "-1");
      c.close();
    } else {
      await callOk(n.port, "DEBUG", "DROP-CLUSTER-PACKETS-FROM", "-1");
    }
  }
  await waitClusterOk(nodes.map((n) => n.port), 30_000);
  const kept = Number(await callOk(replica.port, "GET", key));
  return { acked, kept, lastAckMs: lastAckAt - cutAt, electedMs };
}

serverTest(
  "minority write fencing: a partitioned master fences before its replica is elected, nothing is lost",
  async (t) => {
    if (!requireTool("redis-cli")) return;
    const nodes = await replicatedCluster(t, 90);
    const { acked, kept, lastAckMs, electedMs } = await partitionAndCount(nodes);
    console.log(
      `bus partition: ${acked} acknowledged, ${kept} kept; last ack ${lastAckMs} ms, elected ${electedMs} ms`,
    );
    assert.ok(kept >= acked, `${acked - kept} acknowledged writes lost`);
    assert.ok(lastAckMs < electedMs, "the old master stopped acknowledging before its replica was elected");
  },
  120_000,
);

serverTest("a full partition (replication cut too) loses only writes acknowledged before the fence", async (t) => {
  if (!requireTool("redis-cli")) return;
  const nodes = await replicatedCluster(t, 90);
  const { acked, kept, lastAckMs, electedMs } = await partitionAndCount(nodes, true);
  console.log(
    `full partition: ${acked} acknowledged, ${kept} kept, ${
      acked - kept
    } lost; last ack ${lastAckMs} ms, elected ${electedMs} ms`,
  );
  // The fence rises 90% of a node timeout after the last answered PING, at most half a timeout before the cut.
  assert.ok(lastAckMs <= NODE_TIMEOUT_MS * 0.9 + 500, `acknowledged writes until ${lastAckMs} ms after the cut`);
  assert.ok(lastAckMs < electedMs);
}, 120_000);
