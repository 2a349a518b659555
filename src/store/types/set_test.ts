import assert from "node:assert/strict";
import { compareInt64Strings, difference, intersect, isIntsetMember, SetValue, union } from "./set.ts";
import { typeLimits } from "./limits.ts";
import { Rng } from "../../../tests/helpers/rng.ts";

/** Runs `fn` with set-max-intset-entries set to `limit`, restoring it afterwards. */
function withIntsetLimit(limit: number, fn: () => void): void {
  const saved = typeLimits.setMaxIntsetEntries;
  typeLimits.setMaxIntsetEntries = limit;
  try {
    fn();
  } finally {
    typeLimits.setMaxIntsetEntries = saved;
  }
}

Deno.test("isIntsetMember follows string2ll's canonical form", () => {
  for (const ok of ["0", "1", "-1", "42", "9223372036854775807", "-9223372036854775808"]) {
    assert.equal(isIntsetMember(ok), true, ok);
  }
  for (const bad of ["", "-", "-0", "007", "+1", " 1", "1 ", "1.0", "1e3", "9223372036854775808", "a", "0x10"]) {
    assert.equal(isIntsetMember(bad), false, JSON.stringify(bad));
  }
});

Deno.test("compareInt64Strings orders canonical integers numerically", () => {
  const values = [
    "0",
    "-1",
    "1",
    "10",
    "9",
    "-10",
    "-9",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775806",
    "-9223372036854775807",
    "100",
    "-100",
  ];
  const sorted = values.slice().sort(compareInt64Strings);
  const expected = values.slice().sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
  assert.deepEqual(sorted, expected);
  assert.equal(compareInt64Strings("5", "5"), 0);
});

Deno.test("a set starts as an intset and converts to a hashtable on a non-integer, one-way", () => {
  const s = SetValue.forMember("3");
  assert.equal(s.type, "set");
  assert.equal(s.encoding, "intset");
  assert.equal(s.add("3"), true);
  assert.equal(s.add("1"), true);
  assert.equal(s.add("-2"), true);
  assert.equal(s.add("1"), false);
  assert.deepEqual(s.members(), ["-2", "1", "3"]);
  assert.equal(s.add("x"), true);
  assert.equal(s.encoding, "hashtable");
  assert.equal(s.remove("x"), true);
  assert.equal(s.encoding, "hashtable");
  assert.deepEqual([...s.members()].sort(), ["-2", "1", "3"]);
  assert.equal(SetValue.forMember("a").encoding, "hashtable");
  assert.equal(SetValue.forMember("01").encoding, "hashtable");
});

Deno.test("an intset converts once it holds more than set-max-intset-entries members", () => {
  withIntsetLimit(3, () => {
    const s = new SetValue();
    for (const m of ["1", "2", "3"]) s.add(m);
    assert.equal(s.encoding, "intset");
    s.add("3");
    assert.equal(s.encoding, "intset");
    s.add("4");
    assert.equal(s.encoding, "hashtable");
    s.remove("4");
    assert.equal(s.encoding, "hashtable");
  });
  withIntsetLimit(0, () => assert.equal(SetValue.fromMembers(["1"]).encoding, "hashtable"));
});

Deno.test("the intset order follows every change", () => {
  const s = SetValue.fromMembers(["5", "-5", "0"]);
  assert.deepEqual(s.members(), ["-5", "0", "5"]);
  s.add("2");
  assert.deepEqual(s.members(), ["-5", "0", "2", "5"]);
  s.remove("-5");
  assert.deepEqual(s.members(), ["0", "2", "5"]);
});

Deno.test("remove keeps membership and size consistent", () => {
  const rng = new Rng(11);
  const s = new SetValue();
  const model = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const m = String(rng.int(0, 60));
    if (rng.chance(0.5)) {
      assert.equal(s.add(m), !model.has(m));
      model.add(m);
    } else {
      assert.equal(s.remove(m), model.has(m));
      model.delete(m);
    }
    assert.equal(s.size, model.size);
  }
  assert.deepEqual([...s.members()].sort(), [...model].sort());
  for (let i = 0; i <= 60; i++) assert.equal(s.has(String(i)), model.has(String(i)));
});

Deno.test("clone is a deep copy that keeps the encoding", () => {
  const s = SetValue.fromMembers(["1", "2"]);
  const c = s.clone();
  c.add("3");
  c.add("x");
  assert.equal(s.size, 2);
  assert.equal(s.has("x"), false);
  assert.equal(s.encoding, "intset");
  assert.equal(c.encoding, "hashtable");
  assert.equal(SetValue.fromMembers(["a"]).clone().encoding, "hashtable");
});

Deno.test("random picks are members; popRandom and randomDistinct give distinct members", () => {
  const s = SetValue.fromMembers(Array.from({ length: 50 }, (_, i) => `m${i}`));
  for (let i = 0; i < 100; i++) assert.ok(s.has(s.random()));
  for (const count of [1, 5, 16, 17, 40, 49]) {
    const picked = s.randomDistinct(count);
    assert.equal(picked.length, count);
    assert.equal(new Set(picked).size, count);
    for (const m of picked) assert.ok(s.has(m));
  }
  const popped = new Set<string>();
  while (s.size > 0) {
    const m = s.popRandom();
    assert.equal(s.has(m), false);
    assert.equal(popped.has(m), false);
    popped.add(m);
  }
  assert.equal(popped.size, 50);
});

Deno.test("scanStep returns every member present for the whole scan, despite removals and additions", () => {
  for (let seed = 1; seed <= 30; seed++) {
    const rng = new Rng(seed);
    const s = new SetValue(false);
    for (let i = 0; i < 200; i++) s.add(`k${i}`);
    const stayers = new Set<string>();
    for (let i = 0; i < 200; i += 3) stayers.add(`k${i}`);
    const seen = new Set<string>();
    let cursor = 0;
    let calls = 0;
    let fresh = 1000;
    do {
      const step = s.scanStep(cursor, rng.int(1, 12));
      for (const m of step.members) seen.add(m);
      cursor = step.cursor;
      // Between calls: remove members that are not stayers, add new ones.
      for (let k = rng.int(0, 6); k > 0; k--) {
        const victim = `k${rng.int(0, 199)}`;
        if (!stayers.has(victim)) s.remove(victim);
      }
      for (let k = rng.int(0, 4); k > 0; k--) s.add(`k${fresh++}`);
      assert.ok(++calls < 1000, "scan does not end");
    } while (cursor !== 0);
    for (const m of stayers) assert.ok(seen.has(m), `seed ${seed}: ${m} missed`);
  }
});

Deno.test("scanStep visits each member once without changes, and 0 ends the scan", () => {
  const s = new SetValue(false);
  for (let i = 0; i < 25; i++) s.add(`v${i}`);
  const seen: string[] = [];
  let cursor = 0;
  const cursors: number[] = [];
  do {
    const step = s.scanStep(cursor, 10);
    seen.push(...step.members);
    cursor = step.cursor;
    cursors.push(cursor);
  } while (cursor !== 0);
  assert.deepEqual(cursors, [15, 5, 0]);
  assert.equal(seen.length, 25);
  assert.equal(new Set(seen).size, 25);
  assert.deepEqual(s.scanStep(1000, 3).members.length, 3);
});

Deno.test("intersect iterates the smallest set first, stable among equal sizes", () => {
  const small = SetValue.fromMembers(["3", "1", "2"]);
  const hash = SetValue.fromMembers(["x", "2", "1", "3"]);
  hash.remove("x");
  assert.deepEqual(intersect([small, hash]), ["1", "2", "3"]);
  assert.deepEqual(intersect([hash, small]), [...hash.members()]);
  assert.deepEqual(intersect([small, hash], 2), ["1", "2"]);
  assert.deepEqual(intersect([small, small]), ["1", "2", "3"]);
  assert.deepEqual(intersect([small, SetValue.fromMembers(["9"])]), []);
});

Deno.test("union and difference build results whose encoding follows Redis's algorithms", () => {
  withIntsetLimit(4, () => {
    const a = SetValue.fromMembers(["1", "2", "3", "4", "5"]);
    assert.equal(a.encoding, "hashtable");
    const one = SetValue.fromMembers(["1"]);
    const two = SetValue.fromMembers(["2"]);
    const three = SetValue.fromMembers(["3"]);
    // Algorithm 1 (few subtracted sets) only adds survivors: an intset.
    const r1 = difference([a, one]);
    assert.deepEqual(r1.members(), ["2", "3", "4", "5"]);
    assert.equal(r1.encoding, "intset");
    // Algorithm 2 first copies all of `a` (5 > 4 members): a hashtable even with 2 left.
    const r2 = difference([a, one, two, three]);
    assert.deepEqual([...r2.members()].sort(), ["4", "5"]);
    assert.equal(r2.encoding, "hashtable");
    assert.equal(difference([a, undefined, one]).size, 4);
    assert.equal(difference([undefined, a]).size, 0);
    assert.equal(difference([a, one, a]).size, 0);
    const u = union([one, undefined, SetValue.fromMembers(["2", "3"])]);
    assert.deepEqual(u.members(), ["1", "2", "3"]);
    assert.equal(u.encoding, "intset");
    assert.equal(union([a]).encoding, "hashtable");
    assert.equal(union([one, SetValue.fromMembers(["x"])]).encoding, "hashtable");
  });
});
