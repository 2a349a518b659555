import assert from "node:assert/strict";
import { connect, requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import { normalize, rawReplies } from "./helpers/diff.ts";

const CLIENT_COMMANDS = [
  ["CLIENT", "SETNAME", "a b"],
  ["CLIENT", "SETNAME", "a\x7f"],
  ["CLIENT", "GETNAME"],
  ["CLIENT", "SETNAME", "worker"],
  ["CLIENT", "GETNAME"],
  ["CLIENT", "SETNAME", ""],
  ["CLIENT", "GETNAME"],
  ["CLIENT", "KILL", "1.2.3.4:5"],
  ["CLIENT", "KILL", "ID", "99999"],
  ["CLIENT", "KILL", "ID", "x"],
  ["CLIENT", "KILL", "FOO", "bar"],
  ["CLIENT", "KILL", "TYPE", "foo"],
  ["CLIENT", "KILL", "TYPE", "master"],
  ["CLIENT", "KILL", "ADDR", "1.1.1.1:1", "SKIPME", "maybe"],
  ["CLIENT", "KILL", "USER", "nobody"],
  ["CLIENT", "KILL", "a", "b", "c", "d", "e"],
  ["CLIENT", "KILL", "127.0.0.1:1", "extra"],
  ["CLIENT", "PAUSE", "x"],
  ["CLIENT", "PAUSE", "10", "FOO"],
  ["CLIENT", "PAUSE", "x", "FOO"],
  ["CLIENT", "PAUSE", "-1"],
  ["CLIENT", "PAUSE", "10", "ALL", "extra"],
  ["CLIENT", "UNPAUSE"],
  ["CLIENT", "REPLY", "FOO"],
  ["CLIENT", "REPLY"],
  ["CLIENT", "NO-EVICT", "maybe"],
  ["CLIENT", "NO-EVICT", "on"],
  ["CLIENT", "NO-EVICT", "off"],
  ["CLIENT", "LIST", "TYPE", "foo"],
  ["CLIENT", "LIST", "TYPE", "pubsub"],
  ["CLIENT", "LIST", "ID", "x"],
  ["CLIENT", "LIST", "ID", "9999"],
  ["CLIENT", "LIST", "FOO"],
  ["CLIENT", "FOO"],
  ["CLIENT", "HELP"],
];

serverTest("CLIENT subcommands reply and fail as redis-server", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(), t.redis()]);
  const r = await rawReplies(tessera.port, redis.port, CLIENT_COMMANDS);
  for (let i = 0; i < CLIENT_COMMANDS.length; i++) {
    assert.equal(normalize(r.tessera[i]), normalize(r.redis[i]), CLIENT_COMMANDS[i].join(" "));
  }
});

/** The `field=value` words of a CLIENT LIST / INFO line. */
function fields(line: string): string[] {
  return line.trim().split(" ");
}

/** `field=value` names of a CLIENT LIST / INFO line. */
function fieldNames(line: string): string[] {
  return line.trim().split(" ").map((kv) => kv.split("=")[0]);
}

serverTest("CLIENT LIST and CLIENT INFO lines have Redis 7.0's fields in order", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(), t.redis()]);
  const lines: Record<string, string> = {};
  for (const [name, port] of [["tessera", tessera.port], ["redis", redis.port]] as const) {
    const c = await connect(port);
    await c.call("CLIENT", "SETNAME", "me");
    await c.call("SELECT", "2");
    lines[name] = String(await c.call("CLIENT", "LIST"));
    lines[name + "-info"] = String(await c.call("CLIENT", "INFO"));
    c.close();
  }
  assert.deepEqual(fieldNames(lines.tessera), fieldNames(lines.redis));
  assert.deepEqual(fieldNames(lines["tessera-info"]), fieldNames(lines["redis-info"]));
  for (const field of ["name=me", "db=2", "flags=N", "cmd=client|list", "user=default", "resp=2", "multi=-1"]) {
    assert.ok(fields(lines.tessera).includes(field), `${field} in ${lines.tessera}`);
  }
  assert.ok(lines["tessera-info"].endsWith("\n"));
});

serverTest("CLIENT KILL by address, id and type; the killed connection closes", async (t) => {
  const node = await t.tessera();
  const victim = await connect(node.port);
  const victimId = Number(await victim.call("CLIENT", "ID"));
  const admin = await connect(node.port);
  const list = String(await admin.call("CLIENT", "LIST"));
  const addr = list.split("\n").find((l) => l.startsWith(`id=${victimId} `))!.split(" ")[1].slice(5);
  assert.equal(await admin.callRaw("CLIENT", "KILL", addr), "+OK\r\n");
  assert.equal(await victim.readUntilClose(), "");
  const v2 = await connect(node.port);
  const id2 = String(await v2.call("CLIENT", "ID"));
  assert.equal(await admin.callRaw("CLIENT", "KILL", "ID", id2), ":1\r\n");
  assert.equal(await v2.readUntilClose(), "");
  // SKIPME yes (the default) spares the caller; TYPE normal then kills everyone else.
  const v3 = await connect(node.port);
  await v3.call("PING");
  assert.equal(await admin.callRaw("CLIENT", "KILL", "TYPE", "normal"), ":1\r\n");
  assert.equal(await admin.callRaw("PING"), "+PONG\r\n");
  // SKIPME no kills the caller after its reply.
  assert.equal(await admin.callRaw("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"), ":1\r\n");
  assert.equal(await admin.readUntilClose(), "");
});

serverTest("CLIENT PAUSE WRITE holds writes but not reads; ALL holds everything; UNPAUSE resumes", async (t) => {
  const node = await t.tessera();
  const admin = await connect(node.port);
  const worker = await connect(node.port);
  assert.equal(await admin.callRaw("CLIENT", "PAUSE", "10000", "WRITE"), "+OK\r\n");
  assert.equal(await worker.callRaw("GET", "k"), "$-1\r\n");
  let setDone = false;
  const set = worker.callRaw("SET", "k", "v").then((r) => {
    setDone = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(setDone, false, "SET waits while paused");
  const list = String(await admin.call("CLIENT", "LIST"));
  assert.match(list, / flags=b .* cmd=set /, "the waiting client shows as blocked on its command");
  assert.equal(await admin.callRaw("CLIENT", "UNPAUSE"), "+OK\r\n");
  assert.equal(await set, "+OK\r\n");
  // ALL: a read waits too, until the pause times out on its own.
  const started = Date.now();
  assert.equal(await admin.callRaw("CLIENT", "PAUSE", "300", "ALL"), "+OK\r\n");
  assert.equal(await worker.callRaw("GET", "k"), "$1\r\nv\r\n");
  assert.ok(Date.now() - started >= 250, "GET waited for the ALL pause");
  admin.close();
  worker.close();
});

serverTest("CLIENT REPLY OFF and SKIP drop replies; ON replies OK", async (t) => {
  const node = await t.tessera();
  const c = await connect(node.port);
  await c.writeRaw("CLIENT REPLY SKIP\r\nSET a 1\r\nGET a\r\nCLIENT REPLY OFF\r\nGET a\r\nCLIENT REPLY ON\r\n");
  assert.equal((await c.readReply()).raw, "$1\r\n1\r\n");
  assert.equal((await c.readReply()).raw, "+OK\r\n");
  c.close();
});

serverTest("MONITOR past client-output-buffer-limit is closed and logged", async (t) => {
  const node = await t.tessera(["--client-output-buffer-limit", "normal", "256kb", "0", "0"]);
  const monitor = await connect(node.port);
  assert.equal(await monitor.callRaw("MONITOR"), "+OK\r\n");
  // The monitor never reads: its socket buffers fill, then tessera's pending output grows.
  const writer = await connect(node.port);
  const value = "x".repeat(64 * 1024);
  const deadline = Date.now() + 20_000;
  let closed = false;
  while (!closed && Date.now() < deadline) {
    let batch = "";
    for (let i = 0; i < 50; i++) batch += `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n${value}\r\n`;
    await writer.writeRaw(batch);
    for (let i = 0; i < 50; i++) await writer.readReply();
    closed = /scheduled to be closed ASAP for overcoming of output buffer limits/.test(node.output());
  }
  assert.ok(closed, "the monitor was closed for its output buffer");
  assert.match(node.output(), /Client id=\d+ addr=127\.0\.0\.1:\d+ .*flags=O .* scheduled to be closed ASAP/);
  const admin = await connect(node.port);
  assert.doesNotMatch(String(await admin.call("CLIENT", "LIST")), /flags=O/);
  admin.close();
  writer.close();
  monitor.close();
});

serverTest("maxclients refuses extra connections with Redis's error", async (t) => {
  const node = await t.tessera(["--maxclients", "2"]);
  // Let the server notice that the start-up probe connection closed.
  await new Promise((r) => setTimeout(r, 300));
  const a = await connect(node.port);
  const b = await connect(node.port);
  assert.equal(await a.callRaw("PING"), "+PONG\r\n");
  assert.equal(await b.callRaw("PING"), "+PONG\r\n");
  const c = await connect(node.port);
  assert.equal(await c.readUntilClose(), "-ERR max number of clients reached\r\n");
  const info = String(await a.call("INFO", "stats"));
  assert.match(info, /rejected_connections:1\r\n/);
  a.close();
  b.close();
});

serverTest("timeout closes idle clients but not MONITOR", async (t) => {
  const node = await t.tessera(["--timeout", "1"]);
  const idle = await connect(node.port);
  const monitor = await connect(node.port);
  assert.equal(await idle.callRaw("PING"), "+PONG\r\n");
  assert.equal(await monitor.callRaw("MONITOR"), "+OK\r\n");
  const started = Date.now();
  assert.equal(await idle.readUntilClose(), "");
  assert.ok(Date.now() - started < 4000);
  const admin = await connect(node.port);
  assert.match(String(await admin.call("CLIENT", "LIST")), /flags=O/);
  admin.close();
  monitor.close();
});
