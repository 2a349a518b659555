/** CONFIG SET of cluster directives takes effect at once, as in redis-server (announced hostname, endpoint type). */
import assert from "node:assert/strict";
import { serverTest } from "./helpers/test.ts";
import { requireTool } from "./helpers/servers.ts";
import { callOk, startRedisNode, startTesseraNode } from "./helpers/cluster.ts";

serverTest("CONFIG SET cluster-announce-hostname shows at once in CLUSTER NODES, as redis-server", async (t) => {
  if (!requireTool("redis-server")) return;
  const seen: string[][] = [];
  for (const node of [await startTesseraNode(t), await startRedisNode(t)]) {
    await callOk(node.port, "CONFIG", "SET", "cluster-announce-hostname", "h1.example");
    const nodes = String(await callOk(node.port, "CLUSTER", "NODES"));
    await callOk(node.port, "CONFIG", "SET", "cluster-announce-hostname", "");
    const after = String(await callOk(node.port, "CLUSTER", "NODES"));
    seen.push([nodes.split(" ")[1].replace(/^[^,]*/, ""), after.split(" ")[1].replace(/^[^,]*/, "")]);
  }
  assert.deepEqual(seen[0], seen[1]);
  assert.deepEqual(seen[0], [",h1.example", ""]);
});
