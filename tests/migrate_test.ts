/**
 * MIGRATE against real redis-server 7.0.15 processes: the same command sequences run with tessera and
 * with redis-server as the migrating side (same target) and their replies are compared byte for byte;
 * every type both ways; big values; the cached connection (reuse, SELECT only when the db changes, a
 * dead connection retried, idle close); faults (target down, a target that never answers); keys held
 * while in flight; replication of the deletions; throughput.
 */
import assert from "node:assert/strict";
import { freePort, requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import { callOk, startRedisNode, startTesseraNode } from "./helpers/cluster.ts";
import { buildFixtures, fixtures } from "./helpers/rdb_fixtures.ts";
import { RespConnection } from "../src/resp/connection.ts";
import type { RespValue } from "../src/resp/reply_parser.ts";

const hasRedis = requireTool("redis-server");
const DEBUG = ["--enable-debug-command", "yes"];
const HOST = "127.0.0.1";

async function open(port: number, ctx: { defer(fn: () => void): void }): Promise<RespConnection> {
  const conn = await RespConnection.connect(port);
  ctx.defer(() => conn.close());
  return conn;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A field of INFO text (`name:value`), or undefined. */
function infoField(info: RespValue, name: string): string | undefined {
  const m = new RegExp(`^${name}:(.*)\\r?$`, "m").exec(String(info));
  return m === null ? undefined : m[1];
}

/** The `calls=` count of a command in INFO commandstats (0 when never called). */
async function calls(conn: RespConnection, command: string): Promise<number> {
  const v = infoField(await conn.call("INFO", "commandstats"), `cmdstat_${command}`);
  return v === undefined ? 0 : Number(/calls=(\d+)/.exec(v)![1]);
}

/**
 * A TCP server that accepts connections, reads everything and never answers; `close` ends it.
 * Used as a target that hangs.
 */
function silentTarget(): { port: number; accepted: () => number; close: () => void } {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const conn of listener) {
        conns.push(conn);
        (async () => {
          const buf = new Uint8Array(64 * 1024);
          try {
            while ((await conn.read(buf)) !== null) { /* swallow */ }
          } catch {
            // closed
          }
        })();
      }
    } catch {
      // listener closed
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    accepted: () => conns.length,
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
    },
  };
}

/** A TCP proxy to `port` that holds each chunk from the target for `delayMs` before passing it on. */
function slowProxy(port: number, delayMs: number): { port: number; close: () => void } {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const conns: Deno.Conn[] = [];
  const pipe = async (from: Deno.Conn, to: Deno.Conn, delay: number) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        const chunk = buf.slice(0, n);
        if (delay > 0) await sleep(delay);
        let off = 0;
        while (off < chunk.length) off += await to.write(chunk.subarray(off));
      }
    } catch {
      // closed
    }
    try {
      to.close();
    } catch {
      // already closed
    }
  };
  (async () => {
    try {
      for await (const client of listener) {
        const upstream = await Deno.connect({ hostname: HOST, port });
        conns.push(client, upstream);
        pipe(client, upstream, 0);
        pipe(upstream, client, delayMs);
      }
    } catch {
      // listener closed
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
    },
  };
}

/** One step of a differential script: the connection it goes to and the command. */
type Step = { on: "source" | "target" | "secure"; args: string[] };

/**
 * Runs the same steps with tessera and with redis-server as the source (each time against freshly
 * flushed targets) and compares every reply byte for byte.
 */
async function compareSources(
  ctx: Parameters<Parameters<typeof serverTest>[1]>[0],
  steps: (ports: { target: number; secure: number; down: number }) => Step[],
): Promise<void> {
  const tessera = await ctx.tessera();
  const redis = await ctx.redis();
  const target = await ctx.redis(["--sanitize-dump-payload", "yes"]);
  const secure = await ctx.redis(["--requirepass", "s3cret"]);
  const ports = { target: target.port, secure: secure.port, down: freePort() };
  const script = steps(ports);
  const runs: string[][] = [];
  for (const source of [tessera, redis]) {
    const conns = {
      source: await open(source.port, ctx),
      target: await open(target.port, ctx),
      secure: await open(secure.port, ctx),
    };
    assert.equal(await conns.secure.call("AUTH", "s3cret"), "OK");
    await conns.target.call("FLUSHALL");
    await conns.secure.call("FLUSHALL");
    const replies: string[] = [];
    for (const step of script) replies.push(await conns[step.on].callRaw(...step.args));
    runs.push(replies);
  }
  for (let i = 0; i < script.length; i++) {
    assert.equal(runs[0][i], runs[1][i], `step ${i}: ${script[i].on} ${script[i].args.join(" ")}`);
  }
}

serverTest("MIGRATE: argument errors, NOKEY and the KEYS rules byte for byte with redis-server", async (ctx) => {
  if (!hasRedis) return;
  await compareSources(ctx, ({ target }) => {
    const t = String(target);
    const m = (...rest: string[]) => ({ on: "source" as const, args: ["MIGRATE", HOST, t, ...rest] });
    return [
      { on: "source", args: ["SET", "k", "v"] },
      { on: "source", args: ["MIGRATE", HOST, t, "k", "0"] },
      m("k", "0", "1000", "KEYS", "k"),
      m("k", "0", "1000", "bogus"),
      m("k", "0", "1000", "AUTH"),
      m("k", "0", "1000", "AUTH2", "user"),
      m("k", "x", "1000"),
      m("k", "0", "1000x"),
      m("k", "x", "y"),
      m("k", "99999999999999999999", "1000"),
      m("missing", "0", "1000"),
      m("", "0", "1000", "KEYS", "m1", "m2"),
      m("", "0", "1000", "COPY", "REPLACE", "KEYS"),
      m("", "0", "1000"),
      m("k", "0", "1000", "copy", "KEYS", "x"),
      m("", "0", "1000", "bogus", "KEYS", "k"),
      { on: "source", args: ["EXISTS", "k"] },
      { on: "target", args: ["DBSIZE"] },
    ];
  });
});

serverTest(
  "MIGRATE: moves, COPY, REPLACE, BUSYKEY, KEYS, db selection, AUTH and a down target, as redis-server",
  async (ctx) => {
    if (!hasRedis) return;
    await compareSources(ctx, ({ target, secure, down }) => {
      const t = String(target);
      const s = String(secure);
      const steps: Step[] = [
        { on: "source", args: ["SET", "a", "1"] },
        { on: "source", args: ["RPUSH", "list", "x", "y", "z"] },
        { on: "source", args: ["HSET", "h", "f", "v"] },
        { on: "source", args: ["SADD", "set", "1", "2", "3"] },
        { on: "source", args: ["ZADD", "z", "1", "m", "2.5", "n"] },
        { on: "source", args: ["SET", "b", "2"] },
        { on: "source", args: ["SET", "c", "3"] },
        { on: "source", args: ["MIGRATE", HOST, t, "a", "0", "1000"] },
        { on: "source", args: ["EXISTS", "a"] },
        { on: "target", args: ["GET", "a"] },
        // COPY keeps the source; a second COPY hits BUSYKEY; REPLACE overwrites.
        { on: "source", args: ["MIGRATE", HOST, t, "list", "0", "1000", "COPY"] },
        { on: "source", args: ["EXISTS", "list"] },
        { on: "source", args: ["MIGRATE", HOST, t, "list", "0", "1000", "COPY"] },
        { on: "source", args: ["RPUSH", "list", "w"] },
        { on: "source", args: ["MIGRATE", HOST, t, "list", "0", "1000", "REPLACE"] },
        { on: "source", args: ["EXISTS", "list"] },
        { on: "target", args: ["LRANGE", "list", "0", "-1"] },
        // KEYS with missing keys and one that fails: the others still move, the failed one stays.
        { on: "target", args: ["SET", "c", "taken"] },
        { on: "source", args: ["MIGRATE", HOST, t, "", "0", "1000", "KEYS", "h", "nope", "c", "set", "b"] },
        { on: "source", args: ["EXISTS", "h", "c", "set", "b"] },
        { on: "target", args: ["EXISTS", "h", "c", "set", "b"] },
        { on: "target", args: ["GET", "c"] },
        // Database selection: db 5, back to 0, then 5 again.
        { on: "source", args: ["SET", "d1", "x"] },
        { on: "source", args: ["SET", "d2", "y"] },
        { on: "source", args: ["MIGRATE", HOST, t, "d1", "5", "1000"] },
        { on: "source", args: ["MIGRATE", HOST, t, "z", "0", "1000"] },
        { on: "source", args: ["MIGRATE", HOST, t, "d2", "5", "1000"] },
        { on: "target", args: ["SELECT", "5"] },
        { on: "target", args: ["MGET", "d1", "d2", "z"] },
        { on: "target", args: ["SELECT", "0"] },
        { on: "target", args: ["ZRANGE", "z", "0", "-1", "WITHSCORES"] },
        { on: "source", args: ["SET", "d3", "x"] },
        { on: "source", args: ["MIGRATE", HOST, t, "d3", "16", "1000"] },
        { on: "source", args: ["EXISTS", "d3"] },
        { on: "source", args: ["MIGRATE", HOST, t, "d3", "1", "1000"] },
        { on: "source", args: ["EXISTS", "d3"] },
        // A target that is down: nothing moves.
        { on: "source", args: ["SET", "e", "1"] },
        { on: "source", args: ["MIGRATE", HOST, String(down), "e", "0", "300"] },
        { on: "source", args: ["MIGRATE", "no-such-host.invalid", String(down), "e", "0", "300"] },
        { on: "source", args: ["EXISTS", "e"] },
        // A password-protected target: no AUTH, a wrong one, AUTH, AUTH2.
        { on: "source", args: ["SET", "p1", "1"] },
        { on: "source", args: ["SET", "p2", "2"] },
        { on: "source", args: ["SET", "p3", "3"] },
        { on: "source", args: ["MIGRATE", HOST, s, "p1", "0", "1000"] },
        { on: "source", args: ["MIGRATE", HOST, s, "p1", "0", "1000", "AUTH", "wrong"] },
        { on: "source", args: ["MIGRATE", HOST, s, "p1", "0", "1000", "AUTH", "s3cret"] },
        { on: "source", args: ["MIGRATE", HOST, s, "", "0", "1000", "AUTH2", "default", "s3cret", "KEYS", "p2", "p3"] },
        { on: "source", args: ["EXISTS", "p1", "p2", "p3"] },
        { on: "secure", args: ["MGET", "p1", "p2", "p3"] },
        // AUTH sent to a target without a password fails, and so does the whole MIGRATE.
        { on: "source", args: ["SET", "q", "1"] },
        { on: "source", args: ["MIGRATE", HOST, t, "q", "0", "1000", "AUTH", "pw"] },
        { on: "source", args: ["EXISTS", "q"] },
        { on: "target", args: ["EXISTS", "q"] },
      ];
      return steps;
    });
  },
);

serverTest("MIGRATE: every type moves tessera → redis-server and redis-server → tessera, TTLs kept", async (ctx) => {
  if (!hasRedis) return;
  const t = await ctx.tessera(DEBUG);
  const r = await ctx.redis([...DEBUG, "--sanitize-dump-payload", "yes"]);
  const ref = await ctx.redis(DEBUG);
  const ct = await open(t.port, ctx);
  const cr = await open(r.port, ctx);
  const cref = await open(ref.port, ctx);
  const list = fixtures();
  const keys = list.map((f) => f.key);
  await buildFixtures(ct, list);
  await buildFixtures(cref, list);
  const ttlKey = keys[3];
  // DIGEST-VALUE covers the TTL's presence: the reference gets one too.
  for (const c of [ct, cref]) assert.equal(await c.call("PEXPIRE", ttlKey, "600000"), 1);
  const want = new Map<string, RespValue>();
  for (const key of keys) want.set(key, await cref.call("DEBUG", "DIGEST-VALUE", key));

  // tessera → redis-server in batches of 7, then back with a single-key MIGRATE each.
  for (let i = 0; i < keys.length; i += 7) {
    const batch = keys.slice(i, i + 7);
    assert.equal(await ct.call("MIGRATE", HOST, String(r.port), "", "0", "5000", "KEYS", ...batch), "OK");
  }
  assert.equal(await ct.call("DBSIZE"), 0);
  for (const key of keys) assert.deepEqual(await cr.call("DEBUG", "DIGEST-VALUE", key), want.get(key), key);
  const ttl = Number(await cr.call("PTTL", ttlKey));
  assert.ok(ttl > 590000 && ttl <= 600000, `PTTL on redis-server: ${ttl}`);
  assert.equal(await cr.call("PTTL", keys[4]), -1);

  for (const key of keys) assert.equal(await cr.call("MIGRATE", HOST, String(t.port), key, "2", "5000"), "OK", key);
  assert.equal(await cr.call("DBSIZE"), 0);
  assert.equal(await ct.call("SELECT", "2"), "OK");
  for (const key of keys) assert.deepEqual(await ct.call("DEBUG", "DIGEST-VALUE", key), want.get(key), key);
  for (const f of list) assert.equal(await ct.call("OBJECT", "ENCODING", f.key), f.encoding, f.key);
  const back = Number(await ct.call("PTTL", ttlKey));
  assert.ok(back > 580000 && back <= ttl, `PTTL back on tessera: ${back}`);
});

serverTest("MIGRATE: values of several MB both ways", async (ctx) => {
  if (!hasRedis) return;
  const t = await ctx.tessera(DEBUG);
  const r = await ctx.redis(DEBUG);
  const ct = await open(t.port, ctx);
  const cr = await open(r.port, ctx);
  const big = "0123456789abcdef".repeat(384 * 1024); // 6 MB
  const members = Array.from({ length: 100_000 }, (_, i) => `member:${i}:${"x".repeat(i % 29)}`);
  for (const c of [ct, cr]) {
    assert.equal(await c.call("SET", "bigstr", big), "OK");
    for (let i = 0; i < members.length; i += 10_000) {
      await c.call("RPUSH", "biglist", ...members.slice(i, i + 10_000));
      await c.call("SADD", "bigset", ...members.slice(i, i + 10_000));
    }
  }
  const keys = ["bigstr", "biglist", "bigset"];
  const want = [];
  for (const key of keys) want.push(await cr.call("DEBUG", "DIGEST-VALUE", key));
  assert.deepEqual(await ct.call("MIGRATE", HOST, String(r.port), "", "1", "10000", "KEYS", ...keys), "OK");
  assert.equal(await cr.call("SELECT", "1"), "OK");
  for (let i = 0; i < keys.length; i++) assert.deepEqual(await cr.call("DEBUG", "DIGEST-VALUE", keys[i]), want[i]);
  // And back, redis-server to tessera.
  assert.deepEqual(await cr.call("MIGRATE", HOST, String(t.port), "", "0", "10000", "KEYS", ...keys), "OK");
  for (let i = 0; i < keys.length; i++) assert.deepEqual(await ct.call("DEBUG", "DIGEST-VALUE", keys[i]), want[i]);
  assert.equal(await ct.call("STRLEN", "bigstr"), big.length);
}, 120_000);

serverTest(
  "MIGRATE: a target that never answers times out with IOERR, nothing deleted, server not blocked",
  async (ctx) => {
    if (!hasRedis) return;
    const silent = silentTarget();
    ctx.defer(() => silent.close());
    const t = await ctx.tessera();
    const r = await ctx.redis();
    for (const server of [t, r]) {
      const c = await open(server.port, ctx);
      assert.equal(await c.call("SET", "k", "v"), "OK");
      const start = Date.now();
      const reply = await c.callRaw("MIGRATE", HOST, String(silent.port), "k", "0", "800");
      const elapsed = Date.now() - start;
      assert.equal(reply, "-IOERR error or timeout reading to target instance\r\n", `port ${server.port}`);
      assert.ok(elapsed >= 750 && elapsed < 2500, `replied after ${elapsed} ms`);
      assert.equal(await c.call("GET", "k"), "v");
    }
    // While tessera waits for the target, other clients are served at once.
    const c1 = await open(t.port, ctx);
    const c2 = await open(t.port, ctx);
    const pending = c1.callRaw("MIGRATE", HOST, String(silent.port), "k", "0", "1500");
    await sleep(100);
    const start = Date.now();
    assert.equal(await c2.call("PING"), "PONG");
    assert.equal(await c2.call("SET", "other", "1"), "OK");
    assert.equal(await c2.call("GET", "k"), "v");
    assert.ok(Date.now() - start < 500, `other client waited ${Date.now() - start} ms`);
    const clients = String(await c2.call("CLIENT", "LIST"));
    assert.match(clients, /flags=b .*cmd=migrate/);
    assert.equal(await pending, "-IOERR error or timeout reading to target instance\r\n");
    assert.equal(await c1.call("GET", "k"), "v");
  },
);

serverTest("MIGRATE: a key in flight is held: a write to it runs after the move, nothing is lost", async (ctx) => {
  if (!hasRedis) return;
  const t = await ctx.tessera();
  const target = await ctx.redis();
  const proxy = slowProxy(target.port, 400);
  ctx.defer(() => proxy.close());
  const c1 = await open(t.port, ctx);
  const c2 = await open(t.port, ctx);
  const ctarget = await open(target.port, ctx);
  assert.equal(await c1.call("SET", "k", "old"), "OK");
  assert.equal(await c1.call("SET", "free", "1"), "OK");
  const order: string[] = [];
  const migrating = c1.call("MIGRATE", HOST, String(proxy.port), "k", "0", "5000").then((
    v,
  ) => (order.push("migrate"), v));
  await sleep(50);
  // Another key is served at once, and so are reads of the held one; a write to it waits.
  const start = Date.now();
  assert.equal(await c2.call("INCR", "free"), 2);
  assert.equal(await c2.call("GET", "k"), "old");
  assert.ok(Date.now() - start < 300, `waited ${Date.now() - start} ms`);
  const write = c2.call("APPEND", "k", "+new").then((v) => (order.push("append"), v));
  assert.equal(await migrating, "OK");
  assert.equal(await write, 4);
  assert.deepEqual(order, ["migrate", "append"]);
  assert.equal(await ctarget.call("GET", "k"), "old");
  assert.equal(await c1.call("GET", "k"), "+new");
  // EXEC of a transaction naming the held key waits too: its INCR creates a new key after the move.
  assert.equal(await c1.call("SET", "k2", "5"), "OK");
  assert.equal(await c2.call("MULTI"), "OK");
  assert.equal(await c2.call("INCR", "k2"), "QUEUED");
  const m2 = c1.call("MIGRATE", HOST, String(proxy.port), "k2", "0", "5000");
  await sleep(50);
  const exec = await c2.call("EXEC");
  assert.equal(await m2, "OK");
  assert.deepEqual(exec, [1]);
  assert.equal(await c1.call("GET", "k2"), "1");
  assert.equal(await ctarget.call("GET", "k2"), "5");
});

serverTest(
  "MIGRATE: inside MULTI/EXEC, NOKEY as Redis, a real move refused (tessera cannot wait there)",
  async (ctx) => {
    if (!hasRedis) return;
    const t = await ctx.tessera();
    const target = await ctx.redis();
    const c = await open(t.port, ctx);
    assert.equal(await c.call("SET", "k", "v"), "OK");
    assert.equal(await c.call("MULTI"), "OK");
    assert.equal(await c.call("MIGRATE", HOST, String(target.port), "missing", "0", "1000"), "QUEUED");
    assert.equal(await c.call("MIGRATE", HOST, String(target.port), "k", "0", "1000"), "QUEUED");
    assert.equal(await c.call("GET", "k"), "QUEUED");
    assert.equal(
      await c.callRaw("EXEC"),
      "*3\r\n+NOKEY\r\n-ERR MIGRATE is not supported inside MULTI/EXEC\r\n$1\r\nv\r\n",
    );
  },
);

serverTest("MIGRATE: cached connection reused, SELECT only when the db changes, a dead one retried", async (ctx) => {
  if (!hasRedis) return;
  const t = await ctx.tessera();
  const target = await ctx.redis();
  const c = await open(t.port, ctx);
  const ctarget = await open(target.port, ctx);
  const tp = String(target.port);
  for (let i = 0; i < 6; i++) await c.call("SET", `k${i}`, String(i));
  assert.equal(await c.call("MIGRATE", HOST, tp, "k0", "0", "1000"), "OK");
  assert.equal(await c.call("MIGRATE", HOST, tp, "k1", "0", "1000"), "OK");
  assert.equal(await c.call("MIGRATE", HOST, tp, "k2", "0", "1000"), "OK");
  assert.equal(await calls(ctarget, "select"), 1);
  assert.equal(await calls(ctarget, "restore"), 3);
  assert.equal(await c.call("MIGRATE", HOST, tp, "k3", "3", "1000"), "OK");
  assert.equal(await calls(ctarget, "select"), 2);
  // One connection from the source (plus ours).
  assert.equal(infoField(await ctarget.call("INFO", "clients"), "connected_clients"), "2");
  // The target drops it: the next MIGRATE reconnects once and succeeds.
  const list = String(await ctarget.call("CLIENT", "LIST"));
  const other = list.split("\n").find((l) => l.includes("cmd=restore"))!;
  const id = /id=(\d+)/.exec(other)![1];
  assert.equal(await ctarget.call("CLIENT", "KILL", "ID", id), 1);
  assert.equal(await c.call("MIGRATE", HOST, tp, "k4", "3", "1000"), "OK");
  assert.equal(await calls(ctarget, "select"), 3);
  assert.equal(await ctarget.call("SELECT", "3"), "OK");
  assert.deepEqual(await ctarget.call("MGET", "k3", "k4"), ["3", "4"]);
  // Idle for more than 10 s: closed.
  const deadline = Date.now() + 14_000;
  while (Date.now() < deadline) {
    if (infoField(await ctarget.call("INFO", "clients"), "connected_clients") === "1") break;
    await sleep(250);
  }
  assert.equal(infoField(await ctarget.call("INFO", "clients"), "connected_clients"), "1");
  assert.equal(await c.call("MIGRATE", HOST, tp, "k5", "3", "1000"), "OK");
  // Our own SELECT 3 above counted too.
  assert.equal(await calls(ctarget, "select"), 5);
}, 60_000);

serverTest("MIGRATE: deletions reach replicas as DEL; COPY deletes nothing", async (ctx) => {
  if (!hasRedis) return;
  const master = await ctx.tessera();
  const replica = await ctx.tessera();
  const target = await ctx.redis();
  const cm = await open(master.port, ctx);
  const cr = await open(replica.port, ctx);
  assert.equal(await cr.call("REPLICAOF", HOST, String(master.port)), "OK");
  for (const k of ["a", "b", "c"]) assert.equal(await cm.call("SET", k, k), "OK");
  const deadline = Date.now() + 10_000;
  while (Number(await cm.call("WAIT", "1", "200")) < 1 && Date.now() < deadline);
  assert.equal(await cr.call("DBSIZE"), 3);
  const tp = String(target.port);
  assert.equal(await cm.call("MIGRATE", HOST, tp, "", "0", "1000", "COPY", "KEYS", "a", "b"), "OK");
  assert.equal(await cm.call("MIGRATE", HOST, tp, "", "0", "1000", "REPLACE", "KEYS", "a", "b"), "OK");
  assert.equal(await cm.call("WAIT", "1", "2000"), 1);
  assert.deepEqual(await cr.call("EXISTS", "a", "b", "c"), 1);
  assert.equal(await cr.call("GET", "c"), "c");
});

serverTest("MIGRATE: throughput of 10k keys in KEYS batches of 10, tessera and redis-server as source", async (ctx) => {
  if (!hasRedis) return;
  const t = await ctx.tessera();
  const r = await ctx.redis();
  const target = await ctx.redis();
  const ctarget = await open(target.port, ctx);
  const KEYS = 10_000;
  const BATCH = 10;
  const rates: string[] = [];
  for (const [name, source, db] of [["tessera", t, "0"], ["redis-server", r, "1"]] as const) {
    const c = await open(source.port, ctx);
    for (let i = 0; i < KEYS; i += 1000) {
      const args: string[] = [];
      for (let j = i; j < i + 1000; j++) args.push(`key:${j}`, `value:${j}`);
      await c.call("MSET", ...args);
    }
    const start = performance.now();
    for (let i = 0; i < KEYS; i += BATCH) {
      const keys = Array.from({ length: BATCH }, (_, j) => `key:${i + j}`);
      const reply = await c.call("MIGRATE", HOST, String(target.port), "", db, "5000", "KEYS", ...keys);
      assert.equal(reply, "OK");
    }
    const ms = performance.now() - start;
    assert.equal(await c.call("DBSIZE"), 0);
    rates.push(`${name}: ${Math.round(KEYS / (ms / 1000))} keys/s (${Math.round(ms)} ms)`);
  }
  assert.equal(await ctarget.call("DBSIZE"), KEYS);
  console.log(`MIGRATE throughput, ${KEYS} keys, KEYS batches of ${BATCH}: ${rates.join(", ")}`);
}, 120_000);

serverTest("MIGRATE: cluster nodes send RESTORE-ASKING, as a redis-server cluster node does", async (ctx) => {
  if (!hasRedis) return;
  const tesseraNode = await startTesseraNode(ctx);
  const redisNode = await startRedisNode(ctx);
  const target = await ctx.redis();
  const ctarget = await open(target.port, ctx);
  let expected = 0;
  for (const node of [tesseraNode, redisNode]) {
    await callOk(node.port, "CLUSTER", "ADDSLOTSRANGE", "0", "16383");
    const c = await open(node.port, ctx);
    const deadline = Date.now() + 15_000;
    while (!(await c.callRaw("CLUSTER", "INFO")).includes("cluster_state:ok")) {
      if (Date.now() > deadline) throw new Error(`${node.kind} never reached cluster_state:ok`);
      await sleep(100);
    }
    assert.equal(await c.call("SET", "{t}a", "1"), "OK");
    assert.equal(await c.call("SET", "{t}b", "2"), "OK");
    assert.equal(
      await c.callRaw("MIGRATE", HOST, String(target.port), "", "0", "1000", "KEYS", "{t}a", "{t}b"),
      "+OK\r\n",
    );
    expected += 2;
    assert.equal(await calls(ctarget, "restore-asking"), expected, node.kind);
    assert.equal(await calls(ctarget, "restore"), 0, node.kind);
    assert.equal(await c.call("EXISTS", "{t}a", "{t}b"), 0);
    await ctarget.call("FLUSHALL");
  }
});
