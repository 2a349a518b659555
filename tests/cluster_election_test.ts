/**
 * Replicas and failovers with real tessera processes (node timeout 1000 ms): 3 masters + 3 replicas built with
 * CLUSTER MEET / ADDSLOTSRANGE / REPLICATE; CLUSTER NODES and REPLICAS show the replicas; REPLICATE and FAILOVER
 * answer Redis's errors; kill -9 of a master gets its replica elected and the cluster back to ok, and the old
 * master restarts as a replica; CLUSTER FAILOVER (default and TAKEOVER) swaps a master and its replica.
 */
import assert from "node:assert/strict";
import { RespError } from "../src/resp/reply_parser.ts";
import { RespConnection } from "../src/resp/connection.ts";
import { keyHashSlot } from "../src/cluster/slots.ts";
import { serverTest, type ServerTestContext } from "./helpers/test.ts";
import { requireTool } from "./helpers/servers.ts";
import {
  call,
  callOk,
  type ClusterNodeProcess,
  clusterNodes,
  describeLines,
  diagnose,
  eventually,
  killNode,
  lineOf,
  logTiming,
  myId,
  startRedisNode,
  startTesseraNode,
  TEST_NODE_TIMEOUT_MS,
  waitClusterOk,
} from "./helpers/cluster.ts";

const SLOT_RANGES: [number, number][] = [[0, 5460], [5461, 10922], [10923, 16383]];
/** How long forming the 6-node cluster may take. */
const FORM_TIMEOUT_MS = 20_000;
/** Failover of a killed master: detection (about 2 node timeouts), election delay up to 1 s, gossip. */
const FAILOVER_TIMEOUT_MS = 15_000;

/** A 6-node cluster: masters[i] serves SLOT_RANGES[i], replicas[i] replicates it. */
interface Six {
  masters: ClusterNodeProcess[];
  replicas: ClusterNodeProcess[];
  ids: Map<ClusterNodeProcess, string>;
  all: ClusterNodeProcess[];
  /** Nodes killed so far. */
  dead: Set<ClusterNodeProcess>;
}

/** Starts the six nodes (all tessera unless `kinds` says which are redis-server) and forms the cluster. */
async function formSix(t: ServerTestContext, kinds: ("tessera" | "redis")[] = []): Promise<Six> {
  // Replicas sync at once, so a master killed soon after the cluster forms has replicas whose data is not too old.
  const start = (i: number) =>
    kinds[i] === "redis"
      ? startRedisNode(t, { args: ["--repl-diskless-sync-delay", "0"] })
      : startTesseraNode(t, { args: ["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"] });
  const all = await Promise.all(Array.from({ length: 6 }, (_, i) => start(i)));
  const masters = all.slice(0, 3);
  const replicas = all.slice(3);
  const ids = new Map<ClusterNodeProcess, string>();
  for (const node of all) ids.set(node, await myId(node.port));
  for (let i = 0; i < 3; i++) {
    await callOk(masters[i].port, "CLUSTER", "SET-CONFIG-EPOCH", String(i + 1));
    await callOk(masters[i].port, "CLUSTER", "ADDSLOTSRANGE", String(SLOT_RANGES[i][0]), String(SLOT_RANGES[i][1]));
  }
  for (const node of all.slice(1)) await callOk(node.port, "CLUSTER", "MEET", "127.0.0.1", String(all[0].port));
  // REPLICATE needs the master known (not in handshake) on the replica.
  await eventually("every node knows the 6 nodes", async () => {
    for (const node of all) {
      const view = await clusterNodes(node.port);
      assert.equal(view.filter((l) => !l.flags.includes("handshake")).length, 6, describeLines(view));
    }
  }, FORM_TIMEOUT_MS);
  for (let i = 0; i < 3; i++) await callOk(replicas[i].port, "CLUSTER", "REPLICATE", ids.get(masters[i])!);
  await eventually("every node sees the 3 replicas", async () => {
    for (const node of all) {
      const view = await clusterNodes(node.port);
      for (let i = 0; i < 3; i++) {
        const line = lineOf(view, ids.get(replicas[i])!);
        assert.ok(line.flags.includes("slave"), describeLines(view));
        assert.equal(line.master, ids.get(masters[i]));
      }
    }
  }, FORM_TIMEOUT_MS);
  await waitClusterOk(all.map((n) => n.port), FORM_TIMEOUT_MS);
  await eventually("every replica's link to its master is up", async () => {
    for (const replica of replicas) {
      assert.match((await callOk(replica.port, "INFO", "replication")) as string, /master_link_status:up/);
    }
  }, FORM_TIMEOUT_MS);
  return { masters, replicas, ids, all, dead: new Set() };
}

/** A key whose slot is in `range`. */
function keyIn(range: [number, number]): string {
  for (let i = 0;; i++) {
    const slot = keyHashSlot(`key:${i}`);
    if (slot >= range[0] && slot <= range[1]) return `key:${i}`;
  }
}

serverTest("cluster election: replicas by REPLICATE, CLUSTER NODES / REPLICAS, errors as Redis", async (t) => {
  const { masters, replicas, ids } = await formSix(t);
  const view = await clusterNodes(masters[0].port);
  const replicaLine = lineOf(view, ids.get(replicas[0])!);
  // A replica shows `slave`, its master's id and its master's configEpoch, and no slots.
  assert.deepEqual(replicaLine.flags, ["slave"]);
  assert.equal(replicaLine.configEpoch, 1);
  assert.deepEqual(replicaLine.slots, []);
  assert.deepEqual(lineOf(await clusterNodes(replicas[0].port), ids.get(replicas[0])!).flags, ["myself", "slave"]);

  const listed = await callOk(masters[1].port, "CLUSTER", "REPLICAS", ids.get(masters[0])!) as string[];
  assert.equal(listed.length, 1);
  assert.ok(listed[0].startsWith(`${ids.get(replicas[0])} 127.0.0.1:${replicas[0].port}@`), listed[0]);
  assert.ok(listed[0].includes(` slave ${ids.get(masters[0])} `), listed[0]);

  const errors: [ClusterNodeProcess, string[], string][] = [
    [replicas[1], ["CLUSTER", "REPLICATE", "0".repeat(40)], `ERR Unknown node ${"0".repeat(40)}`],
    [replicas[1], ["CLUSTER", "REPLICATE", ids.get(replicas[1])!], "ERR Can't replicate myself"],
    [replicas[1], ["CLUSTER", "REPLICATE", ids.get(replicas[0])!], "ERR I can only replicate a master, not a replica."],
    [
      masters[0],
      ["CLUSTER", "REPLICATE", ids.get(masters[1])!],
      "ERR To set a master the node must be empty and without assigned slots.",
    ],
    [masters[0], ["CLUSTER", "FAILOVER"], "ERR You should send CLUSTER FAILOVER to a replica"],
    [replicas[0], ["CLUSTER", "FAILOVER", "NOW"], "ERR syntax error"],
  ];
  for (const [node, args, expected] of errors) {
    const reply = await call(node.port, ...args);
    assert.ok(reply instanceof RespError, `${args.join(" ")}: ${String(reply)}`);
    assert.equal(reply.message, expected);
  }

  // Writes go to masters: a replica redirects them, and serves reads after READONLY.
  const key = keyIn(SLOT_RANGES[0]);
  const moved = await call(replicas[0].port, "SET", key, "v");
  assert.ok(moved instanceof RespError && moved.message.startsWith(`MOVED ${keyHashSlot(key)} `), String(moved));
  const conn = await RespConnection.connect(replicas[0].port);
  try {
    assert.ok((await conn.call("GET", key)) instanceof RespError, "MOVED before READONLY");
    assert.equal(await conn.call("READONLY"), "OK");
    assert.equal(await conn.call("GET", key), null);
    const write = await conn.call("SET", key, "v");
    assert.ok(write instanceof RespError && write.message.startsWith("MOVED "), String(write));
  } finally {
    conn.close();
  }
});

serverTest(
  "cluster election: kill -9 of a master elects its replica; the old master comes back as a replica",
  async (t) => {
    const six = await formSix(t);
    const { masters, replicas, ids } = six;
    const victim = masters[0];
    const heir = replicas[0];
    const survivors = six.all.filter((n) => n !== victim);
    const killedAt = Date.now();
    await killNode(victim);
    try {
      await eventually("the replica is promoted with the slots", async () => {
        for (const node of survivors) {
          const line = lineOf(await clusterNodes(node.port), ids.get(heir)!);
          assert.ok(line.flags.includes("master"), `${node.port}: ${line.flags}`);
          assert.deepEqual(line.slots, ["0-5460"]);
        }
      }, FAILOVER_TIMEOUT_MS);
      logTiming("kill -9 to replica promoted everywhere", Date.now() - killedAt);
      await waitClusterOk(survivors.map((n) => n.port), FAILOVER_TIMEOUT_MS);
      logTiming("kill -9 to cluster_state:ok everywhere", Date.now() - killedAt);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await diagnose(survivors)}`);
    }
    const key = keyIn(SLOT_RANGES[0]);
    assert.equal(await callOk(heir.port, "SET", key, "after-failover"), "OK");
    const promoted = lineOf(await clusterNodes(heir.port), ids.get(heir)!);
    assert.ok(promoted.configEpoch > 3, `new configEpoch ${promoted.configEpoch}`);

    // The old master restarts on its nodes.conf and learns it was replaced.
    const back = await startTesseraNode(t, { port: victim.port, dir: victim.dir });
    await eventually("the old master is a replica of the new one", async () => {
      for (const node of [...survivors, back]) {
        const line = lineOf(await clusterNodes(node.port), ids.get(victim)!);
        assert.ok(line.flags.includes("slave"), `${node.port}: ${line.flags}`);
        assert.equal(line.master, ids.get(heir));
      }
    }, FAILOVER_TIMEOUT_MS);
  },
  90_000,
);

serverTest("cluster election: CLUSTER FAILOVER and FAILOVER TAKEOVER swap a master and its replica", async (t) => {
  const { masters, replicas, ids, all } = await formSix(t);
  for (const [i, option] of [[1, []], [2, ["TAKEOVER"]]] as [number, string[]][]) {
    assert.equal(await callOk(replicas[i].port, "CLUSTER", "FAILOVER", ...option), "OK");
    await eventually(`FAILOVER ${option.join(" ")} completes`, async () => {
      for (const node of all) {
        const view = await clusterNodes(node.port);
        const replica = lineOf(view, ids.get(replicas[i])!);
        const master = lineOf(view, ids.get(masters[i])!);
        assert.ok(replica.flags.includes("master"), `${node.port}:\n${describeLines(view)}`);
        assert.deepEqual(replica.slots, [`${SLOT_RANGES[i][0]}-${SLOT_RANGES[i][1]}`]);
        assert.ok(master.flags.includes("slave"), `${node.port}:\n${describeLines(view)}`);
        assert.equal(master.master, ids.get(replicas[i]));
      }
    }, FAILOVER_TIMEOUT_MS);
  }
  await waitClusterOk(all.map((n) => n.port), FAILOVER_TIMEOUT_MS);
  const key = keyIn(SLOT_RANGES[1]);
  assert.equal(await callOk(replicas[1].port, "SET", key, "v"), "OK");
  const info = await callOk(masters[1].port, "CLUSTER", "FAILOVER") as unknown;
  assert.equal(info, "OK", "the demoted master can fail back over");
}, 90_000);

/** Kills `victim` and waits until every other node lists `heir` as the master of `range`, and cluster_state ok. */
async function failOver(six: Six, victim: ClusterNodeProcess, heir: ClusterNodeProcess, range: [number, number]) {
  const survivors = six.all.filter((n) => n !== victim && !six.dead.has(n));
  await killNode(victim);
  six.dead.add(victim);
  const killedAt = Date.now();
  try {
    await eventually(`${heir.kind} replica ${heir.port} promoted`, async () => {
      for (const node of survivors) {
        const line = lineOf(await clusterNodes(node.port), six.ids.get(heir)!);
        assert.ok(line.flags.includes("master"), `${node.kind} ${node.port}: ${line.flags}`);
        assert.deepEqual(line.slots, [`${range[0]}-${range[1]}`]);
      }
    }, FAILOVER_TIMEOUT_MS);
    await waitClusterOk(survivors.map((n) => n.port), FAILOVER_TIMEOUT_MS);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await diagnose(survivors)}`);
  }
  logTiming(
    `kill -9 of a ${victim.kind} master to its ${heir.kind} replica promoted, cluster ok`,
    Date.now() - killedAt,
  );
}

serverTest(
  "cluster election interop: redis-server masters elect a tessera replica, tessera masters a redis one",
  async (t) => {
    if (!requireTool("redis-server")) return;
    // Masters: redis, redis, tessera. Replicas: tessera (of the first), tessera, redis-server (of the tessera master).
    const six = await formSix(t, ["redis", "redis", "tessera", "tessera", "tessera", "redis"]);
    const { masters, replicas, ids } = six;
    // Errors, byte for byte: the same request to a redis-server node and to the tessera node in the same role.
    const pairs: [ClusterNodeProcess, ClusterNodeProcess, string[]][] = [
      [replicas[2], replicas[0], ["CLUSTER", "REPLICATE", "0".repeat(40)]],
      [replicas[2], replicas[0], ["CLUSTER", "REPLICATE", "nosuchnode"]],
      [replicas[2], replicas[0], ["CLUSTER", "REPLICATE", ids.get(replicas[1])!]],
      [masters[0], masters[2], ["CLUSTER", "REPLICATE", ids.get(masters[1])!]],
      [masters[0], masters[2], ["CLUSTER", "FAILOVER"]],
      [masters[0], masters[2], ["CLUSTER", "FAILOVER", "FORCE"]],
      [replicas[2], replicas[0], ["CLUSTER", "FAILOVER", "NOW"]],
      [replicas[2], replicas[0], ["CLUSTER", "FAILOVER", "FORCE", "NOW"]],
      [replicas[2], replicas[0], ["CLUSTER", "REPLICATE"]],
    ];
    for (const [redis, tessera, args] of pairs) {
      assert.deepEqual(await call(tessera.port, ...args), await call(redis.port, ...args), args.join(" "));
    }
    for (const node of [replicas[2], replicas[0]]) {
      const reply = await call(node.port, "CLUSTER", "REPLICATE", ids.get(node)!);
      assert.ok(reply instanceof RespError && reply.message === "ERR Can't replicate myself", String(reply));
    }
    // The tessera replica needs the votes of both live masters: a redis-server one and a tessera one.
    await failOver(six, masters[0], replicas[0], SLOT_RANGES[0]);
    // The redis-server replica needs the votes of redis-server master 1 and of the promoted tessera node.
    await failOver(six, masters[2], replicas[2], SLOT_RANGES[2]);
  },
  90_000,
);

serverTest(
  "cluster election: a master whose PINGs go unanswered fences writes (CLUSTERDOWN), reads still work",
  async (t) => {
    const { masters, all } = await formSix(t);
    const master = masters[0];
    const key = keyIn(SLOT_RANGES[0]);
    assert.equal(await callOk(master.port, "SET", key, "before"), "OK");
    // Dropping every PONG it receives: nobody answers its PINGs, as when its own messages are lost on the way out.
    assert.equal(await callOk(master.port, "DEBUG", "DROP-CLUSTER-PACKET-FILTER", "1"), "OK");
    const cutAt = Date.now();
    const { elapsedMs } = await eventually(
      "writes are fenced",
      async () => {
        const reply = await call(master.port, "SET", key, "during");
        assert.ok(reply instanceof RespError, String(reply));
        assert.equal(reply.message, "CLUSTERDOWN The cluster is down");
      },
      FAILOVER_TIMEOUT_MS,
      20,
    );
    // The fence rises 90% of a node timeout after the last answered PING, which is at most about half a timeout old.
    assert.ok(elapsedMs <= TEST_NODE_TIMEOUT_MS * 1.5, `fenced after ${elapsedMs} ms`);
    logTiming("PONGs dropped to writes fenced", Date.now() - cutAt);
    // Reads are served: the last write acknowledged before the fence.
    assert.ok(["before", "during"].includes(await callOk(master.port, "GET", key) as string));
    assert.equal(await callOk(master.port, "CONFIG", "SET", "cluster-write-fence-percent", "0"), "OK");
    assert.equal(await callOk(master.port, "SET", key, "unfenced"), "OK");
    assert.equal(await callOk(master.port, "CONFIG", "SET", "cluster-write-fence-percent", "90"), "OK");
    assert.ok(await call(master.port, "SET", key, "again") instanceof RespError);
    assert.equal(await callOk(master.port, "DEBUG", "DROP-CLUSTER-PACKET-FILTER", "-1"), "OK");
    await eventually("writes are accepted again", async () => {
      assert.equal(await call(master.port, "SET", key, "after"), "OK");
    }, FAILOVER_TIMEOUT_MS);
    await waitClusterOk(all.map((n) => n.port));
  },
);
