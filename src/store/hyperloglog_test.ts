import assert from "node:assert/strict";
import {
  cachedCard,
  cardReply,
  decodeSparse,
  denseGet,
  denseRegisters,
  denseWrite,
  estimateFromHistogram,
  Hll,
  HLL_DENSE,
  HLL_DENSE_SIZE,
  HLL_HDR_SIZE,
  HLL_REGISTERS,
  HLL_SPARSE,
  hllAdd,
  hllCount,
  hllSelfTest,
  isHllString,
  mergeInto,
  murmurHash64A,
  patLen,
  raiseRegisters,
  rawHistogram,
  setRegister,
  sparseToDense,
} from "./hyperloglog.ts";

const MAX_BYTES = 3000;

/** Bytes as a latin1 string. */
function str(bytes: number[]): string {
  return String.fromCharCode(...bytes);
}

const SPARSE_HEADER = [0x48, 0x59, 0x4c, 0x4c, HLL_SPARSE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

Deno.test("murmurHash64A: full 64-bit values of an independent C build of MurmurHash64A (seed 0xadc83b19)", () => {
  // Bytes (i * 37 + len * 11 + 200) & 255 of each length, hashed by a C program compiled here.
  const expected: [number, bigint][] = [
    [0, 15627466953755236146n],
    [1, 2928429399106286564n],
    [2, 16306952707561469499n],
    [3, 16945802413626336460n],
    [4, 11930897491224556104n],
    [5, 1605475148450704711n],
    [6, 7625039023243034758n],
    [7, 3757442081722337552n],
    [8, 17413260558999008035n],
    [9, 1242825124995730825n],
    [15, 10576855037719783791n],
    [16, 11284178468755363575n],
    [17, 17668294088018933872n],
    [23, 8124771665251556343n],
    [24, 17520603610766949849n],
    [40, 8998300311328608766n],
  ];
  for (const [len, hash] of expected) {
    const bytes = new Uint8Array(len);
    for (let i = 0; i < len; i++) bytes[i] = (i * 37 + len * 11 + 200) & 255;
    assert.equal(murmurHash64A(bytes), hash, `length ${len}`);
    assert.equal(murmurHash64A(str([...bytes])), hash, `length ${len} as a string`);
  }
});

Deno.test("murmurHash64A: strings and bytes agree for every tail length and block count", () => {
  for (let len = 0; len <= 33; len++) {
    const bytes = new Uint8Array(len);
    for (let i = 0; i < len; i++) bytes[i] = (i * 101 + 7) & 255;
    assert.equal(murmurHash64A(bytes), murmurHash64A(str([...bytes])));
  }
  assert.notEqual(murmurHash64A("a"), murmurHash64A("b"));
  assert.notEqual(murmurHash64A("a", 1), murmurHash64A("a"));
});

Deno.test("patLen: register and run length as redis-server 7.0.15 reports them (PFADD, then PFDEBUG GETREG)", () => {
  // [element, register index, register value] read from redis-server after PFADD of one element.
  const vectors: [string, number, number][] = [
    ["", 5938, 2],
    ["a", 12711, 2],
    ["elem:0", 5029, 2],
    ["\x00", 8840, 2],
    ["\xff", 10599, 1],
    ["\x00\xff\x80\x7f", 11211, 1],
    ["1234567", 10327, 3],
    ["12345678", 10579, 3],
    ["123456789", 9293, 2],
    ["\x0d\x0a", 13391, 1],
    ["hello world, hyperloglog!", 507, 2],
    ["\xde\xad\xbe\xef\xca\xfe\xba\xbe\x01\x02\x03\x04\x05\x06\x07", 13070, 1],
    ["\x05", 11872, 3],
    ["\x88\xe9J\xab", 11509, 3],
    ["\x0bl\xcd.\x8f\xf0Q", 10097, 1],
    ["\x8e\xefP\xb1\x12s\xd45\x96\xf7", 7448, 1],
    ["\x11r\xd34\x95\xf6W\xb8\x19z\xdb<\x9d", 7994, 3],
    ["\x94\xf5V\xb7\x18y\xda;\x9c\xfd^\xbf \x81\xe2C", 2149, 2],
    ["\x17x\xd9:\x9b\xfc]\xbe\x1f\x80\xe1B\xa3\x04e\xc6'\x88\xe9", 7056, 3],
    ["\x9a\xfb\x5c\xbd\x1e\x7f\xe0A\xa2\x03d\xc5&\x87\xe8I\xaa\x0bl\xcd.\x8f", 2655, 2],
  ];
  for (const [element, index, count] of vectors) {
    assert.deepEqual(patLen(element), { index, count }, JSON.stringify(element));
  }
});

Deno.test("Hll.create: the 18-byte empty sparse HLL Redis creates", () => {
  const hll = Hll.create();
  assert.equal(hll.toString(), str([...SPARSE_HEADER, 0x7f, 0xff]));
  assert.equal(hll.encoding, HLL_SPARSE);
  assert.equal(decodeSparse(hll), "Z:16384");
  assert.deepEqual(hllCount(hll), { value: 0, overflow: false });
});

Deno.test("sparse add: splits the XZERO run around the register, as Redis's GET shows", () => {
  const hll = Hll.create();
  // redis-server: PFADD h a -> PFDEBUG DECODE "Z:12711 v:2,1 Z:3672".
  assert.equal(hllAdd(hll, "a", MAX_BYTES), 1);
  assert.equal(decodeSparse(hll), "Z:12711 v:2,1 Z:3672");
  assert.equal(hllAdd(hll, "a", MAX_BYTES), 0);
  // PFADD h a b c on redis-server decodes as below.
  hllAdd(hll, "b", MAX_BYTES);
  hllAdd(hll, "c", MAX_BYTES);
  const fresh = Hll.create();
  for (const e of ["a", "b", "c"]) hllAdd(fresh, e, MAX_BYTES);
  assert.equal(decodeSparse(fresh), "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603");
  assert.equal(hll.toString(), fresh.toString());
  // The cache was invalidated by the change.
  assert.equal(cachedCard(hll.toString()), null);
});

Deno.test("sparse add: merges equal adjacent VAL opcodes", () => {
  // Four ZERO:1 opcodes then XZERO: registers 0..3 set to 1 one by one become one VAL:1,4.
  const hll = Hll.fromString(str([...SPARSE_HEADER, 0x00, 0x00, 0x00, 0x00, 0x7f, 0xfb]));
  for (let i = 0; i < 4; i++) assert.equal(setRegister(hll, i, 1, MAX_BYTES), 1);
  assert.equal(setRegister(hll, 2, 1, MAX_BYTES), 0);
  assert.equal(decodeSparse(hll), "v:1,4 Z:16380");
});

Deno.test("sparse add: promotes to dense past hll-sparse-max-bytes and for values above 32", () => {
  const small = Hll.create();
  let i = 0;
  while (small.encoding === HLL_SPARSE) hllAdd(small, `e${i++}`, 40);
  assert.equal(small.len, HLL_DENSE_SIZE);
  assert.ok(i > 3 && i < 40, `promoted after ${i} elements`);
  const high = Hll.create();
  assert.equal(setRegister(high, 100, 33, MAX_BYTES), 1);
  assert.equal(high.encoding, HLL_DENSE);
  assert.equal(denseGet(high.buf, HLL_HDR_SIZE, 100), 33);
  assert.equal(denseGet(high.buf, HLL_HDR_SIZE, 99), 0);
});

Deno.test("raiseRegisters: the same bytes as raising register after register (sparse, promoted midway, dense)", () => {
  const max = new Uint8Array(HLL_REGISTERS);
  for (let i = 0; i < HLL_REGISTERS; i += 7) max[i] = 1 + (i % 20);
  max[HLL_REGISTERS - 1] = 5;
  for (const maxBytes of [MAX_BYTES, 100, 20000]) {
    const base = Hll.create();
    for (let n = 0; n < 30; n++) hllAdd(base, `base:${n}`, maxBytes);
    const oneByOne = Hll.fromString(base.toString());
    for (let i = 0; i < HLL_REGISTERS; i++) if (max[i] !== 0) setRegister(oneByOne, i, max[i], maxBytes);
    const atOnce = Hll.fromString(base.toString());
    raiseRegisters(atOnce, max, maxBytes);
    assert.equal(atOnce.toString(), oneByOne.toString(), `hll-sparse-max-bytes ${maxBytes}`);
    assert.equal(atOnce.encoding, maxBytes === 20000 ? HLL_SPARSE : HLL_DENSE);
    // A dense HLL keeps registers already above `max`.
    sparseToDense(base);
    const dense = Hll.fromString(base.toString());
    const denseOneByOne = Hll.fromString(base.toString());
    raiseRegisters(dense, max, maxBytes);
    for (let i = 0; i < HLL_REGISTERS; i++) if (max[i] !== 0) setRegister(denseOneByOne, i, max[i], maxBytes);
    assert.equal(dense.toString(), denseOneByOne.toString());
  }
});

Deno.test("sparseToDense: keeps the header bytes, rejects runs that do not cover 16384 registers", () => {
  const s = str([0x48, 0x59, 0x4c, 0x4c, HLL_SPARSE, 0xaa, 0xbb, 0xcc, 5, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x7f, 0xfe]);
  const hll = Hll.fromString(s);
  assert.equal(sparseToDense(hll), true);
  const dense = hll.toString();
  assert.equal(dense.length, HLL_DENSE_SIZE);
  assert.equal(
    dense.slice(0, 17),
    str([0x48, 0x59, 0x4c, 0x4c, HLL_DENSE, 0xaa, 0xbb, 0xcc, 5, 0, 0, 0, 0, 0, 0, 0, 1]),
  );
  for (const body of [[0x7f, 0xff, 0x00], [0x7f, 0xff, 0x80], [0x7f, 0xfe], [], [0x7f]]) {
    const bad = Hll.fromString(str([...SPARSE_HEADER, ...body]));
    assert.equal(sparseToDense(bad), false, JSON.stringify(body));
    assert.equal(hllCount(bad), null);
    assert.equal(mergeInto(new Uint8Array(HLL_REGISTERS), bad), false);
  }
});

Deno.test("sparse add on a value without the register's opcode reports corruption", () => {
  const empty = Hll.fromString(str(SPARSE_HEADER));
  assert.equal(hllAdd(empty, "a", MAX_BYTES), -1);
});

Deno.test("dense registers: 6-bit fields do not disturb their neighbours", () => {
  const buf = new Uint8Array(HLL_DENSE_SIZE + 1);
  const values = Array.from({ length: HLL_REGISTERS }, (_, i) => (i * 7 + 3) & 63);
  values.forEach((v, i) => denseWrite(buf, HLL_HDR_SIZE, i, v));
  for (let i = 0; i < HLL_REGISTERS; i++) assert.equal(denseGet(buf, HLL_HDR_SIZE, i), values[i]);
  denseWrite(buf, HLL_HDR_SIZE, 1, 0);
  assert.equal(denseGet(buf, HLL_HDR_SIZE, 0), values[0]);
  assert.equal(denseGet(buf, HLL_HDR_SIZE, 2), values[2]);
  assert.equal(buf[HLL_DENSE_SIZE], 0, "nothing written past the last register");
});

Deno.test("estimate: counts stay within a few standard errors; dense and sparse agree", () => {
  const sparse = Hll.create();
  const dense = Hll.create();
  sparseToDense(dense);
  for (let n = 1; n <= 20000; n++) {
    hllAdd(sparse, `member:${n}`, MAX_BYTES);
    hllAdd(dense, `member:${n}`, MAX_BYTES);
    if (n === 10 || n === 100 || n === 1000 || n === 20000) {
      const a = hllCount(sparse)!;
      const b = hllCount(dense)!;
      assert.deepEqual(a, b);
      assert.ok(Math.abs(a.value - n) <= Math.max(2, n * 0.05), `n=${n} estimate ${a.value}`);
    }
  }
  assert.equal(sparse.encoding, HLL_DENSE);
  assert.deepEqual(denseRegisters(sparse), denseRegisters(dense));
});

Deno.test("estimate: redis-server's answers for extreme dense registers", () => {
  // All registers 40: redis-server replies 12994641697113596 (beyond 2^53, exact double).
  const h40 = new Array(64).fill(0);
  h40[40] = HLL_REGISTERS;
  assert.equal(cardReply(estimateFromHistogram(h40)), 12994641697113596n);
  // All registers 63 (ignored by the estimator): llroundl(inf) gives INT64_MIN.
  const h63 = new Array(64).fill(0);
  h63[63] = HLL_REGISTERS;
  assert.deepEqual(estimateFromHistogram(h63), { value: 0, overflow: true });
  assert.equal(cardReply(estimateFromHistogram(h63)), -(2n ** 63n));
  const hll = Hll.fromString(str([...SPARSE_HEADER, 0x7f, 0xff]));
  hll.setCachedCard(estimateFromHistogram(h63));
  assert.equal(cachedCard(hll.toString()), null, "the overflow value sets the stale bit, as in Redis");
  assert.equal(estimateFromHistogram(rawHistogram(new Uint8Array(HLL_REGISTERS))).value, 0);
});

Deno.test("cached cardinality: little-endian uint64 with the stale bit on top", () => {
  const hll = Hll.create();
  hll.setCachedCard({ value: 0x0123456789ab, overflow: false });
  const s = hll.toString();
  assert.equal(s.slice(8, 16), str([0xab, 0x89, 0x67, 0x45, 0x23, 0x01, 0, 0]));
  assert.equal(cachedCard(s), 0x0123456789ab);
  const big = str([...SPARSE_HEADER.slice(0, 8), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x7f, 0xff]);
  assert.equal(cachedCard(big), 2n ** 63n - 1n);
  hll.invalidateCache();
  assert.equal(cachedCard(hll.toString()), null);
});

Deno.test("isHllString: magic, encoding and dense size", () => {
  assert.equal(isHllString(Hll.create().toString()), true);
  assert.equal(isHllString("HYLL"), false);
  assert.equal(isHllString(str(SPARSE_HEADER)), true);
  assert.equal(isHllString("HYLX" + str(SPARSE_HEADER).slice(4)), false);
  assert.equal(isHllString(str([...SPARSE_HEADER.slice(0, 4), 2, ...SPARSE_HEADER.slice(5)])), false);
  const dense = str([...SPARSE_HEADER.slice(0, 4), HLL_DENSE, ...SPARSE_HEADER.slice(5)]);
  assert.equal(isHllString(dense), false);
  assert.equal(isHllString(dense + "\0".repeat(HLL_DENSE_SIZE - HLL_HDR_SIZE)), true);
});

Deno.test("hllSelfTest passes (PFSELFTEST)", () => {
  assert.equal(hllSelfTest(MAX_BYTES), null);
});
