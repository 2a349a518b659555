import assert from "node:assert/strict";
import { authTimeoutMs, handleAuthAck, handleAuthRequest, handleReplicaFailover, replicaRank } from "./election.ts";
import { startManualFailover } from "./manual_failover.ts";
import { isWriteFenced, updateWriteFence } from "./write_fence.ts";
import { replicate } from "./admin.ts";
import {
  type BusMessage,
  emptyMessage,
  MSG_FAILOVER_AUTH_ACK,
  MSG_FAILOVER_AUTH_REQUEST,
  MSGFLAG0_FORCEACK,
  setSlotBit,
} from "./bus/message.ts";
import { newNode, NODE_FAIL, NODE_MASTER, NODE_MYSELF, NODE_NOFAILOVER, NODE_SLAVE } from "./node.ts";
import { type ClusterSettings, ClusterState, defaultClusterSettings, type Effect } from "./state.ts";

const NOW = 1_700_000_000_000;
const ID = (c: string) => c.repeat(40);
const ME = ID("a");
const M1 = ID("b");
const M2 = ID("c");
const R1 = ID("d");
const R2 = ID("e");

/** A state for `myId`, with these nodes (myself included, flags given), slots by owner, and a replica offset. */
function makeState(
  myId: string,
  nodes: { id: string; flags: number; master?: string; slots?: [number, number]; epoch?: number }[],
  opts: { offset?: number; settings?: Partial<ClusterSettings>; rng?: () => number } = {},
): ClusterState {
  const data = { countKeysInSlot: () => 0, dbSize: () => 0, replOffset: () => opts.offset ?? 0 };
  const settings = defaultClusterSettings(7000, { nodeTimeoutMs: 1000, ...opts.settings });
  const state = new ClusterState(myId, settings, data, NOW, opts.rng ?? (() => 0));
  let linkId = 100;
  for (const spec of nodes) {
    const node = spec.id === myId ? state.myself : newNode(spec.id, spec.flags, NOW);
    node.flags = spec.flags | (spec.id === myId ? NODE_MYSELF : 0);
    node.masterId = spec.master ?? null;
    node.configEpoch = spec.epoch ?? 0;
    if (spec.id !== myId) {
      state.addNode(node);
      // A connected outbound link, so messages to it are queued as effects.
      const id = linkId++;
      state.links.set(id, { id, node, outbound: true, createdAt: NOW, connected: true, peerIp: "", localIp: "" });
      node.link = id;
    }
    if (spec.slots !== undefined) {
      for (let slot = spec.slots[0]; slot <= spec.slots[1]; slot++) state.setSlotOwner(slot, node);
    }
  }
  state.size = state.countSizedMasters();
  state.drainEffects();
  return state;
}

/** Three masters (me, M1, M2) and M1's replica R1; M1 is FAIL. */
function voterState(): ClusterState {
  return makeState(ME, [
    { id: ME, flags: NODE_MASTER, slots: [0, 99], epoch: 1 },
    { id: M1, flags: NODE_MASTER | NODE_FAIL, slots: [100, 199], epoch: 2 },
    { id: M2, flags: NODE_MASTER, slots: [200, 16383], epoch: 3 },
    { id: R1, flags: NODE_SLAVE, master: M1 },
  ]);
}

/** R1's vote request for epoch `epoch`, claiming M1's slots with M1's configEpoch. */
function request(epoch: number, mflags = 0, configEpoch = 2): BusMessage {
  const msg = emptyMessage(MSG_FAILOVER_AUTH_REQUEST);
  msg.sender = R1;
  msg.slaveof = M1;
  msg.currentEpoch = epoch;
  msg.configEpoch = configEpoch;
  msg.mflags = mflags;
  for (let slot = 100; slot <= 199; slot++) setSlotBit(msg.myslots, slot);
  return msg;
}

function logs(effects: Effect[]): string[] {
  return effects.flatMap((e) => (e.kind === "log" ? [e.text] : []));
}

function sent(effects: Effect[], type: number): number {
  return effects.filter((e) => e.kind === "send" && e.msg.type === type).length;
}

Deno.test("a master votes once per epoch for a replica of a FAIL master, with Redis's log lines", () => {
  const state = voterState();
  const r1 = state.nodes.get(R1)!;
  state.currentEpoch = 4;
  handleAuthRequest(state, r1, request(4), NOW);
  let effects = state.drainEffects();
  assert.equal(sent(effects, MSG_FAILOVER_AUTH_ACK), 1);
  assert.deepEqual(logs(effects), [`Failover auth granted to ${R1} for epoch 4`]);
  assert.equal(state.lastVoteEpoch, 4);
  assert.equal(state.nodes.get(M1)!.votedTime, NOW);
  assert.ok(effects.some((e) => e.kind === "persist" && e.fsync));

  handleAuthRequest(state, r1, request(4), NOW + 1);
  effects = state.drainEffects();
  assert.equal(sent(effects, MSG_FAILOVER_AUTH_ACK), 0);
  assert.deepEqual(logs(effects), [`Failover auth denied to ${R1}: already voted for epoch 4`]);

  // A new epoch, but the same master within 2 x node timeout.
  state.currentEpoch = 5;
  handleAuthRequest(state, r1, request(5), NOW + 500);
  assert.deepEqual(logs(state.drainEffects()), [
    `Failover auth denied to ${R1}: can't vote about this master before 1500 milliseconds`,
  ]);
  handleAuthRequest(state, r1, request(5), NOW + 2000);
  assert.equal(sent(state.drainEffects(), MSG_FAILOVER_AUTH_ACK), 1);
});

Deno.test("vote denials: old epoch, master sender, unknown master, master up (unless FORCEACK), newer slot owner", () => {
  const cases: [string, (s: ClusterState) => BusMessage, string | null][] = [
    ["old epoch", (s) => (s.currentEpoch = 6, request(5)), `reqEpoch (5) < curEpoch(6)`],
    ["master sender", (s) => (s.nodes.get(R1)!.flags = NODE_MASTER, request(4)), "it is a master node"],
    ["unknown master", (s) => (s.nodes.get(R1)!.masterId = ID("f"), request(4)), "I don't know its master"],
    ["master up", (s) => (s.nodes.get(M1)!.flags = NODE_MASTER, request(4)), "its master is up"],
    ["master up, FORCEACK", (s) => (s.nodes.get(M1)!.flags = NODE_MASTER, request(4, MSGFLAG0_FORCEACK)), null],
    ["stale claim", () => request(4, 0, 1), "slot 100 epoch (2) > reqEpoch (1)"],
  ];
  for (const [what, prepare, denial] of cases) {
    const state = voterState();
    state.currentEpoch = 4;
    const msg = prepare(state);
    handleAuthRequest(state, state.nodes.get(R1)!, msg, NOW);
    const effects = state.drainEffects();
    if (denial === null) {
      assert.equal(sent(effects, MSG_FAILOVER_AUTH_ACK), 1, what);
    } else {
      assert.equal(sent(effects, MSG_FAILOVER_AUTH_ACK), 0, what);
      assert.deepEqual(logs(effects), [`Failover auth denied to ${R1}: ${denial}`], what);
    }
  }
  // A replica, or a master without slots, does not vote (silently).
  const replica = makeState(R2, [
    { id: R2, flags: NODE_SLAVE, master: M2 },
    { id: M1, flags: NODE_MASTER | NODE_FAIL, slots: [0, 16383] },
    { id: M2, flags: NODE_MASTER },
    { id: R1, flags: NODE_SLAVE, master: M1 },
  ]);
  handleAuthRequest(replica, replica.nodes.get(R1)!, request(4), NOW);
  assert.deepEqual(replica.drainEffects(), []);
});

/** R1's state: replica of M1 (FAIL, slots 0-99) with sibling R2; masters M1, M2 and ME (slots). */
function replicaState(offset: number, siblingOffset: number, settings: Partial<ClusterSettings> = {}) {
  const state = makeState(R1, [
    { id: R1, flags: NODE_SLAVE, master: M1 },
    { id: M1, flags: NODE_MASTER | NODE_FAIL, slots: [0, 99], epoch: 2 },
    { id: M2, flags: NODE_MASTER, slots: [100, 8000], epoch: 3 },
    { id: ME, flags: NODE_MASTER, slots: [8001, 16383], epoch: 1 },
    { id: R2, flags: NODE_SLAVE, master: M1 },
  ], { offset, settings, rng: () => 0.5 });
  state.nodes.get(R2)!.replOffset = siblingOffset;
  state.currentEpoch = 3;
  return state;
}

Deno.test("replica rank counts siblings with a greater offset that may fail over", () => {
  assert.equal(replicaRank(replicaState(100, 50)), 0);
  assert.equal(replicaRank(replicaState(100, 100)), 0);
  const behind = replicaState(100, 150);
  assert.equal(replicaRank(behind), 1);
  behind.nodes.get(R2)!.flags |= NODE_NOFAILOVER;
  assert.equal(replicaRank(behind), 0);
});

Deno.test("an election: delay from the directives, request in a new epoch, majority of ACKs, promotion", () => {
  const state = replicaState(100, 150, { electionBaseDelayMs: 300, electionRandomDelayMs: 200 });
  // rng 0.5 -> random part 100; rank 1 -> +1000 (default rank delay).
  handleReplicaFailover(state, NOW);
  let effects = state.drainEffects();
  assert.deepEqual(logs(effects), ["Start of election delayed for 1400 milliseconds (rank #1, offset 100)."]);
  assert.equal(state.failoverAuthTime, NOW + 1400);
  handleReplicaFailover(state, NOW + 1399);
  assert.equal(sent(state.drainEffects(), MSG_FAILOVER_AUTH_REQUEST), 0);

  handleReplicaFailover(state, NOW + 1400);
  effects = state.drainEffects();
  assert.equal(state.currentEpoch, 4);
  assert.equal(state.failoverAuthEpoch, 4);
  assert.deepEqual(logs(effects), ["Starting a failover election for epoch 4."]);
  // Broadcast to every node with a link, the request advertising M1's slots and configEpoch.
  const requests = effects.filter((e) => e.kind === "send" && e.msg.type === MSG_FAILOVER_AUTH_REQUEST);
  assert.equal(requests.length, 4);
  const req = (requests[0] as { msg: BusMessage }).msg;
  assert.equal(req.currentEpoch, 4);
  assert.equal(req.configEpoch, 2);
  assert.equal(req.slaveof, M1);

  // Quorum is 2 of 3 sized masters; an ACK from an older epoch or from a replica does not count.
  const ack = (epoch: number) => Object.assign(emptyMessage(MSG_FAILOVER_AUTH_ACK), { currentEpoch: epoch });
  handleAuthAck(state, state.nodes.get(M2)!, ack(3), NOW + 1401);
  handleAuthAck(state, state.nodes.get(R2)!, ack(4), NOW + 1401);
  assert.equal(state.failoverAuthCount, 0);
  handleAuthAck(state, state.nodes.get(M2)!, ack(4), NOW + 1402);
  assert.ok(state.myself.flags & NODE_SLAVE);
  state.drainEffects();
  handleAuthAck(state, state.nodes.get(ME)!, ack(4), NOW + 1403);
  effects = state.drainEffects();
  assert.deepEqual(logs(effects).slice(0, 2), [
    "Failover election won: I'm the new master.",
    "configEpoch set to 4 after successful failover",
  ]);
  assert.ok(state.isMaster(state.myself));
  assert.equal(state.myself.configEpoch, 4);
  assert.equal(state.slots[0], state.myself);
  assert.equal(state.slots[99], state.myself);
  assert.equal(state.myself.numSlots, 100);
  assert.ok(effects.some((e) => e.kind === "replicate" && e.masterId === null));
});

Deno.test("no election while the master is up, with replica-no-failover, or with data too old", () => {
  const up = replicaState(100, 0);
  up.nodes.get(M1)!.flags = NODE_MASTER;
  handleReplicaFailover(up, NOW);
  assert.deepEqual(up.drainEffects(), []);
  const noFailover = replicaState(100, 0, { replicaNoFailover: true });
  handleReplicaFailover(noFailover, NOW);
  assert.deepEqual(noFailover.drainEffects(), []);
  // Data age: 1000 (timeout) is subtracted; the bound is 10 s ping period + 10 x 1000.
  const old = replicaState(100, 0);
  const data = old.data as { masterLinkIdleMs?: (now: number) => number };
  data.masterLinkIdleMs = () => 21_001 + 1000;
  old.nodes.get(M1)!.failTime = NOW - 100_000;
  handleReplicaFailover(old, NOW);
  assert.deepEqual(logs(old.drainEffects()), [
    "Currently unable to failover: Disconnected from master for longer than allowed. Please check the 'cluster-replica-validity-factor' configuration option.",
  ]);
  assert.equal(authTimeoutMs(old), 2000);
});

Deno.test("CLUSTER FAILOVER checks and TAKEOVER; REPLICATE checks", () => {
  const master = voterState();
  assert.equal(startManualFailover(master, "", NOW), "ERR You should send CLUSTER FAILOVER to a replica");
  const orphan = makeState(R1, [{ id: R1, flags: NODE_SLAVE, master: ID("f") }]);
  assert.equal(startManualFailover(orphan, "", NOW), "ERR I'm a replica but my master is unknown to me");
  const failed = replicaState(0, 0);
  assert.equal(
    startManualFailover(failed, "", NOW),
    "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE",
  );
  assert.equal(startManualFailover(failed, "takeover", NOW), null);
  const effects = failed.drainEffects();
  assert.ok(logs(effects).includes("Taking over the master (user request)."));
  assert.ok(failed.isMaster(failed.myself));
  assert.equal(failed.myself.configEpoch, 4);
  assert.equal(failed.slots[0], failed.myself);

  const voter = voterState();
  assert.equal(replicate(voter, ID("f"), NOW), `ERR Unknown node ${ID("f")}`);
  assert.equal(replicate(voter, ME, NOW), "ERR Can't replicate myself");
  assert.equal(replicate(voter, R1, NOW), "ERR I can only replicate a master, not a replica.");
  assert.equal(replicate(voter, M2, NOW), "ERR To set a master the node must be empty and without assigned slots.");
});

Deno.test("write fence: the deadline is the (quorum-1)-th freshest contact + percent of node timeout", () => {
  const state = makeState(ME, [
    { id: ME, flags: NODE_MASTER, slots: [0, 99] },
    { id: M1, flags: NODE_MASTER, slots: [100, 199] },
    { id: M2, flags: NODE_MASTER, slots: [200, 299] },
    { id: R1, flags: NODE_MASTER, slots: [300, 399] },
    { id: R2, flags: NODE_MASTER, slots: [400, 16383] },
  ]);
  // Five masters: I need two others. No contact yet: fenced.
  updateWriteFence(state);
  assert.ok(isWriteFenced(state, NOW));
  const contacts: [string, number][] = [[M1, NOW - 100], [M2, NOW - 500], [R1, NOW - 300]];
  for (const [id, at] of contacts) state.nodes.get(id)!.fenceContactAt = at;
  updateWriteFence(state);
  // Second freshest is NOW - 300; 90% of 1000 ms later the fence goes up.
  assert.equal(state.writeFenceAt, NOW - 300 + 900);
  assert.ok(!isWriteFenced(state, NOW + 599));
  assert.ok(isWriteFenced(state, NOW + 600));
  state.settings = { ...state.settings, writeFencePercent: 0 };
  updateWriteFence(state);
  assert.equal(state.writeFenceAt, Infinity);
});
