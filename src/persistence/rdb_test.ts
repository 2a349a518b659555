import assert from "node:assert/strict";
import { Db, type KeyspaceObserver } from "../store/keyspace.ts";
import { ListValue } from "../store/types/list.ts";
import { HashValue } from "../store/types/hash.ts";
import { SetValue } from "../store/types/set.ts";
import { ZSetValue } from "../store/types/zset.ts";
import { dumpPayload, encodeRdb } from "./rdb_writer.ts";
import { loadRdb, parseDumpPayload, RdbError, verifyDumpPayload } from "./rdb_reader.ts";
import { Crc64 } from "./crc64.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.replace(/\s/g, "").match(/../g)!.map((h) => parseInt(h, 16)));

const observer: KeyspaceObserver = {
  keyModified() {},
  keyExpired() {},
  stats: { keyspaceHits: 0, keyspaceMisses: 0 },
};
const newDbs = (n = 16) => Array.from({ length: n }, (_, i) => new Db(i, observer));

Deno.test("rdb: DUMP payloads of rdb.md section 12 are byte-identical", () => {
  assert.equal(hex(dumpPayload("hello")), "000568656c6c6f0a006372df766534200a");
  assert.equal(hex(dumpPayload("12345")), "00c139300a009d94ea2793fc08b9");
  assert.equal(
    hex(dumpPayload(SetValue.fromMembers(["1", "2", "3", "-5", "70000"]))),
    "0b1c0400000005000000fbffffff01000000020000000300000070110100" + "0a0023e5f3765598617d",
  );
  const h = new HashValue();
  h.set("f1", "v1");
  h.set("f2", "2");
  assert.equal(hex(dumpPayload(h)), "1015150000000400826631038276310382663203" + "0201ff0a005c5ea813feec1ff5");
});

Deno.test("rdb: payloads verify and parse back to equal values", () => {
  const z = new ZSetValue();
  z.add(1.5, "a", 0);
  z.add(-Infinity, "b", 0);
  const values = [
    "x".repeat(100),
    ListValue.from(["a", "1", "-70000", "b".repeat(5000)]),
    SetValue.fromMembers(["a", "b"]),
    z,
  ];
  for (const v of values) {
    const p = dumpPayload(v);
    assert.ok(verifyDumpPayload(p));
    const back = parseDumpPayload(p);
    assert.deepEqual(hex(dumpPayload(back)), hex(p));
  }
  const p = dumpPayload("hello");
  p[3] ^= 1;
  assert.equal(verifyDumpPayload(p), false);
  assert.ok(verifyDumpPayload(p, true));
  assert.throws(() => parseDumpPayload(unhex("0200" + "0a00" + "0000000000000000")), RdbError); // empty set
});

Deno.test("rdb: the files of crc.md load; an empty dataset encodes to a loadable file", () => {
  const empty = unhex("524544495330303130ff a9fd37fe89a77eeb");
  assert.equal(loadRdb(empty, newDbs(), false).keys, 0);
  const foo = unhex("524544495330303130 fe00 00 03666f6f 03626172 ff 7be7313cb4020172");
  const dbs = newDbs();
  assert.equal(loadRdb(foo, dbs, false).keys, 1);
  assert.equal(dbs[0].peek("foo"), "bar");
  const file = encodeRdb(newDbs(), { replId: "a".repeat(40), replOffset: 77 });
  const result = loadRdb(file, newDbs(), false);
  assert.equal(result.aux.get("repl-id"), "a".repeat(40));
  assert.equal(result.aux.get("repl-offset"), "77");
  assert.equal(result.aux.get("redis-bits"), "64");
});

Deno.test("rdb: expired keys are dropped by a master and kept by a replica; duplicates refused", () => {
  const src = newDbs();
  const expireAt = Date.now() + 100_000;
  src[0].set("live", "1", false, expireAt);
  src[2].set("other", "2");
  const file = encodeRdb(src, {});
  // Rewrite the live key's expire into the past (and re-seal the CRC) to get an expired key in a file. The opcode is
  // found with its value: a 0xFC byte may also occur inside the AUX fields (ctime, used-mem).
  const expiredFile = file.slice();
  const view = new DataView(expiredFile.buffer);
  let at = -1;
  for (let i = 0; i + 9 <= expiredFile.length && at === -1; i++) {
    if (expiredFile[i] === 0xfc && view.getBigInt64(i + 1, true) === BigInt(expireAt)) at = i;
  }
  assert.ok(at !== -1, "the EXPIRETIME_MS record is in the file");
  view.setBigInt64(at + 1, BigInt(Date.now() - 1000), true);
  new Crc64().update(expiredFile, 0, expiredFile.length - 8).writeLE(expiredFile, expiredFile.length - 8);
  const master = newDbs();
  const r1 = loadRdb(expiredFile, master, false);
  assert.deepEqual([r1.keys, r1.expired, master[0].size, master[2].size], [1, 1, 0, 1]);
  const replica = newDbs();
  const r2 = loadRdb(expiredFile, replica, true);
  assert.deepEqual([r2.keys, r2.expired, replica[0].size], [2, 0, 1]);
  // Loading into a db that already holds the key: Redis's "Duplicated key".
  assert.throws(() => loadRdb(file, replica, true), /Duplicated key/);
});

Deno.test("rdb: every truncation and many byte flips of a file end in RdbError, never another error", () => {
  const src = newDbs();
  src[0].set("s", "value".repeat(10));
  src[0].set("l", ListValue.from(["a", "b", "1"]));
  const h = new HashValue();
  h.set("f", "v");
  src[1].set("h", h);
  const file = encodeRdb(src, {});
  for (let cut = 0; cut < file.length; cut++) {
    assert.throws(() => loadRdb(file.subarray(0, cut), newDbs(), false), RdbError, `cut ${cut}`);
  }
  for (let i = 0; i < file.length - 8; i++) {
    const bad = file.slice();
    bad[i] ^= 0xff;
    // Either a detected corruption or (CRC disabled would hide it) a checksum error.
    assert.throws(() => loadRdb(bad, newDbs(), false), RdbError, `flip ${i}`);
  }
});
