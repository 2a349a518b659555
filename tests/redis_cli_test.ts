/** redis-cli against tessera, compared with the same invocations against redis-server. */
import assert from "node:assert/strict";
import { redisCli, requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";

const PIPE_COMMANDS = 10_000;

/** `SET key:i value:i` for i < n, as the raw protocol `--pipe` expects. */
function massInsert(n: number): string {
  let out = "";
  for (let i = 0; i < n; i++) {
    const key = `key:${i}`;
    const value = `value:${i}`;
    out += `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`;
  }
  return out;
}

serverTest("redis-cli: PING, SET, GET and errors print as with redis-server", async (t) => {
  if (!requireTool("redis-cli") || !requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(), t.redis()]);
  const invocations = [
    ["PING"],
    ["PING", "hello world"],
    ["SET", "greeting", "héllo\nworld"],
    ["GET", "greeting"],
    ["--raw", "GET", "greeting"],
    ["GET", "missing"],
    ["ECHO", ""],
    ["SET", "k"],
    ["NOSUCHCOMMAND", "a"],
  ];
  for (const args of invocations) {
    assert.equal(await redisCli(tessera.port, args), await redisCli(redis.port, args), args.join(" "));
  }
  assert.equal(await redisCli(tessera.port, ["PING"]), "PONG");
  assert.equal(await redisCli(tessera.port, ["--raw", "GET", "greeting"]), "héllo\nworld");
});

serverTest("redis-cli: --pipe mass insert of 10k commands", async (t) => {
  if (!requireTool("redis-cli")) return;
  const tessera = await t.tessera();
  const out = await redisCli(tessera.port, ["--pipe"], massInsert(PIPE_COMMANDS));
  assert.match(out, /All data transferred\. Waiting for the last reply\.\.\./);
  assert.match(out, /Last reply received from server\./);
  assert.match(out, new RegExp(`errors: 0, replies: ${PIPE_COMMANDS}$`));
  assert.equal(await redisCli(tessera.port, ["GET", "key:0"]), "value:0");
  assert.equal(await redisCli(tessera.port, ["GET", `key:${PIPE_COMMANDS - 1}`]), `value:${PIPE_COMMANDS - 1}`);
});

serverTest("redis-cli: --pipe counts error replies like redis-server", async (t) => {
  if (!requireTool("redis-cli") || !requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(), t.redis()]);
  const input = massInsert(3) + "*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\n" + "*1\r\n$3\r\nGET\r\n" + "*1\r\n$4\r\nNOPE\r\n";
  const [ours, theirs] = await Promise.all([
    redisCli(tessera.port, ["--pipe"], input),
    redisCli(redis.port, ["--pipe"], input),
  ]);
  assert.match(theirs, /errors: 2, replies: 6$/);
  assert.equal(ours, theirs);
});

serverTest("redis-cli: commands read from stdin, one per line, with quoting", async (t) => {
  if (!requireTool("redis-cli") || !requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(), t.redis()]);
  const script = [
    "PING",
    'SET "a key" "a\\x41\\nvalue"',
    "GET 'a key'",
    "SET plain 42",
    "GET plain",
    "GET nothing",
    'ECHO "unbalanced',
    "PING again",
  ].join("\n") + "\n";
  const [ours, theirs] = await Promise.all([redisCli(tessera.port, [], script), redisCli(redis.port, [], script)]);
  assert.equal(ours, theirs);
  assert.match(ours, /^PONG\nOK\naA\nvalue\nOK\n42\n/);
});
