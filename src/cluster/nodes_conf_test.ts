import assert from "node:assert/strict";
import {
  CORRUPTED_CONFIG_MESSAGE,
  loadNodesConf,
  NodesConfError,
  parseNodesConf,
  serializeNodesConf,
  stateFromNodesConf,
  UNKNOWN_FLAG_MESSAGE,
} from "./nodes_conf.ts";
import { clusterInfoText, clusterNodesText, writeClusterShards, writeClusterSlots } from "./describe.ts";
import {
  CLUSTER_SLOTS,
  newNode,
  NODE_FAIL,
  NODE_HANDSHAKE,
  NODE_MASTER,
  NODE_MIGRATE_TO,
  NODE_MYSELF,
  NODE_NOADDR,
  NODE_NOFAILOVER,
  NODE_PFAIL,
  NODE_SLAVE,
} from "./node.ts";
import { type ClusterSettings, ClusterState, defaultClusterSettings } from "./state.ts";
import { ReplyWriter } from "../resp/writer.ts";
import { bytesToLatin1 } from "../resp/latin1.ts";
import { connect, redisCli, requireTool, startRedis } from "../../tests/helpers/servers.ts";

const NOW = 1795400000123;
const SETTINGS: ClusterSettings = defaultClusterSettings(7001);
const DATA = { countKeysInSlot: () => 0, dbSize: () => 0, replOffset: () => 0 };
const rng = () => 0.5;

function load(text: string, settings = SETTINGS): ClusterState {
  return loadNodesConf(text, settings, DATA, NOW, rng);
}

/** What a reloaded file serializes to: non-zero ping-sent / pong-recv become the load time. */
function withPingPongAtLoad(text: string): string {
  return text.split("\n").map((line) => {
    const f = line.split(" ");
    if (f.length < 8 || f[0] === "vars") return line;
    if (f[4] !== "0") f[4] = String(NOW);
    if (f[5] !== "0") f[5] = String(NOW);
    return f.join(" ");
  }).join("\n");
}

// The real nodes.conf of reference/cluster-text-formats.md section 2 (node 7001, 4-node cluster).
const M1 = "3c0d1e300f51a72c4a62e0f6062a42382b410f0e";
const M2 = "15943f431f0ab1374e2fb486aaacd744260888e9";
const M3 = "9618d73481336726e0e007e4024627245d860607";
const R1 = "1493bd487aa549ca2a7ed8698ec369a391f120b5";
const SECTION2 = `${R1} 127.0.0.1:7004@17004 slave ${M1} 0 1795317390881 1 connected
${M3} 127.0.0.1:7003@17003 master - 0 1795317389876 3 connected 10923-16383
${M1} 127.0.0.1:7001@17001 myself,master - 0 1795317389000 1 connected 0-5460
${M2} 127.0.0.1:7002@17002 master - 0 1795317390000 2 connected 5461-10922
vars currentEpoch 3 lastVoteEpoch 0
`;

Deno.test("the real section 2 nodes.conf loads and re-serializes identically (ping/pong at load time)", () => {
  const state = load(SECTION2);
  // Links are not in the file: the loaded peers are disconnected until the bus connects them.
  const expected = withPingPongAtLoad(SECTION2).split("\n")
    .map((line) => line.startsWith(M1) ? line : line.replace(" connected", " disconnected"))
    .join("\n");
  assert.equal(serializeNodesConf(state), expected);
  for (const node of state.nodes.values()) if (node !== state.myself) node.link = 1;
  assert.equal(serializeNodesConf(state), withPingPongAtLoad(SECTION2));

  assert.equal(state.myself.id, M1);
  assert.equal(state.nodes.get(M1), state.myself);
  // A master with a replica is a replica-migration target, as Redis's loader marks it (clusterNodeAddSlave).
  assert.equal(state.myself.flags, NODE_MYSELF | NODE_MASTER | NODE_MIGRATE_TO);
  assert.deepEqual([...state.nodes.keys()], [R1, M3, M1, M2]);
  assert.equal(state.currentEpoch, 3);
  assert.equal(state.lastVoteEpoch, 0);
  assert.equal(state.myself.numSlots, 5461);
  assert.equal(state.nodes.get(M3)!.numSlots, 5461);
  assert.equal(state.nodes.get(M2)!.numSlots, 5462);
  assert.equal(state.slots[0], state.myself);
  assert.equal(state.slots[16383], state.nodes.get(M3));
  // A replica's epoch is loaded as 0; its line still shows its master's.
  assert.equal(state.nodes.get(R1)!.configEpoch, 0);
  assert.equal(state.nodes.get(R1)!.masterId, M1);
  assert.deepEqual(state.replicasOf(state.myself).map((n) => n.id), [R1]);
  assert.equal(state.nodes.get(R1)!.pongReceived, NOW);
  assert.equal(state.myself.pongReceived, NOW);
  assert.deepEqual(state.drainEffects(), [{
    kind: "log",
    level: "notice",
    text: `Node configuration loaded, I'm ${M1}`,
  }]);
});

Deno.test("a brand-new node's nodes.conf round-trips exactly", () => {
  const text = `${M1} :0@0 myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n`;
  const state = load(text);
  assert.equal(serializeNodesConf(state), text);
  assert.equal(state.nodes.size, 1);
  assert.equal(state.myself.port, 0);
  assert.equal(state.myself.cport, 0);
});

Deno.test("section 1 lines: open slots, placeholders for unknown ids, hostname, fail, handshake", () => {
  const A = "4e6ce4c1c5ea3589a17261a35cdcf6f60c2f48cb";
  const B = "0d8909d6a2e987ebb8542e188d0e234596e5744b";
  const migrating = `${A} 127.0.0.1:7001@17001 myself,master - 0 1795317519000 1 connected 0-5460 [3300->-${B}]`;
  let state = load(migrating + "\nvars currentEpoch 1 lastVoteEpoch 0\n");
  assert.equal(state.migratingTo[3300]?.id, B);
  assert.equal(state.nodes.get(B)!.flags, 0);
  assert.equal(
    serializeNodesConf(state),
    withPingPongAtLoad(migrating) + "\n" + `${B} :0@0 noflags - 0 0 0 disconnected\n` +
      "vars currentEpoch 1 lastVoteEpoch 0\n",
  );

  const importing = `${B} 127.0.0.1:7002@17002 myself,master - 0 1795317518000 2 connected 5461-10922 [3300-<-${A}]`;
  state = load(importing + "\n");
  assert.equal(state.importingFrom[3300]?.id, A);
  assert.equal(state.migratingTo[3300], null);
  assert.equal(clusterNodesText(state, { includeHandshake: true }).split("\n")[0], withPingPongAtLoad(importing));
  assert.equal(state.currentEpoch, 2); // raised to the greatest configEpoch

  const text = [
    `545cf9e593f39db70cfcea134b0b3073dac6f9a0 127.0.0.1:7004@17004 slave ${A} 0 1795317504951 1 connected`,
    `${A} 127.0.0.1:7001@17001 master,fail - 1795317559085 1795317556573 1 connected`,
    "5239a58f631072ca815f7ce0e1404edc3176bddd 127.0.0.1:7999@17999 handshake - 0 0 0 disconnected",
    `${M1} :7001@17001,host-7001.example myself,master - 0 0 1 connected`,
    "",
  ].join("\n");
  state = load(text);
  const a = state.nodes.get(A)!;
  assert.equal(a.flags, NODE_MASTER | NODE_FAIL | NODE_MIGRATE_TO);
  assert.equal(a.failTime, NOW);
  assert.equal(a.pingSent, NOW);
  assert.equal(state.myself.hostname, "host-7001.example");
  assert.equal(state.myself.ip, "");
  assert.equal(state.nodes.get("5239a58f631072ca815f7ce0e1404edc3176bddd")!.flags, NODE_HANDSHAKE);
  a.link = 1;
  state.nodes.get("545cf9e593f39db70cfcea134b0b3073dac6f9a0")!.link = 2;
  assert.equal(
    serializeNodesConf(state),
    [
      `545cf9e593f39db70cfcea134b0b3073dac6f9a0 127.0.0.1:7004@17004 slave ${A} 0 ${NOW} 1 connected`,
      `${A} 127.0.0.1:7001@17001 master,fail - ${NOW} ${NOW} 1 connected`,
      `${M1} :7001@17001,host-7001.example myself,master - 0 0 1 connected`,
      "vars currentEpoch 1 lastVoteEpoch 0",
      "",
    ].join("\n"),
  );
});

Deno.test("serialize -> parse -> serialize is the identity for a varied state", () => {
  const state = new ClusterState(M1, SETTINGS, DATA, 0, rng);
  const me = state.myself;
  Object.assign(me, { ip: "10.0.0.1", port: 7001, cport: 17001, hostname: "me.example", configEpoch: 4 });
  const m2 = newNode(M2, NODE_MASTER | NODE_PFAIL | NODE_NOFAILOVER, 0);
  Object.assign(m2, { ip: "::1", port: 7002, cport: 17102, configEpoch: 5, pingSent: NOW, pongReceived: NOW });
  const r1 = newNode(R1, NODE_SLAVE | NODE_NOADDR, 0);
  Object.assign(r1, { ip: "10.0.0.3", port: 7003, cport: 17003, masterId: M2 });
  const hs = newNode(M3, NODE_HANDSHAKE, 0);
  for (const n of [r1, m2, hs]) state.nodes.set(n.id, n);
  for (const slot of [0, 1, 2, 100, 16383]) state.setSlotOwner(slot, me);
  for (let slot = 3; slot < 100; slot++) state.setSlotOwner(slot, m2);
  state.migratingTo[2] = m2;
  state.importingFrom[3] = m2;
  state.currentEpoch = 6;
  state.lastVoteEpoch = 5;

  const text = serializeNodesConf(state);
  assert.ok(!text.includes(M3)); // handshake nodes are not saved
  const parsed = parseNodesConf(text, NOW);
  const again = stateFromNodesConf(parsed, SETTINGS, DATA, NOW, rng);
  assert.equal(serializeNodesConf(again), text);
  assert.equal(again.nodes.get(M2)!.numSlots, 97);
  assert.equal(again.myself.numSlots, 5);
  assert.equal(again.nodes.get(R1)!.flags, NODE_SLAVE | NODE_NOADDR);
  assert.equal(again.nodes.get(M2)!.ip, "::1"); // the port is after the last ':'
  // One parse result can build independent states.
  const third = stateFromNodesConf(parsed, SETTINGS, DATA, NOW, rng);
  assert.notEqual(third.nodes.get(M2), again.nodes.get(M2));
  assert.equal(serializeNodesConf(third), text);
});

Deno.test("loading rules: blank lines, case, quotes, missing @cport, vars, first slot owner, epochs", () => {
  const text = [
    "",
    `${M1} "127.0.0.1:7001" MYSELF,Master - 0 0 2 connected 0-10 20`,
    "",
    `${M2} 127.0.0.1:7002@17002,h2 master - 0 0 7 connected 5-25`,
    `${R1} 127.0.0.1:7004@17004 slave ${M2} 0 0 99 connected`,
    `VARS currentepoch 4 lastVoteEpoch 6 futureVar x`,
    `${M3} 127.0.0.1:7003@17003 noflags - 0 0 0 disconnected`,
    "   ",
    "\n\n\n", // padding left by an interrupted in-place write
  ].join("\n");
  const parsed = parseNodesConf(text, NOW);
  assert.deepEqual(parsed.warnings, ["Skipping unknown cluster config variable 'futureVar'"]);
  const state = stateFromNodesConf(parsed, SETTINGS, DATA, NOW, rng);
  assert.equal(state.myself.flags, NODE_MYSELF | NODE_MASTER);
  assert.equal(state.myself.cport, 17001);
  const m2 = state.nodes.get(M2)!;
  assert.equal(m2.hostname, "h2");
  assert.equal(m2.cport, 17002);
  // Slots 5-10 and 20 were claimed first by myself.
  assert.deepEqual([state.slots[10]?.id, state.slots[11]?.id, state.slots[20]?.id], [M1, M2, M1]);
  assert.equal(state.myself.numSlots, 12);
  assert.equal(m2.numSlots, 14);
  assert.equal(state.nodes.get(R1)!.configEpoch, 0);
  assert.equal(state.nodes.get(M3)!.flags, 0);
  assert.equal(state.currentEpoch, 7); // raised from 4 to the greatest configEpoch
  assert.equal(state.lastVoteEpoch, 6);
  const effects = state.drainEffects();
  assert.deepEqual(effects[0], {
    kind: "log",
    level: "warning",
    text: "Skipping unknown cluster config variable 'futureVar'",
  });
  let total = 0;
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) if (state.slots[slot] !== null) total++;
  assert.equal(total, 26);
});

Deno.test("a master id seen before its own line becomes a placeholder that its line fills in", () => {
  const text = `${R1} :1@2 slave ${M2} 0 0 0 connected\n${M2} 127.0.0.1:7002@17002 master - 0 0 3 connected 1\n` +
    `${M1} :0@0 myself,master - 0 0 0 connected\n`;
  const state = load(text);
  assert.deepEqual([...state.nodes.keys()], [R1, M2, M1]);
  assert.equal(state.nodes.get(M2)!.flags, NODE_MASTER | NODE_MIGRATE_TO);
  assert.equal(state.nodes.get(M2)!.numSlots, 1);
  assert.equal(state.currentEpoch, 3);
});

Deno.test("every corrupt nodes.conf is rejected with Redis's corrupted-file error", () => {
  const me = `${M1} 127.0.0.1:7001@17001 myself,master - 0 0 1 connected`;
  const cases: [string, string, string][] = [
    ["unknown flag", `${M1} 127.0.0.1:7001@17001 myself,master,bogus - 0 0 0 connected\n`, UNKNOWN_FLAG_MESSAGE],
    ["empty flag word", `${M1} 127.0.0.1:7001@17001 myself, - 0 0 0 connected\n`, UNKNOWN_FLAG_MESSAGE],
    ["short line", `${M1} 127.0.0.1:7001@17001 myself,master - 0 0 0\n`, "at least 8 fields"],
    ["short id", `${M1.slice(1)} 127.0.0.1:7001@17001 myself,master - 0 0 0 connected\n`, "invalid node id"],
    ["upper-case id", `${M1.toUpperCase()} 127.0.0.1:7001@17001 myself,master - 0 0 0 connected\n`, "invalid node id"],
    ["bad master id", `${me}\n${R1} :0@0 slave nope 0 0 0 connected\n`, "invalid master id"],
    ["address without port", `${M1} 127.0.0.1 myself,master - 0 0 0 connected\n`, "has no ':port'"],
    ["slot out of range", `${me} 16384\n`, "slot out of range"],
    ["range out of range", `${me} 0-16384\n`, "slot out of range"],
    ["slot not a number", `${me} abc\n`, "invalid slot"],
    ["half range", `${me} 5-\n`, "invalid slot"],
    ["negative slot", `${me} -5\n`, "invalid slot"],
    ["open slot out of range", `${me} [16384->-${M2}]\n`, "slot out of range"],
    ["open slot bad id", `${me} [5->-${M2.slice(2)}]\n`, "invalid node id in open slot"],
    ["open slot bad arrow", `${me} [5=>-${M2}]\n`, "invalid open slot"],
    ["open slot unclosed", `${me} [5->-${M2}\n`, "invalid open slot"],
    ["missing myself", `${M2} 127.0.0.1:7002@17002 master - 0 0 0 connected\n`, "no line is flagged myself"],
    ["two myself", `${me}\n${M2} :0@0 myself,master - 0 0 0 connected\n`, "more than one node is flagged myself"],
    ["odd vars", `${me}\nvars currentEpoch 3 lastVoteEpoch\n`, "variable without a value"],
    ["unbalanced quotes", `${me}\n"vars currentEpoch 3\n`, "unbalanced quotes"],
    ["truncated last line", `${me}\nvars currentEpoch 3 lastVoteEpoch 0`, "not terminated by a newline"],
    ["cut inside a node line", `${me}\n${M2} 127.0.0.1:7002@17002 mas`, "not terminated by a newline"],
    ["empty file", "", "no line is flagged myself"],
  ];
  for (const [name, text, detail] of cases) {
    assert.throws(() => parseNodesConf(text, NOW), (err: unknown) => {
      assert.ok(err instanceof NodesConfError, name);
      assert.equal(err.message, CORRUPTED_CONFIG_MESSAGE, name);
      assert.ok(err.detail.includes(detail), `${name}: ${err.detail}`);
      assert.deepEqual(err.logLines(), [CORRUPTED_CONFIG_MESSAGE, err.detail]);
      return true;
    }, name);
  }
  // The same texts with the fault removed load (the cases are not rejected for another reason).
  assert.doesNotThrow(() => parseNodesConf(`${me} 16383\n`, NOW));
  assert.doesNotThrow(() =>
    parseNodesConf(`${me} [5->-${M2}] [6-<-${M2}]\nvars currentEpoch 3 lastVoteEpoch 0\n`, NOW)
  );
});

Deno.test("the error names the line", () => {
  const text = `${M1} :0@0 myself,master - 0 0 0 connected\n\n${M2} :0@0 master,what - 0 0 0 connected\n`;
  assert.throws(() => parseNodesConf(text, NOW), (err: unknown) => {
    assert.ok(err instanceof NodesConfError);
    assert.equal(err.line, 3);
    assert.equal(err.detail, `nodes.conf line 3: ${UNKNOWN_FLAG_MESSAGE}: 'what'`);
    return true;
  });
});

function written(resp: 2 | 3, write: (out: ReplyWriter) => void): string {
  const out = new ReplyWriter();
  out.resp = resp;
  write(out);
  return bytesToLatin1(out.bytes.subarray(0, out.length));
}

/** Reads a file until two reads agree (Redis rewrites nodes.conf in place). */
async function stableRead(path: string): Promise<string> {
  let previous = await Deno.readTextFile(path);
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    const next = await Deno.readTextFile(path);
    if (next === previous) return next;
    previous = next;
  }
}

Deno.test("differential: a real redis-server's nodes.conf loads, and its CLUSTER replies match ours", async () => {
  if (!requireTool("redis-server")) return;
  const dir = await Deno.makeTempDir({ prefix: "tessera-nodesconf-" });
  const confA = `${dir}/nodes-a.conf`;
  const confS = `${dir}/nodes-s.conf`;
  const a = await startRedis(["--cluster-enabled", "yes", "--cluster-config-file", confA]);
  const b = await startRedis(["--cluster-enabled", "yes", "--cluster-config-file", `${dir}/nodes-b.conf`]);
  const s = await startRedis([
    "--cluster-enabled",
    "yes",
    "--cluster-config-file",
    confS,
    "--cluster-announce-ip",
    "127.0.0.1",
    "--cluster-announce-hostname",
    "s.example",
  ]);
  try {
    // Two met nodes with open slots: their nodes.conf round-trips through our loader.
    const idB = await redisCli(b.port, ["cluster", "myid"]);
    const idA = await redisCli(a.port, ["cluster", "myid"]);
    await redisCli(a.port, ["cluster", "meet", "127.0.0.1", String(b.port)]);
    for (let i = 0; i < 100; i++) {
      const nodes = await redisCli(a.port, ["cluster", "nodes"]);
      if (nodes.includes(idB) && !nodes.includes("handshake") && !nodes.includes("noaddr")) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await redisCli(a.port, ["cluster", "addslotsrange", "0", "100"]);
    await redisCli(a.port, ["cluster", "addslots", "200"]);
    await redisCli(a.port, ["cluster", "setslot", "5", "migrating", idB]);
    await redisCli(a.port, ["cluster", "setslot", "300", "importing", idB]);
    assert.equal(await redisCli(a.port, ["cluster", "saveconfig"]), "OK");
    const fileA = await stableRead(confA);
    assert.ok(fileA.includes(`[5->-${idB}]`) && fileA.includes(`[300-<-${idB}]`), fileA);
    const stateA = load(fileA);
    assert.equal(stateA.myself.id, idA);
    for (const node of stateA.nodes.values()) if (node.id === idB) node.link = 1;
    assert.equal(serializeNodesConf(stateA), withPingPongAtLoad(fileA));

    // One node with an announced ip and hostname: NODES, INFO, SLOTS and SHARDS byte for byte.
    await redisCli(s.port, ["cluster", "addslotsrange", "0", "100"]);
    await redisCli(s.port, ["cluster", "addslots", "300"]);
    assert.equal(await redisCli(s.port, ["cluster", "saveconfig"]), "OK");
    const stateS = load(await stableRead(confS));
    stateS.size = stateS.countSizedMasters();
    const conn = await connect(s.port);
    const conn3 = await connect(s.port);
    try {
      await conn3.call("HELLO", "3");
      assert.equal(
        await conn.callRaw("CLUSTER", "NODES"),
        written(2, (o) => o.bulk(clusterNodesText(stateS, { includeHandshake: true }))),
      );
      assert.equal(
        await conn3.callRaw("CLUSTER", "NODES"),
        written(3, (o) => o.verbatim(clusterNodesText(stateS, { includeHandshake: true }))),
      );
      assert.equal(await conn.callRaw("CLUSTER", "INFO"), written(2, (o) => o.bulk(clusterInfoText(stateS))));
      for (const endpoint of ["ip", "hostname", "unknown-endpoint"] as const) {
        await conn.call("CONFIG", "SET", "cluster-preferred-endpoint-type", endpoint);
        stateS.settings = { ...SETTINGS, preferredEndpointType: endpoint };
        for (const [resp, c] of [[2, conn], [3, conn3]] as const) {
          assert.equal(
            await c.callRaw("CLUSTER", "SLOTS"),
            written(resp, (o) => writeClusterSlots(o, stateS)),
            `SLOTS ${endpoint} RESP${resp}`,
          );
          assert.equal(
            await c.callRaw("CLUSTER", "SHARDS"),
            written(resp, (o) => writeClusterShards(o, stateS)),
            `SHARDS ${endpoint} RESP${resp}`,
          );
        }
      }
    } finally {
      conn.close();
      conn3.close();
    }
  } finally {
    await Promise.all([a.stop(), b.stop(), s.stop()]);
    await Deno.remove(dir, { recursive: true });
  }
});
