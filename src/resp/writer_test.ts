import assert from "node:assert/strict";
import fc from "fast-check";
import { formatDouble, ReplyWriter } from "./writer.ts";
import { bytesToLatin1 } from "./latin1.ts";
import { requireTool, startRedis } from "../../tests/helpers/servers.ts";
import { RespConnection } from "./connection.ts";

/** Runs `write` on a fresh writer for RESP2 and RESP3; returns both encodings. */
function encode(write: (w: ReplyWriter) => void): [string, string] {
  return ([2, 3] as const).map((resp) => {
    const w = new ReplyWriter();
    w.resp = resp;
    write(w);
    return bytesToLatin1(w.bytes.subarray(0, w.length));
  }) as [string, string];
}

Deno.test("writer: encodings that RESP2 and RESP3 share", () => {
  const cases: [(w: ReplyWriter) => void, string][] = [
    [(w) => w.ok(), "+OK\r\n"],
    [(w) => w.simple("PONG"), "+PONG\r\n"],
    [(w) => w.error("ERR bad"), "-ERR bad\r\n"],
    [(w) => w.error("ERR a\r\nb\nc"), "-ERR a  b c\r\n"],
    [(w) => w.int(-42), ":-42\r\n"],
    [(w) => w.int(9223372036854775807n), ":9223372036854775807\r\n"],
    [(w) => w.bulk(""), "$0\r\n\r\n"],
    [(w) => w.bulk("a\r\nb\xff"), "$5\r\na\r\nb\xff\r\n"],
    [(w) => w.bulkBytes(new Uint8Array([0, 255])), "$2\r\n\x00\xff\r\n"],
    [(w) => w.array(2), "*2\r\n"],
    [(w) => w.bulkArray(["a", "bc"]), "*2\r\n$1\r\na\r\n$2\r\nbc\r\n"],
  ];
  for (const [write, expected] of cases) assert.deepEqual(encode(write), [expected, expected]);
});

Deno.test("writer: encodings that differ between RESP2 and RESP3", () => {
  const cases: [(w: ReplyWriter) => void, string, string][] = [
    [(w) => w.nil(), "$-1\r\n", "_\r\n"],
    [(w) => w.nilArray(), "*-1\r\n", "_\r\n"],
    [(w) => w.map(2), "*4\r\n", "%2\r\n"],
    [(w) => w.set(3), "*3\r\n", "~3\r\n"],
    [(w) => w.push(3), "*3\r\n", ">3\r\n"],
    [(w) => w.bool(true), ":1\r\n", "#t\r\n"],
    [(w) => w.bool(false), ":0\r\n", "#f\r\n"],
    [(w) => w.double(1.5), "$3\r\n1.5\r\n", ",1.5\r\n"],
    [(w) => w.double(0.1), "$19\r\n0.10000000000000001\r\n", ",0.10000000000000001\r\n"],
    [(w) => w.double(Infinity), "$3\r\ninf\r\n", ",inf\r\n"],
    [(w) => w.double(-Infinity), "$4\r\n-inf\r\n", ",-inf\r\n"],
    [(w) => w.verbatim("hi\r\n"), "$4\r\nhi\r\n\r\n", "=8\r\ntxt:hi\r\n\r\n"],
    [(w) => w.verbatim("x", "mkd"), "$1\r\nx\r\n", "=5\r\nmkd:x\r\n"],
  ];
  for (const [write, resp2, resp3] of cases) assert.deepEqual(encode(write), [resp2, resp3]);
});

Deno.test("writer: long ASCII and binary strings grow the buffer and keep every byte", () => {
  const ascii = "a".repeat(100_000);
  const binary = Array.from({ length: 70_000 }, (_, i) => String.fromCharCode(i % 256)).join("");
  const [out] = encode((w) => {
    w.bulk(ascii);
    w.bulk(binary);
  });
  assert.equal(out, `$100000\r\n${ascii}\r\n$70000\r\n${binary}\r\n`);
});

Deno.test("writer: reset keeps the protocol and drops the data", () => {
  const w = new ReplyWriter();
  w.resp = 3;
  w.nil();
  w.reset();
  w.nil();
  assert.equal(bytesToLatin1(w.bytes.subarray(0, w.length)), "_\r\n");
});

/** Doubles chosen for their formatting edges: ties, rounding carries, exponent switches, subnormals. */
const EDGE_DOUBLES = [
  0.1,
  0.2,
  0.3,
  1 / 3,
  2 / 3,
  1.5,
  -1.5,
  123.456,
  3.14159,
  12345678.9,
  2001 / 1048576,
  3 / 1048576,
  0.0001,
  0.00009999999999999999,
  0.00001,
  1e-5,
  1e-7,
  -2.5e-7,
  1e16 + 2,
  1e17,
  99999999999999999,
  123456789012345680000,
  1e21,
  1e22,
  1e23,
  1e100,
  1e300,
  1.7976931348623157e308,
  5e-324,
  2.2250738585072014e-308,
  9.999999999999999e22,
  0.5,
  0.25,
  1e-300,
  4.35,
  2.675,
  1.005,
  0.045,
  1234567890123.4567,
  -0,
  0,
];

/** Shortest round-trip text of a double, which strtod reads back to the same double. */
function doubleText(v: number): string {
  return Object.is(v, -0) ? "-0" : String(v);
}

/** C's printf("%.17g") for each value, from awk (which formats with the C library's double printf). */
async function printfG17(values: number[]): Promise<string[]> {
  const child = new Deno.Command("awk", {
    args: ['{ printf "%.17g\\n", $1 }'],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(values.map(doubleText).join("\n") + "\n"));
  await w.close();
  const out = await child.output();
  return new TextDecoder().decode(out.stdout).trimEnd().split("\n");
}

Deno.test("formatDouble matches C's %.17g on edge values and 5000 random doubles", async () => {
  const random = fc.sample(fc.double({ noNaN: true, noDefaultInfinity: true }), { numRuns: 3000, seed: 7 })
    .concat(fc.sample(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { numRuns: 1000, seed: 8 }))
    .concat(fc.sample(fc.integer({ min: -1e6, max: 1e6 }).map((n) => n / 1024), { numRuns: 1000, seed: 9 }));
  // Integers beyond 2^53, where JS's shortest form and %.17g part ways (99999999999999792).
  const bigIntegers = [99999999999999792, 2 ** 53 + 2, -(2 ** 60) - 2 ** 8, 9007199254740993 * 3];
  const values = [...EDGE_DOUBLES, ...random, ...bigIntegers];
  const expected = await printfG17(values);
  assert.equal(expected.length, values.length);
  for (let i = 0; i < values.length; i++) assert.equal(formatDouble(values[i]), expected[i], `value ${values[i]}`);
});

Deno.test("formatDouble matches redis-server 7.0's ZSCORE replies", async () => {
  if (!requireTool("redis-server")) return;
  const redis = await startRedis();
  const conn = await RespConnection.connect(redis.port);
  try {
    // A sorted set stores -0 as the integer 0, so it is left out here (awk covers it above).
    const values = [
      ...EDGE_DOUBLES,
      Infinity,
      -Infinity,
      ...fc.sample(fc.double({ noNaN: true }), { numRuns: 300, seed: 11 }),
    ]
      .filter((v) => !Object.is(v, -0));
    for (const v of values) {
      await conn.call("ZADD", "z", doubleText(v), "m");
      const score = await conn.call("ZSCORE", "z", "m");
      assert.equal(formatDouble(v), score, `value ${v}`);
    }
  } finally {
    conn.close();
    await redis.stop();
  }
});

Deno.test("writer: integer replies and bulk lengths print every integer as JS does", () => {
  const edges = [0, 9, 10, 99, 100, 1023, 1024, 65535, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1];
  fc.assert(
    fc.property(fc.oneof(fc.constantFrom(...edges), fc.nat(), fc.maxSafeNat()), (n) => {
      assert.deepEqual(encode((w) => w.int(n)), [`:${n}\r\n`, `:${n}\r\n`]);
    }),
  );
  for (const len of [9, 10, 99, 100, 1024, 100000]) {
    const s = "x".repeat(len);
    assert.equal(encode((w) => w.bulk(s))[0], `$${len}\r\n${s}\r\n`);
  }
});
