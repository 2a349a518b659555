import assert from "node:assert/strict";
import { CLUSTER_SLOTS, newNode, NODE_FAIL, NODE_HANDSHAKE, NODE_MASTER, NODE_PFAIL } from "../../src/cluster/node.ts";
import { type ClusterSettings, ClusterState, defaultClusterSettings } from "../../src/cluster/state.ts";
import {
  checkEpochs,
  checkSlots,
  checkStateOk,
  checkStoppedMarkedFail,
  checkViews,
  type ClusterFacts,
} from "./invariants.ts";

const NOW = 1_700_000_000_000;
const DATA = { countKeysInSlot: () => 0, dbSize: () => 0, replOffset: () => 0 };

function settings(i: number): ClusterSettings {
  return defaultClusterSettings(7000 + i, { nodeTimeoutMs: 2000 });
}

/** Three nodes with one consistent view each: everyone known, slots split, epochs distinct. */
function consistentCluster(n = 3): ClusterFacts {
  const ids = Array.from({ length: n }, (_, i) => String(i + 1).repeat(40).slice(0, 40));
  const owners = Array.from({ length: CLUSTER_SLOTS }, (_, slot) => ids[Math.floor((slot * n) / CLUSTER_SLOTS)]);
  const live = ids.map((id, i) => {
    const state = new ClusterState(id, settings(i), DATA, NOW, () => 0.5);
    state.myself.ip = `10.0.0.${i + 1}`;
    state.myself.port = 7000 + i;
    state.myself.cport = 17000 + i;
    state.myself.configEpoch = i + 1;
    state.currentEpoch = n;
    state.state = "ok";
    ids.forEach((other, j) => {
      if (j === i) return;
      const node = newNode(other, NODE_MASTER, NOW);
      node.ip = `10.0.0.${j + 1}`;
      node.port = 7000 + j;
      node.cport = 17000 + j;
      node.configEpoch = j + 1;
      state.addNode(node);
    });
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) state.setSlotOwner(slot, state.nodes.get(owners[slot])!);
    return { name: `n${i}`, id, ip: `10.0.0.${i + 1}`, port: 7000 + i, cport: 17000 + i, state };
  });
  return { live, names: new Map(ids.map((id, i) => [id, `n${i}`])), expectedOwners: owners };
}

Deno.test("invariants: a consistent cluster passes every check", () => {
  const facts = consistentCluster();
  assert.deepEqual(checkViews(facts), []);
  assert.deepEqual(checkSlots(facts), []);
  assert.deepEqual(checkEpochs(facts), []);
  assert.deepEqual(checkStateOk(facts), []);
});

Deno.test("invariants: views catch unknown, failing, handshake and strange nodes, and split opinions", () => {
  let facts = consistentCluster();
  facts.live[0].state.deleteNode(facts.live[0].state.nodes.get(facts.live[1].id)!);
  assert.ok(checkViews(facts).includes("n0 does not know n1"));

  facts = consistentCluster();
  facts.live[2].state.nodes.get(facts.live[0].id)!.flags |= NODE_PFAIL;
  assert.match(checkViews(facts).join("\n"), /n2 sees n0 with flags 5/);

  facts = consistentCluster();
  const stranger = newNode("f".repeat(40), NODE_HANDSHAKE, NOW);
  facts.live[1].state.addNode(stranger);
  assert.match(checkViews(facts).join("\n"), /n1 knows a stranger ffffffff/);

  facts = consistentCluster();
  facts.live[1].state.currentEpoch = 7;
  assert.match(checkViews(facts).join("\n"), /currentEpoch differs: n0=3 n1=7 n2=3/);

  facts = consistentCluster();
  const view = facts.live[2].state;
  view.setSlotOwner(100, view.nodes.get(facts.live[1].id)!);
  assert.match(checkViews(facts).join("\n"), /slot 100: n0 says n0, n2 says n1/);

  facts = consistentCluster();
  facts.live[0].state.nodes.get(facts.live[2].id)!.configEpoch = 9;
  assert.match(checkViews(facts).join("\n"), /n0 has configEpoch 9 for n2, which has 3/);

  facts = consistentCluster();
  facts.live[0].state.nodes.get(facts.live[2].id)!.cport = 1;
  assert.match(checkViews(facts).join("\n"), /n0 has n2 at 10\.0\.0\.3:7002@1/);
});

Deno.test("invariants: slots catch holes, moved slots and wrong counts", () => {
  let facts = consistentCluster();
  facts.live[1].state.setSlotOwner(5, null);
  assert.ok(checkSlots(facts).includes("n1: 1 slots unassigned"));

  facts = consistentCluster();
  const view = facts.live[0].state;
  view.setSlotOwner(16000, view.myself);
  assert.match(checkSlots(facts).join("\n"), /n0: slot 16000 owned by n0, created with n2/);

  facts = consistentCluster();
  facts.live[0].state.myself.numSlots++;
  assert.match(checkSlots(facts).join("\n"), /n0: n0 has numSlots 5463, owns 5462/);
});

Deno.test("invariants: epochs, stopped nodes and cluster state", () => {
  let facts = consistentCluster();
  facts.live[1].state.nodes.get(facts.live[2].id)!.configEpoch = 1;
  assert.match(checkEpochs(facts).join("\n"), /n1: n0 and n2 share configEpoch 1/);

  facts = consistentCluster();
  const stopped = facts.live.pop()!;
  assert.deepEqual(checkStoppedMarkedFail(facts, [stopped.id]), [
    "n0 does not flag stopped n2 FAIL (flags 1)",
    "n1 does not flag stopped n2 FAIL (flags 1)",
  ]);
  for (const v of facts.live) v.state.nodes.get(stopped.id)!.flags |= NODE_FAIL;
  assert.deepEqual(checkStoppedMarkedFail(facts, [stopped.id]), []);

  facts = consistentCluster();
  facts.live[2].state.state = "fail";
  assert.deepEqual(checkStateOk(facts), ["n2: cluster_state fail"]);
});
