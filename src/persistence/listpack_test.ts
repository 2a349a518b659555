import assert from "node:assert/strict";
import { decodeListpack, encodeListpack } from "./listpack.ts";
import { decodeIntset, encodeIntset } from "./intset.ts";
import { decodeZiplist } from "./ziplist.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => Uint8Array.from(s.replace(/\s/g, "").match(/../g)!.map((h) => parseInt(h, 16)));

Deno.test("listpack: rdb.md examples encode byte-identically", () => {
  assert.equal(hex(encodeListpack(["f1", "v1", "f2", "2"])), "150000000400826631038276310382663203" + "0201ff");
  assert.equal(hex(encodeListpack(["a", "b", "1", "2"])), "1100000004008161028162020101" + "0201ff");
  assert.equal(hex(encodeListpack([])), "07000000" + "0000ff");
});

Deno.test("listpack: every integer width and string length form round-trips", () => {
  const items = [
    "0",
    "127",
    "128",
    "-1",
    "-4096",
    "4095",
    "4096",
    "-32768",
    "32767",
    "32768",
    "-8388608",
    "8388607",
    "8388608",
    "-2147483648",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "01",
    "-0",
    "+1",
    " 1",
    "",
    "x".repeat(63),
    "y".repeat(64),
    "z".repeat(4095),
    "w".repeat(4096),
    "\u0000\u00ff",
  ];
  const lp = encodeListpack(items);
  assert.deepEqual(decodeListpack(lp), items);
  // Integer kinds by first byte: 7-bit, 13-bit, int16, int24, int32, int64.
  const firstByte = (s: string) => encodeListpack([s])[6];
  assert.equal(firstByte("127"), 127);
  assert.equal(firstByte("-1") >> 5, 0b110);
  assert.equal(firstByte("32767"), 0xf1);
  assert.equal(firstByte("8388607"), 0xf2);
  assert.equal(firstByte("2147483647"), 0xf3);
  assert.equal(firstByte("2147483648"), 0xf4);
  assert.equal(firstByte("01"), 0x82);
});

Deno.test("listpack: corrupt blobs are refused, never read past the end", () => {
  const lp = encodeListpack(["hello", "1", "world".repeat(30)]);
  for (let cut = 0; cut < lp.length; cut++) assert.equal(decodeListpack(lp.subarray(0, cut)), null);
  const badCount = lp.slice();
  badCount[4] = 9;
  assert.equal(decodeListpack(badCount), null);
  const badBacklen = lp.slice();
  badBacklen[12] ^= 1;
  assert.equal(decodeListpack(badBacklen), null);
});

Deno.test("intset: rdb.md example and validation", () => {
  const b = encodeIntset(["1", "2", "3", "-5", "70000"]);
  assert.equal(hex(b), "0400000005000000fbffffff01000000020000000300000070110100");
  assert.deepEqual(decodeIntset(b), ["-5", "1", "2", "3", "70000"]);
  assert.equal(hex(encodeIntset(["1"])), "020000000100000001" + "00");
  assert.deepEqual(decodeIntset(encodeIntset(["-9223372036854775808", "5"])), ["-9223372036854775808", "5"]);
  assert.equal(decodeIntset(unhex("0200000002000000 0200 0100")), null); // not ascending
  assert.equal(decodeIntset(unhex("0200000000000000")), null); // empty
  assert.equal(decodeIntset(unhex("0300000001000000 010203")), null); // bad width
});

Deno.test("ziplist: decodes each encoding, refuses corruption", () => {
  // A ziplist of "ab", 5 (immediate), 300 (int16), written by hand from rdb.md section 10.
  const entries = [
    [0x00, 0x02, 0x61, 0x62], // prevlen 0, 2-byte string
    [0x04, 0xf6], // prevlen 4, immediate 5
    [0x02, 0xc0, 0x2c, 0x01], // prevlen 2, int16 300
  ];
  const body = entries.flat();
  const total = 10 + body.length + 1;
  const zl = new Uint8Array(total);
  const dv = new DataView(zl.buffer);
  dv.setUint32(0, total, true);
  dv.setUint32(4, 10 + 4 + 2, true);
  dv.setUint16(8, 3, true);
  zl.set(body, 10);
  zl[total - 1] = 0xff;
  assert.deepEqual(decodeZiplist(zl), ["ab", "5", "300"]);
  const bad = zl.slice();
  bad[14] = 9; // wrong prevlen
  assert.equal(decodeZiplist(bad), null);
  for (let cut = 0; cut < zl.length; cut++) assert.equal(decodeZiplist(zl.subarray(0, cut)), null);
});
