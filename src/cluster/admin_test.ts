import assert from "node:assert/strict";
import { forgetNode } from "./admin.ts";
import { forgetByGossip } from "./gossip.ts";
import { newNode, NODE_SLAVE } from "./node.ts";
import { ClusterState, defaultClusterSettings } from "./state.ts";

const NOW = 1_700_000_000_000;
const ME = "a".repeat(40);
const OTHER = "b".repeat(40);

Deno.test("CLUSTER FORGET: Redis's errors; an id a peer made me forget in the last minute answers OK (del-node)", () => {
  const data = { countKeysInSlot: () => 0, dbSize: () => 0, replOffset: () => 0 };
  const state = new ClusterState(ME, defaultClusterSettings(7000), data, NOW, () => 0);
  state.addNode(newNode(OTHER, NODE_SLAVE, NOW));
  assert.equal(forgetNode(state, "c".repeat(40), NOW), `ERR Unknown node ${"c".repeat(40)}`);
  assert.equal(forgetNode(state, ME, NOW), "ERR I tried hard but I can't forget myself...");
  assert.equal(forgetNode(state, OTHER, NOW), null);
  assert.equal(state.nodes.has(OTHER), false);
  // FORGET again: unknown, as in Redis.
  assert.equal(forgetNode(state, OTHER, NOW + 1000), `ERR Unknown node ${OTHER}`);
  // Forgotten because a peer's forgotten-node extension got here before redis-cli's FORGET: done, not an error.
  const third = "d".repeat(40);
  state.addNode(newNode(third, NODE_SLAVE, NOW));
  forgetByGossip(state, third, 60, NOW);
  assert.equal(state.nodes.has(third), false);
  assert.equal(forgetNode(state, third, NOW + 1000), null);
  assert.equal(forgetNode(state, third, NOW + 2000), `ERR Unknown node ${third}`);
  // Once the minute is over the id is unknown again.
  state.addNode(newNode(third, NODE_SLAVE, NOW));
  forgetByGossip(state, third, 60, NOW);
  assert.equal(forgetNode(state, third, NOW + 200_000), `ERR Unknown node ${third}`);
});
