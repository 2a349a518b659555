/**
 * MULTI / EXEC / DISCARD / WATCH / UNWATCH. Differential against redis-server where possible
 * (raw reply bytes), plus exact expected bytes for the core replies so tessera alone is checked.
 */
import assert from "node:assert/strict";
import { connect, requireTool } from "./helpers/servers.ts";
import { serverTest, type ServerTestContext } from "./helpers/test.ts";
import { DiffSession, parseScript } from "./helpers/diff.ts";
import { encodeCommand } from "../src/resp/connection.ts";

/** DEBUG SET-ACTIVE-EXPIRE makes "expired but not yet deleted" keys deterministic. */
const SERVER_ARGS = ["--save", "", "--enable-debug-command", "yes"];

async function differential(t: ServerTestContext, script: string, resp: 2 | 3 = 2): Promise<void> {
  // DIFF_SELF=1 compares two redis-servers: checks that the scripts themselves are deterministic.
  const self = Deno.env.get("DIFF_SELF") === "1";
  const [tessera, redis] = await Promise.all([
    self ? t.redis(SERVER_ARGS) : t.tessera(SERVER_ARGS),
    t.redis(SERVER_ARGS),
  ]);
  const session = new DiffSession(tessera.port, redis.port, resp);
  t.defer(() => session.close());
  const failed = await session.runCases(parseScript("transactions_test.ts", script));
  if (failed.length > 0) assert.fail(`failing cases: ${failed.join(", ")}\n${session.failures.join("\n")}`);
}

serverTest("transactions: exact replies of tessera", async (t) => {
  const node = await t.tessera(SERVER_ARGS);
  const c = await connect(node.port);
  t.defer(() => c.close());
  const expect = async (args: string[], reply: string) => assert.equal(await c.callRaw(...args), reply, args.join(" "));
  await expect(["EXEC"], "-ERR EXEC without MULTI\r\n");
  await expect(["DISCARD"], "-ERR DISCARD without MULTI\r\n");
  await expect(["MULTI"], "+OK\r\n");
  await expect(["MULTI"], "-ERR MULTI calls can not be nested\r\n");
  await expect(["WATCH", "k"], "-ERR WATCH inside MULTI is not allowed\r\n");
  await expect(["SET", "k", "v"], "+QUEUED\r\n");
  await expect(["GET", "k"], "+QUEUED\r\n");
  await expect(["PING", "a", "b"], "+QUEUED\r\n");
  // Nested MULTI and WATCH errors do not abort the transaction; runtime errors stay in the array.
  await expect(["EXEC"], "*3\r\n+OK\r\n$1\r\nv\r\n-ERR wrong number of arguments for 'ping' command\r\n");
  await expect(["MULTI"], "+OK\r\n");
  await expect(["NOSUCH"], "-ERR unknown command 'NOSUCH', with args beginning with: \r\n");
  await expect(["SET", "k"], "-ERR wrong number of arguments for 'set' command\r\n");
  await expect(["SET", "k", "never"], "+QUEUED\r\n");
  await expect(["EXEC"], "-EXECABORT Transaction discarded because of previous errors.\r\n");
  await expect(["GET", "k"], "$1\r\nv\r\n");
  await expect(["MULTI"], "+OK\r\n");
  await expect(["SHUTDOWN"], "-ERR Command not allowed inside a transaction\r\n");
  await expect(["EXEC"], "-EXECABORT Transaction discarded because of previous errors.\r\n");
  await expect(["MULTI"], "+OK\r\n");
  await expect(["SET", "k", "discarded"], "+QUEUED\r\n");
  await expect(["DISCARD"], "+OK\r\n");
  await expect(["GET", "k"], "$1\r\nv\r\n");
  await expect(["MULTI"], "+OK\r\n");
  await expect(["EXEC"], "*0\r\n");
  // WATCH across two connections.
  const other = await connect(node.port);
  t.defer(() => other.close());
  await expect(["WATCH", "k"], "+OK\r\n");
  assert.equal(await other.callRaw("SET", "k", "changed"), "+OK\r\n");
  await expect(["MULTI"], "+OK\r\n");
  await expect(["SET", "k", "mine"], "+QUEUED\r\n");
  await expect(["EXEC"], "*-1\r\n");
  await expect(["GET", "k"], "$7\r\nchanged\r\n");
  // The failed EXEC cleared the watch: the next transaction runs.
  await expect(["MULTI"], "+OK\r\n");
  await expect(["SET", "k", "mine"], "+QUEUED\r\n");
  await expect(["EXEC"], "*1\r\n+OK\r\n");
  // UNWATCH forgets a touched key.
  await expect(["WATCH", "k"], "+OK\r\n");
  assert.equal(await other.callRaw("SET", "k", "again"), "+OK\r\n");
  await expect(["UNWATCH"], "+OK\r\n");
  await expect(["MULTI"], "+OK\r\n");
  await expect(["EXEC"], "*0\r\n");
});

serverTest("transactions: RESP3 null reply for an aborted WATCH (tessera)", async (t) => {
  const node = await t.tessera(SERVER_ARGS);
  const c = await connect(node.port);
  t.defer(() => c.close());
  await c.call("HELLO", "3");
  assert.equal(await c.callRaw("WATCH", "k"), "+OK\r\n");
  assert.equal(await c.callRaw("SET", "k", "1"), "+OK\r\n");
  assert.equal(await c.callRaw("MULTI"), "+OK\r\n");
  assert.equal(await c.callRaw("EXEC"), "_\r\n");
});

serverTest("transactions: differential MULTI/EXEC/DISCARD and queueing errors", async (t) => {
  if (!requireTool("redis-server")) return;
  await differential(
    t,
    `
=== queue and run
MULTI
SET a 1
INCR a
GET a
PING
ECHO hi
EXEC
=== nested MULTI and WATCH inside MULTI do not abort
MULTI
MULTI
WATCH a
SET a 2
EXEC
GET a
=== EXECABORT after unknown command, arity error, unknown subcommand, no_multi command
MULTI
SET a 1
NOSUCH 1 2
EXEC
MULTI
GET
EXEC
MULTI
OBJECT FOO
EXEC
MULTI
SHUTDOWN NOSAVE
EXEC
GET a
=== commands after an error still answer QUEUED
MULTI
GET
SET a 1
DISCARD
GET a
=== runtime errors inside EXEC
SET s abc
MULTI
INCR s
SET k v EX 0
SELECT 99
PING a b
GET s
EXEC
=== misuse
EXEC
DISCARD
UNWATCH
MULTI
UNWATCH
DISCARD
MULTI a
EXEC a
WATCH
=== HELLO and SELECT queued
MULTI
SELECT 1
SET k 1
HELLO 2
~hello EXEC
GET k
`,
  );
});

serverTest("transactions: differential WATCH across connections", async (t) => {
  if (!requireTool("redis-server")) return;
  await differential(
    t,
    `
=== untouched
SET a 1
WATCH a
@b GET a
@b SET a 2 NX
@b DEL nokey
MULTI
INCR a
EXEC
=== touched by another connection
WATCH a
@b SET a 1
MULTI
SET a 2
EXEC
GET a
=== touched by the same connection before MULTI
WATCH a
SET a 1
MULTI
PING
EXEC
=== own writes inside the transaction do not abort it
WATCH a
MULTI
SET a 1
INCR a
EXEC
=== other database does not touch
WATCH a
@b SELECT 1
@b SET a 1
MULTI
PING
EXEC
=== FLUSHDB touches only existing watched keys
WATCH nokey
@b FLUSHDB
MULTI
PING
EXEC
SET a 1
WATCH a
@b FLUSHALL
MULTI
PING
EXEC
=== UNWATCH, DISCARD and EXEC clear watches
WATCH a
@b SET a 1
UNWATCH
MULTI
PING
EXEC
WATCH a
MULTI
DISCARD
@b SET a 2
MULTI
PING
EXEC
=== EXECABORT wins over a touched key
WATCH a
@b SET a 1
MULTI
NOSUCH
EXEC
=== two watchers
WATCH a
@c WATCH a
@b SET a 1
MULTI
@c MULTI
EXEC
@c EXEC
`,
  );
});

serverTest("transactions: differential WATCH and key expiry", async (t) => {
  if (!requireTool("redis-server")) return;
  await differential(
    t,
    `
=== expires after WATCH, not yet deleted: EXEC aborts
DEBUG SET-ACTIVE-EXPIRE 0
SET k v PX 150
WATCH k
!sleep 300
MULTI
PING
EXEC
DEBUG SET-ACTIVE-EXPIRE 1
=== expires after WATCH, deleted by a read: EXEC aborts
DEBUG SET-ACTIVE-EXPIRE 0
SET k v PX 150
WATCH k
!sleep 300
@b GET k
MULTI
PING
EXEC
DEBUG SET-ACTIVE-EXPIRE 1
=== expires after WATCH, deleted by active expiry: EXEC aborts
SET k v PX 150
WATCH k
!sleep 500
@b EXISTS k
MULTI
PING
EXEC
=== already expired at WATCH time: EXEC runs
DEBUG SET-ACTIVE-EXPIRE 0
SET k v PX 20
!sleep 80
WATCH k
MULTI
PING
EXEC
DEBUG SET-ACTIVE-EXPIRE 1
=== already expired at WATCH, then deleted (read, FLUSHDB, active expiry): EXEC runs
DEBUG SET-ACTIVE-EXPIRE 0
SET k v PX 20
!sleep 80
WATCH k
@b GET k
MULTI
PING
EXEC
SET k v PX 20
!sleep 80
WATCH k
GET k
MULTI
PING
EXEC
SET k v PX 20
!sleep 80
WATCH k
@b FLUSHDB
MULTI
PING
EXEC
SET k v PX 20
!sleep 80
WATCH k
DEBUG SET-ACTIVE-EXPIRE 1
!sleep 400
DEBUG SET-ACTIVE-EXPIRE 0
MULTI
PING
EXEC
DEBUG SET-ACTIVE-EXPIRE 1
=== already expired at WATCH, then written: EXEC aborts
DEBUG SET-ACTIVE-EXPIRE 0
SET k v PX 20
!sleep 80
WATCH k
@b SET k new
MULTI
PING
EXEC
SET k v PX 20
!sleep 80
WATCH k
@b GET k
@b SET k again
MULTI
PING
EXEC
DEBUG SET-ACTIVE-EXPIRE 1
=== EXPIRE on a watched key touches it
SET k v
WATCH k
@b EXPIRE k 100
MULTI
PING
EXEC
SET k v
WATCH k
@b EXPIRE k -1
MULTI
PING
EXEC
`,
  );
});

serverTest("transactions: differential RESP3 (null reply is _)", async (t) => {
  if (!requireTool("redis-server")) return;
  await differential(
    t,
    `
=== aborted by WATCH
WATCH a
@b SET a 1
MULTI
GET a
EXEC
=== EXECABORT and arrays
MULTI
NOSUCH
EXEC
MULTI
SET a 1
GET a
GET missing
EXEC
`,
    3,
  );
});

serverTest("transactions: pipelined MULTI block in one write matches redis-server", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(SERVER_ARGS), t.redis(SERVER_ARGS)]);
  const commands = [
    ["MULTI"],
    ["SET", "a", "1"],
    ["INCR", "a"],
    ["NOSUCH"],
    ["EXEC"],
    ["MULTI"],
    ["INCR", "a"],
    ["GET", "a"],
    ["EXEC"],
    ["PING"],
  ];
  const wire = new Uint8Array(commands.flatMap((c) => [...encodeCommand(c)]));
  const replies: string[] = [];
  for (const port of [tessera.port, redis.port]) {
    const c = await connect(port);
    await c.writeRaw(wire);
    let all = "";
    for (let i = 0; i < commands.length; i++) all += (await c.readReply()).raw;
    c.close();
    replies.push(all);
  }
  assert.equal(replies[0], replies[1]);
});

serverTest("transactions: INFO commandstats and errorstats count like redis-server", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(SERVER_ARGS), t.redis(SERVER_ARGS)]);
  const stats: string[] = [];
  for (const port of [tessera.port, redis.port]) {
    const c = await connect(port);
    for (
      const cmd of [
        ["CONFIG", "RESETSTAT"],
        ["SET", "s", "abc"],
        ["MULTI"],
        ["INCR", "s"],
        ["PING"],
        ["EXEC"],
        ["MULTI"],
        ["GET"],
        ["EXEC"],
        ["MULTI"],
        ["INCR", "s"],
        ["EXEC"],
      ]
    ) await c.call(...cmd);
    const info = String(await c.call("INFO", "commandstats")) + String(await c.call("INFO", "errorstats"));
    c.close();
    // Timings differ; calls, rejected and failed counts must not. Order of lines is unspecified.
    stats.push(
      info.split("\r\n").filter((l) => /^(cmdstat_(set|incr|ping|exec|multi|get)|errorstat_)/.test(l))
        .map((l) => l.replace(/usec=\d+,usec_per_call=[\d.]+,/, "")).sort().join("\n"),
    );
  }
  assert.equal(stats[0], stats[1]);
});

serverTest("transactions: CLIENT LIST shows flags=x, multi=N and the last command", async (t) => {
  const node = await t.tessera(SERVER_ARGS);
  const c = await connect(node.port);
  const other = await connect(node.port);
  t.defer(() => {
    c.close();
    other.close();
  });
  const lineOf = async () => {
    const list = String(await other.call("CLIENT", "LIST"));
    return list.split("\n").find((l) => !l.includes("cmd=client|list")) ?? "";
  };
  await c.call("MULTI");
  await c.call("SET", "k", "v");
  await c.call("GET", "k");
  const line = await lineOf();
  assert.match(line, / flags=x /);
  assert.match(line, / multi=2 /);
  assert.match(line, / cmd=get /);
  await c.call("EXEC");
  const after = await lineOf();
  assert.match(after, / flags=N /);
  assert.match(after, / multi=-1 /);
  assert.match(after, / cmd=exec /);
});

serverTest("transactions: MONITOR shows EXEC after its commands, like redis-server", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(SERVER_ARGS), t.redis(SERVER_ARGS)]);
  const commands = [
    ["MULTI"],
    ["SET", "k", "v"],
    ["GET", "k"],
    ["EXEC"],
    ["MULTI"],
    ["NOSUCH"],
    ["EXEC"],
    ["EXEC", "a"],
    ["CONFIG", "GET", "maxmemory"],
    ["PING"],
  ];
  // multi set get exec multi exec "exec a" ping: admin commands (CONFIG) and rejected ones are not shown.
  const expectedLines = 8;
  const feeds: string[] = [];
  for (const port of [tessera.port, redis.port]) {
    const monitor = await connect(port);
    const c = await connect(port);
    assert.equal(await monitor.callRaw("MONITOR"), "+OK\r\n");
    for (const cmd of commands) await c.call(...cmd);
    const lines: string[] = [];
    for (let i = 0; i < expectedLines; i++) {
      lines.push((await monitor.readReply()).raw.replace(/^\+\d+\.\d{6} \[0 [^\]]+\]/, "+<time> [0 <addr>]"));
    }
    monitor.close();
    c.close();
    feeds.push(lines.join(""));
  }
  assert.equal(feeds[0], feeds[1]);
});
