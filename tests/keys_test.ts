/**
 * Key commands, differentially against redis-server 7.0 (raw replies equal), plus SCAN's
 * guarantee and the keyspace hit/miss counters.
 */
import assert from "node:assert/strict";
import { connect, requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import { differentialScriptTest } from "./helpers/diff.ts";
import { fakeClient } from "./helpers/fake_client.ts";
import type { RespConnection } from "../src/resp/connection.ts";

const SCRIPT = String.raw`
=== KEYS glob patterns
MSET hello 1 hallo 2 hxllo 3 hllo 4 heeeello 5 "h*llo" 6 "h?llo" 7 "a[b" 8 "x\\y" 9 "-" 10 "]" 11 "\xe9t\xe9" 12
~sorted KEYS *
~sorted KEYS h?llo
~sorted KEYS h*llo
~sorted KEYS h[ae]llo
~sorted KEYS h[^e]llo
~sorted KEYS h[a-b]llo
~sorted KEYS h[b-a]llo
~sorted KEYS "h\\*llo"
~sorted KEYS "h\\?llo"
~sorted KEYS "a[[]b"
~sorted KEYS "a[\\[]b"
~sorted KEYS "a[b"
~sorted KEYS "x\\\\y"
~sorted KEYS "[-]"
~sorted KEYS "[]]"
~sorted KEYS "[\\]]"
~sorted KEYS "h[a-"
~sorted KEYS "h[a"
~sorted KEYS "*o"
~sorted KEYS "**l*o*"
~sorted KEYS "*[^a-z]*"
~sorted KEYS "\xe9*"
~sorted KEYS "[\xe0-\xff]t*"
~sorted KEYS ""
~sorted KEYS "hello\\"
~sorted KEYS "?"
~sorted KEYS "h*l*l*o*x"

=== DEL UNLINK EXISTS TOUCH TYPE with duplicates
MSET a 1 b 2 c 3
EXISTS a a b missing
TOUCH a a missing
DEL a a missing
UNLINK b c c
EXISTS a b c
TYPE a
SET s v
TYPE s
DBSIZE

=== RENAME RENAMENX keep TTL and errors
SET a 1 EX 100
RENAME a b
~ttl TTL b
EXISTS a
RENAME missing x
RENAMENX missing x
RENAME b b
RENAMENX b b
SET c 3
RENAMENX b c
RENAME b c
GET c
~ttl TTL c
SET d 4 PX 1
!sleep 20
RENAME d e
APPEND i 1
RENAME i j
OBJECT ENCODING j

=== COPY options
SET a hello EX 100
COPY a b
GET b
~ttl TTL b
COPY a b
COPY a b REPLACE
COPY a a
COPY a a DB 0
COPY a b DB 1
COPY a b DB 16
COPY a b DB -1
COPY a b DB x
COPY a b DB 99999999999
COPY a b DB
COPY a b FOO
COPY a b REPLACE REPLACE DB 0
COPY missing x
SELECT 1
GET b
~ttl TTL b
SELECT 0
APPEND r 1
COPY r r2
OBJECT ENCODING r2
SET n 123
COPY n n2
OBJECT ENCODING n2

=== MOVE SWAPDB
SET a 1 EX 100
MOVE a 1
MOVE a 1
MOVE missing 1
MOVE a 0
MOVE a 16
MOVE a x
MOVE a 99999999999
SELECT 1
GET a
~ttl TTL a
SET b in1
SELECT 0
SET b in0
MOVE b 1
SWAPDB 0 1
GET a
GET b
SWAPDB 0 0
SWAPDB 0 x
SWAPDB x 0
SWAPDB 0 16
SWAPDB -1 0
SWAPDB 0 99999999999
SELECT 1
GET b
DBSIZE

=== RANDOMKEY DBSIZE FLUSHDB FLUSHALL
RANDOMKEY
SET only 1
RANDOMKEY
DBSIZE
FLUSHDB FOO
FLUSHDB SYNC EXTRA
FLUSHDB ASYNC
DBSIZE
SET a 1
FLUSHALL sync
FLUSHALL ASYNC
FLUSHALL FOO
DBSIZE
SET x 1 PX 1
!sleep 20
RANDOMKEY
DBSIZE

=== SCAN arguments
MSET a 1 b 2 c 3
SCAN x
SCAN " 1"
SCAN "1 "
SCAN 18446744073709551616
SCAN 0 COUNT 0
SCAN 0 COUNT -1
SCAN 0 COUNT x
SCAN 0 COUNT
SCAN 0 MATCH
SCAN 0 FOO bar
SCAN 0 TYPE
SCAN 0 COUNT 100 TYPE hash
SCAN 0 COUNT 100 TYPE foo
SCAN 0 COUNT 100 MATCH z*

=== OBJECT
SET s hello
SET n 5
SET big 10000
OBJECT ENCODING s
OBJECT ENCODING n
OBJECT ENCODING missing
OBJECT REFCOUNT s
OBJECT REFCOUNT n
OBJECT REFCOUNT big
OBJECT REFCOUNT missing
OBJECT IDLETIME missing
OBJECT FREQ s
OBJECT FREQ missing
OBJECT HELP
OBJECT FOO s
OBJECT ENCODING
CONFIG SET maxmemory-policy allkeys-lfu
SET f hello
OBJECT FREQ f
GET f
OBJECT FREQ f
OBJECT IDLETIME f
CONFIG SET maxmemory-policy allkeys-lru
OBJECT FREQ f
CONFIG SET maxmemory-policy noeviction

=== encoding hints follow the value through RENAME COPY MOVE SWAPDB; SET and DEL clear them
SET a 1
APPEND a 2
OBJECT ENCODING a
RENAME a b
OBJECT ENCODING b
COPY b c
OBJECT ENCODING c
MOVE c 1
SELECT 1
OBJECT ENCODING c
SWAPDB 0 1
OBJECT ENCODING b
SELECT 0
OBJECT ENCODING c
SET c 12
OBJECT ENCODING c
APPEND c 3
INCR c
OBJECT ENCODING c
INCRBYFLOAT g 1
OBJECT ENCODING g
SET g 1 KEEPTTL
OBJECT ENCODING g
SETRANGE h 0 5
OBJECT ENCODING h
DEL h
SET h 5
OBJECT ENCODING h
SETRANGE h 0 6
FLUSHDB
SET h 6
OBJECT ENCODING h
GETSET h 7
OBJECT ENCODING h
`;

/**
 * Access fields are only kept under an LRU/LFU maxmemory-policy (a documented difference), so
 * OBJECT IDLETIME / FREQ are compared with both servers started with such a policy.
 */
const ACCESS_SCRIPT = String.raw`
=== OBJECT IDLETIME under allkeys-lru
SET s hello
~idletime OBJECT IDLETIME s
OBJECT IDLETIME missing
OBJECT FREQ s
!sleep 1100
~idletime OBJECT IDLETIME s
TYPE s
EXISTS s
~idletime OBJECT IDLETIME s
GET s
~idletime OBJECT IDLETIME s
APPEND s x
OBJECT ENCODING s
~idletime OBJECT IDLETIME s

=== LFU counters follow the key through RENAME MOVE SWAPDB, COPY starts afresh
# Log factor 0: every access increments the counter; decay time 0: no decay (deterministic).
CONFIG SET lfu-log-factor 0 lfu-decay-time 0
CONFIG SET maxmemory-policy allkeys-lfu
SET f hello
OBJECT FREQ f
OBJECT IDLETIME f
RENAME f g
OBJECT FREQ g
COPY g h
OBJECT FREQ h
SET h again
OBJECT FREQ h
MOVE g 1
SELECT 1
OBJECT FREQ g
SWAPDB 0 1
SELECT 0
OBJECT FREQ g
OBJECT FREQ h
MSET g 1 h 2
OBJECT FREQ g
GETSET g 3
INCR g
APPEND g 4
OBJECT FREQ g
MSETNX g 1 z 2
OBJECT FREQ g
CONFIG SET maxmemory-policy allkeys-lru
OBJECT FREQ g
~idletime OBJECT IDLETIME h
CONFIG SET lfu-log-factor 10 lfu-decay-time 1
`;

differentialScriptTest("keys: differential against redis-server", "keys_test", SCRIPT);

differentialScriptTest(
  "keys: OBJECT IDLETIME and FREQ against redis-server with an LRU policy",
  "keys_test",
  ACCESS_SCRIPT,
  ["--save", "", "--maxmemory-policy", "allkeys-lru"],
);

/** Runs a full SCAN with COUNT, calling `between` after each step; returns every key seen. */
async function fullScan(
  conn: RespConnection,
  count: number,
  between: (step: number) => Promise<void>,
): Promise<string[]> {
  const seen: string[] = [];
  let cursor = "0";
  let step = 0;
  do {
    const reply = await conn.call("SCAN", cursor, "COUNT", String(count)) as [string, string[]];
    cursor = reply[0];
    seen.push(...reply[1]);
    await between(step++);
    assert.ok(step < 100_000, "scan terminates");
  } while (cursor !== "0");
  return seen;
}

serverTest("keys: SCAN returns every key present for the whole scan while keys come and go", async (t) => {
  const node = await t.tessera();
  const c = await connect(node.port);
  t.defer(() => c.close());
  const stable: string[] = [];
  for (let i = 0; i < 2000; i++) stable.push(`stable:${i}`);
  const args: string[] = [];
  for (const k of stable) args.push(k, "1");
  await c.call("MSET", ...args);
  for (let i = 0; i < 500; i++) await c.call("SET", `gone:${i}`, "1");
  const seen = await fullScan(c, 20, async (step) => {
    // Between steps: add new keys and remove some of the volatile ones.
    await c.call("SET", `new:${step}`, "1");
    await c.call("DEL", `gone:${step}`);
  });
  const seenSet = new Set(seen);
  for (const k of stable) assert.ok(seenSet.has(k), `missing ${k}`);
  assert.ok(seen.filter((k) => k.startsWith("stable:")).length === stable.length, "no duplicates without rehash");
  // MATCH and TYPE filter what is returned, never the cursor walk.
  const matched: string[] = [];
  let cursor = "0";
  do {
    const reply = await c.call("SCAN", cursor, "MATCH", "stable:1*", "TYPE", "string") as [string, string[]];
    cursor = reply[0];
    matched.push(...reply[1]);
  } while (cursor !== "0");
  assert.equal(matched.length, stable.filter((k) => k.startsWith("stable:1")).length);
});

serverTest("keys: keyspace hits and misses are counted as Redis counts them", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(["--save", ""]), t.redis()]);
  const script = [
    ["SET", "a", "1"],
    ["GET", "a"],
    ["GET", "missing"],
    ["MGET", "a", "missing", "a"],
    ["EXISTS", "a", "missing"],
    ["TYPE", "a"],
    ["TTL", "missing"],
    ["STRLEN", "a"],
    ["INCR", "a"],
    ["APPEND", "a", "x"],
    ["GETRANGE", "a", "0", "1"],
    ["SET", "a", "2", "GET"],
    ["GETDEL", "nokey"],
    ["TOUCH", "a", "missing"],
    ["OBJECT", "ENCODING", "a"],
    ["DEL", "a"],
  ];
  const stats = async (port: number) => {
    const c = await connect(port);
    await c.call("CONFIG", "RESETSTAT");
    for (const argv of script) await c.call(...argv);
    const info = await c.call("INFO", "stats") as string;
    c.close();
    return info.split("\r\n").filter((l) => l.startsWith("keyspace_")).join(" ");
  };
  assert.equal(await stats(tessera.port), await stats(redis.port));
});

Deno.test("keys: TYPE, COPY and RENAME of a value of another type", () => {
  const f = fakeClient();
  const list = { type: "list", clone: () => ({ type: "list", copied: true }) };
  f.db.set("l", list);
  assert.equal(f.call("TYPE", "l"), "+list\r\n");
  assert.equal(f.call("COPY", "l", "l2"), ":1\r\n");
  assert.deepEqual(f.db.get("l2"), { type: "list", copied: true });
  assert.equal(f.call("RENAME", "l", "l3"), "+OK\r\n");
  assert.equal(f.db.get("l3"), list);
  const scan = f.call("SCAN", "0", "TYPE", "list");
  assert.ok(scan.startsWith("*2\r\n$1\r\n0\r\n*2\r\n"), scan);
  assert.ok(scan.includes("$2\r\nl2\r\n") && scan.includes("$2\r\nl3\r\n"), scan);
});

/** Runs `fn` with Date.now() returning `clock.now` (ms), for idle times without sleeping. */
function withFakeClock(fn: (clock: { now: number }) => void): void {
  const realNow = Date.now;
  const clock = { now: Math.floor(realNow() / 1000) * 1000 };
  Date.now = () => clock.now;
  try {
    fn(clock);
  } finally {
    Date.now = realNow;
  }
}

Deno.test("keys: OBJECT IDLETIME needs an LRU policy; switching policy at run time starts tracking afresh", () => {
  withFakeClock((clock) => {
    const f = fakeClient();
    // CONFIG SET asks whether the client is local (enable-protected-configs).
    Object.assign(f.client, { isLocal: () => true });
    try {
      f.call("SET", "k", "v");
      assert.equal(
        f.call("OBJECT", "IDLETIME", "k"),
        "-ERR Idle time is not tracked by tessera unless an LRU maxmemory-policy is selected.\r\n",
      );
      assert.equal(f.call("OBJECT", "IDLETIME", "missing"), "$-1\r\n");
      assert.equal(f.db.accessOf("k"), undefined, "nothing stored per key without tracking");
      clock.now += 7000;
      // Keys without an access field count as accessed when tracking started.
      assert.equal(f.call("CONFIG", "SET", "maxmemory-policy", "volatile-lru"), "+OK\r\n");
      assert.equal(f.call("OBJECT", "IDLETIME", "k"), ":0\r\n");
      f.call("SET", "n", "v");
      clock.now += 5000;
      assert.equal(f.call("OBJECT", "IDLETIME", "k"), ":5\r\n");
      assert.equal(f.call("GET", "k"), "$1\r\nv\r\n");
      clock.now += 2000;
      assert.equal(f.call("OBJECT", "IDLETIME", "k"), ":2\r\n");
      assert.equal(f.call("OBJECT", "IDLETIME", "n"), ":7\r\n");
      // RENAME touches the source, then carries its field; MOVE carries it as it is.
      assert.equal(f.call("RENAME", "n", "m"), "+OK\r\n");
      clock.now += 1000;
      assert.equal(f.call("OBJECT", "IDLETIME", "m"), ":1\r\n");
      // LFU: the field layout changes, so tracking restarts with Redis's initial counter.
      assert.equal(f.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"), "+OK\r\n");
      assert.match(f.call("OBJECT", "IDLETIME", "k"), /^-ERR An LFU maxmemory policy is selected/);
      assert.equal(f.call("OBJECT", "FREQ", "k"), ":5\r\n");
      f.call("GET", "k");
      assert.equal(f.call("OBJECT", "FREQ", "k"), ":6\r\n");
      // Off: the fields are dropped; on again: every key counts as accessed now.
      assert.equal(f.call("CONFIG", "SET", "maxmemory-policy", "noeviction"), "+OK\r\n");
      assert.equal(f.db.accessOf("k"), undefined);
      assert.match(f.call("OBJECT", "FREQ", "k"), /^-ERR An LFU maxmemory policy is not selected/);
      assert.match(f.call("OBJECT", "IDLETIME", "k"), /^-ERR Idle time is not tracked by tessera/);
      clock.now += 4000;
      assert.equal(f.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru"), "+OK\r\n");
      assert.equal(f.call("OBJECT", "IDLETIME", "k"), ":0\r\n");
      assert.equal(f.call("OBJECT", "IDLETIME", "m"), ":0\r\n");
      clock.now += 3000;
      assert.equal(f.call("OBJECT", "IDLETIME", "m"), ":3\r\n");
      assert.equal(f.call("FLUSHDB"), "+OK\r\n");
      f.call("SET", "k", "v");
      assert.equal(f.call("OBJECT", "IDLETIME", "k"), ":0\r\n");
    } finally {
      f.call("CONFIG", "SET", "maxmemory-policy", "noeviction");
    }
  });
});
