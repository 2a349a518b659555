import assert from "node:assert/strict";
import {
  clusterInfoText,
  clusterNodesText,
  nodeDescription,
  writeClusterLinks,
  writeClusterShards,
  writeClusterSlots,
} from "./describe.ts";
import { MSG_MEET, MSG_PING, MSG_PONG, MSG_UPDATE } from "./bus/message.ts";
import {
  type ClusterNode,
  newNode,
  NODE_FAIL,
  NODE_HANDSHAKE,
  NODE_MASTER,
  NODE_MYSELF,
  NODE_NOFAILOVER,
  NODE_PFAIL,
  NODE_SLAVE,
} from "./node.ts";
import { type ClusterSettings, ClusterState, defaultClusterSettings, type Link } from "./state.ts";
import { ReplyWriter } from "../resp/writer.ts";
import { bytesToLatin1 } from "../resp/latin1.ts";

// Node ids of the real 4-node cluster in reference/cluster-text-formats.md section 2 (node 7001's view).
const M1 = "3c0d1e300f51a72c4a62e0f6062a42382b410f0e";
const M2 = "15943f431f0ab1374e2fb486aaacd744260888e9";
const M3 = "9618d73481336726e0e007e4024627245d860607";
const R1 = "1493bd487aa549ca2a7ed8698ec369a391f120b5";

const SETTINGS: ClusterSettings = defaultClusterSettings(7001);

/** A state whose myself is `myId`, with its own replication offset. */
function makeState(myId: string, opts: { offset?: number; endpoint?: ClusterSettings["preferredEndpointType"] } = {}) {
  const data = { countKeysInSlot: () => 0, dbSize: () => 0, replOffset: () => opts.offset ?? 0 };
  const settings = { ...SETTINGS, preferredEndpointType: opts.endpoint ?? "ip" };
  return new ClusterState(myId, settings, data, 1000, () => 0.5);
}

/** Adds (or updates, for myself) a node with some fields set. */
function putNode(state: ClusterState, id: string, fields: Partial<ClusterNode>): ClusterNode {
  const node = state.nodes.get(id) ?? newNode(id, 0, 0);
  Object.assign(node, fields);
  state.nodes.set(id, node);
  return node;
}

function giveSlots(state: ClusterState, node: ClusterNode, from: number, to: number): void {
  for (let slot = from; slot <= to; slot++) state.setSlotOwner(slot, node);
}

/** The section 2 cluster from 7001's view, with the table in the order of the real nodes.conf. */
function section2State(offset = 0): ClusterState {
  const state = makeState(M1, { offset });
  const me = state.myself;
  state.nodes.clear();
  putNode(state, R1, {
    ip: "127.0.0.1",
    port: 7004,
    cport: 17004,
    flags: NODE_SLAVE,
    masterId: M1,
    pongReceived: 1795317390881,
    configEpoch: 0,
    link: 4,
  });
  const m3 = putNode(state, M3, {
    ip: "127.0.0.1",
    port: 7003,
    cport: 17003,
    flags: NODE_MASTER,
    pongReceived: 1795317389876,
    configEpoch: 3,
    link: 3,
  });
  state.nodes.set(M1, me);
  Object.assign(me, { ip: "127.0.0.1", port: 7001, cport: 17001, pongReceived: 1795317389000, configEpoch: 1 });
  const m2 = putNode(state, M2, {
    ip: "127.0.0.1",
    port: 7002,
    cport: 17002,
    flags: NODE_MASTER,
    pongReceived: 1795317390000,
    configEpoch: 2,
    link: 2,
  });
  giveSlots(state, me, 0, 5460);
  giveSlots(state, m2, 5461, 10922);
  giveSlots(state, m3, 10923, 16383);
  return state;
}

function written(resp: 2 | 3, write: (out: ReplyWriter) => void): string {
  const out = new ReplyWriter();
  out.resp = resp;
  write(out);
  return bytesToLatin1(out.bytes.subarray(0, out.length));
}

// Expected replies are spelled out with these, independently of ReplyWriter.
const bulk = (s: string) => `$${s.length}\r\n${s}\r\n`;
const int = (n: number) => `:${n}\r\n`;
const arr = (n: number) => `*${n}\r\n`;

Deno.test("CLUSTER NODES of the real section 2 cluster is byte-identical", () => {
  const expected = [
    `${R1} 127.0.0.1:7004@17004 slave ${M1} 0 1795317390881 1 connected`,
    `${M3} 127.0.0.1:7003@17003 master - 0 1795317389876 3 connected 10923-16383`,
    `${M1} 127.0.0.1:7001@17001 myself,master - 0 1795317389000 1 connected 0-5460`,
    `${M2} 127.0.0.1:7002@17002 master - 0 1795317390000 2 connected 5461-10922`,
  ].map((line) => line + "\n").join("");
  assert.equal(clusterNodesText(section2State(), { includeHandshake: true }), expected);
});

Deno.test("nodeDescription reproduces the real section 1 lines", () => {
  const A = "4e6ce4c1c5ea3589a17261a35cdcf6f60c2f48cb";
  const B = "0d8909d6a2e987ebb8542e188d0e234596e5744b";
  const addr = (port: number) => ({ ip: "127.0.0.1", port, cport: port + 10000 });

  // Migrating slot on myself.
  let state = makeState(A);
  Object.assign(state.myself, { ...addr(7001), pongReceived: 1795317519000, configEpoch: 1 });
  const b = putNode(state, B, { ...addr(7002), flags: NODE_MASTER });
  giveSlots(state, state.myself, 0, 5460);
  state.migratingTo[3300] = b;
  assert.equal(
    nodeDescription(state, state.myself),
    `${A} 127.0.0.1:7001@17001 myself,master - 0 1795317519000 1 connected 0-5460 [3300->-${B}]`,
  );
  // Open slots belong to myself's line only.
  assert.equal(nodeDescription(state, b), `${B} 127.0.0.1:7002@17002 master - 0 0 0 disconnected`);

  // Importing slot on myself.
  state = makeState(B);
  Object.assign(state.myself, { ...addr(7002), pongReceived: 1795317518000, configEpoch: 2 });
  const a = putNode(state, A, { ...addr(7001), flags: NODE_MASTER });
  giveSlots(state, state.myself, 5461, 10922);
  state.importingFrom[3300] = a;
  assert.equal(
    nodeDescription(state, state.myself),
    `${B} 127.0.0.1:7002@17002 myself,master - 0 1795317518000 2 connected 5461-10922 [3300-<-${A}]`,
  );

  // A replica shows its master's configEpoch; a failed master with a link is "connected".
  state = makeState(B);
  const master = putNode(state, A, {
    ...addr(7001),
    flags: NODE_MASTER | NODE_FAIL,
    pingSent: 1795317559085,
    pongReceived: 1795317556573,
    configEpoch: 1,
    link: 7,
  });
  const replica = putNode(state, "545cf9e593f39db70cfcea134b0b3073dac6f9a0", {
    ...addr(7004),
    flags: NODE_SLAVE,
    masterId: A,
    pongReceived: 1795317504951,
    configEpoch: 0,
    link: 8,
  });
  assert.equal(
    nodeDescription(state, replica),
    `545cf9e593f39db70cfcea134b0b3073dac6f9a0 127.0.0.1:7004@17004 slave ${A} 0 1795317504951 1 connected`,
  );
  assert.equal(
    nodeDescription(state, master),
    `${A} 127.0.0.1:7001@17001 master,fail - 1795317559085 1795317556573 1 connected`,
  );

  // A handshake node, and myself with a hostname and no ip yet.
  const hs = putNode(state, "5239a58f631072ca815f7ce0e1404edc3176bddd", {
    ...addr(7999),
    flags: NODE_HANDSHAKE,
  });
  assert.equal(
    nodeDescription(state, hs),
    "5239a58f631072ca815f7ce0e1404edc3176bddd 127.0.0.1:7999@17999 handshake - 0 0 0 disconnected",
  );
  state = makeState(M1);
  Object.assign(state.myself, { port: 7001, cport: 17001, hostname: "host-7001.example", configEpoch: 1 });
  assert.equal(
    nodeDescription(state, state.myself),
    `${M1} :7001@17001,host-7001.example myself,master - 0 0 1 connected`,
  );
});

Deno.test("nodeDescription: replica of an unknown master keeps its own epoch; slot runs and single slots", () => {
  const state = makeState(M1);
  const replica = putNode(state, R1, { flags: NODE_SLAVE | NODE_NOFAILOVER, masterId: M2, configEpoch: 9 });
  assert.equal(nodeDescription(state, replica), `${R1} :0@0 slave,nofailover ${M2} 0 0 9 disconnected`);
  const other = putNode(state, M3, { flags: 0 });
  assert.equal(nodeDescription(state, other), `${M3} :0@0 noflags - 0 0 0 disconnected`);

  for (const slot of [0, 2, 3, 4, 16383]) state.setSlotOwner(slot, state.myself);
  state.setSlotOwner(1, other);
  state.migratingTo[3] = other;
  state.importingFrom[9] = other;
  state.migratingTo[16000] = other;
  assert.equal(
    nodeDescription(state, state.myself),
    `${M1} :0@0 myself,master - 0 0 0 connected 0 2-4 16383 [3->-${M3}] [9-<-${M3}] [16000->-${M3}]`,
  );
  assert.equal(nodeDescription(state, other), `${M3} :0@0 noflags - 0 0 0 disconnected 1`);
  // Precomputed ranges are used as given.
  assert.equal(nodeDescription(state, other, { ranges: [5, 6] }), `${M3} :0@0 noflags - 0 0 0 disconnected 5-6`);
});

Deno.test("clusterNodesText lists handshake nodes only when asked, in table order", () => {
  const state = section2State();
  putNode(state, "5239a58f631072ca815f7ce0e1404edc3176bddd", { flags: NODE_HANDSHAKE, ip: "127.0.0.1", port: 7999 });
  const all = clusterNodesText(state, { includeHandshake: true }).split("\n");
  const saved = clusterNodesText(state, { includeHandshake: false }).split("\n");
  assert.equal(all.length, 6); // five lines and the "" after the last "\n"
  assert.equal(saved.length, 5);
  assert.ok(all[4].startsWith("5239a58f631072ca815f7ce0e1404edc3176bddd 127.0.0.1:7999@0 handshake"));
  assert.deepEqual(saved.slice(0, 4), all.slice(0, 4));
  assert.deepEqual(all.slice(0, 4).map((l) => l.slice(0, 40)), [R1, M3, M1, M2]);
});

Deno.test("CLUSTER SLOTS (RESP2) matches the real section 3 reply", () => {
  const state = section2State();
  state.nodes.get(R1)!.replOffset = 14;
  const node = (port: number, id: string) => arr(4) + bulk("127.0.0.1") + int(port) + bulk(id) + arr(0);
  const expected = arr(3) +
    arr(4) + int(0) + int(5460) + node(7001, M1) + node(7004, R1) +
    arr(3) + int(5461) + int(10922) + node(7002, M2) +
    arr(3) + int(10923) + int(16383) + node(7003, M3);
  assert.equal(written(2, (out) => writeClusterSlots(out, state)), expected);
});

Deno.test("CLUSTER SLOTS skips replicas that failed or never synced", () => {
  const state = section2State();
  const replica = state.nodes.get(R1)!;
  const firstEntryLength = () => written(2, (out) => writeClusterSlots(out, state)).slice(4, 8);
  assert.equal(firstEntryLength(), "*3\r\n"); // offset 0: still loading
  replica.replOffset = 100;
  assert.equal(firstEntryLength(), "*4\r\n");
  replica.flags |= NODE_PFAIL;
  assert.equal(firstEntryLength(), "*4\r\n"); // PFAIL is not FAIL
  replica.flags |= NODE_FAIL;
  assert.equal(firstEntryLength(), "*3\r\n");
});

Deno.test("CLUSTER SLOTS uses our own offset when myself is the replica", () => {
  const state = makeState(R1, { offset: 0 });
  const master = putNode(state, M1, { flags: NODE_MASTER, ip: "127.0.0.1", port: 7001 });
  Object.assign(state.myself, { flags: NODE_MYSELF | NODE_SLAVE, masterId: M1, replOffset: 500 });
  giveSlots(state, master, 0, 0);
  assert.equal(written(2, (out) => writeClusterSlots(out, state)).slice(4, 8), "*3\r\n");
  const synced = makeState(R1, { offset: 7 });
  for (const [id, node] of state.nodes) if (id !== R1) synced.nodes.set(id, node);
  Object.assign(synced.myself, { flags: NODE_MYSELF | NODE_SLAVE, masterId: M1 });
  synced.setSlotOwner(0, master);
  assert.equal(written(2, (out) => writeClusterSlots(out, synced)).slice(4, 8), "*4\r\n");
});

Deno.test("CLUSTER SLOTS endpoints and metadata per preferred endpoint type, RESP2 and RESP3", () => {
  const build = (endpoint: ClusterSettings["preferredEndpointType"], hostname: string) => {
    const state = makeState(M1, { endpoint });
    Object.assign(state.myself, { ip: "127.0.0.1", port: 7001, hostname });
    state.setSlotOwner(0, state.myself);
    return state;
  };
  const head = arr(1) + arr(3) + int(0) + int(0) + arr(4);
  // Default type, a hostname announced: the real RESP2 bytes of section 3.
  let state = build("ip", "h1.example");
  assert.equal(
    written(2, (out) => writeClusterSlots(out, state)),
    head + bulk("127.0.0.1") + int(7001) + bulk(M1) + "*2\r\n$8\r\nhostname\r\n$10\r\nh1.example\r\n",
  );
  assert.equal(
    written(3, (out) => writeClusterSlots(out, state)),
    head + bulk("127.0.0.1") + int(7001) + bulk(M1) + "%1\r\n" + bulk("hostname") + bulk("h1.example"),
  );
  state = build("ip", "");
  assert.equal(
    written(3, (out) => writeClusterSlots(out, state)),
    head + bulk("127.0.0.1") + int(7001) + bulk(M1) + "%0\r\n",
  );
  state = build("hostname", "h1.example");
  assert.equal(
    written(2, (out) => writeClusterSlots(out, state)),
    head + bulk("h1.example") + int(7001) + bulk(M1) + arr(2) + bulk("ip") + bulk("127.0.0.1"),
  );
  state = build("hostname", "");
  assert.equal(
    written(2, (out) => writeClusterSlots(out, state)),
    head + bulk("?") + int(7001) + bulk(M1) + arr(2) + bulk("ip") + bulk("127.0.0.1"),
  );
  state = build("unknown-endpoint", "h1.example");
  const meta = bulk("ip") + bulk("127.0.0.1") + bulk("hostname") + bulk("h1.example");
  assert.equal(
    written(2, (out) => writeClusterSlots(out, state)),
    head + "$-1\r\n" + int(7001) + bulk(M1) + arr(4) + meta,
  );
  assert.equal(
    written(3, (out) => writeClusterSlots(out, state)),
    head + "_\r\n" + int(7001) + bulk(M1) + "%2\r\n" + meta,
  );
});

Deno.test("CLUSTER SHARDS node map matches the real section 4 bytes", () => {
  const state = makeState(M1, { offset: 14 });
  Object.assign(state.myself, { ip: "127.0.0.1", port: 7001, cport: 17001 });
  const expectedNode = "*14\r\n" + bulk("id") + bulk(M1) + bulk("port") + int(7001) + bulk("ip") + bulk("127.0.0.1") +
    bulk("endpoint") + bulk("127.0.0.1") + bulk("role") + bulk("master") + bulk("replication-offset") + int(14) +
    bulk("health") + bulk("online");
  const expected = arr(1) + arr(4) + bulk("slots") + arr(0) + bulk("nodes") + arr(1) + expectedNode;
  assert.equal(written(2, (out) => writeClusterShards(out, state)), expected);
});

Deno.test("CLUSTER SHARDS: masters in table order with slot pairs, replicas with health, RESP3 maps", () => {
  const state = section2State(55);
  const replica = state.nodes.get(R1)!;
  replica.hostname = "r1.example";
  putNode(state, "5239a58f631072ca815f7ce0e1404edc3176bddd", { flags: NODE_HANDSHAKE });
  state.setSlotOwner(16383, state.myself);
  const text = written(3, (out) => writeClusterShards(out, state));
  // Three masters (the replica and the handshake node are no shards), in table order M3, M1, M2.
  assert.ok(
    text.startsWith("*3\r\n%2\r\n" + bulk("slots") + arr(2) + int(10923) + int(16382) + bulk("nodes") + arr(1)),
  );
  const m1At = text.indexOf(bulk("slots") + arr(4) + int(0) + int(5460) + int(16383) + int(16383));
  assert.ok(m1At > 0);
  const m1Shard = text.slice(m1At, text.indexOf(bulk(M2)));
  assert.ok(m1Shard.includes(bulk("nodes") + arr(2) + "%7\r\n" + bulk("id") + bulk(M1)));
  assert.ok(m1Shard.includes(bulk("replication-offset") + int(55) + bulk("health") + bulk("online")));
  // The replica: hostname after endpoint, role replica, offset 0 -> loading.
  const replicaMap = "%8\r\n" + bulk("id") + bulk(R1) + bulk("port") + int(7004) + bulk("ip") + bulk("127.0.0.1") +
    bulk("endpoint") + bulk("127.0.0.1") + bulk("hostname") + bulk("r1.example") + bulk("role") + bulk("replica") +
    bulk("replication-offset") + int(0) + bulk("health") + bulk("loading");
  assert.ok(m1Shard.includes(replicaMap));
  replica.replOffset = 9;
  replica.flags |= NODE_FAIL;
  const failed = written(3, (out) => writeClusterShards(out, state));
  assert.ok(failed.includes(bulk("replication-offset") + int(9) + bulk("health") + bulk("fail")));
  // A node without a port leaves the port out; unknown-endpoint gives an empty endpoint.
  const bare = makeState(M1, { endpoint: "unknown-endpoint" });
  assert.equal(
    written(2, (out) => writeClusterShards(out, bare)),
    arr(1) + arr(4) + bulk("slots") + arr(0) + bulk("nodes") + arr(1) + arr(12) + bulk("id") + bulk(M1) +
      bulk("ip") + bulk("") + bulk("endpoint") + bulk("") + bulk("role") + bulk("master") +
      bulk("replication-offset") + int(0) + bulk("health") + bulk("online"),
  );
});

Deno.test("CLUSTER INFO matches a real 2-node redis-server 7.0.15 reply", () => {
  // Captured from redis-server 7.0.15: node A after MEET with B and ADDSLOTSRANGE 0 100.
  const expected = [
    "cluster_state:fail",
    "cluster_slots_assigned:101",
    "cluster_slots_ok:101",
    "cluster_slots_pfail:0",
    "cluster_slots_fail:0",
    "cluster_known_nodes:2",
    "cluster_size:1",
    "cluster_current_epoch:1",
    "cluster_my_epoch:1",
    "cluster_stats_messages_ping_sent:3",
    "cluster_stats_messages_pong_sent:3",
    "cluster_stats_messages_meet_sent:1",
    "cluster_stats_messages_sent:7",
    "cluster_stats_messages_ping_received:3",
    "cluster_stats_messages_pong_received:4",
    "cluster_stats_messages_received:7",
    "total_cluster_links_buffer_limit_exceeded:0",
  ].join("\r\n") + "\r\n";
  const state = makeState(M1);
  putNode(state, M2, { flags: NODE_MASTER });
  giveSlots(state, state.myself, 0, 100);
  state.myself.configEpoch = 1;
  state.currentEpoch = 1;
  state.size = 1;
  state.statsSent[MSG_PING] = 3;
  state.statsSent[MSG_PONG] = 3;
  state.statsSent[MSG_MEET] = 1;
  state.statsReceived[MSG_PING] = 3;
  state.statsReceived[MSG_PONG] = 4;
  assert.equal(clusterInfoText(state), expected);
});

Deno.test("CLUSTER INFO counts slots by owner flags and shows my master's epoch on a replica", () => {
  const state = makeState(R1);
  const ok = putNode(state, M1, { flags: NODE_MASTER, configEpoch: 7 });
  const pfail = putNode(state, M2, { flags: NODE_MASTER | NODE_PFAIL, configEpoch: 8 });
  const fail = putNode(state, M3, { flags: NODE_MASTER | NODE_FAIL, configEpoch: 9 });
  Object.assign(state.myself, { flags: NODE_MYSELF | NODE_SLAVE, masterId: M3, configEpoch: 2 });
  giveSlots(state, ok, 0, 9);
  giveSlots(state, pfail, 10, 29);
  giveSlots(state, fail, 30, 59);
  state.state = "ok";
  state.size = 3;
  state.currentEpoch = 9;
  state.statsSent[MSG_UPDATE] = 2;
  state.statsReceived[MSG_UPDATE] = 5;
  const lines = clusterInfoText(state).split("\r\n");
  assert.deepEqual(lines, [
    "cluster_state:ok",
    "cluster_slots_assigned:60",
    "cluster_slots_ok:10",
    "cluster_slots_pfail:20",
    "cluster_slots_fail:30",
    "cluster_known_nodes:4",
    "cluster_size:3",
    "cluster_current_epoch:9",
    "cluster_my_epoch:9",
    "cluster_stats_messages_update_sent:2",
    "cluster_stats_messages_sent:2",
    "cluster_stats_messages_update_received:5",
    "cluster_stats_messages_received:5",
    "total_cluster_links_buffer_limit_exceeded:0",
    "",
  ]);
  // A replica whose master is unknown shows its own epoch.
  state.myself.masterId = "ffffffffffffffffffffffffffffffffffffffff";
  assert.ok(clusterInfoText(state).includes("\r\ncluster_my_epoch:2\r\n"));
});

Deno.test("CLUSTER LINKS matches the real reply for an idle pair and shows pending writes", () => {
  const B = "ef22a9ed66b5e2a9d5fc48ac189c7b25bac48c34";
  const state = makeState(M1);
  const peer = putNode(state, B, { flags: NODE_MASTER });
  const link = (fields: Partial<Link> & { sendBufferAllocated?: number; sendBufferUsed?: number }) => {
    const l = {
      id: state.allocateLinkId(),
      node: peer,
      outbound: true,
      createdAt: 0,
      connected: true,
      peerIp: "",
      localIp: "",
      ...fields,
    };
    state.links.set(l.id, l);
    return l;
  };
  peer.link = link({ outbound: true, createdAt: 1795328964039 }).id;
  peer.inboundLink = link({ outbound: false, createdAt: 1795328964046 }).id;
  const map = (dir: string, created: number, events: string, allocated = 0, used = 0) =>
    arr(12) + bulk("direction") + bulk(dir) + bulk("node") + bulk(B) + bulk("create-time") + int(created) +
    bulk("events") + bulk(events) + bulk("send-buffer-allocated") + int(allocated) + bulk("send-buffer-used") +
    int(used);
  assert.equal(
    written(2, (out) => writeClusterLinks(out, state)),
    arr(2) + map("to", 1795328964039, "r") + map("from", 1795328964046, "r"),
  );
  // A connecting outbound link has no handlers yet; queued data adds the write handler.
  const other = putNode(state, M2, { flags: NODE_MASTER });
  other.link = link({ node: other, connected: false, createdAt: 5 }).id;
  peer.link = link({ createdAt: 6, sendBufferAllocated: 4096, sendBufferUsed: 100 }).id;
  putNode(state, M3, { flags: NODE_MASTER }); // no links: not listed
  const text = written(3, (out) => writeClusterLinks(out, state));
  assert.ok(
    text.startsWith(
      "*3\r\n%6\r\n" + bulk("direction") + bulk("to") + bulk("node") + bulk(B) + bulk("create-time") + int(6),
    ),
  );
  assert.ok(
    text.includes(
      bulk("events") + bulk("rw") + bulk("send-buffer-allocated") + int(4096) + bulk("send-buffer-used") + int(100),
    ),
  );
  assert.ok(text.includes(bulk(M2) + bulk("create-time") + int(5) + bulk("events") + bulk("")));
});
