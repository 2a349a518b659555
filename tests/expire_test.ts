/**
 * Expiry: EXPIRE family replies and errors (differential against redis-server 7.0), lazy expiry
 * on access, and the active expire cycle deleting keys nobody touches.
 */
import assert from "node:assert/strict";
import { connect } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import { differentialScriptTest } from "./helpers/diff.ts";
import { Db, type KeyspaceObserver } from "../src/store/keyspace.ts";

const SCRIPT = String.raw`
=== EXPIRE family errors and overflow
SET k v
EXPIRE k 10 FOO
EXPIRE k 10 NX XX
EXPIRE k 10 NX GT
EXPIRE k 10 nx lt
EXPIRE k 10 GT LT
EXPIRE k 10 XX GT LT
EXPIRE k abc
EXPIRE k 1.5
EXPIRE k 9223372036854775807
EXPIRE k 9223372036854775
EXPIRE k -9223372036854775808
EXISTS k
SET k v
PEXPIRE k 9223372036854775807
PEXPIRE k 9223372036854775000
EXPIREAT k 9223372036854775807
PEXPIREAT k 9223372036854775807
PEXPIREAT k 9223370399119966
PEXPIRETIME k
EXPIRETIME k
PEXPIREAT k -9223372036854775808
EXISTS k
EXPIRE missing 10
TTL missing
PTTL missing
EXPIRETIME missing
PEXPIRETIME missing
PERSIST missing

=== NX XX GT LT semantics
SET k v
EXPIRE k 100 XX
EXPIRE k 100 GT
EXPIRE k 100 LT
~ttl TTL k
EXPIRE k 50 NX
EXPIRE k 200 GT
~ttl TTL k
EXPIRE k 300 LT
EXPIRE k 20 LT
~ttl TTL k
EXPIRE k 200 XX
~ttl TTL k
EXPIRE k -1 GT
EXPIRE k -1 LT
EXISTS k
SET k v
EXPIRE k -1 GT
EXPIRE k -1 NX
EXISTS k

=== absolute times and PERSIST
SET k v
EXPIREAT k 4102444800
EXPIRETIME k
PEXPIRETIME k
PEXPIREAT k 4102444800123
PEXPIRETIME k
EXPIRETIME k
TTL k
PERSIST k
PERSIST k
TTL k
PEXPIRETIME k
EXPIREAT k 1
EXISTS k
SET k v
PEXPIREAT k 0
EXISTS k

=== lazy expiry on access
SET a 1 PX 30
SET b 1 PX 30
SET c 1 PX 30
SET d 1 PX 30
SET e 1 PX 30
SET f 1 PX 30
!sleep 60
GET a
EXISTS b
TTL c
TYPE d
INCR e
APPEND f x
TTL f
~sorted KEYS *
`;

differentialScriptTest("expire: differential against redis-server", "expire_test", SCRIPT);

serverTest("expire: the active cycle deletes expired keys nobody accesses", async (t) => {
  const node = await t.tessera(["--hz", "50"]);
  const c = await connect(node.port);
  t.defer(() => c.close());
  // Long enough that none expires while the 401 keys are being written, even on a busy machine.
  for (let i = 0; i < 300; i++) await c.call("SET", `short:${i}`, "v", "PX", "1500");
  for (let i = 0; i < 100; i++) await c.call("SET", `long:${i}`, "v", "EX", "1000");
  await c.call("SET", "plain", "v");
  assert.equal(await c.call("DBSIZE"), 401);
  const deadline = Date.now() + 8000;
  while (Date.now() < deadline && await c.call("DBSIZE") !== 101) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await c.call("DBSIZE"), 101);
  const info = await c.call("INFO", "stats") as string;
  assert.match(info, /expired_keys:300\r\n/);
  const keyspace = await c.call("INFO", "keyspace") as string;
  assert.match(keyspace, /db0:keys=101,expires=100,/);
});

serverTest("expire: no active expiry while DEBUG SET-ACTIVE-EXPIRE 0", async (t) => {
  const node = await t.tessera(["--hz", "50", "--enable-debug-command", "yes"]);
  const c = await connect(node.port);
  t.defer(() => c.close());
  assert.equal(await c.call("DEBUG", "SET-ACTIVE-EXPIRE", "0"), "OK");
  for (let i = 0; i < 20; i++) await c.call("SET", `k${i}`, "v", "PX", "10");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await c.call("DBSIZE"), 20, "expired keys stay until accessed");
  assert.equal(await c.call("GET", "k0"), null);
  assert.equal(await c.call("DBSIZE"), 19, "lazy expiry deleted the accessed key");
  assert.equal(await c.call("DEBUG", "SET-ACTIVE-EXPIRE", "1"), "OK");
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && await c.call("DBSIZE") !== 0) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await c.call("DBSIZE"), 0);
});

Deno.test("expire: activeExpire works in rounds and stops at the deadline", () => {
  const stats = { keyspaceHits: 0, keyspaceMisses: 0 };
  let expired = 0;
  const observer: KeyspaceObserver = { keyModified() {}, keyExpired: () => void expired++, stats };
  const db = new Db(0, observer);
  const now = Date.now();
  for (let i = 0; i < 5000; i++) db.set(`k${i}`, "v", false, now - 1);
  for (let i = 0; i < 100; i++) db.set(`live${i}`, "v", false, now + 100_000);
  // A deadline already passed: one round, then it reports the time cap.
  const first = db.activeExpire(performance.now() - 1, now);
  assert.equal(first.timedOut, true);
  assert.ok(first.sampled >= 20 && first.expired > 0);
  // Enough time: every expired key goes, live ones stay.
  while (db.size > 100) db.activeExpire(performance.now() + 1000, now);
  assert.equal(db.size, 100);
  assert.equal(db.expiresSize, 100);
  assert.equal(expired, 5000);
});
