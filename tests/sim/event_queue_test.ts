import assert from "node:assert/strict";
import { EventQueue } from "./event_queue.ts";
import { Rng } from "./rng.ts";

Deno.test("event queue: pops by time, then by insertion order at equal times", () => {
  const queue = new EventQueue();
  const order: string[] = [];
  queue.push(30, () => order.push("c"));
  queue.push(10, () => order.push("a1"));
  queue.push(20, () => order.push("b"));
  queue.push(10, () => order.push("a2"));
  queue.push(10, () => order.push("a3"));
  assert.equal(queue.size, 5);
  assert.equal(queue.peekTime(), 10);
  for (let e = queue.pop(); e !== undefined; e = queue.pop()) e.run();
  assert.deepEqual(order, ["a1", "a2", "a3", "b", "c"]);
  assert.equal(queue.peekTime(), Infinity);
});

Deno.test("event queue: many random times come out sorted and stable", () => {
  const rng = new Rng(5);
  const queue = new EventQueue();
  const pushed: [number, number][] = [];
  const ran: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const at = rng.int(100);
    pushed.push([at, i]);
    queue.push(at, () => ran.push(i));
  }
  let last = -1;
  for (let e = queue.pop(); e !== undefined; e = queue.pop()) {
    assert.ok(e.at >= last);
    last = e.at;
    e.run();
  }
  const expected = pushed.sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i);
  assert.deepEqual(ran, expected);
});
