import assert from "node:assert/strict";
import { crc16, keyHashSlot } from "./slots.ts";

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
