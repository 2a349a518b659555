import assert from "node:assert/strict";
import { HashValue } from "./hash.ts";
import { typeLimits } from "./limits.ts";

/** Runs `fn` with other listpack thresholds, restoring the previous ones after. */
function withLimits(entries: number, value: number, fn: () => void): void {
  const saved = { ...typeLimits };
  typeLimits.hashMaxListpackEntries = entries;
  typeLimits.hashMaxListpackValue = value;
  try {
    fn();
  } finally {
    Object.assign(typeLimits, saved);
  }
}

/** A hashtable-encoded hash of `n` fields f0..f(n-1) with values v0... */
function bigHash(n: number): HashValue {
  const h = new HashValue();
  withLimits(0, 64, () => {
    for (let i = 0; i < n; i++) h.set(`f${i}`, `v${i}`);
  });
  return h;
}

Deno.test("HashValue: type, listpack order through updates and deletes", () => {
  const h = new HashValue();
  assert.equal(h.type, "hash");
  assert.equal(h.encoding, "listpack");
  assert.equal(h.set("c", "3"), true);
  assert.equal(h.set("a", "1"), true);
  assert.equal(h.set("b", "2"), true);
  assert.equal(h.set("a", "10"), false, "an update is not a new field");
  assert.equal(h.delete("c"), true);
  assert.equal(h.delete("c"), false);
  h.set("c", "30");
  assert.deepEqual([...h.map], [["a", "10"], ["b", "2"], ["c", "30"]]);
  assert.equal(h.size, 3);
  assert.equal(h.get("a"), "10");
  assert.equal(h.get("zz"), undefined);
  assert.equal(h.has("b"), true);
});

Deno.test("HashValue: converts past the entry limit, on update too, and never back", () => {
  withLimits(3, 64, () => {
    const h = new HashValue();
    h.set("a", "1");
    h.set("b", "2");
    h.set("c", "3");
    assert.equal(h.encoding, "listpack");
    h.set("d", "4");
    assert.equal(h.encoding, "hashtable");
    h.delete("d");
    h.delete("c");
    assert.equal(h.encoding, "hashtable", "shrinking does not convert back");
  });
  const h = new HashValue();
  for (const f of ["a", "b", "c"]) h.set(f, "1");
  withLimits(2, 64, () => {
    assert.equal(h.encoding, "listpack", "a lower limit alone converts nothing");
    h.set("a", "2");
    assert.equal(h.encoding, "hashtable", "the next write converts, even an update");
  });
});

Deno.test("HashValue: converts when a field or a value is longer than the value limit", () => {
  withLimits(512, 4, () => {
    const exact = new HashValue();
    exact.set("abcd", "wxyz");
    assert.equal(exact.encoding, "listpack", "exactly the limit fits");
    const longValue = new HashValue();
    longValue.set("a", "12345");
    assert.equal(longValue.encoding, "hashtable");
    const longField = new HashValue();
    longField.set("12345", "a");
    assert.equal(longField.encoding, "hashtable");
  });
});

Deno.test("HashValue: clone is a deep copy with the same order and encoding", () => {
  const h = new HashValue();
  h.set("x", "1");
  h.set("y", "2");
  const copy = h.clone();
  copy.set("z", "3");
  copy.delete("x");
  assert.deepEqual([...h.map], [["x", "1"], ["y", "2"]]);
  assert.deepEqual([...copy.map], [["y", "2"], ["z", "3"]]);
  const big = bigHash(3);
  assert.equal(big.clone().encoding, "hashtable");
});

Deno.test("HashValue: sampleUnique returns distinct fields in hash order", () => {
  const h = new HashValue();
  for (let i = 0; i < 20; i++) h.set(`f${i}`, `v${i}`);
  const order = [...h.map.keys()];
  const seen = new Set<string>();
  for (let round = 0; round < 200; round++) {
    const picks = h.sampleUnique(5);
    assert.equal(picks.length, 5);
    assert.equal(new Set(picks.map(([f]) => f)).size, 5, "distinct");
    for (const [f, v] of picks) {
      assert.equal(h.get(f), v, "pairs are real");
      seen.add(f);
    }
    const positions = picks.map(([f]) => order.indexOf(f));
    assert.deepEqual(positions, positions.slice().sort((a, b) => a - b), "in hash order");
  }
  assert.equal(seen.size, 20, "every field can be picked");
  assert.equal(h.sampleUnique(19).length, 19);
});

Deno.test("HashValue: sampleWithRepetition keeps pick order and repeats", () => {
  const one = new HashValue();
  one.set("only", "v");
  assert.deepEqual(one.sampleWithRepetition(3), [["only", "v"], ["only", "v"], ["only", "v"]]);
  const h = new HashValue();
  for (let i = 0; i < 4; i++) h.set(`f${i}`, `v${i}`);
  const picks = h.sampleWithRepetition(400);
  assert.equal(picks.length, 400);
  const counts = new Map<string, number>();
  for (const [f, v] of picks) {
    assert.equal(h.get(f), v);
    counts.set(f, (counts.get(f) ?? 0) + 1);
  }
  assert.equal(counts.size, 4, "every field appears");
  // Pick order is random: 400 picks over 4 fields are almost never sorted by position.
  const positions = picks.map(([f]) => Number(f.slice(1)));
  assert.notDeepEqual(positions, positions.slice().sort((a, b) => a - b));
});

Deno.test("HashValue: scan of a listpack returns everything with cursor 0 whatever the cursor", () => {
  const h = new HashValue();
  h.set("a", "1");
  h.set("b", "2");
  assert.deepEqual(h.scan(0, 1), { cursor: 0, items: ["a", "1", "b", "2"] });
  assert.deepEqual(h.scan(987, 1), { cursor: 0, items: ["a", "1", "b", "2"] });
});

/** Scans a hash to the end in steps of `pairs`, calling `between` after each step; returns the fields seen. */
function scanAll(h: HashValue, pairs: number, between: (step: number) => void = () => {}): string[] {
  const fields: string[] = [];
  let cursor = 0;
  let step = 0;
  do {
    const batch = h.scan(cursor, pairs);
    for (let i = 0; i < batch.items.length; i += 2) fields.push(batch.items[i]);
    cursor = batch.cursor;
    between(step++);
    assert.ok(step < 10_000, "scan terminates");
  } while (cursor !== 0);
  return fields;
}

Deno.test("HashValue: scan of a hashtable walks every field once in steps", () => {
  const h = bigHash(100);
  const fields = scanAll(h, 7);
  assert.equal(fields.length, 100);
  assert.equal(new Set(fields).size, 100);
  const first = h.scan(0, 7);
  assert.notEqual(first.cursor, 0);
  assert.equal(first.items.length, 14);
});

Deno.test("HashValue: a hashtable scan returns every field present throughout, despite writes", () => {
  const h = bigHash(200);
  const stable = new Set<string>();
  for (let i = 100; i < 200; i++) stable.add(`f${i}`);
  const fields = scanAll(h, 5, (step) => {
    // Delete early fields, add new ones, update stable ones, between the calls.
    if (step < 100) h.delete(`f${step}`);
    h.set(`new${step}`, "x");
    h.set(`f${150 + (step % 50)}`, `u${step}`);
  });
  const seen = new Set(fields);
  for (const f of stable) assert.ok(seen.has(f), `${f} returned`);
});

Deno.test("HashValue: an unknown or reused cursor restarts the hashtable scan", () => {
  const h = bigHash(10);
  const first = h.scan(0, 3);
  const second = h.scan(first.cursor, 3);
  assert.deepEqual(second.items.slice(0, 2), ["f3", "v3"], "continues where the first call stopped");
  const again = h.scan(first.cursor, 3);
  assert.deepEqual(again.items.slice(0, 2), ["f0", "v0"], "a used cursor starts over");
  const unknown = h.scan(123456789, 3);
  assert.deepEqual(unknown.items.slice(0, 2), ["f0", "v0"]);
  const other = bigHash(10);
  assert.deepEqual(other.scan(second.cursor, 3).items.slice(0, 2), ["f0", "v0"], "cursors belong to one hash");
});

Deno.test("HashValue: only the latest scans of a hash keep their place", () => {
  const h = bigHash(10);
  const oldest = h.scan(0, 1).cursor;
  for (let i = 0; i < 40; i++) h.scan(0, 1);
  assert.deepEqual(h.scan(oldest, 1).items, ["f0", "v0"], "an evicted cursor starts over");
});

Deno.test("HashValue: random picks in a big hash follow adds and deletes", () => {
  const h = bigHash(300);
  const order = () => [...h.map.keys()];
  const unique = h.sampleUnique(10);
  assert.equal(new Set(unique.map(([f]) => f)).size, 10);
  const positions = unique.map(([f]) => order().indexOf(f));
  assert.deepEqual(positions, positions.slice().sort((a, b) => a - b), "distinct picks keep hash order");
  assert.equal(h.sampleWithRepetition(50).length, 50);
  for (let i = 0; i < 290; i++) h.delete(`f${i}`);
  h.set("late", "x");
  const seen = new Set<string>();
  for (let round = 0; round < 50; round++) {
    for (const [f, v] of h.sampleWithRepetition(20)) {
      assert.equal(h.get(f), v, `${f} is a current field`);
      seen.add(f);
    }
  }
  assert.ok(seen.has("late"), "a field added after a pick can be picked");
  h.set("f299", "updated");
  assert.ok(h.sampleWithRepetition(200).some(([f, v]) => f === "f299" && v === "updated"), "values are current");
  const big = bigHash(200);
  const counts = new Map<string, number>();
  for (const [f] of big.sampleWithRepetition(20_000)) counts.set(f, (counts.get(f) ?? 0) + 1);
  assert.equal(counts.size, 200, "every field of a big hash can be picked");
});
