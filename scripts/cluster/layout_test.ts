import assert from "node:assert/strict";
import { layoutPorts, makeLayout, slotRanges } from "./layout.ts";

Deno.test("cluster layout: redis-cli's even split of the slots", () => {
  assert.deepEqual(slotRanges(3), [[0, 5460], [5461, 10922], [10923, 16383]]);
  assert.deepEqual(slotRanges(1), [[0, 16383]]);
  const four = slotRanges(4);
  assert.deepEqual(four, [[0, 4095], [4096, 8191], [8192, 12287], [12288, 16383]]);
});

Deno.test("cluster layout: masters first, then one round of replicas per --replicas", () => {
  const layout = makeLayout(30001, 3, 1);
  assert.deepEqual(layout.masterPorts, [30001, 30002, 30003]);
  assert.deepEqual([...layout.replicaOf], [[30004, 30001], [30005, 30002], [30006, 30003]]);
  assert.deepEqual(layoutPorts(makeLayout(100, 2, 2)), [100, 101, 102, 103, 104, 105]);
  assert.deepEqual([...makeLayout(100, 2, 2).replicaOf], [[102, 100], [103, 101], [104, 100], [105, 101]]);
  assert.equal(makeLayout(100, 3, 0).replicaOf.size, 0);
});
