import assert from "node:assert/strict";
import {
  LEX_MAX,
  LEX_MIN,
  LEX_STRING,
  listpackScoreText,
  parseLexRange,
  parseScore,
  parseScoreRange,
  strtod,
  ZADD_IN_GT,
  ZADD_IN_INCR,
  ZADD_IN_LT,
  ZADD_IN_NX,
  ZADD_IN_XX,
  ZADD_OUT_ADDED,
  ZADD_OUT_NAN,
  ZADD_OUT_NOP,
  ZADD_OUT_UPDATED,
  ZSetValue,
} from "./zset.ts";
import { Rng } from "../../../tests/helpers/rng.ts";
import { typeLimits } from "./limits.ts";

/** Runs `fn` with other listpack limits, restoring the defaults after. */
function withLimits(entries: number, value: number, fn: () => void): void {
  const saved = { ...typeLimits };
  typeLimits.zsetMaxListpackEntries = entries;
  typeLimits.zsetMaxListpackValue = value;
  try {
    fn();
  } finally {
    Object.assign(typeLimits, saved);
  }
}

/** Sorted-set order of [member, score] pairs. */
function byKey(a: [string, number], b: [string, number]): number {
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

function contents(z: ZSetValue): [string, number][] {
  const out: [string, number][] = [];
  z.walk(0, false, (m, s) => out.push([m, s]) > 0);
  return out;
}

Deno.test("parseScore follows strtod with Redis's checks", () => {
  assert.equal(parseScore("1.5"), 1.5);
  assert.equal(parseScore("+.5e1"), 5);
  assert.equal(parseScore("5."), 5);
  assert.ok(Object.is(parseScore("-0"), -0));
  assert.equal(parseScore("0x10"), 16);
  assert.equal(parseScore("0X1.8p1"), 3);
  assert.equal(parseScore("-0x.8P-1"), -0.25);
  assert.equal(parseScore("inf"), Infinity);
  assert.equal(parseScore("-Infinity"), -Infinity);
  assert.equal(parseScore("+INF"), Infinity);
  assert.equal(parseScore("4.9e-324"), 5e-324);
  assert.equal(parseScore("0e999999"), 0);
  assert.equal(parseScore("1e308"), 1e308);
  for (
    const bad of [
      "",
      " 1",
      "1 ",
      "abc",
      "nan",
      "-nan",
      "1e400",
      "-1e400",
      "1e-400",
      "0x",
      "0x1p",
      "1e",
      "1_0",
      "1\x002",
    ]
  ) {
    assert.ok(Number.isNaN(parseScore(bad)), JSON.stringify(bad));
  }
});

Deno.test("parseScore rounds hexadecimal floats to nearest, ties to even", () => {
  // 1 + 2^-53 lies halfway between 1 and 1 + 2^-52: the even one (1) wins.
  assert.equal(parseScore("0x1.00000000000008p0"), 1);
  // 1 + 3 * 2^-53 lies halfway between 1 + 2^-52 and 1 + 2^-51: the even one wins.
  assert.equal(parseScore("0x1.00000000000018p0"), 1 + 2 ** -51);
  assert.equal(parseScore("0x1.00000000000009p0"), 1 + 2 ** -52);
  assert.equal(parseScore("0x1p-1074"), 5e-324);
  assert.equal(parseScore("0x1.8p-1075"), 5e-324);
  assert.ok(Number.isNaN(parseScore("0x1p-1075")), "rounds to zero: underflow");
  assert.equal(parseScore("0x1.fffffffffffffp1023"), Number.MAX_VALUE);
  assert.ok(Number.isNaN(parseScore("0x1p1024")), "overflow");
});

Deno.test("strtod reads a prefix as C does", () => {
  assert.deepEqual(strtod(" \t12abc"), { value: 12, end: 4 });
  assert.deepEqual(strtod("abc"), { value: 0, end: 0 });
  assert.deepEqual(strtod("  "), { value: 0, end: 0 });
  assert.deepEqual(strtod("-inf!"), { value: -Infinity, end: 4 });
  assert.deepEqual(strtod("infinity"), { value: Infinity, end: 8 });
  assert.deepEqual(strtod("infinit"), { value: Infinity, end: 3 });
  assert.deepEqual(strtod("0x"), { value: 0, end: 1 });
  assert.deepEqual(strtod("0x1p"), { value: 1, end: 3 });
  assert.deepEqual(strtod("1e"), { value: 1, end: 1 });
  assert.deepEqual(strtod("1e+5x"), { value: 1e5, end: 4 });
  assert.deepEqual(strtod("(5", 1), { value: 5, end: 2 });
  const nan = strtod("nan(123)x");
  assert.ok(Number.isNaN(nan.value));
  assert.equal(nan.end, 8);
});

Deno.test("parseScoreRange accepts what zslParseRange accepts", () => {
  assert.deepEqual(parseScoreRange("(1", "2.5"), { min: 1, max: 2.5, minex: true, maxex: false });
  assert.deepEqual(parseScoreRange("", "("), { min: 0, max: 0, minex: false, maxex: true });
  assert.deepEqual(parseScoreRange(" 1", "3\x00junk"), { min: 1, max: 3, minex: false, maxex: false });
  assert.deepEqual(parseScoreRange("-inf", "1e999"), { min: -Infinity, max: Infinity, minex: false, maxex: false });
  assert.equal(parseScoreRange("1 ", "2"), null);
  assert.equal(parseScoreRange("1", "nan"), null);
  assert.equal(parseScoreRange("(abc", "2"), null);
});

Deno.test("parseLexRange accepts + - ( [ only", () => {
  assert.deepEqual(parseLexRange("-", "+"), {
    min: "",
    max: "",
    minKind: LEX_MIN,
    maxKind: LEX_MAX,
    minex: true,
    maxex: true,
  });
  assert.deepEqual(parseLexRange("[a", "(b"), {
    min: "a",
    max: "b",
    minKind: LEX_STRING,
    maxKind: LEX_STRING,
    minex: false,
    maxex: true,
  });
  assert.notEqual(parseLexRange("+\x00x", "-"), null, "C stops at the NUL");
  for (const [a, b] of [["a", "+"], ["", "+"], ["+x", "-"], ["-", "b"]]) assert.equal(parseLexRange(a, b), null);
});

Deno.test("listpackScoreText prints integral scores within 2^62 in full", () => {
  const g17 = (d: number) => d.toExponential(16);
  assert.equal(listpackScoreText(1e17, g17), "100000000000000000");
  assert.equal(listpackScoreText(-4611686018427387904, g17), "-4611686018427387904");
  assert.equal(listpackScoreText(4611686018427388928, g17), g17(4611686018427388928));
  assert.equal(listpackScoreText(0.5, g17), g17(0.5));
  assert.equal(listpackScoreText(-0, g17), "0");
});

Deno.test("ZADD semantics: flags, results and newScore", () => {
  const z = new ZSetValue();
  assert.equal(z.add(1, "a", 0), ZADD_OUT_ADDED);
  assert.equal(z.add(1, "a", 0), 0, "same score: processed, not updated");
  assert.equal(z.add(2, "a", 0), ZADD_OUT_UPDATED);
  assert.equal(z.add(5, "a", ZADD_IN_NX), ZADD_OUT_NOP);
  assert.equal(z.add(5, "b", ZADD_IN_XX), ZADD_OUT_NOP);
  assert.equal(z.add(1, "a", ZADD_IN_GT), ZADD_OUT_NOP);
  assert.equal(z.add(3, "a", ZADD_IN_GT), ZADD_OUT_UPDATED);
  assert.equal(z.add(4, "a", ZADD_IN_LT), ZADD_OUT_NOP);
  assert.equal(z.add(1, "new", ZADD_IN_LT), ZADD_OUT_ADDED, "GT/LT do not stop new members");
  assert.equal(z.add(2, "a", ZADD_IN_INCR), ZADD_OUT_UPDATED);
  assert.equal(z.newScore, 5);
  assert.equal(z.add(Infinity, "a", ZADD_IN_INCR), ZADD_OUT_UPDATED);
  assert.equal(z.add(-Infinity, "a", ZADD_IN_INCR), ZADD_OUT_NAN);
  assert.equal(z.score("a"), Infinity);
  assert.equal(z.add(NaN, "x", 0), ZADD_OUT_NAN);
  assert.deepEqual(contents(z), [["new", 1], ["a", Infinity]]);
});

Deno.test("listpack stores -0 as 0, a skiplist keeps it", () => {
  const lp = new ZSetValue();
  lp.add(-0, "a", 0);
  assert.ok(Object.is(lp.score("a"), 0));
  withLimits(0, 64, () => {
    const sl = new ZSetValue();
    sl.add(-0, "a", 0);
    assert.equal(sl.encoding, "skiplist");
    assert.ok(Object.is(sl.score("a"), -0));
  });
});

Deno.test("encoding: listpack until a limit is passed, then skiplist for good", () => {
  withLimits(3, 4, () => {
    const z = new ZSetValue();
    for (const m of ["a", "b", "c"]) z.add(1, m, 0);
    assert.equal(z.encoding, "listpack");
    z.add(2, "a", 0);
    assert.equal(z.encoding, "listpack", "updates never convert");
    z.add(1, "d", 0);
    assert.equal(z.encoding, "skiplist");
    for (const m of ["a", "b", "c"]) z.remove(m);
    assert.equal(z.encoding, "skiplist", "no conversion back");
    const long = new ZSetValue();
    long.add(1, "abcde", 0);
    assert.equal(long.encoding, "skiplist");
    assert.equal(ZSetValue.fromSorted(["a", "b", "c"], [1, 2, 3]).encoding, "listpack");
    assert.equal(ZSetValue.fromSorted(["a", "b", "c", "d"], [1, 2, 3, 4]).encoding, "skiplist");
    assert.equal(ZSetValue.fromSorted(["abcde"], [1]).encoding, "skiplist");
    assert.equal(ZSetValue.withSizeHint(3).encoding, "listpack");
    assert.equal(ZSetValue.withSizeHint(4).encoding, "skiplist");
    const copy = z.clone();
    assert.equal(copy.encoding, "skiplist");
    copy.add(9, "zz", 0);
    assert.equal(z.score("zz"), undefined, "a clone is independent");
  });
});

/** Applies random operations to a value and to a plain model, comparing them as it goes. */
function modelTest(seed: number, ops: number, memberSpace: number, entries: number): void {
  withLimits(entries, 64, () => {
    const rand = new Rng(seed).asFunction();
    const z = new ZSetValue();
    const model = new Map<string, number>();
    const sortedModel = () => [...model].sort(byKey);
    for (let op = 0; op < ops; op++) {
      const member = "m" + Math.floor(rand() * memberSpace);
      const score = Math.floor(rand() * 50) / 2;
      const r = rand();
      if (r < 0.55) {
        const out = z.add(score, member, 0);
        const before = model.get(member);
        assert.equal(out, before === undefined ? ZADD_OUT_ADDED : before === score ? 0 : ZADD_OUT_UPDATED);
        model.set(member, score);
      } else if (r < 0.85) {
        assert.equal(z.remove(member), model.delete(member));
      } else if (r < 0.9 && z.size > 0) {
        const [m, s] = z.pop(rand() < 0.5);
        assert.equal(model.get(m), s);
        model.delete(m);
      } else if (r < 0.95 && z.size > 0) {
        const start = Math.floor(rand() * z.size);
        const end = Math.min(z.size - 1, start + Math.floor(rand() * 40));
        const doomed = sortedModel().slice(start, end + 1);
        assert.equal(z.removeRankRange(start, end), doomed.length);
        for (const [m] of doomed) model.delete(m);
      } else {
        const expected = sortedModel();
        assert.equal(z.size, expected.length);
        const rankOf = expected.findIndex(([m]) => m === member);
        assert.equal(z.rank(member), rankOf);
        assert.equal(z.rank(member, true), rankOf < 0 ? -1 : expected.length - 1 - rankOf);
        if (expected.length > 0) {
          const at = Math.floor(rand() * expected.length);
          assert.equal(z.memberAt(at), expected[at][0]);
          assert.equal(z.scoreAt(at), expected[at][1]);
        }
        const range = { min: score, max: score + 5, minex: rand() < 0.5, maxex: rand() < 0.5 };
        const inRange = expected.filter(([, s]) =>
          (range.minex ? s > range.min : s >= range.min) && (range.maxex ? s < range.max : s <= range.max)
        );
        assert.equal(z.countInScoreRange(range), inRange.length);
        const first = z.scoreRangeStart(range, false);
        assert.equal(first, inRange.length === 0 ? -1 : expected.indexOf(inRange[0]));
        const last = z.scoreRangeStart(range, true);
        assert.equal(last, inRange.length === 0 ? -1 : expected.indexOf(inRange[inRange.length - 1]));
        z.check();
      }
    }
    z.check();
    assert.deepEqual(contents(z), sortedModel());
    const back: [string, number][] = [];
    z.walk(z.size - 1, true, (m, s) => back.push([m, s]) > 0);
    assert.deepEqual(back.reverse(), sortedModel());
  });
}

Deno.test("listpack encoding agrees with a model", () => modelTest(1, 3000, 60, 1000));

Deno.test("skiplist encoding agrees with a model through splits and merges", () => {
  modelTest(2, 60000, 20000, 0);
  modelTest(3, 20000, 300, 0);
});

Deno.test("skiplist: large sets keep rank and order through bulk removal", () => {
  withLimits(0, 64, () => {
    const z = new ZSetValue();
    const n = 50000;
    const rand = new Rng(7).asFunction();
    for (let i = 0; i < n; i++) z.add(Math.floor(rand() * 1000), "k" + i, 0);
    z.check();
    assert.equal(z.size, n);
    for (let i = 0; i < n; i += 3) z.remove("k" + i);
    z.check();
    const all = contents(z);
    for (let i = 0; i < all.length; i += 997) assert.equal(z.rank(all[i][0]), i);
    assert.equal(
      z.removeScoreRange({ min: 100, max: 899, minex: false, maxex: true }),
      all.filter(([, s]) => s >= 100 && s < 899).length,
    );
    z.check();
    while (z.size > 0) z.pop(rand() < 0.5);
    z.check();
  });
});

Deno.test("lex ranges: listpack scans like Redis, skiplist descends", () => {
  const lp = new ZSetValue();
  for (const m of ["a", "b", "c", "d", "e"]) lp.add(0, m, 0);
  const r = parseLexRange("[b", "(d")!;
  assert.equal(lp.lexRangeStart(r, false), 1);
  assert.equal(lp.lexRangeStart(r, true), 2);
  assert.equal(lp.countInLexRange(r), 2);
  assert.equal(lp.countInLexRange(parseLexRange("+", "-")!), 0);
  assert.equal(lp.countInLexRange(parseLexRange("[b", "(b")!), 0);
  withLimits(0, 64, () => {
    const sl = new ZSetValue();
    for (const m of ["a", "b", "c", "d", "e"]) sl.add(0, m, 0);
    assert.equal(sl.lexRangeStart(r, false), 1);
    assert.equal(sl.lexRangeStart(r, true), 2);
    assert.equal(sl.countInLexRange(r), 2);
    assert.equal(sl.removeLexRange(parseLexRange("-", "[c")!), 3);
    assert.deepEqual(contents(sl), [["d", 0], ["e", 0]]);
  });
  // Mixed scores in a listpack: Redis's linear scan from the head decides.
  const mixed = new ZSetValue();
  mixed.add(1, "b", 0);
  mixed.add(2, "a", 0);
  mixed.add(3, "d", 0);
  mixed.add(4, "c", 0);
  assert.equal(mixed.lexRangeStart(parseLexRange("[a", "[c")!, false), 0);
  assert.equal(mixed.countInLexRange(parseLexRange("[a", "[c")!), 2);
  assert.equal(mixed.lexRangeStart(parseLexRange("[a", "[c")!, true), 3);
});

Deno.test("ZSCAN of a skiplist returns every member present for the whole scan", () => {
  withLimits(0, 64, () => {
    const z = new ZSetValue();
    for (let i = 0; i < 500; i++) z.add(i, "s" + i, 0);
    const seen = new Set<string>();
    let cursor = 0;
    let calls = 0;
    do {
      const batch = z.scan(cursor, 7);
      for (let i = 0; i < batch.members.length; i++) {
        seen.add(batch.members[i]);
        assert.equal(batch.scores[i], z.score(batch.members[i]));
      }
      cursor = batch.cursor;
      // Churn between calls: new members, removed members, changed scores.
      z.add(1000 + calls, "new" + calls, 0);
      z.remove("s" + (calls * 2 + 1));
      z.add(-calls, "s" + (calls * 2 + 100), 0);
      calls++;
    } while (cursor !== 0 && calls < 10000);
    assert.equal(cursor, 0);
    for (let i = 0; i < 500; i += 2) assert.ok(seen.has("s" + i), `s${i} missed`);
  });
  const listpack = new ZSetValue();
  listpack.add(1, "x", 0);
  listpack.add(2, "y", 0);
  assert.deepEqual(listpack.scan(99, 1), { cursor: 0, members: ["x", "y"], scores: [1, 2] });
});

Deno.test("random elements come from the set", () => {
  for (const entries of [128, 0]) {
    withLimits(entries, 64, () => {
      const z = new ZSetValue();
      for (let i = 0; i < 20; i++) z.add(i, "r" + i, 0);
      for (let i = 0; i < 100; i++) {
        const [m, s] = z.randomElement();
        assert.equal(z.score(m), s);
      }
    });
  }
});
