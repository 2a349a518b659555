import assert from "node:assert/strict";
import { ListValue, NODE_MAX_BYTES } from "./list.ts";
import { Rng } from "../../../tests/helpers/rng.ts";
import { ReplyWriter } from "../../resp/writer.ts";

/** Elements that exercise every entry form: small and large integers, integer-like strings, binary, long. */
const SAMPLES = [
  "0",
  "1",
  "127",
  "128",
  "-1",
  "-128",
  "-129",
  "32767",
  "-32769",
  "8388608",
  "2147483648",
  "140737488355327",
  "-140737488355327",
  "140737488355328",
  "-140737488355328",
  "9223372036854775807",
  "-0",
  "007",
  "+5",
  "1.5",
  "",
  "-",
  "a",
  "\x00\xff\x80",
  "x".repeat(63),
  "y".repeat(64),
  "z\xe9".repeat(200),
  "w".repeat(8191),
  "v".repeat(8192),
  "u".repeat(20000),
];

Deno.test("list: every entry form round-trips through push, index and pop at both ends", () => {
  const list = ListValue.from(SAMPLES);
  assert.equal(list.length, SAMPLES.length);
  assert.deepEqual(list.values(), SAMPLES);
  for (let i = 0; i < SAMPLES.length; i++) {
    assert.equal(list.at(i), SAMPLES[i], `index ${i}`);
    assert.equal(list.at(i - SAMPLES.length), SAMPLES[i], `negative index ${i}`);
  }
  assert.equal(list.at(SAMPLES.length), undefined);
  assert.equal(list.at(-SAMPLES.length - 1), undefined);
  const front = new ListValue();
  for (const s of SAMPLES) front.pushFront(s);
  assert.deepEqual(front.values(), SAMPLES.slice().reverse());
  const popped: string[] = [];
  while (list.length > 0) popped.push(list.popBack()!);
  assert.deepEqual(popped, SAMPLES.slice().reverse());
  assert.equal(list.popBack(), undefined);
  assert.equal(list.popFront(), undefined);
});

Deno.test("list: all integers around the binary forms' limits decode to their own text", () => {
  const values: string[] = [];
  for (let bytes = 1; bytes <= 7; bytes++) {
    const edge = 2 ** (8 * bytes - 1);
    for (const v of [edge - 1, edge, edge + 1, -edge, -edge - 1, -edge + 1]) values.push(String(v));
  }
  const list = ListValue.from(values);
  assert.deepEqual(list.values(), values);
  assert.deepEqual(list.range(3, 5), values.slice(3, 8));
});

Deno.test("list: matches a plain array under random operations (seeded)", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const random = new Rng(seed).asFunction();
    const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
    const element = () => {
      const r = random();
      if (r < 0.4) return SAMPLES[int(0, 12)];
      if (r < 0.7) return String.fromCharCode(97 + int(0, 3));
      if (r < 0.98) return "e" + int(0, 50) + "-".repeat(int(0, 90));
      return SAMPLES[int(0, SAMPLES.length - 1)];
    };
    const list = new ListValue();
    const model: string[] = [];
    for (let step = 0; step < 4000; step++) {
      const op = int(0, 12);
      const where = `seed ${seed} step ${step} op ${op}`;
      if (op <= 2) {
        const e = element();
        list.pushBack(e);
        model.push(e);
      } else if (op <= 4) {
        const e = element();
        list.pushFront(e);
        model.unshift(e);
      } else if (op === 5) {
        assert.equal(list.popFront(), model.shift(), where);
      } else if (op === 6) {
        assert.equal(list.popBack(), model.pop(), where);
      } else if (op === 7) {
        const i = int(-model.length - 2, model.length + 1);
        const e = element();
        const ok = list.set(i, e);
        const j = i < 0 ? i + model.length : i;
        assert.equal(ok, j >= 0 && j < model.length, where);
        if (ok) model[j] = e;
      } else if (op === 8) {
        const pivot = element();
        const e = element();
        const after = random() < 0.5;
        const at = model.indexOf(pivot);
        assert.equal(list.insert(pivot, e, after), at !== -1, where);
        if (at !== -1) model.splice(after ? at + 1 : at, 0, e);
      } else if (op === 9) {
        const e = element();
        const count = int(-3, 3);
        let removed = 0;
        if (count >= 0) {
          for (let i = 0; i < model.length && (count === 0 || removed < count);) {
            if (model[i] === e) {
              model.splice(i, 1);
              removed++;
            } else {
              i++;
            }
          }
        } else {
          for (let i = model.length - 1; i >= 0 && removed < -count; i--) {
            if (model[i] === e) {
              model.splice(i, 1);
              removed++;
            }
          }
        }
        assert.equal(list.remove(e, count), removed, where);
      } else if (op === 10 && model.length > 0) {
        const front = int(0, Math.min(5, model.length));
        const back = int(0, Math.min(5, model.length - front));
        list.deleteFront(front);
        list.deleteBack(back);
        model.splice(0, front);
        model.splice(model.length - back, back);
      } else if (op === 11) {
        const e = element();
        const rank = random() < 0.5 ? int(1, 3) : -int(1, 3);
        const count = int(0, 3);
        const maxlen = int(0, 1) === 0 ? 0 : int(1, model.length + 1);
        assert.deepEqual(list.positions(e, rank, count, maxlen), modelPositions(model, e, rank, count, maxlen), where);
      } else if (model.length > 0) {
        const start = int(0, model.length - 1);
        const n = int(0, model.length - start);
        assert.deepEqual(list.range(start, n), model.slice(start, start + n), where);
      }
      assert.equal(list.length, model.length, where);
    }
    assert.deepEqual(list.values(), model, `seed ${seed} final`);
    const copy = list.clone();
    copy.pushBack("extra");
    assert.deepEqual(list.values(), model, `seed ${seed}: the clone is independent`);
    assert.deepEqual(copy.values(), [...model, "extra"]);
  }
});

function modelPositions(model: string[], e: string, rank: number, count: number, maxlen: number): number[] {
  const out: number[] = [];
  let skip = Math.abs(rank) - 1;
  const limit = maxlen === 0 ? model.length : Math.min(maxlen, model.length);
  for (let k = 0; k < limit; k++) {
    const i = rank > 0 ? k : model.length - 1 - k;
    if (model[i] !== e) continue;
    if (skip > 0) {
      skip--;
      continue;
    }
    out.push(i);
    if (out.length === count) break;
  }
  return out;
}

Deno.test("list: nodes stay within NODE_MAX_BYTES and a million integers pack into about 5 bytes each", () => {
  const list = new ListValue();
  for (let i = 0; i < 1_000_000; i++) list.pushBack(String(i));
  const { nodes, bytes, capacity } = list.stats();
  assert.ok(nodes > 1);
  assert.ok(bytes / nodes <= NODE_MAX_BYTES);
  // Integers below 2^23 take a header, three bytes and a backlen byte at most.
  assert.ok(bytes <= 5 * 1_000_000, `packed bytes ${bytes}`);
  assert.ok(capacity <= bytes * 1.01, `capacity ${capacity} for ${bytes} packed bytes`);
  assert.equal(list.at(999_999), "999999");
  assert.equal(list.at(500_000), "500000");
  assert.deepEqual(list.range(499_998, 3), ["499998", "499999", "500000"]);
  list.deleteFront(400_000);
  list.deleteBack(400_000);
  assert.equal(list.length, 200_000);
  assert.equal(list.at(0), "400000");
  assert.equal(list.at(-1), "599999");
});

Deno.test("list: LSET and LINSERT of large elements split nodes without losing order", () => {
  const list = ListValue.from(Array.from({ length: 300 }, (_, i) => "item" + i));
  assert.ok(list.set(150, "L".repeat(3 * NODE_MAX_BYTES)));
  assert.ok(list.insert("item10", "M".repeat(NODE_MAX_BYTES), true));
  const values = list.values();
  assert.equal(values.length, 301);
  assert.equal(values[11], "M".repeat(NODE_MAX_BYTES));
  assert.equal(values[151], "L".repeat(3 * NODE_MAX_BYTES));
  assert.equal(values[300], "item299");
  assert.equal(list.at(151), "L".repeat(3 * NODE_MAX_BYTES));
  assert.equal(list.remove("L".repeat(3 * NODE_MAX_BYTES), 0), 1);
  assert.equal(list.length, 300);
});

Deno.test("list: replyRange writes the bytes bulkArray writes for the same elements", () => {
  const rng = new Rng(7);
  const list = ListValue.from([...SAMPLES, ...SAMPLES.map((s, i) => (i % 2 ? "-" : "") + s.length), "-8388609"]);
  for (let i = 0; i < 3000; i++) list.pushBack(SAMPLES[rng.int(0, SAMPLES.length - 1)]);
  for (let round = 0; round < 200; round++) {
    const start = rng.int(0, list.length - 1);
    const count = rng.int(0, Math.min(120, list.length - start));
    const [expected, actual] = [new ReplyWriter(), new ReplyWriter()];
    expected.bulkArray(list.range(start, count));
    list.replyRange(start, count, actual);
    assert.deepEqual(actual.bytes.subarray(0, actual.length), expected.bytes.subarray(0, expected.length));
  }
});
