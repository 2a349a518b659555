import assert from "node:assert/strict";
import { Rng } from "./rng.ts";

Deno.test("rng: one seed gives one sequence, another seed another", () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const seqA = Array.from({ length: 20 }, () => a.next());
  const seqB = Array.from({ length: 20 }, () => b.next());
  const seqC = Array.from({ length: 20 }, () => c.next());
  assert.deepEqual(seqA, seqB);
  assert.notDeepEqual(seqA, seqC);
});

Deno.test("rng: values stay in range and cover it", () => {
  const rng = new Rng(7);
  const seen = new Set<number>();
  for (let i = 0; i < 10_000; i++) {
    const f = rng.next();
    assert.ok(f >= 0 && f < 1);
    const r = rng.range(3, 9);
    assert.ok(r >= 3 && r <= 9 && Number.isInteger(r));
    seen.add(r);
  }
  assert.deepEqual([...seen].sort(), [3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("rng: chance follows its probability roughly; shuffle keeps the elements", () => {
  const rng = new Rng(1);
  let hits = 0;
  for (let i = 0; i < 10_000; i++) if (rng.chance(0.25)) hits++;
  assert.ok(hits > 2200 && hits < 2800, `${hits}`);
  const items = [1, 2, 3, 4, 5, 6, 7, 8];
  const shuffled = rng.shuffle(items);
  assert.deepEqual([...shuffled].sort(), items);
  assert.deepEqual(items, [1, 2, 3, 4, 5, 6, 7, 8]);
});
