import assert from "node:assert/strict";
import { ownedRuns, slotRangesByNode, slotRangesOf } from "./slot_table.ts";
import { CLUSTER_SLOTS, newNode, NODE_MASTER } from "./node.ts";
import { type ClusterSettings, ClusterState, defaultClusterSettings } from "./state.ts";

const SETTINGS: ClusterSettings = defaultClusterSettings(7000);

function makeState(): ClusterState {
  const data = { countKeysInSlot: () => 0, dbSize: () => 0, replOffset: () => 0 };
  return new ClusterState("a".repeat(40), SETTINGS, data, 0, () => 0.5);
}

Deno.test("slot runs: single slots, ranges, both ends of the table, owners interleaved", () => {
  const state = makeState();
  const me = state.myself;
  const other = newNode("b".repeat(40), NODE_MASTER, 0);
  state.nodes.set(other.id, other);
  for (const slot of [0, 1, 2, 5, 16383]) state.setSlotOwner(slot, me);
  for (const slot of [3, 4, 6, 16382]) state.setSlotOwner(slot, other);

  assert.deepEqual(
    ownedRuns(state).map((r) => [r.start, r.end, r.owner.id[0]]),
    [[0, 2, "a"], [3, 4, "b"], [5, 5, "a"], [6, 6, "b"], [16382, 16382, "b"], [16383, 16383, "a"]],
  );
  const byNode = slotRangesByNode(state);
  assert.deepEqual(byNode.get(me), [0, 2, 5, 5, 16383, 16383]);
  assert.deepEqual(byNode.get(other), [3, 4, 6, 6, 16382, 16382]);
  assert.deepEqual(slotRangesOf(state, me), byNode.get(me));
  assert.deepEqual(slotRangesOf(state, other), byNode.get(other));
});

Deno.test("slot runs: empty table, and one owner of every slot", () => {
  const state = makeState();
  assert.deepEqual(ownedRuns(state), []);
  assert.equal(slotRangesByNode(state).size, 0);
  assert.deepEqual(slotRangesOf(state, state.myself), []);
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) state.setSlotOwner(slot, state.myself);
  assert.deepEqual(slotRangesOf(state, state.myself), [0, 16383]);
  assert.deepEqual(slotRangesByNode(state).get(state.myself), [0, 16383]);
});
