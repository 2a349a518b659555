import assert from "node:assert/strict";
import { connect, requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import { assertSameReplies, normalize, rawReplies } from "./helpers/diff.ts";

const DEBUG_ARGS = ["--enable-debug-command", "yes"];

const DEBUG_COMMANDS = [
  ["DEBUG", "FOO"],
  ["DEBUG", "SLEEP"],
  ["DEBUG", "HELP"],
  ["DEBUG", "SLEEP", "0"],
  ["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
  ["DEBUG", "DIGEST"],
  ["DEBUG", "DIGEST-VALUE", "a", "nokey"],
  ["DEBUG", "POPULATE", "x"],
  ["DEBUG", "POPULATE", "-1"],
  ["DEBUG", "POPULATE", "50"],
  ["DEBUG", "POPULATE", "3", "p", "12"],
  ["DEBUG", "POPULATE", "3", "q", "3"],
  ["GET", "key:7"],
  ["GET", "p:1"],
  ["GET", "q:2"],
  ["SET", "bin", "a\x00\xff\r\n"],
  ["DEBUG", "DIGEST"],
  ["DEBUG", "DIGEST-VALUE", "key:0", "p:1", "bin", "nokey"],
  ["SELECT", "5"],
  ["SET", "other", "db"],
  ["DEBUG", "DIGEST"],
];

serverTest("DEBUG replies, POPULATE values and DIGEST match redis-server", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(DEBUG_ARGS), t.redis(DEBUG_ARGS)]);
  const r = await rawReplies(tessera.port, redis.port, DEBUG_COMMANDS);
  for (let i = 0; i < DEBUG_COMMANDS.length; i++) {
    assert.equal(r.tessera[i], r.redis[i], DEBUG_COMMANDS[i].join(" "));
  }
});

serverTest("DEBUG is refused unless enable-debug-command allows it", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(), t.redis()]);
  const r = await rawReplies(tessera.port, redis.port, [["DEBUG", "SLEEP", "0"]]);
  assert.equal(r.tessera[0], r.redis[0]);
  const local = await t.tessera(["--enable-debug-command", "local"]);
  const c = await connect(local.port);
  assert.equal(await c.callRaw("DEBUG", "SLEEP", "0"), "+OK\r\n");
  c.close();
});

serverTest("DEBUG SLEEP blocks the whole server", async (t) => {
  const node = await t.tessera(DEBUG_ARGS);
  const a = await connect(node.port);
  const b = await connect(node.port);
  const sleeping = a.callRaw("DEBUG", "SLEEP", "0.3");
  await new Promise((r) => setTimeout(r, 50));
  const started = Date.now();
  assert.equal(await b.callRaw("PING"), "+PONG\r\n");
  assert.ok(Date.now() - started >= 150, "PING waited for the sleep");
  assert.equal(await sleeping, "+OK\r\n");
  a.close();
  b.close();
});

const COMMAND_COMMANDS = [
  ["COMMAND", "GETKEYS"],
  ["COMMAND", "GETKEYS", "get", "a", "b"],
  ["COMMAND", "GETKEYS", "set", "a", "b"],
  ["COMMAND", "GETKEYS", "get", "k"],
  ["COMMAND", "GETKEYSANDFLAGS", "set", "a", "b"],
  ["COMMAND", "GETKEYSANDFLAGS", "set", "a", "b", "GET"],
  ["COMMAND", "GETKEYS", "config", "get", "x"],
  ["COMMAND", "GETKEYS", "client", "list", "x"],
  ["COMMAND", "GETKEYS", "nosuch", "a"],
  ["COMMAND", "INFO", "get", "nosuch", "config|get", "client|list"],
  ["COMMAND", "DOCS", "get", "nosuch"],
  ["COMMAND", "DOCS", "client|list"],
  ["COMMAND", "LIST", "FILTERBY", "foo", "x"],
  ["COMMAND", "LIST", "FILTERBY", "PATTERN"],
  ["COMMAND", "LIST", "FILTERBY", "MODULE", "x"],
  ["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch"],
  ["COMMAND", "LIST", "FILTERBY", "PATTERN", "ech?"],
  ["COMMAND", "HELP"],
  ["HELLO", "3"],
  ["COMMAND", "INFO", "get", "nosuch"],
  ["COMMAND", "DOCS", "get"],
  ["COMMAND", "GETKEYSANDFLAGS", "set", "a", "b"],
];

serverTest("COMMAND subcommands match redis-server for implemented commands", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(), t.redis()]);
  const r = await rawReplies(tessera.port, redis.port, COMMAND_COMMANDS);
  for (let i = 0; i < COMMAND_COMMANDS.length; i++) {
    assert.equal(normalize(r.tessera[i]), normalize(r.redis[i]), COMMAND_COMMANDS[i].join(" "));
  }
  const c = await connect(tessera.port);
  const count = Number(await c.call("COMMAND", "COUNT"));
  const all = await c.call("COMMAND") as unknown[];
  assert.equal(all.length, count);
  const names = await c.call("COMMAND", "LIST") as string[];
  assert.ok(names.includes("client|list") && names.includes("get"));
  c.close();
});

serverTest("SLOWLOG records entries with Redis's shape, truncation and redaction", async (t) => {
  if (!requireTool("redis-server")) return;
  const args = ["--slowlog-log-slower-than", "0", "--slowlog-max-len", "3"];
  const [tessera, redis] = await Promise.all([t.tessera(args), t.redis(args)]);
  const commands = [
    ["SLOWLOG", "RESET"],
    ["CLIENT", "SETNAME", "slowpoke"],
    ["AUTH", "default", "pw"],
    ["ECHO", "x".repeat(200)],
    ["SLOWLOG", "LEN"],
    ["SLOWLOG", "GET", "x"],
    ["SLOWLOG", "GET", "-2"],
    ["SLOWLOG", "GET", "1", "2"],
    ["SLOWLOG", "HELP"],
  ];
  const r = await rawReplies(tessera.port, redis.port, commands);
  assertSameReplies(r, commands);
  // Entries (newest first): argv truncated to 32 args / 128 bytes, AUTH redacted, client name kept.
  const entries: Record<string, unknown[][]> = {};
  for (const [name, port] of [["tessera", tessera.port], ["redis", redis.port]] as const) {
    const c = await connect(port);
    await c.call("CLIENT", "SETNAME", "slowpoke");
    await c.call("AUTH", "default", "pw");
    await c.call("ECHO", "y".repeat(300));
    await c.call("CLIENT", "LIST", "ID", ...Array.from({ length: 40 }, (_, i) => String(i + 1000)));
    entries[name] = await c.call("SLOWLOG", "GET", "-1") as unknown[][];
    c.close();
  }
  assert.equal(entries.tessera.length, 3);
  for (let i = 0; i < 3; i++) {
    const [te, re] = [entries.tessera[i], entries.redis[i]];
    assert.equal(te.length, 6);
    assert.deepEqual(te[3], re[3]);
    assert.equal(te[5], re[5]);
    assert.match(String(te[4]), /^127\.0\.0\.1:\d+$/);
  }
});

serverTest("LATENCY replies as redis-server when nothing was recorded, then records command spikes", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(DEBUG_ARGS), t.redis(DEBUG_ARGS)]);
  const commands = [
    ["LATENCY", "LATEST"],
    ["LATENCY", "HISTORY", "command"],
    ["LATENCY", "RESET"],
    ["LATENCY", "RESET", "foo"],
    ["LATENCY", "DOCTOR"],
    ["LATENCY", "GRAPH", "command"],
    ["LATENCY", "HISTOGRAM", "nosuch"],
    ["LATENCY", "HELP"],
    ["LATENCY", "FOO"],
  ];
  const r = await rawReplies(tessera.port, redis.port, commands);
  assertSameReplies(r, commands);
  const c = await connect(tessera.port);
  await c.call("CONFIG", "SET", "latency-monitor-threshold", "10");
  await c.call("DEBUG", "SLEEP", "0.05");
  const latest = await c.call("LATENCY", "LATEST") as unknown[][];
  assert.equal(latest.length, 1);
  assert.equal(latest[0][0], "command");
  assert.ok(Number(latest[0][2]) >= 50);
  const history = await c.call("LATENCY", "HISTORY", "command") as number[][];
  assert.equal(history.length, 1);
  assert.match(String(await c.call("LATENCY", "DOCTOR")), /1\. command: 1 latency spikes/);
  assert.match(String(await c.call("LATENCY", "GRAPH", "command")), /^command - high \d+ ms, low \d+ ms/);
  const hist = await c.call("LATENCY", "HISTOGRAM", "debug") as unknown[];
  assert.equal(hist[0], "debug");
  assert.equal(await c.callRaw("LATENCY", "RESET"), ":1\r\n");
  c.close();
});

serverTest("TIME, LASTSAVE and MONITOR lines as redis-server", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(), t.redis()]);
  const lines: Record<string, string[]> = {};
  for (const [name, port] of [["tessera", tessera.port], ["redis", redis.port]] as const) {
    const m = await connect(port);
    assert.equal(await m.callRaw("MONITOR"), "+OK\r\n");
    const c = await connect(port);
    const time = await c.call("TIME") as string[];
    assert.ok(Math.abs(Number(time[0]) - Date.now() / 1000) < 5);
    assert.match(await c.callRaw("LASTSAVE"), /^:\d+\r\n$/);
    for (
      const cmd of [
        ["AUTH", "default", "x"],
        ["HELLO", "2", "AUTH", "default", "x", "SETNAME", "foo"],
        ["SET", "a", 'b\x01c"\\'],
        ["SELECT", "1"],
        ["CONFIG", "GET", "maxclients"],
        ["MULTI"],
        ["SET", "x", "y"],
        ["EXEC"],
        ["AUTH", "a", "b", "c"],
      ]
    ) await c.callRaw(...cmd);
    lines[name] = [];
    for (let i = 0; i < 10; i++) {
      lines[name].push((await m.readReply()).raw.replace(/^\+\d+\.\d{6} \[(\d+) 127\.0\.0\.1:\d+\]/, "+T [$1 ADDR]"));
    }
    m.close();
    c.close();
  }
  assert.deepEqual(lines.tessera, lines.redis);
});

serverTest("SHUTDOWN checks its options, then closes and exits 0", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(), t.redis()]);
  const commands = [["SHUTDOWN", "FOO"], ["SHUTDOWN", "ABORT"], ["SHUTDOWN", "NOSAVE", "SAVE"], [
    "SHUTDOWN",
    "ABORT",
    "NOW",
  ]];
  const r = await rawReplies(tessera.port, redis.port, commands);
  assertSameReplies(r, commands);
  const c = await connect(tessera.port);
  await c.writeRaw("SHUTDOWN NOSAVE\r\n");
  assert.equal(await c.readUntilClose(), "");
  const status = await tessera.child.status;
  assert.equal(status.code, 0);
  assert.match(tessera.output(), /User requested shutdown\.\.\./);
});
