/**
 * `deno task cluster` (scripts/cluster.ts) run as a program on free ports and a temporary folder: the six-node
 * cluster (3 masters + 3 replicas) is created and ok, status/stop/clean do what they say, a master killed with -9 is
 * replaced by its replica (seen live by `watch`) and comes back as a replica after `start`. The create steps are also
 * run against redis-server nodes, which is the specification of what they must produce.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { serverTest } from "./helpers/test.ts";
import {
  callOk,
  clusterNodes,
  eventually,
  freeClusterPort,
  freeClusterPortRun,
  lineOf,
  myId,
  runToExit,
  startRedisNode,
  tempDir,
  waitClusterOk,
} from "./helpers/cluster.ts";
import { requireTool } from "./helpers/servers.ts";
import { keyHashSlot } from "../src/cluster/slots.ts";
import { RespConnection } from "../src/resp/connection.ts";
import { isAlive, nodeFiles, runningPid } from "../scripts/cluster/processes.ts";
import { createCluster } from "../scripts/cluster/create.ts";
import { countSlots } from "../scripts/cluster/snapshot.ts";
import type { ClusterLayout } from "../scripts/cluster/layout.ts";
import type { ServerTestContext } from "./helpers/test.ts";

const SCRIPT = new URL("../scripts/cluster.ts", import.meta.url).pathname;
const NODES = 6;
/** The script's own bound for start-up and create; the test's bound on one run of it is a little longer. */
const SCRIPT_TIMEOUT_MS = 60_000;
const RUN_TIMEOUT_MS = SCRIPT_TIMEOUT_MS + 15_000;
/** Node timeout 2000 ms: FAIL after about 2-4 s, then the election. */
const FAILOVER_WAIT_MS = 30_000;

/** A cluster run by the script: its base port and folder, and the flags that select them. */
interface ScriptCluster {
  base: number;
  dir: string;
  ports: number[];
  flags: string[];
}

/** Picks free ports and a temporary folder; whatever the script started is killed when the test ends. */
async function scriptCluster(t: ServerTestContext, replicas = 1): Promise<ScriptCluster> {
  const count = 3 * (1 + replicas);
  const base = freeClusterPortRun(count);
  const dir = join(await tempDir(t, "tessera-cluster-task-"), "data");
  const ports = Array.from({ length: count }, (_, i) => base + i);
  // Registered after tempDir's removal, so it runs first: the nodes outlive the script unless killed.
  t.defer(() => {
    for (const port of ports) {
      const pid = runningPid(nodeFiles(dir, port));
      if (pid === null) continue;
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  });
  const flags = [
    "--base-port",
    `${base}`,
    "--dir",
    dir,
    "--replicas",
    `${replicas}`,
    "--timeout",
    `${SCRIPT_TIMEOUT_MS}`,
  ];
  return { base, dir, ports, flags };
}

/** Runs the script to its end; fails the test on a non-zero exit unless `expectCode` says otherwise. */
async function run(c: ScriptCluster, args: string[], expectCode = 0): Promise<string> {
  const r = await runToExit(Deno.execPath(), ["run", "--allow-all", SCRIPT, ...args, ...c.flags], RUN_TIMEOUT_MS);
  assert.equal(r.code, expectCode, `deno task cluster ${args.join(" ")} exited ${r.code}:\n${r.output}`);
  return r.output;
}

/** Checks that every node sees `masters` as the slot owners and `replicaOf` as their replicas. */
async function assertRoles(ports: number[], masters: number[], replicaOf: Map<number, number>): Promise<void> {
  const ids = new Map<number, string>();
  for (const port of ports) ids.set(port, await myId(port));
  for (const port of ports) {
    const view = await clusterNodes(port);
    assert.equal(view.length, ports.length, `node ${port} knows ${view.length} nodes`);
    let slots = 0;
    for (const master of masters) {
      const line = lineOf(view, ids.get(master)!);
      assert.ok(line.flags.includes("master"), `${port} sees ${master} as a master: ${line.flags}`);
      slots += countSlots(line.slots.filter((token) => !token.startsWith("[")));
    }
    assert.equal(slots, 16384, `${port}: the masters ${masters} hold every slot`);
    for (const [replica, master] of replicaOf) {
      const line = lineOf(view, ids.get(replica)!);
      assert.ok(line.flags.includes("slave"), `${port} sees ${replica} as a replica: ${line.flags}`);
      assert.equal(line.master, ids.get(master), `${port} sees ${replica} replicating ${master}`);
    }
  }
}

async function linkStatus(port: number): Promise<string> {
  const info = String(await callOk(port, "INFO", "replication"));
  return info.match(/master_link_status:(\w+)/)?.[1] ?? "(none)";
}

/** A key whose slot lies in [first, last]. */
function keyInSlots(first: number, last: number): string {
  for (let i = 0;; i++) {
    const slot = keyHashSlot(`task:${i}`);
    if (slot >= first && slot <= last) return `task:${i}`;
  }
}

serverTest(
  "deno task cluster: 3 masters + 3 replicas ok, a second run changes nothing, status, stop, clean",
  async (t) => {
    const c = await scriptCluster(t);
    const out = await run(c, []);
    assert.match(out, /Cluster created in/);
    assert.ok(out.includes(`redis-cli -c -p ${c.base}`), `prints how to connect:\n${out}`);
    await waitClusterOk(c.ports);
    const masters = c.ports.slice(0, 3);
    const replicaOf = new Map(c.ports.slice(3).map((p, i) => [p, masters[i]]));
    await assertRoles(c.ports, masters, replicaOf);
    for (const replica of replicaOf.keys()) assert.equal(await linkStatus(replica), "up", `replica ${replica} link`);

    const again = await run(c, []);
    assert.match(again, /exists already/);
    assert.doesNotMatch(again, / started \(pid/);

    const pids = c.ports.map((port) => runningPid(nodeFiles(c.dir, port)));
    assert.ok(pids.every((pid) => pid !== null), `a pid file per node: ${pids}`);
    const status = (await run(c, ["status"])).split("\n");
    for (const [i, port] of c.ports.entries()) {
      const line = status.find((l) => l.startsWith(`${port} `));
      assert.ok(line !== undefined, `status has a line for ${port}:\n${status.join("\n")}`);
      assert.ok(line.includes(`running, pid ${pids[i]}`), line);
      if (i < 3) assert.match(line, /master +\d+-\d+ \(\d+\) .* ok /);
      else assert.ok(line.includes(`replica of ${masters[i - 3]}`) && / up /.test(line), line);
    }

    const stopped = await run(c, ["stop"]);
    for (const [i, port] of c.ports.entries()) assert.ok(stopped.includes(`${port} stopped (pid ${pids[i]}`), stopped);
    for (const pid of pids) assert.equal(isAlive(pid!), false, `pid ${pid} has exited`);
    for (const port of c.ports) {
      await assert.rejects(RespConnection.connect(port), `nothing listens on ${port}`);
      assert.equal(runningPid(nodeFiles(c.dir, port)), null);
    }
    const after = await run(c, ["status"]);
    for (const port of c.ports) assert.match(after, new RegExp(`^${port} +stopped`, "m"));

    await run(c, ["clean"]);
    await assert.rejects(Deno.stat(c.dir), `${c.dir} is removed`);
    // Last, so the checks above run anyway: every node, replicas included, exits on SIGTERM as redis-server does.
    assert.doesNotMatch(stopped, /SIGKILL/, `every node exits on SIGTERM within the grace period:\n${stopped}`);
  },
  180_000,
);

serverTest(
  "deno task cluster: kill -9 of a master, its replica is promoted, writes work, the old master returns as a replica",
  async (t) => {
    const c = await scriptCluster(t);
    await run(c, ["create"]);
    await waitClusterOk(c.ports);
    const [master, replica] = [c.base, c.base + 3];
    const masterId = await myId(master);
    const replicaId = await myId(replica);
    const before = keyInSlots(0, 5460);
    assert.equal(await callOk(master, "SET", before, "v1"), "OK");
    assert.equal(await callOk(master, "WAIT", "1", "5000"), 1, "the replica acknowledged the write");

    const watch = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", SCRIPT, "watch", "--interval", "250", ...c.flags],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    t.defer(() => {
      try {
        watch.kill("SIGKILL");
      } catch {
        // gone
      }
    });
    const watchOutput = watch.output();
    await new Promise((r) => setTimeout(r, 1500)); // a first frame before the kill

    const pid = runningPid(nodeFiles(c.dir, master))!;
    Deno.kill(pid, "SIGKILL");
    await eventually(`pid ${pid} gone`, () => Promise.resolve(assert.equal(isAlive(pid), false)), 5000);
    const survivors = c.ports.filter((p) => p !== master);
    await eventually(
      `${replica} promoted`,
      async () => {
        const line = lineOf(await clusterNodes(replica), replicaId);
        assert.ok(line.flags.includes("master") && line.slots.includes("0-5460"), line.flags.join(","));
      },
      FAILOVER_WAIT_MS,
      100,
    );
    await waitClusterOk(survivors, FAILOVER_WAIT_MS);
    assert.equal(await callOk(replica, "GET", before), "v1", "the acknowledged write survived the failover");
    const after = keyInSlots(0, 5460);
    assert.equal(await callOk(replica, "SET", after, "v2"), "OK", "a write to the old master's slots");

    // The live view saw it: SIGINT ends watch cleanly after the frame in flight.
    await new Promise((r) => setTimeout(r, 600));
    watch.kill("SIGINT");
    const watched = new TextDecoder().decode((await watchOutput).stdout);
    assert.ok(watched.includes(`${master} failed, ${replica} promoted`), `watch shows the failover:\n${watched}`);

    const restarted = await run(c, ["start"]);
    assert.ok(restarted.includes(`${master} started`), restarted);
    await eventually(
      `${master} back as a replica of ${replica}`,
      async () => {
        for (const port of c.ports) {
          const line = lineOf(await clusterNodes(port), masterId);
          assert.ok(line.flags.includes("slave") && line.master === replicaId, `${port}: ${line.flags} ${line.master}`);
        }
        assert.equal(await linkStatus(master), "up");
      },
      FAILOVER_WAIT_MS,
      100,
    );
    await waitClusterOk(c.ports, FAILOVER_WAIT_MS);
    // The old master now holds the write made after the failover, through replication from the new master.
    const conn = await RespConnection.connect(master);
    t.defer(() => conn.close());
    assert.equal(await conn.call("READONLY"), "OK");
    await eventually("the write replicated to the old master", async () => {
      assert.equal(await conn.call("GET", after), "v2");
    }, 10_000);
    await run(c, ["clean"]);
  },
  180_000,
);

serverTest("cluster create steps on redis-server nodes give 3 masters + 3 replicas (the reference)", async (t) => {
  if (!requireTool("redis-server")) return;
  const nodes = await Promise.all(
    Array.from({ length: NODES }, () => startRedisNode(t, { port: freeClusterPort(), nodeTimeoutMs: 2000 })),
  );
  const ports = nodes.map((n) => n.port);
  const layout: ClusterLayout = {
    masterPorts: ports.slice(0, 3),
    replicaOf: new Map(ports.slice(3).map((p, i) => [p, ports[i]])),
  };
  const lines: string[] = [];
  const first = await createCluster(layout, { host: "127.0.0.1", timeoutMs: 60_000, progress: (l) => lines.push(l) });
  assert.equal(first.changed, true);
  await waitClusterOk(ports);
  await assertRoles(ports, layout.masterPorts, layout.replicaOf);
  const masterSlots = await Promise.all(layout.masterPorts.map(async (p) => {
    const view = await clusterNodes(p);
    return view.find((l) => l.flags.includes("myself"))!.slots.join(" ");
  }));
  assert.deepEqual(masterSlots, ["0-5460", "5461-10922", "10923-16383"], "redis-cli's split");
  assert.ok(lines.some((l) => l.includes("CLUSTER REPLICATE")), lines.join("\n"));
  const second = await createCluster(layout, { host: "127.0.0.1", timeoutMs: 30_000, progress: () => {} });
  assert.equal(second.changed, false, "a second create changes nothing");
}, 120_000);

serverTest("deno task cluster: --help, and bad flags exit 2 with the usage", async () => {
  const help = await runToExit(Deno.execPath(), ["run", "--allow-all", SCRIPT, "--help"], 30_000);
  assert.equal(help.code, 0, help.output);
  assert.match(help.output, /--base-port N/);
  for (const args of [["--base-port", "abc"], ["frobnicate"], ["--replicas", "-1"]]) {
    const r = await runToExit(Deno.execPath(), ["run", "--allow-all", SCRIPT, ...args], 30_000);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.output}`);
    assert.match(r.output, /deno task cluster \[command\]/);
  }
}, 60_000);
