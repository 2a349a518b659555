import assert from "node:assert/strict";
import fc from "fast-check";
import { crc16, hintKeySlot, keyHashSlot, keyHashSlotBytes } from "./slots.ts";

Deno.test("crc16 check value", () => {
  assert.equal(crc16("123456789"), 0x31c3);
});

Deno.test("keyHashSlot matches redis-server 7.0 CLUSTER KEYSLOT", () => {
  const cases: [string, number][] = [
    ["foo", 12182],
    ["{user1000}.following", 3443],
    ["{user1000}.followers", 3443],
    ["foo{}{bar}", 8363],
    ["foo{{bar}}zap", 4015],
    ["foo{bar}{zap}", 5061],
    ["{}", 15257],
    ["", 0],
    ["a", 15495],
    ["b", 3300],
  ];
  for (const [key, slot] of cases) assert.equal(keyHashSlot(key), slot, key);
});

/** The bit-by-bit definition of CRC16/XMODEM (crc.md 1.1), as a reference for the table code. */
function crc16Reference(bytes: number[]): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

Deno.test("crc16 equals the bit-by-bit definition on random byte strings and ranges", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 64 }), fc.nat(), fc.nat(), (bytes, a, b) => {
      const s = String.fromCharCode(...bytes);
      const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
      const end = start + (bytes.length - start === 0 ? 0 : b % (bytes.length - start + 1));
      assert.equal(crc16(s, start, end), crc16Reference(bytes.slice(start, end)));
    }),
    { numRuns: 2000 },
  );
});

Deno.test("keyHashSlotBytes follows the same hash-tag rule as keyHashSlot", () => {
  const byte = fc.oneof(fc.constantFrom(123, 125, 97, 98), fc.integer({ min: 0, max: 255 }));
  fc.assert(
    fc.property(fc.array(byte, { maxLength: 24 }), (bytes) => {
      const key = String.fromCharCode(...bytes);
      const padded = new Uint8Array([7, ...bytes, 9]);
      assert.equal(keyHashSlotBytes(padded, 1, 1 + bytes.length), keyHashSlot(key), JSON.stringify(key));
    }),
    { numRuns: 3000 },
  );
});

Deno.test("a slot hint is used only for the same key content", () => {
  hintKeySlot("hinted", 42);
  assert.equal(keyHashSlot("hinted"), 42);
  assert.equal(keyHashSlot("foo"), 12182);
  hintKeySlot("foo", 12182);
  assert.equal(keyHashSlot("hinted"), crc16("hinted") & 0x3fff);
});
