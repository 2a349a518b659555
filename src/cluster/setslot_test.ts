import assert from "node:assert/strict";
import { setSlot } from "./setslot.ts";
import { MSG_PONG } from "./bus/message.ts";
import { newNode, NODE_MASTER, NODE_SLAVE } from "./node.ts";
import { type ClusterSettings, ClusterState, defaultClusterSettings, type Effect } from "./state.ts";

const NOW = 1_700_000_000_000;
const ME = "a".repeat(40);
const OTHER = "b".repeat(40);
const REPLICA = "c".repeat(40);

/** Me (slots 0-99, epoch 1), OTHER (100-16383, epoch 2) and OTHER's replica, linked; keys per slot from `keys`. */
function makeState(keys: Map<number, number> = new Map(), settings: Partial<ClusterSettings> = {}): ClusterState {
  const data = { countKeysInSlot: (slot: number) => keys.get(slot) ?? 0, dbSize: () => 0, replOffset: () => 0 };
  const state = new ClusterState(ME, defaultClusterSettings(7000, settings), data, NOW, () => 0);
  state.myself.configEpoch = 1;
  state.currentEpoch = 2;
  const other = newNode(OTHER, NODE_MASTER, NOW);
  other.configEpoch = 2;
  const replica = newNode(REPLICA, NODE_SLAVE, NOW);
  replica.masterId = OTHER;
  let linkId = 1;
  for (const node of [other, replica]) {
    state.addNode(node);
    const id = linkId++;
    state.links.set(id, { id, node, outbound: true, createdAt: NOW, connected: true, peerIp: "", localIp: "" });
    node.link = id;
  }
  for (let slot = 0; slot < 16384; slot++) state.setSlotOwner(slot, slot < 100 ? state.myself : other);
  state.drainEffects();
  return state;
}

function kinds(effects: Effect[]): string[] {
  return effects.map((e) => e.kind === "send" ? `send:${e.msg.type}` : e.kind);
}

function logs(effects: Effect[]): string[] {
  return effects.flatMap((e) => e.kind === "log" ? [e.text] : []);
}

Deno.test("SETSLOT MIGRATING / IMPORTING / STABLE open and close a slot, saving nodes.conf (no fsync, as Redis)", () => {
  const state = makeState();
  const other = state.nodes.get(OTHER)!;
  assert.equal(setSlot(state, 5, "migrating", OTHER, NOW), null);
  assert.equal(state.migratingTo[5], other);
  assert.deepEqual(state.drainEffects().filter((e) => e.kind === "persist"), [{
    kind: "persist",
    fsync: false,
    background: true,
  }]);
  assert.equal(setSlot(state, 200, "importing", OTHER, NOW), null);
  assert.equal(state.importingFrom[200], other);
  assert.equal(setSlot(state, 5, "stable", "", NOW), null);
  assert.equal(setSlot(state, 200, "stable", "", NOW), null);
  assert.equal(state.migratingTo[5], null);
  assert.equal(state.importingFrom[200], null);
  assert.equal(state.drainEffects().filter((e) => e.kind === "persist").length, 3);
});

Deno.test("SETSLOT refuses as Redis 7.0 does, changing nothing", () => {
  const state = makeState(new Map([[7, 3]]));
  const cases: [number, "migrating" | "importing" | "node", string, string][] = [
    [200, "migrating", OTHER, "ERR I'm not the owner of hash slot 200"],
    [7, "importing", OTHER, "ERR I'm already the owner of hash slot 7"],
    [7, "migrating", "x".repeat(40), `ERR I don't know about node ${"x".repeat(40)}`],
    [200, "importing", "id\0rest", "ERR I don't know about node id"],
    [7, "migrating", REPLICA, "ERR Target node is not a master"],
    [200, "importing", REPLICA, "ERR Target node is not a master"],
    [7, "node", "nobody", "ERR Unknown node nobody"],
    [7, "node", REPLICA, "ERR Target node is not a master"],
    [7, "node", OTHER, "ERR Can't assign hashslot 7 to a different node while I still hold keys for this hash slot."],
  ];
  for (const [slot, action, id, error] of cases) assert.equal(setSlot(state, slot, action, id, NOW), error);
  assert.equal(state.slots[7], state.myself);
  assert.deepEqual(state.drainEffects(), []);
});

Deno.test("SETSLOT NODE gives away an empty slot and closes its migration; a migration with keys stays open", () => {
  const keys = new Map<number, number>();
  const state = makeState(keys);
  const other = state.nodes.get(OTHER)!;
  setSlot(state, 8, "migrating", OTHER, NOW);
  assert.equal(setSlot(state, 8, "node", OTHER, NOW), null);
  assert.equal(state.slots[8], other);
  assert.equal(state.migratingTo[8], null);
  assert.equal(state.myself.configEpoch, 1, "giving a slot away does not bump my epoch");
  // Not my slot any more, keys left behind (Redis only checks keys for slots it owns): the migration mark stays.
  setSlot(state, 300, "node", ME, NOW);
  setSlot(state, 300, "migrating", OTHER, NOW);
  keys.set(300, 2);
  assert.notEqual(setSlot(state, 300, "node", OTHER, NOW), null);
  state.setSlotOwner(300, other);
  assert.equal(setSlot(state, 300, "node", OTHER, NOW), null);
  assert.equal(state.migratingTo[300], other);
});

Deno.test("SETSLOT NODE myself closes an import: configEpoch bumped past all, PONG to every node", () => {
  const state = makeState();
  setSlot(state, 150, "importing", OTHER, NOW);
  state.drainEffects();
  assert.equal(setSlot(state, 150, "node", ME, NOW), null);
  assert.equal(state.slots[150], state.myself);
  assert.equal(state.importingFrom[150], null);
  assert.equal(state.myself.configEpoch, 3);
  assert.equal(state.currentEpoch, 3);
  const effects = state.drainEffects();
  assert.deepEqual(logs(effects), ["New configEpoch set to 3", "configEpoch updated after importing slot 150"]);
  assert.deepEqual(kinds(effects).filter((k) => k.startsWith("send")), [`send:${MSG_PONG}`, `send:${MSG_PONG}`]);
  // Already the greatest epoch: no second bump, but the PONGs still go out.
  setSlot(state, 151, "importing", OTHER, NOW);
  state.drainEffects();
  assert.equal(setSlot(state, 151, "node", ME, NOW), null);
  assert.equal(state.myself.configEpoch, 3);
  const again = state.drainEffects();
  assert.deepEqual(logs(again), []);
  assert.equal(kinds(again).filter((k) => k.startsWith("send")).length, 2);
  // Without an import, taking a slot is a plain assignment.
  assert.equal(setSlot(state, 152, "node", ME, NOW), null);
  assert.equal(kinds(state.drainEffects()).filter((k) => k.startsWith("send")).length, 0);
});

Deno.test("SETSLOT NODE of my last slot makes me a replica of the receiver, unless replica migration is off", () => {
  for (const allow of [true, false]) {
    const state = makeState(new Map(), { allowReplicaMigration: allow });
    for (let slot = 0; slot < 99; slot++) assert.equal(setSlot(state, slot, "node", OTHER, NOW), null);
    assert.equal(state.myself.flags & NODE_SLAVE, 0, "still a master with one slot");
    state.drainEffects();
    assert.equal(setSlot(state, 99, "node", OTHER, NOW), null);
    const effects = state.drainEffects();
    if (allow) {
      assert.equal(state.myself.masterId, OTHER);
      assert.notEqual(state.myself.flags & NODE_SLAVE, 0);
      assert.ok(effects.some((e) => e.kind === "replicate" && e.masterId === OTHER));
      assert.ok(logs(effects).includes(`Configuration change detected. Reconfiguring myself as a replica of ${OTHER}`));
    } else {
      assert.equal(state.myself.flags & NODE_SLAVE, 0);
      assert.ok(!effects.some((e) => e.kind === "replicate"));
    }
  }
});
