import assert from "node:assert/strict";
import { connect, freePort, redisCli, requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import type { RespConnection } from "../src/resp/connection.ts";

const MAIN_TS = new URL("../main.ts", import.meta.url).pathname;

/** Sorts the pairs of a CONFIG GET reply (Redis's order follows its hash table, so it varies). */
async function configPairs(c: RespConnection, ...patterns: string[]): Promise<string[]> {
  const flat = (await c.call("CONFIG", "GET", ...patterns)) as string[];
  const pairs: string[] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push(`${flat[i]}=${flat[i + 1]}`);
  return pairs.sort();
}

/** Runs a process to completion; returns its exit code and stderr+stdout. */
async function run(
  cmd: string,
  args: string[],
  cwd?: string,
): Promise<{ code: number; stderr: string; stdout: string }> {
  const out = await new Deno.Command(cmd, { args, cwd, stdin: "null", stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stderr: dec.decode(out.stderr), stdout: dec.decode(out.stdout) };
}

/** /etc/redis/redis.conf adjusted to run in the foreground on `port` inside `dir`. */
function sampleConfig(port: number, dir: string): string {
  return Deno.readTextFileSync("/etc/redis/redis.conf")
    .replace(/^port .*$/m, `port ${port}`)
    .replace(/^dir .*$/m, `dir ${dir}`)
    .replace(/^daemonize .*$/m, "daemonize no")
    .replace(/^logfile .*$/m, 'logfile ""')
    .replace(/^supervised .*$/m, "supervised no")
    .replace(/^pidfile .*$/m, `pidfile ${dir}/redis.pid`);
}

serverTest("every directive's default matches redis-server 7.0 (CONFIG GET *)", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(["--save", "", "--appendonly", "no"]), t.redis()]);
  const a = await connect(tessera.port);
  const b = await connect(redis.port);
  const differs = (p: string) => !p.startsWith("port=") && !p.startsWith("dir=");
  assert.deepEqual((await configPairs(a, "*")).filter(differs), (await configPairs(b, "*")).filter(differs));
  // Hidden directives answer only to their exact name, byte for byte.
  for (const name of ["use-exit-on-panic", "rdb-key-save-delay", "key-load-delay", "watchdog-period"]) {
    assert.equal(await a.callRaw("CONFIG", "GET", name), await b.callRaw("CONFIG", "GET", name));
  }
  a.close();
  b.close();
});

serverTest("CONFIG GET/SET/HELP replies and errors are byte-identical to redis-server", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(["--save", ""]), t.redis()]);
  const a = await connect(tessera.port);
  const b = await connect(redis.port);
  const commands: string[][] = [
    ["CONFIG", "GET", "maxmemory"],
    ["CONFIG", "GET", "BIND", "bin?"],
    ["CONFIG", "GET", "slave-read-only"],
    ["CONFIG", "GET", "nosuch*"],
    ["CONFIG", "SET", "maxmemory", "1GB"],
    ["CONFIG", "GET", "maxmemory"],
    ["CONFIG", "SET", "maxmemory-clients", "10%"],
    ["CONFIG", "GET", "maxmemory-clients"],
    ["CONFIG", "SET", "maxmemory-clients", "101%"],
    ["CONFIG", "SET", "timeout", "5", "maxmemory", "1x"],
    ["CONFIG", "GET", "timeout"],
    ["CONFIG", "SET", "timeout", "5", "TIMEOUT", "6"],
    ["CONFIG", "SET", "hz", "abc", "databases", "3"],
    ["CONFIG", "SET", "foo", "bar"],
    ["CONFIG", "SET", "dir", "/tmp"],
    ["CONFIG", "SET", "port", "abc"],
    ["CONFIG", "SET", "port", "70000"],
    ["CONFIG", "SET", "maxclients", "0"],
    ["CONFIG", "SET", "proto-max-bulk-len", "1k"],
    ["CONFIG", "SET", "slave-priority", "abc"],
    ["CONFIG", "SET", "loglevel", "loud"],
    ["CONFIG", "SET", "appendonly", "maybe"],
    ["CONFIG", "SET", "appendfsync", "ALWAYS"],
    ["CONFIG", "GET", "appendfsync"],
    ["CONFIG", "SET", "hz", "100000"],
    ["CONFIG", "GET", "hz"],
    ["CONFIG", "SET", "save", "100 1 200 2"],
    ["CONFIG", "GET", "save"],
    ["CONFIG", "SET", "save", "100"],
    ["CONFIG", "SET", "save", ""],
    ["CONFIG", "GET", "save"],
    ["CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60 normal 1k 2kb 3"],
    ["CONFIG", "GET", "client-output-buffer-limit"],
    // Redis would close this connection once a reply passes the 1000-byte normal-class limit.
    ["CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0"],
    ["CONFIG", "SET", "client-output-buffer-limit", "master 1 2 3"],
    ["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1 2"],
    ["CONFIG", "SET", "notify-keyspace-events", "KEA"],
    ["CONFIG", "GET", "notify-keyspace-events"],
    ["CONFIG", "SET", "notify-keyspace-events", "Z"],
    ["CONFIG", "SET", "latency-tracking-info-percentiles", "50.0 99.5 0.1234567"],
    ["CONFIG", "GET", "latency-tracking-info-percentiles"],
    ["CONFIG", "SET", "shutdown-on-sigint", "nosave now force"],
    ["CONFIG", "GET", "shutdown-on-sigint"],
    ["CONFIG", "SET", "oom-score-adj-values", "1 2"],
    ["CONFIG", "SET", "activedefrag", "yes"],
    ["CONFIG", "SET", "cluster-announce-hostname", "a_b"],
    ["CONFIG", "SET", "slaveof", "127.0.0.1 1"],
    ["CONFIG", "SET", "a", "b", "c"],
    ["CONFIG", "SET", "a"],
    ["CONFIG", "GET"],
    ["CONFIG", "HELP"],
    ["CONFIG", "REWRITE"],
    ["CONFIG", "FOO"],
    ["CONFIG", "RESETSTAT"],
  ];
  for (const cmd of commands) {
    assert.equal(await a.callRaw(...cmd), await b.callRaw(...cmd), cmd.join(" "));
  }
  await a.call("HELLO", "3");
  await b.call("HELLO", "3");
  assert.equal(await a.callRaw("CONFIG", "GET", "maxmemory"), await b.callRaw("CONFIG", "GET", "maxmemory"));
  a.close();
  b.close();
});

serverTest("CONFIG SET proto-max-bulk-len takes effect at once", async (t) => {
  const tessera = await t.tessera();
  const c = await connect(tessera.port);
  assert.equal(await c.call("CONFIG", "SET", "proto-max-bulk-len", "1mb"), "OK");
  await c.writeRaw(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${2 * 1024 * 1024}\r\n`);
  assert.match(await c.readUntilClose(), /^-ERR Protocol error: invalid bulk length/);
});

serverTest("redis-benchmark can read CONFIG save and appendonly", async (t) => {
  if (!requireTool("redis-cli")) return;
  const tessera = await t.tessera();
  assert.equal(await redisCli(tessera.port, ["CONFIG", "GET", "save"]), "save\n3600 1 300 100 60 10000");
  assert.equal(await redisCli(tessera.port, ["CONFIG", "GET", "appendonly"]), "appendonly\nno");
});

serverTest("CONFIG RESETSTAT resets INFO counters like redis-server; the slowlog stays", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(), t.redis()]);
  const statLines = async (c: RespConnection) => {
    const info = await c.call("INFO", "stats");
    if (typeof info !== "string") return null; // INFO not served yet
    return info.split("\r\n").filter((l) => /^(total_commands_processed|total_error_replies):/.test(l));
  };
  const results = [];
  for (const server of [tessera, redis]) {
    const c = await connect(server.port);
    await c.call("CONFIG", "SET", "slowlog-log-slower-than", "0");
    await c.call("PING");
    await c.call("CONFIG", "SET", "nosuch", "1");
    assert.equal(await c.call("CONFIG", "RESETSTAT"), "OK");
    const slowlog = await c.call("SLOWLOG", "LEN");
    results.push({ stats: await statLines(c), slowlogKept: typeof slowlog !== "number" || slowlog > 0 });
    c.close();
  }
  assert.ok(results[0].slowlogKept && results[1].slowlogKept);
  if (results[0].stats !== null) assert.deepEqual(results[0].stats, results[1].stats);
});

serverTest("starts with Redis 7.0's own redis.conf; CONFIG REWRITE matches redis-server's", async (t) => {
  if (!requireTool("redis-server")) return;
  const dir = await Deno.makeTempDir({ prefix: "tessera-config-" });
  t.defer(() => Deno.remove(dir, { recursive: true }));
  const tPort = freePort();
  const rPort = freePort();
  await Deno.writeTextFile(`${dir}/tessera.conf`, sampleConfig(tPort, dir));
  await Deno.writeTextFile(`${dir}/redis.conf`, sampleConfig(rPort, dir));
  const tessera = await t.tessera([`${dir}/tessera.conf`, "--port", String(tPort)], { port: tPort });
  const redis = new Deno.Command("redis-server", { args: [`${dir}/redis.conf`], stdout: "null", stderr: "null" })
    .spawn();
  t.defer(async () => {
    try {
      Deno.kill(redis.pid, "SIGKILL");
    } catch {
      // gone
    }
    await redis.status;
  });
  let b: RespConnection | null = null;
  for (let i = 0; i < 100 && b === null; i++) {
    b = await connect(rPort).catch(() => null);
    if (b === null) await new Promise((r) => setTimeout(r, 50));
  }
  const a = await connect(tessera.port);
  assert.ok(b !== null, "redis-server started");
  const sets = [
    ["maxmemory", "1gb"],
    ["save", ""],
    ["slave-priority", "5"],
    ["client-output-buffer-limit", "pubsub 1mb 0 0"],
    ["requirepass", ""],
  ];
  for (const [k, v] of sets) {
    assert.equal(await a.callRaw("CONFIG", "SET", k, v), await b.callRaw("CONFIG", "SET", k, v));
  }
  assert.equal(await a.callRaw("CONFIG", "REWRITE"), "+OK\r\n");
  assert.equal(await b.callRaw("CONFIG", "REWRITE"), "+OK\r\n");
  const tText = await Deno.readTextFile(`${dir}/tessera.conf`);
  const rText = await Deno.readTextFile(`${dir}/redis.conf`);
  // Redis appends new lines in hash-table order: compare the kept part exactly, the appended set sorted.
  const split = (text: string, port: number) => {
    const [kept, appended = ""] = text.replace(`port ${port}\n`, "port PORT\n").split(
      "# Generated by CONFIG REWRITE\n",
    );
    return { kept, appended: appended.split("\n").sort() };
  };
  assert.deepEqual(split(tText, tPort), split(rText, rPort));
  assert.match(tText, /^maxmemory 1gb$/m);
  assert.match(tText, /^replica-priority 5$/m);
  // The rewritten file starts tessera again with the same values.
  await tessera.stop();
  const again = await t.tessera([`${dir}/tessera.conf`, "--port", String(tPort)], { port: tPort });
  const c = await connect(again.port);
  assert.deepEqual(await configPairs(c, "maxmemory", "save", "replica-priority"), [
    "maxmemory=1073741824",
    "replica-priority=5",
    "save=",
  ]);
  a.close();
  b.close();
  c.close();
});

serverTest("start-up errors: FATAL CONFIG FILE ERROR block and exit 1, as redis-server", async (t) => {
  if (!requireTool("redis-server")) return;
  const dir = await Deno.makeTempDir({ prefix: "tessera-config-" });
  t.defer(() => Deno.remove(dir, { recursive: true }));
  await Deno.writeTextFile(`${dir}/bad.conf`, "port 0\n\n# comment\n  maxmemory   1x  \n");
  await Deno.writeTextFile(`${dir}/quote.conf`, 'port 0\nappendonly "yes\n');
  const cases: string[][] = [
    ["--port", "0", "--foo", "bar"],
    ["--port", "abc"],
    ["--port"],
    ["--port", "1", "2"],
    ["--save", "1"],
    ["--loglevel", "loud"],
    ["--port", "--foo"],
    ["--port", "0", "--rename-command", "nosuch", "x"],
    ["--port", "0", "--foo.bar"],
    ["--port", "0", "--logfile", "/nonexistent/dir/log"],
    ["--port", "0", "--cluster-enabled", "yes", "--replicaof", "127.0.0.1", "5"],
    [`${dir}/bad.conf`],
    [`${dir}/bad.conf`, "--port", "1"],
    [`${dir}/quote.conf`],
  ];
  await Promise.all(cases.map(async (args) => {
    const [tessera, redis] = await Promise.all([
      run(Deno.execPath(), ["run", "--allow-all", MAIN_TS, ...args]),
      run("redis-server", args),
    ]);
    assert.equal(tessera.code, 1, args.join(" "));
    assert.equal(redis.code, 1, args.join(" "));
    assert.equal(tessera.stderr, redis.stderr, args.join(" "));
  }));
});

serverTest("include reads another file; rename-command renames; user and loadmodule are accepted", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "tessera-config-" });
  t.defer(() => Deno.remove(dir, { recursive: true }));
  const port = freePort();
  await Deno.writeTextFile(`${dir}/extra.conf`, "maxmemory 5mb\nhz 20\n");
  await Deno.writeTextFile(
    `${dir}/main.conf`,
    [
      `port ${port}`,
      `include ${dir}/extra.conf`,
      "rename-command CONFIG TESSERACONFIG",
      "user alice on >secret ~* +@all",
      "loadmodule /nonexistent/module.so arg",
      "list-max-ziplist-entries 128",
      "",
    ].join("\n"),
  );
  const tessera = await t.tessera([`${dir}/main.conf`, "--port", String(port)], { port });
  const c = await connect(tessera.port);
  assert.match(await c.callRaw("CONFIG", "GET", "hz"), /^-ERR unknown command 'CONFIG'/);
  assert.deepEqual(await c.call("TESSERACONFIG", "GET", "maxmemory"), ["maxmemory", "5242880"]);
  assert.deepEqual(await c.call("TESSERACONFIG", "GET", "hz"), ["hz", "20"]);
  c.close();
});
