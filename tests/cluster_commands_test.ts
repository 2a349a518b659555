/**
 * CLUSTER subcommands, READONLY, READWRITE and ASKING against a real redis-server 7.0.15 started with
 * `--cluster-enabled yes`: the same commands go to both single-node clusters and the raw replies must match,
 * byte for byte, except node ids and ports (masked with same-length text) and the order of CLUSTER NODES lines
 * (Redis prints its hash-table order).
 */
import assert from "node:assert/strict";
import { serverTest, type ServerTestContext } from "./helpers/test.ts";
import { freePort, requireTool, type ServerProcess } from "./helpers/servers.ts";
import { DiffSession, showArgs } from "./helpers/diff.ts";
import { fakeClient } from "./helpers/fake_client.ts";
import { connectionResetHooks } from "../src/commands/connection.ts";
import { ERR_CLUSTER_DISABLED } from "../src/commands/cluster.ts";
import type { RespConnection } from "../src/resp/connection.ts";

/** How long a fresh single-node cluster may take to report `cluster_state:ok` after its slots are covered. */
const STATE_OK_TIMEOUT_MS = 15_000;
/** Node timeout of the slot tests: short, so the writable and rejoin delays pass quickly. */
const SHORT_NODE_TIMEOUT_MS = "500";

type Mask = (raw: string, server: ServerProcess) => string;

/** Replaces node ids and the server's own ports with same-length placeholders. */
function maskIdentity(raw: string, server: ServerProcess): string {
  let out = raw.replace(/[0-9a-f]{40}/g, "x".repeat(40));
  for (const port of [server.port, server.port + 10000]) {
    out = out.replace(new RegExp(`(?<![0-9])${port}(?![0-9])`, "g"), "P".repeat(String(port).length));
  }
  return out;
}

/** maskIdentity, then the CLUSTER NODES lines sorted (the body of a bulk or `txt` verbatim reply). */
function maskNodes(raw: string, server: ServerProcess): string {
  const masked = maskIdentity(raw, server);
  const headerEnd = masked.indexOf("\r\n") + 2;
  if (!"$=".includes(masked[0]) || !masked.endsWith("\r\n")) return masked;
  const prefix = masked[0] === "=" ? "txt:" : "";
  const body = masked.slice(headerEnd + prefix.length, -2);
  const lines = body.split("\n").filter((l) => l !== "").sort();
  return masked.slice(0, headerEnd) + prefix + lines.map((l) => l + "\n").join("") + "\r\n";
}

/** Sends commands to a tessera / redis-server pair and records every difference in `session.failures`. */
class ClusterDiff {
  constructor(
    readonly session: DiffSession,
    readonly tessera: ServerProcess,
    readonly redis: ServerProcess,
  ) {}

  /** The same command to both; exact bytes. */
  async same(...args: string[]): Promise<void> {
    await this.session.send("a", args, undefined, "cluster_commands_test");
  }

  /** The same command to both, compared through `mask`. */
  async masked(args: string[], mask: Mask = maskIdentity): Promise<void> {
    await this.each(args, args, mask);
  }

  /** Per-server arguments (commands naming the server's own node id); replies compared through `mask`. */
  async each(tesseraArgs: string[], redisArgs: string[], mask: Mask = maskIdentity): Promise<[string, string]> {
    const p = await this.session.pair("a");
    const [t, r] = await Promise.all([p.t.callRaw(...tesseraArgs), p.r.callRaw(...redisArgs)]);
    if (mask(t, this.tessera) !== mask(r, this.redis)) {
      this.session.failures.push(
        `[RESP${this.session.resp}] ${showArgs(tesseraArgs)}\n    tessera: ${JSON.stringify(t)}\n` +
          `    redis:   ${JSON.stringify(r)}`,
      );
    }
    return [t, r];
  }

  /** Each server's own answer to a command (for ids). */
  async raw(...args: string[]): Promise<[string, string]> {
    const p = await this.session.pair("a");
    return await Promise.all([p.t.callRaw(...args), p.r.callRaw(...args)]);
  }

  /** Waits until both servers report `cluster_state:ok` (the writable / rejoin delays have passed). */
  async waitStateOk(): Promise<void> {
    const p = await this.session.pair("a");
    const deadline = Date.now() + STATE_OK_TIMEOUT_MS;
    for (const [name, conn] of [["tessera", p.t], ["redis", p.r]] as [string, RespConnection][]) {
      while (!(await conn.callRaw("CLUSTER", "INFO")).includes("cluster_state:ok")) {
        if (Date.now() > deadline) throw new Error(`${name} never reached cluster_state:ok`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}

/** Starts tessera (in a temp dir, for nodes.conf) and redis-server, both in cluster mode. */
async function startClusterPair(
  t: ServerTestContext,
  resp: 2 | 3,
  extra: string[] = [],
): Promise<ClusterDiff> {
  const dir = await Deno.makeTempDir({ prefix: "tessera-cluster-cmd-" });
  t.defer(() => Deno.remove(dir, { recursive: true }).catch(() => {}));
  const args = ["--cluster-enabled", "yes", ...extra];
  const [tessera, redis] = await Promise.all([t.tessera([...args, "--dir", dir]), t.redis(args)]);
  const session = new DiffSession(tessera.port, redis.port, resp);
  t.defer(() => session.close());
  return new ClusterDiff(session, tessera, redis);
}

/** The node id in a `$40` bulk reply. */
function bulkId(raw: string): string {
  const m = /^\$40\r\n([0-9a-f]{40})\r\n$/.exec(raw);
  if (m === null) throw new Error(`not a node id reply: ${JSON.stringify(raw)}`);
  return m[1];
}

/** Every node id in a CLUSTER NODES reply except `self`. */
function otherIds(raw: string, self: string): string[] {
  return [...raw.matchAll(/^(?:txt:)?([0-9a-f]{40}) /gm)].map((m) => m[1]).filter((id) => id !== self);
}

for (const resp of [2, 3] as const) {
  serverTest(`CLUSTER errors and read-only subcommands match redis-server, RESP${resp}`, async (t) => {
    if (!requireTool("redis-server")) return;
    const d = await startClusterPair(t, resp, ["--cluster-node-timeout", SHORT_NODE_TIMEOUT_MS]);
    await d.same("CLUSTER", "HELP");
    for (const key of ["foo", "{user1000}.following", "", "{}", "{{a}}", "a{}b{c}", "\xff{\x00}z", "{a}"]) {
      await d.same("CLUSTER", "KEYSLOT", key);
    }
    for (const slot of ["0", "16383", "16384", "-1", "abc", "1.0", " 1", "99999999999999999999"]) {
      await d.same("CLUSTER", "COUNTKEYSINSLOT", slot);
    }
    for (const [slot, count] of [["0", "10"], ["0", "0"], ["0", "-1"], ["16384", "1"], ["abc", "1"], ["1", "abc"]]) {
      await d.same("CLUSTER", "GETKEYSINSLOT", slot, count);
    }
    await d.masked(["CLUSTER", "MYID"]);
    for (const args of [["x"], ["16384"], ["-1"], [" 1"], ["1.0"], ["0", "0"], ["0", "1", "x"]]) {
      await d.same("CLUSTER", "ADDSLOTS", ...args);
    }
    await d.same("CLUSTER", "DELSLOTS", "0");
    await d.same("CLUSTER", "DELSLOTS", "x", "0");
    for (const sub of ["ADDSLOTSRANGE", "DELSLOTSRANGE"]) {
      for (const args of [["1", "2", "3"], ["5", "3"], ["0", "x"], ["x", "0"], ["0", "16384"], ["0", "1", "1", "0"]]) {
        await d.same("CLUSTER", sub, ...args);
      }
    }
    await d.same("CLUSTER", "ADDSLOTSRANGE", "0", "1", "1", "2");
    const meetErrors = [
      ["1.2.3.999", "7000"],
      ["01.2.3.4", "7000"],
      ["localhost", "7000"],
      ["[::1]", "7000"],
      ["1::2::3", "7000"],
      ["a\r\nb", "7000"],
      ["1.2.3.4", "abc"],
      ["1.2.3.4", "70000"],
      ["1.2.3.4", "0"],
      ["1.2.3.4", "-5"],
      ["1.2.3.4", "60000"],
      ["1.2.3.4", " 7000"],
      ["1.2.3.4", "7000", "x"],
      ["1.2.3.4", "7000", "0"],
      ["1.2.3.4", "7000", "65536"],
      ["1.2.3.4", "7000", "1", "2"],
    ];
    for (const args of meetErrors) await d.same("CLUSTER", "MEET", ...args);
    const unknownId = "0123456789abcdef0123456789abcdef01234567";
    for (const sub of ["FORGET", "COUNT-FAILURE-REPORTS", "REPLICAS", "SLAVES"]) {
      await d.same("CLUSTER", sub, unknownId);
      await d.same("CLUSTER", sub, "abc\r\nx");
    }
    const [tId, rId] = (await d.raw("CLUSTER", "MYID")).map(bulkId);
    for (const sub of ["FORGET", "COUNT-FAILURE-REPORTS", "REPLICAS", "SLAVES"]) {
      await d.each(["CLUSTER", sub, tId], ["CLUSTER", sub, rId]);
    }
    for (const args of [["x"], ["soft", "x"], ["hard", "soft"]]) await d.same("CLUSTER", "RESET", ...args);
    for (const epoch of ["x", "-1", "-0", "1.5", "99999999999999999999", "-9223372036854775808"]) {
      await d.same("CLUSTER", "SET-CONFIG-EPOCH", epoch);
    }
    await d.same("CLUSTER", "FOO");
    await d.same("CLUSTER");
    await d.same("CLUSTER", "NODES", "x");
    await d.same("CLUSTER", "KEYSLOT");
    await d.same("CLUSTER", "HELP", "x");
    await d.same("READONLY");
    await d.same("READWRITE");
    await d.same("ASKING");
    await d.same("READONLY", "x");
    await d.same("CLUSTER", "INFO");
    await d.same("CLUSTER", "SLOTS");
    await d.masked(["CLUSTER", "SHARDS"]);
    await d.same("CLUSTER", "LINKS");
    await d.masked(["CLUSTER", "NODES"], maskNodes);
    await d.same("CLUSTER", "SAVECONFIG");
    assert.deepEqual(d.session.failures, [], d.session.failures.join("\n"));
  });

  serverTest(`CLUSTER epochs and RESET match redis-server, RESP${resp}`, async (t) => {
    if (!requireTool("redis-server")) return;
    const d = await startClusterPair(t, resp, ["--cluster-node-timeout", SHORT_NODE_TIMEOUT_MS]);
    await d.same("CLUSTER", "SET-CONFIG-EPOCH", "5");
    await d.same("CLUSTER", "SET-CONFIG-EPOCH", "6");
    await d.same("CLUSTER", "INFO");
    await d.same("CLUSTER", "BUMPEPOCH");
    await d.same("CLUSTER", "RESET", "SOFT");
    await d.same("CLUSTER", "INFO");
    await d.masked(["CLUSTER", "NODES"], maskNodes);
    const [idBefore] = (await d.raw("CLUSTER", "MYID")).map(bulkId);
    await d.same("CLUSTER", "RESET", "hard");
    const [idAfter] = (await d.raw("CLUSTER", "MYID")).map(bulkId);
    assert.notEqual(idAfter, idBefore, "RESET HARD takes a new node id");
    await d.same("CLUSTER", "INFO");
    await d.same("CLUSTER", "BUMPEPOCH");
    await d.same("CLUSTER", "BUMPEPOCH");
    await d.same("CLUSTER", "INFO");
    await d.masked(["CLUSTER", "NODES"], maskNodes);
    await d.same("CLUSTER", "RESET");
    await d.same("CLUSTER", "SET-CONFIG-EPOCH", "7");
    await d.same("CLUSTER", "INFO");
    assert.deepEqual(d.session.failures, [], d.session.failures.join("\n"));
  });

  serverTest(`CLUSTER slot assignment and keys per slot match redis-server, RESP${resp}`, async (t) => {
    if (!requireTool("redis-server")) return;
    const d = await startClusterPair(t, resp, ["--cluster-node-timeout", SHORT_NODE_TIMEOUT_MS]);
    await d.same("CLUSTER", "ADDSLOTS", "0", "1", "2");
    await d.same("CLUSTER", "ADDSLOTS", "2");
    await d.same("CLUSTER", "ADDSLOTSRANGE", "0", "0", "x", "1");
    await d.same("CLUSTER", "ADDSLOTSRANGE", "3", "3", "5", "4");
    await d.same("CLUSTER", "ADDSLOTSRANGE", "10", "20", "30", "40", "16000", "16383");
    await d.same("CLUSTER", "DELSLOTS", "5");
    await d.same("CLUSTER", "DELSLOTSRANGE", "10", "12", "40", "40");
    await d.same("CLUSTER", "DELSLOTSRANGE", "13", "13", "x", "1");
    await d.same("CLUSTER", "DELSLOTS", "0", "1", "0");
    await d.same("CLUSTER", "INFO");
    await d.masked(["CLUSTER", "SLOTS"]);
    await d.masked(["CLUSTER", "SHARDS"]);
    await d.masked(["CLUSTER", "NODES"], maskNodes);
    await d.same("CLUSTER", "FLUSHSLOTS");
    await d.same("CLUSTER", "INFO");
    await d.same("CLUSTER", "SLOTS");
    await d.same("CLUSTER", "ADDSLOTSRANGE", "0", "16383");
    await d.waitStateOk();
    await d.same("CLUSTER", "INFO");
    await d.masked(["CLUSTER", "SLOTS"]);
    for (const args of [["SET", "{a}1", "x"], ["SET", "{a}2", "x"], ["SET", "{a}3", "x"], ["DEL", "{a}1"]]) {
      await d.same(...args);
    }
    for (const args of [["SET", "{a}1", "x"], ["RENAME", "{a}2", "{a}4"], ["SET", "{a}3", "y"], ["SET", "b", "1"]]) {
      await d.same(...args);
    }
    for (const count of ["10", "3", "2", "1", "0"]) await d.same("CLUSTER", "GETKEYSINSLOT", "15495", count);
    await d.same("CLUSTER", "COUNTKEYSINSLOT", "15495");
    await d.same("CLUSTER", "COUNTKEYSINSLOT", "3300");
    await d.same("CLUSTER", "GETKEYSINSLOT", "3300", "5");
    await d.same("CLUSTER", "RESET");
    await d.same("CLUSTER", "FLUSHSLOTS");
    await d.same("CLUSTER", "DELSLOTS", "15495");
    await d.same("CLUSTER", "GETKEYSINSLOT", "15495", "10");
    await d.same("CLUSTER", "INFO");
    await d.same("FLUSHALL");
    await d.same("CLUSTER", "FLUSHSLOTS");
    await d.same("CLUSTER", "INFO");
    await d.same("CLUSTER", "RESET");
    await d.same("CLUSTER", "INFO");
    assert.deepEqual(d.session.failures, [], d.session.failures.join("\n"));
  });

  serverTest(`CLUSTER MEET, handshake nodes and FORGET match redis-server, RESP${resp}`, async (t) => {
    if (!requireTool("redis-server")) return;
    // The default node timeout keeps handshake nodes (nobody listens at these ports) for 15 s.
    const d = await startClusterPair(t, resp);
    const [p1, p2, p3] = [freePort(), freePort(), freePort()];
    await d.same("CLUSTER", "MEET", "127.0.0.1", String(p1));
    await d.same("CLUSTER", "MEET", "127.0.0.1", String(p1));
    await d.same("CLUSTER", "MEET", "0:0:0:0:0:0:0:1", String(p2));
    // The same address as the previous one once normalised: no second handshake node.
    await d.same("CLUSTER", "MEET", "::1", String(p2));
    await d.same("CLUSTER", "MEET", "::ffff:127.0.0.1", String(p3), String(p1));
    await d.same("CLUSTER", "MEET", "127.0.0.1\x00junk", String(p3));
    await d.masked(["CLUSTER", "NODES"], maskNodes);
    await d.same("CLUSTER", "INFO");
    await d.same("CLUSTER", "SET-CONFIG-EPOCH", "3");
    const [tNodes, rNodes] = await d.raw("CLUSTER", "NODES");
    const [tId, rId] = (await d.raw("CLUSTER", "MYID")).map(bulkId);
    const tOthers = otherIds(tNodes, tId).sort();
    const rOthers = otherIds(rNodes, rId).sort();
    assert.equal(tOthers.length, rOthers.length, "handshake nodes");
    await d.each(["CLUSTER", "REPLICAS", tOthers[0]], ["CLUSTER", "REPLICAS", rOthers[0]]);
    await d.each(["CLUSTER", "COUNT-FAILURE-REPORTS", tOthers[0]], ["CLUSTER", "COUNT-FAILURE-REPORTS", rOthers[0]]);
    await d.each(["CLUSTER", "FORGET", tOthers[0]], ["CLUSTER", "FORGET", rOthers[0]]);
    await d.each(["CLUSTER", "FORGET", tOthers[0]], ["CLUSTER", "FORGET", rOthers[0]]);
    await d.same("CLUSTER", "INFO");
    await d.same("CLUSTER", "RESET");
    await d.same("CLUSTER", "INFO");
    await d.masked(["CLUSTER", "NODES"], maskNodes);
    assert.deepEqual(d.session.failures, [], d.session.failures.join("\n"));
  });

  serverTest(`cluster commands answer the disabled error without cluster mode, RESP${resp}`, async (t) => {
    if (!requireTool("redis-server")) return;
    const [tessera, redis] = await Promise.all([t.tessera(), t.redis()]);
    const session = new DiffSession(tessera.port, redis.port, resp);
    t.defer(() => session.close());
    const commands = [
      ["CLUSTER", "HELP"],
      ["CLUSTER", "INFO"],
      ["CLUSTER", "MYID"],
      ["CLUSTER", "NODES"],
      ["CLUSTER", "SLOTS"],
      ["CLUSTER", "SHARDS"],
      ["CLUSTER", "LINKS"],
      ["CLUSTER", "KEYSLOT", "a"],
      ["CLUSTER", "COUNTKEYSINSLOT", "x"],
      ["CLUSTER", "GETKEYSINSLOT", "x", "y"],
      ["CLUSTER", "ADDSLOTS", "x"],
      ["CLUSTER", "ADDSLOTSRANGE", "1", "2", "3"],
      ["CLUSTER", "DELSLOTS", "0"],
      ["CLUSTER", "DELSLOTSRANGE", "0", "1"],
      ["CLUSTER", "FLUSHSLOTS"],
      ["CLUSTER", "MEET", "x", "y"],
      ["CLUSTER", "FORGET", "x"],
      ["CLUSTER", "RESET", "a", "b"],
      ["CLUSTER", "SET-CONFIG-EPOCH", "1"],
      ["CLUSTER", "BUMPEPOCH"],
      ["CLUSTER", "SAVECONFIG"],
      ["CLUSTER", "COUNT-FAILURE-REPORTS", "x"],
      ["CLUSTER", "REPLICAS", "x"],
      ["CLUSTER", "SLAVES", "x"],
      ["CLUSTER", "FOO"],
      ["CLUSTER", "NODES", "x"],
      ["READONLY"],
      ["READWRITE"],
      ["ASKING"],
    ];
    for (const args of commands) await session.send("a", args, undefined, "disabled");
    assert.deepEqual(session.failures, [], session.failures.join("\n"));
    const p = await session.pair("a");
    assert.equal(await p.t.callRaw("CLUSTER", "INFO"), `-${ERR_CLUSTER_DISABLED}\r\n`);
  });
}

Deno.test("READONLY / READWRITE / ASKING set the client flags that routing reads; RESET clears them", () => {
  const fake = fakeClient();
  const c = fake.client;
  const server = c.server as { cluster: unknown };
  server.cluster = null;
  assert.equal(fake.call("READONLY"), `-${ERR_CLUSTER_DISABLED}\r\n`);
  assert.notEqual(c.readonly, true);
  // The flag commands only need cluster mode to be on, not the shell itself.
  server.cluster = {};
  assert.equal(fake.call("READONLY"), "+OK\r\n");
  assert.equal(c.readonly, true);
  assert.equal(fake.call("READWRITE"), "+OK\r\n");
  assert.equal(c.readonly, false);
  assert.equal(fake.call("ASKING"), "+OK\r\n");
  assert.equal(c.asking, true);
  fake.call("READONLY");
  for (const hook of connectionResetHooks) hook(c);
  assert.equal(c.readonly, false);
  assert.equal(c.asking, false);
});
