/**
 * dump.rdb between tessera and a real redis-server 7.0.15: SAVE on tessera and load in redis-server,
 * SAVE on redis-server and start tessera on it, restarts (SAVE, BGSAVE, DEBUG RELOAD), cluster mode,
 * INFO persistence, and a corrupt file that must stop start-up.
 */
import assert from "node:assert/strict";
import { freePort, hasCommand, requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import { startTesseraNode, tempDir } from "./helpers/cluster.ts";
import { buildFixtures, fixtures } from "./helpers/rdb_fixtures.ts";
import { RespConnection } from "../src/resp/connection.ts";
import type { RespValue } from "../src/resp/reply_parser.ts";

const DEBUG = ["--enable-debug-command", "yes"];
const MAIN_TS = new URL("../main.ts", import.meta.url).pathname;
const hasRedis = requireTool("redis-server");
const TTL_MS = 500_000;

/** Fixtures in db 0, a few keys in db 3 and db 15, keys with TTLs. */
async function buildDataset(c: RespConnection): Promise<void> {
  await buildFixtures(c);
  await c.call("SET", "ttl:str", "v", "PX", String(TTL_MS));
  await c.call("HSET", "ttl:hash", "a", "1");
  await c.call("PEXPIRE", "ttl:hash", String(TTL_MS));
  await c.call("SET", "gone", "x", "PX", "1");
  await c.call("SELECT", "3");
  await c.call("RPUSH", "db3:list", "x", "y", "z");
  await c.call("SET", "db3:str", "in db 3");
  await c.call("SELECT", "15");
  await c.call("SADD", "db15:set", "m1", "m2");
  await c.call("SELECT", "0");
  await new Promise((r) => setTimeout(r, 10));
  // Reclaimed now, so that DBSIZE and DEBUG DIGEST agree before and after a save.
  assert.equal(await c.call("EXISTS", "gone"), 0);
}

/** DBSIZE of each database that has keys, plus the dataset digest. */
async function snapshot(c: RespConnection): Promise<{ sizes: RespValue[]; digest: RespValue }> {
  const sizes: RespValue[] = [];
  for (let db = 0; db < 16; db++) {
    await c.call("SELECT", String(db));
    sizes.push(await c.call("DBSIZE"));
  }
  await c.call("SELECT", "0");
  return { sizes, digest: await c.call("DEBUG", "DIGEST") };
}

function infoField(info: string, name: string): string {
  const m = new RegExp(`^${name}:(.*)\\r?$`, "m").exec(info);
  assert.ok(m !== null, `INFO has no ${name}`);
  return m[1].trim();
}

async function waitForBgsave(c: RespConnection): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const info = await c.call("INFO", "persistence") as string;
    if (infoField(info, "rdb_bgsave_in_progress") === "0") return info;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("BGSAVE did not finish");
}

serverTest("RDB: a SAVE by tessera loads in redis-server with the same dataset", async (ctx) => {
  if (!hasRedis) return;
  const dir = await tempDir(ctx, "tessera-rdb-");
  const t = await ctx.tessera(["--dir", dir, ...DEBUG]);
  const ct = await RespConnection.connect(t.port);
  ctx.defer(() => ct.close());
  await buildDataset(ct);
  const want = await snapshot(ct);
  assert.equal(want.sizes[0], fixtures().length + 2);
  assert.notEqual(infoField(await ct.call("INFO", "persistence") as string, "rdb_changes_since_last_save"), "0");
  assert.equal(await ct.call("SAVE"), "OK");
  const info = await ct.call("INFO", "persistence") as string;
  assert.equal(infoField(info, "rdb_changes_since_last_save"), "0");
  assert.equal(infoField(info, "rdb_saves"), "1");
  assert.equal(infoField(info, "rdb_last_bgsave_status"), "ok");
  if (hasCommand("redis-check-rdb")) {
    const check = await new Deno.Command("redis-check-rdb", { args: [`${dir}/dump.rdb`], stdout: "piped" }).output();
    assert.match(new TextDecoder().decode(check.stdout), /RDB looks OK/);
  }
  const r = await ctx.redis(["--dir", dir, "--dbfilename", "dump.rdb", ...DEBUG]);
  const cr = await RespConnection.connect(r.port);
  ctx.defer(() => cr.close());
  assert.deepEqual(await snapshot(cr), want);
  const pttl = Number(await cr.call("PTTL", "ttl:hash"));
  assert.ok(pttl > TTL_MS - 60_000 && pttl <= TTL_MS, `PTTL ${pttl}`);
  for (const f of fixtures()) {
    assert.equal(await cr.call("OBJECT", "ENCODING", f.key), f.encoding, f.key);
  }
});

serverTest("RDB: tessera starts on a dump.rdb saved by redis-server (functions skipped)", async (ctx) => {
  if (!hasRedis) return;
  const dir = await tempDir(ctx, "tessera-rdb-");
  const r = await ctx.redis(["--dir", dir, ...DEBUG]);
  const cr = await RespConnection.connect(r.port);
  ctx.defer(() => cr.close());
  await buildDataset(cr);
  await cr.call("FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('one', function() return 1 end)");
  const want = await snapshot(cr);
  assert.equal(await cr.call("SAVE"), "OK");
  const t = await ctx.tessera(["--dir", dir, ...DEBUG]);
  const ct = await RespConnection.connect(t.port);
  ctx.defer(() => ct.close());
  assert.deepEqual(await snapshot(ct), want);
  const info = await ct.call("INFO", "persistence") as string;
  assert.equal(infoField(info, "rdb_last_load_keys_loaded"), String((want.sizes as number[]).reduce((a, b) => a + b)));
  assert.match(t.output(), /Loading RDB produced by version 7\.0\.15/);
  assert.match(t.output(), /DB loaded from disk: [0-9.]+ seconds/);
  assert.match(t.output(), /Skipped 1 function libraries/);
});

serverTest("RDB: data survives restarts (SAVE, BGSAVE, DEBUG RELOAD) and loads in cluster mode", async (ctx) => {
  const dir = await tempDir(ctx, "tessera-rdb-");
  const port = freePort();
  const t1 = await ctx.tessera(["--dir", dir, ...DEBUG], { port });
  const c1 = await RespConnection.connect(t1.port);
  await buildDataset(c1);
  const want = await snapshot(c1);
  // DEBUG RELOAD saves and loads back in place.
  assert.equal(await c1.call("DEBUG", "RELOAD"), "OK");
  assert.deepEqual(await snapshot(c1), want);
  assert.equal(await c1.call("SET", "after", "reload"), "OK");
  const lastSave = Number(await c1.call("LASTSAVE"));
  assert.equal(await c1.call("BGSAVE"), "Background saving started");
  const info = await waitForBgsave(c1);
  assert.equal(infoField(info, "rdb_last_bgsave_status"), "ok");
  assert.equal(infoField(info, "rdb_changes_since_last_save"), "0");
  assert.ok(Number(await c1.call("LASTSAVE")) >= lastSave);
  assert.equal(String(await c1.call("BGSAVE", "FOO")), "ERR syntax error");
  const withAfter = await snapshot(c1);
  c1.close();
  await t1.stop();
  const t2 = await ctx.tessera(["--dir", dir, ...DEBUG], { port: freePort() });
  const c2 = await RespConnection.connect(t2.port);
  assert.deepEqual(await snapshot(c2), withAfter);
  assert.equal(await c2.call("GET", "after"), "reload");
  // Only db 0 in cluster mode: flush the others, save, restart as a cluster node on the same file.
  for (const db of ["3", "15"]) {
    await c2.call("SELECT", db);
    await c2.call("FLUSHDB");
  }
  await c2.call("SELECT", "0");
  assert.equal(await c2.call("SAVE"), "OK");
  const size = await c2.call("DBSIZE");
  const digest = await c2.call("DEBUG", "DIGEST");
  c2.close();
  await t2.stop();
  const node = await startTesseraNode(ctx, { dir, args: DEBUG });
  const c3 = await RespConnection.connect(node.port);
  ctx.defer(() => c3.close());
  assert.equal(await c3.call("DBSIZE"), size);
  assert.equal(await c3.call("DEBUG", "DIGEST"), digest);
});

/** Runs tessera on `dir` until it exits; returns its exit code and output. */
async function runUntilExit(dir: string): Promise<{ code: number; output: string }> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN_TS, "--port", String(freePort()), "--dir", dir],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    signal: AbortSignal.timeout(20_000),
  });
  const out = await cmd.output();
  const dec = new TextDecoder();
  return { code: out.code, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

serverTest("RDB: a corrupt, truncated or foreign dump.rdb stops start-up with a log line", async (ctx) => {
  const dir = await tempDir(ctx, "tessera-rdb-");
  const t = await ctx.tessera(["--dir", dir, ...DEBUG]);
  const c = await RespConnection.connect(t.port);
  await buildFixtures(c);
  assert.equal(await c.call("SAVE"), "OK");
  c.close();
  await t.stop();
  const good = await Deno.readFile(`${dir}/dump.rdb`);
  const flipped = good.slice();
  flipped[Math.floor(good.length / 2)] ^= 0x40;
  const cases: [string, Uint8Array, RegExp][] = [
    ["checksum", flipped, /Internal error in RDB reading .*(checksum|integrity|Unexpected|Invalid|Unknown)/],
    ["truncated", good.subarray(0, good.length - 20), /Internal error in RDB reading .*Unexpected end of data/],
    ["signature", new TextEncoder().encode("NOTREDIS0010\xff"), /Wrong signature/],
    ["version", new TextEncoder().encode("REDIS0011\xff"), /Can't handle RDB format version 11/],
  ];
  for (const [name, bytes, pattern] of cases) {
    await Deno.writeFile(`${dir}/dump.rdb`, bytes);
    const { code, output } = await runUntilExit(dir);
    assert.notEqual(code, 0, `${name}: exit code`);
    assert.match(output, pattern, name);
    assert.match(output, /Terminating server after rdb file reading failure/, name);
  }
}, 90_000);

serverTest("RDB: SHUTDOWN SAVE writes dump.rdb before exiting; SHUTDOWN NOSAVE does not", async (ctx) => {
  const dir = await tempDir(ctx, "tessera-rdb-");
  const t1 = await ctx.tessera(["--dir", dir], { port: freePort() });
  const c1 = await RespConnection.connect(t1.port);
  assert.equal(await c1.call("SET", "saved", "on shutdown"), "OK");
  await c1.writeRaw("*2\r\n$8\r\nSHUTDOWN\r\n$4\r\nSAVE\r\n");
  assert.equal((await t1.child.status).code, 0);
  c1.close();
  const t2 = await ctx.tessera(["--dir", dir], { port: freePort() });
  const c2 = await RespConnection.connect(t2.port);
  assert.equal(await c2.call("GET", "saved"), "on shutdown");
  assert.equal(await c2.call("SET", "saved", "changed"), "OK");
  await c2.writeRaw("*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n");
  await t2.child.status;
  c2.close();
  const t3 = await ctx.tessera(["--dir", dir], { port: freePort() });
  const c3 = await RespConnection.connect(t3.port);
  assert.equal(await c3.call("GET", "saved"), "on shutdown");
  c3.close();
});
