import assert from "node:assert/strict";
import { forgetNode } from "./admin.ts";
import { newNode, NODE_SLAVE } from "./node.ts";
import { ClusterState, defaultClusterSettings } from "./state.ts";

const NOW = 1_700_000_000_000;
const ME = "a".repeat(40);
const OTHER = "b".repeat(40);

Deno.test("CLUSTER FORGET: Redis's errors; an id forgotten in the last minute answers OK (del-node after the extension)", () => {
  const data = { countKeysInSlot: () => 0, dbSize: () => 0, replOffset: () => 0 };
  const state = new ClusterState(ME, defaultClusterSettings(7000), data, NOW, () => 0);
  state.addNode(newNode(OTHER, NODE_SLAVE, NOW));
  assert.equal(forgetNode(state, "c".repeat(40), NOW), `ERR Unknown node ${"c".repeat(40)}`);
  assert.equal(forgetNode(state, ME, NOW), "ERR I tried hard but I can't forget myself...");
  assert.equal(forgetNode(state, OTHER, NOW), null);
  assert.equal(state.nodes.has(OTHER), false);
  // Again (as when another node's forgotten-node extension got here first): done, not an error.
  assert.equal(forgetNode(state, OTHER, NOW + 1000), null);
  // Once the minute is over the id is unknown again, as in Redis.
  assert.equal(forgetNode(state, OTHER, NOW + 200_000), `ERR Unknown node ${OTHER}`);
});
