/**
 * `redis-cli --cluster create` / `--cluster check` / `-c` against three tessera masters, and what each node then
 * reports in CLUSTER NODES and CLUSTER INFO.
 */
import assert from "node:assert/strict";
import { keyHashSlot } from "../src/cluster/slots.ts";
import { redisCli, requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import {
  clusterInfo,
  clusterNodes,
  describeLines,
  eventually,
  logTiming,
  myId,
  type NodesLine,
  redisCliClusterCheck,
  slotMap,
  startTesseraCluster,
} from "./helpers/cluster.ts";

/** How redis-cli splits 16384 slots over three masters. */
const THREE_WAY_RANGES = ["0-5460", "5461-10922", "10923-16383"];
/** redis-cli colours its output even into a pipe. */
const ANSI_COLOUR = new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g");

/** The slot ranges a CLUSTER NODES line lists, as [first, last] pairs. */
function ranges(line: NodesLine): [number, number][] {
  return line.slots.filter((s) => !s.startsWith("[")).map((s) => {
    const [first, last] = s.split("-").map(Number);
    return [first, last ?? first];
  });
}

/** The first `user:<i>` key whose slot lies in one of `owned`. */
function keyOwnedBy(owned: [number, number][]): string {
  for (let i = 0;; i++) {
    const key = `user:${i}`;
    const slot = keyHashSlot(key);
    if (owned.some(([first, last]) => slot >= first && slot <= last)) return key;
  }
}

serverTest("cluster create: redis-cli --cluster create and check on 3 tessera masters", async (t) => {
  if (!requireTool("redis-cli")) return;
  const { nodes, createOutput, createMs, okMs } = await startTesseraCluster(t, 3);
  logTiming("redis-cli --cluster create of 3 masters", createMs);
  logTiming("cluster_state:ok on all after create", okMs);
  const created = createOutput.replace(ANSI_COLOUR, "");
  assert.match(created, /\[OK\] All 16384 slots covered\./, created);

  const check = await redisCliClusterCheck(nodes[0].port);
  const checked = check.output.replace(ANSI_COLOUR, "");
  assert.equal(check.code, 0, checked);
  assert.match(checked, /^\[OK\] All nodes agree about slots configuration\.$/m, checked);
  assert.match(checked, /^\[OK\] All 16384 slots covered\.$/m, checked);
  assert.doesNotMatch(checked, /\[ERR\]|\[WARNING\]/, checked);
  for (const node of nodes) {
    assert.match(checked, new RegExp(`^M: [0-9a-f]{40} 127\\.0\\.0\\.1:${node.port}$`, "m"), checked);
  }

  const ids = await Promise.all(nodes.map((node) => myId(node.port)));
  assert.equal(new Set(ids).size, 3);
  const views = await Promise.all(nodes.map((node) => clusterNodes(node.port)));
  for (const [i, view] of views.entries()) {
    const text = describeLines(view);
    assert.equal(view.length, 3, text);
    assert.deepEqual(view.map((l) => l.id).sort(), [...ids].sort(), text);
    const me = view.filter((l) => l.flags.includes("myself"));
    assert.equal(me.length, 1, text);
    assert.equal(me[0].id, ids[i], text);
    assert.equal(me[0].port, nodes[i].port, text);
    for (const line of view) {
      assert.deepEqual(line.flags.filter((f) => f !== "myself"), ["master"], text);
      assert.equal(line.master, "-", text);
      assert.equal(line.linkState, "connected", text);
      assert.equal(line.ip, "127.0.0.1", text);
      assert.equal(line.cport, line.port + 10000, text);
    }
    assert.deepEqual(view.map((l) => l.slots.join(" ")).sort(), [...THREE_WAY_RANGES].sort(), text);
    // redis-cli gives each master its own config epoch (SET-CONFIG-EPOCH 1..3).
    assert.deepEqual(view.map((l) => l.configEpoch).sort(), [1, 2, 3], text);
  }
  assert.deepEqual(slotMap(views[1]), slotMap(views[0]));
  assert.deepEqual(slotMap(views[2]), slotMap(views[0]));

  // Epochs travel by gossip: give them the time to settle everywhere.
  await eventually("CLUSTER INFO settled", async () => {
    for (const node of nodes) {
      const info = await clusterInfo(node.port);
      assert.equal(info.cluster_state, "ok");
      assert.equal(info.cluster_slots_assigned, "16384");
      assert.equal(info.cluster_slots_ok, "16384");
      assert.equal(info.cluster_slots_pfail, "0");
      assert.equal(info.cluster_slots_fail, "0");
      assert.equal(info.cluster_known_nodes, "3");
      assert.equal(info.cluster_size, "3");
      assert.equal(info.cluster_current_epoch, "3");
    }
  }, 5000);

  // redis-cli -c through node 0 reaches every node's keys, following MOVED.
  const entry = nodes[0].port;
  for (const [i, node] of nodes.entries()) {
    const key = keyOwnedBy(ranges(views[i].find((l) => l.id === ids[i])!));
    const value = `value-of-${key}`;
    assert.equal(lastLine(await redisCli(entry, ["-c", "SET", key, value])), "OK", `SET ${key} via ${entry}`);
    assert.equal(lastLine(await redisCli(entry, ["-c", "GET", key])), value, `GET ${key} via ${entry}`);
    // The key really lives on its owner: a plain GET there answers without a redirect.
    assert.equal(await redisCli(node.port, ["GET", key]), value);
    if (i !== 0) {
      assert.equal(
        (await redisCli(entry, ["GET", key])).trimEnd(),
        `MOVED ${keyHashSlot(key)} 127.0.0.1:${node.port}`,
        "without -c the entry node answers MOVED",
      );
    }
  }
});

/** redis-cli -c may print a redirect notice before the reply; the reply is the last line. */
function lastLine(text: string): string {
  const lines = text.split("\n");
  return lines[lines.length - 1];
}
