/** Db's sparse per-key metadata: encoding hints only when not AUTO, access fields only while tracked. */
import assert from "node:assert/strict";
import { Db, ENC_AUTO, ENC_EMBSTR, ENC_RAW, type KeyspaceObserver } from "./keyspace.ts";
import { accessClock, refreshAccessClock } from "./access_clock.ts";

function newDbs(): { a: Db; b: Db; modified: string[] } {
  const modified: string[] = [];
  const observer: KeyspaceObserver = {
    keyModified: (_db, key) => void modified.push(key),
    keyExpired() {},
    stats: { keyspaceHits: 0, keyspaceMisses: 0 },
  };
  return { a: new Db(0, observer), b: new Db(1, observer), modified };
}

/** Selects a maxmemory-policy the way CONFIG SET's apply hook does, for the given dbs. */
function selectPolicy(policy: string, ...dbs: Db[]): void {
  const config = { directive: () => ({}), get: (name: string) => name === "maxmemory-policy" ? policy : 0 };
  if (refreshAccessClock(config)) { for (const db of dbs) db.syncAccessTracking(); }
}

Deno.test("keyspace: encoding hints are stored only when not AUTO and follow every way a key goes", () => {
  const { a, b } = newDbs();
  a.set("plain", "1");
  assert.equal(a.hintsSize, 0);
  a.update("plain", "12", ENC_RAW);
  assert.equal(a.hintsSize, 1);
  assert.equal(a.encodingHint("plain"), ENC_RAW);
  a.update("plain", "13");
  assert.equal(a.hintsSize, 0, "an in-place update back to AUTO drops the hint");
  a.set("f", "1.5", false, undefined, ENC_EMBSTR);
  a.update("r", "x", ENC_RAW); // update of a missing key creates it
  assert.equal(a.hintsSize, 2);
  a.set("f", "2");
  assert.equal(a.encodingHint("f"), ENC_AUTO, "a plain SET clears the hint");
  assert.equal(a.hintsSize, 1);
  a.putEntry("moved", a.entry("r")!);
  a.delete("r");
  assert.equal(a.encodingHint("moved"), ENC_RAW);
  assert.equal(a.hintsSize, 1);
  a.set("ttl", "x", false, Date.now() - 1, ENC_RAW);
  assert.equal(a.hintsSize, 2);
  assert.equal(a.get("ttl"), undefined, "expired on lookup");
  assert.equal(a.hintsSize, 1, "expiry drops the hint");
  a.swapContents(b);
  assert.equal(a.hintsSize, 0);
  assert.equal(b.hintsSize, 1);
  assert.equal(b.encodingHint("moved"), ENC_RAW);
  assert.equal(b.size, 3);
  assert.equal(b.flush(), 3);
  assert.equal(b.hintsSize, 0);
  assert.equal(b.encodingHint("moved"), ENC_AUTO);
});

Deno.test("keyspace: access fields exist only while an LRU/LFU policy tracks them", () => {
  const { a, b, modified } = newDbs();
  try {
    selectPolicy("noeviction", a, b);
    a.set("k", "v");
    assert.equal(a.accessOf("k"), undefined);
    assert.equal(a.entry("k")!.access, undefined);
    selectPolicy("allkeys-lru", a, b);
    assert.equal(accessClock.tracking, true);
    assert.equal(a.accessOf("k"), accessClock.since, "untracked keys count as accessed when tracking started");
    a.set("n", "v");
    accessClock.lru = (accessClock.lru + 10) & 0xffffff;
    a.get("n");
    assert.equal(a.accessOf("n"), accessClock.lru);
    // MOVE-like transfer carries the field; WATCH signalling and DBSIZE are unchanged by metadata.
    a.watched.set("n", new Set());
    b.putEntry("n", a.entry("n")!);
    a.delete("n");
    assert.equal(b.accessOf("n"), accessClock.lru);
    assert.deepEqual(modified, ["n"]);
    assert.equal(a.size, 1);
    assert.equal(b.size, 1);
    selectPolicy("allkeys-lfu", a, b);
    assert.equal(b.accessOf("n"), accessClock.since, "an LRU field is not read as LFU data");
    selectPolicy("volatile-random", a, b);
    assert.equal(accessClock.tracking, false);
    assert.equal(b.accessOf("n"), undefined);
  } finally {
    selectPolicy("noeviction", a, b);
  }
});
