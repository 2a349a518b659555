import assert from "node:assert/strict";
import { Crc64, crc64 } from "./crc64.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("crc64: check value of 123456789 (crc.md)", () => {
  assert.equal(crc64(text("123456789")), 0xe9c6d914c4b8d9can);
});

Deno.test("crc64: Redis's own Lorem ipsum vector, NUL included", () => {
  const li = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore " +
    "et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip " +
    "ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu " +
    "fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt " +
    "mollit anim id est laborum.\0";
  assert.equal(crc64(text(li)), 0xc7794709e69683b3n);
});

Deno.test("crc64: chained updates equal one pass; LE trailer round-trips", () => {
  const c = new Crc64().update(text("12345")).update(text("6789"));
  assert.equal(c.value(), crc64(text("123456789")));
  const out = new Uint8Array(8);
  c.writeLE(out, 0);
  assert.deepEqual([...out], [0xca, 0xd9, 0xb8, 0xc4, 0x14, 0xd9, 0xc6, 0xe9]);
  assert.ok(c.matchesLE(out, 0));
});
