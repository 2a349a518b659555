import assert from "node:assert/strict";
import { REPL_BACKLOG_MIN_BYTES, ReplBacklog } from "./backlog.ts";

function bytesOf(start: number, len: number): Uint8Array {
  return Uint8Array.from({ length: len }, (_, i) => (start + i) & 0xff);
}

Deno.test("backlog keeps the newest bytes and serves any covered offset", () => {
  const b = new ReplBacklog(REPL_BACKLOG_MIN_BYTES, 1);
  let offset = 1;
  const chunks = [10, 7000, 9000, 1, 20000, 300];
  for (const len of chunks) {
    b.append(bytesOf(offset, len));
    offset += len;
  }
  const end = offset; // next byte's offset
  assert.equal(b.histlen, REPL_BACKLOG_MIN_BYTES);
  assert.equal(b.offset, end - REPL_BACKLOG_MIN_BYTES);
  assert.ok(b.covers(end));
  assert.ok(!b.covers(b.offset - 1));
  for (const from of [b.offset, b.offset + 1, end - 5, end]) {
    assert.deepEqual(b.from(from), bytesOf(from, end - from));
  }
});

Deno.test("backlog resize keeps the tail", () => {
  const b = new ReplBacklog(REPL_BACKLOG_MIN_BYTES * 2, 100);
  b.append(bytesOf(100, 30000));
  b.resize(REPL_BACKLOG_MIN_BYTES);
  assert.equal(b.histlen, REPL_BACKLOG_MIN_BYTES);
  assert.deepEqual(b.from(b.offset), bytesOf(b.offset, REPL_BACKLOG_MIN_BYTES));
  b.append(bytesOf(30100, 10));
  assert.deepEqual(b.from(30100 - 5), bytesOf(30095, 15));
});
