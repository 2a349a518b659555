import assert from "node:assert/strict";
import { lzfCompress, lzfDecompress } from "./lzf.ts";
import { Rng } from "../../tests/helpers/rng.ts";

Deno.test("lzf: round trip of compressible and random inputs", () => {
  const rng = new Rng(7).asFunction();
  for (let round = 0; round < 300; round++) {
    const n = 1 + Math.floor(rng() * 3000);
    const alphabet = 1 + Math.floor(rng() * 255);
    const input = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      input[i] = rng() < 0.3 && i > 10 ? input[i - 1 - Math.floor(rng() * 10)] : Math.floor(rng() * alphabet);
    }
    const compressed = lzfCompress(input, n + Math.ceil(n / 32) + 1); // the worst case: all literals
    assert.ok(compressed !== null);
    assert.deepEqual(lzfDecompress(compressed, n), input);
  }
});

Deno.test("lzf: refuses output that does not fit and corrupt input", () => {
  const random = crypto.getRandomValues(new Uint8Array(100));
  assert.equal(lzfCompress(random, 96), null);
  const runs = new Uint8Array(1000).fill(97);
  const c = lzfCompress(runs, 996)!;
  assert.ok(c.length < 30);
  assert.equal(lzfDecompress(c, 999), null);
  assert.equal(lzfDecompress(c, 1001), null);
  assert.equal(lzfDecompress(new Uint8Array([0x20, 0x05]), 10), null); // reference before the start
  assert.equal(lzfDecompress(new Uint8Array([0x05, 1, 2]), 6), null); // literal run past the input
});
