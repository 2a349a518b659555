import assert from "node:assert/strict";
import { connect, requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import { normalize, rawReplies } from "./helpers/diff.ts";

const CONNECTION_COMMANDS = [
  ["PING"],
  ["PING", "hello"],
  ["PING", "a", "b"],
  ["ECHO", "x\x00y"],
  ["HELLO"],
  ["HELLO", "2", "SETNAME", "a b"],
  ["HELLO", "4"],
  ["HELLO", "foo"],
  ["HELLO", "2", "AUTH"],
  ["HELLO", "2", "FOO"],
  ["HELLO", "2", "AUTH", "default", "anything", "SETNAME", "me"],
  ["CLIENT", "GETNAME"],
  ["AUTH", "x"],
  ["AUTH", "default", "x"],
  ["AUTH", "nobody", "x"],
  ["AUTH", "a", "b", "c"],
  ["SELECT", "16"],
  ["SELECT", "x"],
  ["SELECT", "-1"],
  ["SELECT", "1"],
  ["SELECT", "15"],
  ["HELLO", "3"],
  ["PING"],
  ["RESET"],
  ["CLIENT", "GETNAME"],
  ["HELLO", "3", "AUTH", "default", "x"],
  ["QUIT"],
];

serverTest("connection commands reply as redis-server", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(), t.redis()]);
  const r = await rawReplies(tessera.port, redis.port, CONNECTION_COMMANDS);
  for (let i = 0; i < CONNECTION_COMMANDS.length; i++) {
    assert.equal(normalize(r.tessera[i]), normalize(r.redis[i]), CONNECTION_COMMANDS[i].join(" "));
  }
});

const AUTH_COMMANDS = [
  ["PING"],
  ["GET", "k"],
  ["HELLO", "3"],
  ["AUTH", "wrong"],
  ["AUTH", "default", "wrong"],
  ["HELLO", "2", "AUTH", "default", "wrong"],
  ["HELLO", "2", "AUTH", "default", "secret"],
  ["PING"],
  ["RESET"],
  ["PING"],
  ["AUTH", "secret"],
  ["PING"],
  ["RESET"],
  ["AUTH", "default", "secret"],
  ["ECHO", "ok"],
];

serverTest("requirepass: NOAUTH, AUTH, HELLO AUTH and RESET as redis-server", async (t) => {
  if (!requireTool("redis-server")) return;
  const args = ["--requirepass", "secret"];
  const [tessera, redis] = await Promise.all([t.tessera(args), t.redis(args)]);
  const r = await rawReplies(tessera.port, redis.port, AUTH_COMMANDS);
  for (let i = 0; i < AUTH_COMMANDS.length; i++) {
    assert.equal(normalize(r.tessera[i]), normalize(r.redis[i]), AUTH_COMMANDS[i].join(" "));
  }
});

serverTest("CONFIG SET requirepass applies to new connections; existing ones stay authenticated", async (t) => {
  const node = await t.tessera();
  const a = await connect(node.port);
  assert.equal(await a.callRaw("CONFIG", "SET", "requirepass", "pw"), "+OK\r\n");
  assert.equal(await a.callRaw("PING"), "+PONG\r\n");
  const b = await connect(node.port);
  assert.equal(await b.callRaw("PING"), "-NOAUTH Authentication required.\r\n");
  assert.equal(await b.callRaw("AUTH", "pw"), "+OK\r\n");
  assert.equal(await b.callRaw("PING"), "+PONG\r\n");
  const d = await connect(node.port);
  assert.equal(await a.callRaw("CONFIG", "SET", "requirepass", ""), "+OK\r\n");
  // Without a password the default user is nopass again: no authentication needed.
  assert.equal(await d.callRaw("PING"), "+PONG\r\n");
  a.close();
  b.close();
  d.close();
});

serverTest("HELLO 3 switches to RESP3 replies and RESET back to RESP2", async (t) => {
  const node = await t.tessera();
  const c = await connect(node.port);
  await c.callRaw("HELLO", "3");
  assert.equal(await c.callRaw("GET", "missing"), "_\r\n");
  assert.equal(await c.callRaw("RESET"), "+RESET\r\n");
  assert.equal(await c.callRaw("GET", "missing"), "$-1\r\n");
  c.close();
});
