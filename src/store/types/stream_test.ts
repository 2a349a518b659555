import assert from "node:assert/strict";
import { formatStreamId, IdSet, makeStreamId, StreamValue } from "./stream.ts";

const LIMITS = { maxBytes: 4096, maxEntries: 3 };

function streamOf(ids: number[], limits = LIMITS): StreamValue {
  const s = new StreamValue();
  for (const ms of ids) s.append(makeStreamId(BigInt(ms), 0n), ["f", String(ms)], limits);
  return s;
}

function liveIds(s: StreamValue): string[] {
  const out: string[] = [];
  s.walk(0n, (1n << 128n) - 1n, false, (e) => {
    out.push(formatStreamId(e.id));
    return true;
  });
  return out;
}

Deno.test("stream: nodes split at stream-node-max-entries, deleted entries included", () => {
  const s = streamOf([1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(s.nodes.map((n) => n.entries.length), [3, 3, 1]);
  assert.ok(s.deleteId(makeStreamId(7n, 0n)));
  // The tail node lost its only live entry: gone, so the next entry starts a node.
  assert.equal(s.nodes.length, 2);
  s.append(makeStreamId(8n, 0n), ["f", "8"], LIMITS);
  assert.deepEqual(s.nodes.map((n) => n.entries.length), [3, 3, 1]);
  assert.equal(s.length, 7);
  assert.equal(s.entriesAdded, 8n);
});

Deno.test("stream: nodes split when the listpack would reach stream-node-max-bytes", () => {
  const s = streamOf([1, 2, 3, 4], { maxBytes: 40, maxEntries: 0 });
  // Each entry adds 8 bytes; a node starts at 7 + master (1 + 1 + 1 + 2 + 2) bytes.
  assert.ok(s.nodes.length >= 2);
  for (const n of s.nodes) assert.ok(n.listpackBytes() < 40 + 8);
});

Deno.test("stream: walk forward and backward across nodes, skipping tombstones", () => {
  const s = streamOf([1, 2, 3, 4, 5, 6, 7, 8]);
  s.deleteId(makeStreamId(4n, 0n));
  s.deleteId(makeStreamId(2n, 0n));
  assert.deepEqual(liveIds(s), ["1-0", "3-0", "5-0", "6-0", "7-0", "8-0"]);
  const back: string[] = [];
  s.walk(makeStreamId(2n, 0n), makeStreamId(6n, 5n), true, (e) => {
    back.push(formatStreamId(e.id));
    return true;
  });
  assert.deepEqual(back, ["6-0", "5-0", "3-0"]);
  assert.equal(s.lastValidId(), makeStreamId(8n, 0n));
  assert.equal(s.edgeId(true, true), makeStreamId(1n, 0n));
});

Deno.test("stream: exact and approximate trimming", () => {
  const s = streamOf([1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(s.trim(6, 0n, true, 0), 0); // the first node holds 3: removing it would leave 5
  assert.equal(s.trim(5, 0n, true, 0), 3);
  assert.equal(s.trim(3, 0n, false, 0), 2);
  assert.deepEqual(liveIds(s), ["6-0", "7-0", "8-0"]);
  assert.equal(s.firstId, makeStreamId(6n, 0n));
  assert.equal(s.trim(null, makeStreamId(8n, 0n), false, 0), 2);
  assert.deepEqual(liveIds(s), ["8-0"]);
  assert.equal(s.trim(0, 0n, false, 0), 1);
  assert.equal(s.length, 0);
  assert.equal(s.firstId, 0n);
});

Deno.test("stream: radix tree node count follows rax", () => {
  assert.equal(new StreamValue().radixTreeNodes(), 1);
  assert.equal(streamOf([1]).radixTreeNodes(), 2);
  // Keys 1-0 and 3-0 differ in the last ms byte: the root compresses 7 bytes into a branch, and each
  // branch child compresses the 8 seq bytes into its leaf (redis-server 7.0 reports 6 too).
  const two = streamOf([1, 2, 3, 4], { maxBytes: 4096, maxEntries: 2 });
  assert.equal(two.nodes.length, 2);
  assert.equal(two.radixTreeNodes(), 6);
});

Deno.test("stream: clone is deep, groups and PEL included", () => {
  const s = streamOf([1, 2]);
  const g = s.createGroup("g", 0n, -1n)!;
  const alice = g.createConsumer("alice", 5)!;
  g.addNack(makeStreamId(1n, 0n), { time: 7, count: 1n, consumer: alice });
  alice.pel.add(makeStreamId(1n, 0n));
  const copy = s.clone();
  copy.deleteId(makeStreamId(1n, 0n));
  const cg = copy.group("g")!;
  assert.equal(cg.pel.get(makeStreamId(1n, 0n))!.consumer, cg.consumers.get("alice"));
  assert.equal(s.length, 2);
  assert.equal(copy.length, 1);
  assert.equal(g.pel.get(makeStreamId(1n, 0n))!.consumer, alice);
});

Deno.test("IdSet keeps ids sorted", () => {
  const set = new IdSet();
  for (const v of [5n, 1n, 9n, 3n, 9n]) set.add(v);
  assert.deepEqual(set.ids, [1n, 3n, 5n, 9n]);
  assert.ok(set.delete(3n));
  assert.ok(!set.delete(3n));
  assert.equal(set.lowerBound(4n), 1);
  assert.ok(set.has(9n));
});
