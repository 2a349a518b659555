/**
 * Replication with real processes: tessera → tessera, redis-server 7.0 replica of a tessera master and
 * tessera replica of a redis-server master; full sync (diskless and disk), the stream, partial resync
 * after a cut link, WAIT, read-only replicas. Datasets are compared with DEBUG DIGEST, which both
 * servers compute the same way (tests/debug_digest_test.ts).
 */
import assert from "node:assert/strict";
import { serverTest } from "./helpers/test.ts";
import { connect, requireTool, type ServerProcess } from "./helpers/servers.ts";
import { call, callOk, eventually } from "./helpers/cluster.ts";
import { RespError } from "../src/resp/reply_parser.ts";

const COMMON = ["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"];
const SYNC_TIMEOUT_MS = 15_000;

/** Writes one value of every type (several encodings each), some with a TTL. */
async function populate(port: number, prefix: string): Promise<void> {
  const c = await connect(port);
  const big = "x".repeat(200);
  const cmds: string[][] = [
    ["SET", `${prefix}str`, "hello"],
    ["SET", `${prefix}int`, "12345"],
    ["SET", `${prefix}ttl`, "v", "EX", "1000"],
    ["RPUSH", `${prefix}list`, "a", "1", "-22", big],
    ["HSET", `${prefix}hash`, "f1", "v1", "f2", "2"],
    ["HSET", `${prefix}bighash`, "f", big],
    ["SADD", `${prefix}intset`, "1", "2", "3", "-5", "70000"],
    ["SADD", `${prefix}set`, "a", "b", big],
    ["ZADD", `${prefix}zset`, "1", "a", "2.5", "b", "-3e300", "c"],
    ["ZADD", `${prefix}bigzset`, "1", big, "2", "y"],
    ["PFADD", `${prefix}hll`, "a", "b", "c"],
  ];
  for (let i = 0; i < 200; i++) cmds.push(["SET", `${prefix}k${i}`, String(i * 7)]);
  for (const cmd of cmds) assert.ok(!((await c.call(...cmd)) instanceof RespError), cmd.join(" "));
  c.close();
}

/** Commands whose replication is rewritten (relative TTLs, pops, float increments...). */
async function rewrittenWrites(port: number): Promise<void> {
  const c = await connect(port);
  const cmds: string[][] = [
    ["SET", "w:ex", "1", "EX", "100"],
    ["SETEX", "w:setex", "100", "v"],
    ["PSETEX", "w:psetex", "100000", "v"],
    ["SET", "w:exp", "v"],
    ["EXPIRE", "w:exp", "100"],
    ["SET", "w:past", "v"],
    ["EXPIRE", "w:past", "-1"],
    ["INCRBYFLOAT", "w:float", "1.5"],
    ["HINCRBYFLOAT", "w:hfloat", "f", "2.25"],
    ["GETSET", "w:getset", "new"],
    ["SET", "w:getdel", "v"],
    ["GETDEL", "w:getdel"],
    ["SET", "w:getex", "v"],
    ["GETEX", "w:getex", "PX", "100000"],
    ["SADD", "w:spop", "a", "b", "c", "d", "e", "f"],
    ["SPOP", "w:spop"],
    ["SPOP", "w:spop", "2"],
    ["RPUSH", "w:list", "a", "b", "c"],
    ["BLPOP", "w:list", "0"],
    ["LMPOP", "1", "w:list", "RIGHT", "COUNT", "5"],
    ["ZADD", "w:z", "1", "a", "2", "b", "3", "c"],
    ["BZPOPMIN", "w:z", "0"],
    ["ZMPOP", "1", "w:z", "MAX", "COUNT", "1"],
    ["MULTI"],
    ["INCR", "w:tx"],
    ["INCR", "w:tx"],
    ["EXEC"],
  ];
  for (const cmd of cmds) assert.ok(!((await c.call(...cmd)) instanceof RespError), cmd.join(" "));
  c.close();
}

async function digest(port: number): Promise<string> {
  return (await callOk(port, "DEBUG", "DIGEST")) as string;
}

function infoField(info: string, name: string): string {
  const m = info.match(new RegExp(`^${name}:(.*)\\r$`, "m"));
  if (m === null) throw new Error(`no ${name} in INFO:\n${info}`);
  return m[1];
}

async function replInfo(port: number): Promise<string> {
  return (await callOk(port, "INFO", "replication")) as string;
}

/** Waits until the replica's link is up and it holds exactly the master's dataset. */
async function waitInSync(master: ServerProcess, replica: ServerProcess, what: string): Promise<void> {
  await eventually(what, async () => {
    assert.equal(infoField(await replInfo(replica.port), "master_link_status"), "up");
    const [m, r] = [await digest(master.port), await digest(replica.port)];
    assert.equal(r, m, "replica digest equals the master's");
  }, SYNC_TIMEOUT_MS);
}

async function syncStats(port: number): Promise<{ full: number; partialOk: number }> {
  const info = (await callOk(port, "INFO", "stats")) as string;
  return { full: Number(infoField(info, "sync_full")), partialOk: Number(infoField(info, "sync_partial_ok")) };
}

serverTest("tessera replica of a tessera master: full sync, stream rewrites, WAIT, READONLY, INFO, ROLE", async (t) => {
  const master = await t.tessera(COMMON);
  const replica = await t.tessera(COMMON);
  await populate(master.port, "a:");
  await callOk(replica.port, "REPLICAOF", "127.0.0.1", String(master.port));
  await waitInSync(master, replica, "full sync");
  await rewrittenWrites(master.port);
  await populate(master.port, "b:");
  await waitInSync(master, replica, "stream");
  assert.equal(await call(replica.port, "GET", "w:tx"), "2");
  assert.equal(await call(replica.port, "EXISTS", "w:past", "w:getdel"), 0);
  const ttl = (await callOk(replica.port, "PTTL", "w:ex")) as number;
  assert.ok(ttl > 90_000 && ttl <= 100_000, `TTL kept on the replica: ${ttl}`);

  const c = await connect(master.port);
  await c.call("SET", "w:wait", "1");
  assert.equal(await c.call("WAIT", "1", "5000"), 1);
  c.close();
  const err = await call(replica.port, "SET", "x", "1");
  assert.ok(err instanceof RespError);
  assert.equal(err.message, "READONLY You can't write against a read only replica.");
  const waitErr = await call(replica.port, "WAIT", "1", "0");
  assert.ok(waitErr instanceof RespError && waitErr.message.startsWith("ERR WAIT cannot be used with replica"));

  const mInfo = await replInfo(master.port);
  const rInfo = await replInfo(replica.port);
  assert.equal(infoField(mInfo, "role"), "master");
  assert.equal(infoField(mInfo, "connected_slaves"), "1");
  assert.match(
    infoField(mInfo, "slave0"),
    new RegExp(`^ip=127\\.0\\.0\\.1,port=${replica.port},state=online,offset=\\d+,lag=\\d+$`),
  );
  assert.equal(infoField(rInfo, "role"), "slave");
  assert.equal(infoField(rInfo, "master_port"), String(master.port));
  assert.equal(infoField(rInfo, "master_replid"), infoField(mInfo, "master_replid"));
  await eventually("offsets equal", async () => {
    assert.equal(
      infoField(await replInfo(replica.port), "slave_repl_offset"),
      infoField(await replInfo(master.port), "master_repl_offset"),
    );
  }, SYNC_TIMEOUT_MS);
  const role = (await callOk(replica.port, "ROLE")) as unknown[];
  assert.deepEqual(role.slice(0, 4), ["slave", "127.0.0.1", master.port, "connected"]);
  const mRole = (await callOk(master.port, "ROLE")) as unknown[];
  assert.equal(mRole[0], "master");
  assert.deepEqual((mRole[2] as string[][])[0].slice(0, 2), ["127.0.0.1", String(replica.port)]);
}, 60_000);

serverTest("a replica whose link is cut resumes with a partial resync", async (t) => {
  const master = await t.tessera(COMMON);
  const replica = await t.tessera(COMMON);
  await populate(master.port, "a:");
  await callOk(replica.port, "REPLICAOF", "127.0.0.1", String(master.port));
  await waitInSync(master, replica, "full sync");
  const before = await syncStats(master.port);
  await callOk(replica.port, "CLIENT", "KILL", "TYPE", "master");
  await populate(master.port, "b:");
  await waitInSync(master, replica, "after the cut");
  const after = await syncStats(master.port);
  assert.equal(after.full, before.full, "no new full sync");
  assert.equal(after.partialOk, before.partialOk + 1, "one more partial sync");
}, 60_000);

serverTest("disk-based full sync (repl-diskless-sync no) and a replica promoted with REPLICAOF NO ONE", async (t) => {
  const master = await t.tessera([...COMMON, "--repl-diskless-sync", "no"]);
  const replica = await t.tessera(COMMON);
  const other = await t.tessera(COMMON);
  await populate(master.port, "a:");
  await callOk(replica.port, "REPLICAOF", "127.0.0.1", String(master.port));
  await callOk(other.port, "REPLICAOF", "127.0.0.1", String(master.port));
  await waitInSync(master, replica, "full sync to disk form");
  await waitInSync(master, other, "second replica");
  // Promote one replica; the other follows it and continues partially thanks to the second replication ID.
  await callOk(replica.port, "REPLICAOF", "NO", "ONE");
  const promoted = await replInfo(replica.port);
  assert.equal(infoField(promoted, "role"), "master");
  assert.equal(infoField(promoted, "master_replid2"), infoField(await replInfo(master.port), "master_replid"));
  const before = await syncStats(replica.port);
  await callOk(other.port, "REPLICAOF", "127.0.0.1", String(replica.port));
  await populate(replica.port, "c:");
  await waitInSync(replica, other, "follows the promoted replica");
  const after = await syncStats(replica.port);
  assert.equal(after.full, before.full, "no full sync after the promotion");
  assert.equal(after.partialOk, before.partialOk + 1);
}, 60_000);

serverTest("redis-server 7.0 replica of a tessera master: full, stream, then partial after a cut", async (t) => {
  if (!requireTool("redis-server")) return;
  const master = await t.tessera(COMMON);
  const replica = await t.redis(["--enable-debug-command", "yes"]);
  await populate(master.port, "a:");
  await callOk(replica.port, "REPLICAOF", "127.0.0.1", String(master.port));
  await waitInSync(master, replica, "redis-server full sync from tessera");
  await rewrittenWrites(master.port);
  await waitInSync(master, replica, "redis-server applies tessera's stream");
  const before = await syncStats(master.port);
  await callOk(replica.port, "CLIENT", "KILL", "TYPE", "master");
  await populate(master.port, "b:");
  await waitInSync(master, replica, "after the cut");
  const after = await syncStats(master.port);
  assert.equal(after.full, before.full);
  assert.equal(after.partialOk, before.partialOk + 1);
}, 60_000);

serverTest("tessera replica of a redis-server 7.0 master: full, stream, then partial after a cut", async (t) => {
  if (!requireTool("redis-server")) return;
  const master = await t.redis(["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"]);
  const replica = await t.tessera(COMMON);
  await populate(master.port, "a:");
  await callOk(replica.port, "REPLICAOF", "127.0.0.1", String(master.port));
  await waitInSync(master, replica, "tessera full sync from redis-server");
  await rewrittenWrites(master.port);
  await populate(master.port, "b:");
  await waitInSync(master, replica, "tessera applies redis-server's stream");
  const before = await syncStats(master.port);
  await callOk(replica.port, "CLIENT", "KILL", "TYPE", "master");
  await callOk(master.port, "SET", "after", "cut");
  await waitInSync(master, replica, "after the cut");
  const after = await syncStats(master.port);
  assert.equal(after.full, before.full);
  assert.equal(after.partialOk, before.partialOk + 1);
}, 60_000);

serverTest("a replica of a replica gets the top master's stream with the same history and offsets", async (t) => {
  const master = await t.tessera(COMMON);
  const middle = await t.tessera(COMMON);
  const leaf = await t.tessera(COMMON);
  await populate(master.port, "a:");
  await callOk(middle.port, "REPLICAOF", "127.0.0.1", String(master.port));
  await waitInSync(master, middle, "middle replica");
  await callOk(leaf.port, "REPLICAOF", "127.0.0.1", String(middle.port));
  await waitInSync(master, leaf, "leaf replica");
  await rewrittenWrites(master.port);
  await waitInSync(master, leaf, "the stream passes through");
  await eventually("same history and offset", async () => {
    const [m, l] = [await replInfo(master.port), await replInfo(leaf.port)];
    assert.equal(infoField(l, "master_replid"), infoField(m, "master_replid"));
    assert.equal(infoField(l, "master_repl_offset"), infoField(m, "master_repl_offset"));
  }, SYNC_TIMEOUT_MS);
}, 60_000);

serverTest("a replica answers -LOADING while it loads a large snapshot, then serves the data", async (t) => {
  const master = await t.tessera(COMMON);
  const replica = await t.tessera(COMMON);
  await callOk(master.port, "DEBUG", "POPULATE", "400000");
  const c = await connect(replica.port);
  await callOk(replica.port, "REPLICAOF", "127.0.0.1", String(master.port));
  let loadingSeen = "";
  for (;;) {
    const reply = await c.call("GET", "key:1");
    if (reply instanceof RespError && reply.message.startsWith("LOADING")) loadingSeen = reply.message;
    if (reply === "value:1") break;
  }
  c.close();
  assert.equal(loadingSeen, "LOADING Redis is loading the dataset in memory");
  assert.equal(await callOk(replica.port, "DBSIZE"), 400000);
}, 60_000);

serverTest(
  "REPLICAOF is what CONFIG GET replicaof and CONFIG REWRITE report; errors as Redis words them",
  async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "tessera-replicaof-" });
    t.defer(() => Deno.remove(dir, { recursive: true }));
    await Deno.writeTextFile(`${dir}/tessera.conf`, "# replication\nrepl-timeout 30\n");
    const master = await t.tessera(COMMON);
    const replica = await t.tessera([`${dir}/tessera.conf`, ...COMMON]);
    await callOk(replica.port, "REPLICAOF", "127.0.0.1", String(master.port));
    assert.deepEqual(await callOk(replica.port, "CONFIG", "GET", "replicaof"), [
      "replicaof",
      `127.0.0.1 ${master.port}`,
    ]);
    assert.equal(
      await callOk(replica.port, "REPLICAOF", "127.0.0.1", String(master.port)),
      "OK Already connected to specified master",
    );
    await callOk(replica.port, "CONFIG", "REWRITE");
    assert.match(
      await Deno.readTextFile(`${dir}/tessera.conf`),
      new RegExp(`^replicaof 127\\.0\\.0\\.1 ${master.port}$`, "m"),
    );
    const bad = await call(replica.port, "REPLICAOF", "127.0.0.1", "notaport");
    assert.ok(bad instanceof RespError && bad.message === "ERR Invalid master port", String(bad));
    assert.equal(await callOk(replica.port, "REPLICAOF", "NO", "ONE"), "OK");
    assert.deepEqual(await callOk(replica.port, "CONFIG", "GET", "replicaof"), ["replicaof", ""]);
    await callOk(replica.port, "CONFIG", "REWRITE");
    assert.doesNotMatch(await Deno.readTextFile(`${dir}/tessera.conf`), /^replicaof/m);
    const replconf = await call(master.port, "REPLCONF", "bogus", "1");
    assert.ok(replconf instanceof RespError && replconf.message === "ERR Unrecognized REPLCONF option: bogus");
  },
);
