import assert from "node:assert/strict";
import fc from "fast-check";
import { PROTO_INLINE_MAX_SIZE, RespParser } from "./parser.ts";
import { latin1ToBytes } from "./latin1.ts";
import { crc16, keyHashSlot } from "../cluster/slots.ts";

const DEFAULT_MAX_BULK_BYTES = 512 * 1024 * 1024;

/** Everything a parser yields for a stream: the commands, then the protocol error if any. */
interface Parsed {
  commands: string[][];
  error: string | null;
}

function newParser(protoMaxBulkLen = DEFAULT_MAX_BULK_BYTES): RespParser {
  return new RespParser({ protoMaxBulkLen });
}

/** Feeds `chunks` one after another, draining commands after each, as the client's read loop does. */
function parseChunks(chunks: Uint8Array[], parser = newParser()): Parsed {
  const commands: string[][] = [];
  for (const chunk of chunks) {
    parser.feed(chunk);
    while (true) {
      const argv = parser.next();
      if (argv === null) break;
      commands.push([...argv]);
    }
    if (parser.error !== null) break;
  }
  return { commands, error: parser.error };
}

function parse(stream: string, parser = newParser()): Parsed {
  return parseChunks([latin1ToBytes(stream)], parser);
}

function multibulk(args: readonly string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join("");
}

function protocolError(reason: string): string {
  return `ERR Protocol error: ${reason}`;
}

const ALL_BYTES = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join("");

/** A pipeline of multibulk and inline commands, with skipped empty requests between them. */
const PIPELINE = multibulk(["SET", "key", "va\r\nlue"]) +
  "PING\r\n" +
  "*0\r\n" +
  multibulk(["GET", ""]) +
  "\r\n" +
  "set \"a b\" 'c d'\n" +
  "*-1\r\n" +
  multibulk(["ECHO", ALL_BYTES]) +
  "   \r\n" +
  multibulk(["MSET", "k1", "v1", "k2", "v2"]);

const PIPELINE_COMMANDS = [
  ["SET", "key", "va\r\nlue"],
  ["PING"],
  ["GET", ""],
  ["set", "a b", "c d"],
  ["ECHO", ALL_BYTES],
  ["MSET", "k1", "v1", "k2", "v2"],
];

Deno.test("parser: a pipeline of multibulk and inline commands, in one read", () => {
  assert.deepEqual(parse(PIPELINE), { commands: PIPELINE_COMMANDS, error: null });
});

Deno.test("parser: the pipeline split in two at every byte boundary yields the same commands", () => {
  const bytes = latin1ToBytes(PIPELINE);
  for (let at = 0; at <= bytes.length; at++) {
    const got = parseChunks([bytes.subarray(0, at), bytes.subarray(at)]);
    assert.deepEqual(got, { commands: PIPELINE_COMMANDS, error: null }, `split at ${at}`);
  }
});

Deno.test("parser: the pipeline fed byte by byte yields the same commands", () => {
  const bytes = latin1ToBytes(PIPELINE);
  const chunks = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
  assert.deepEqual(parseChunks(chunks), { commands: PIPELINE_COMMANDS, error: null });
});

Deno.test("parser: a command is returned only once it is complete", () => {
  const parser = newParser();
  const stream = multibulk(["SET", "k", "v"]);
  for (let i = 0; i < stream.length - 1; i++) {
    parser.feed(latin1ToBytes(stream[i]));
    assert.equal(parser.next(), null, `after ${i + 1} bytes`);
    assert.equal(parser.error, null);
  }
  parser.feed(latin1ToBytes(stream[stream.length - 1]));
  assert.deepEqual(parser.next(), ["SET", "k", "v"]);
  assert.equal(parser.buffered, 0);
});

Deno.test("parser: binary-safe arguments keep all 256 byte values and CRLF inside bulks", () => {
  const args = ["SET", ALL_BYTES, "\r\n", "\r\n\r\n*1\r\n$1\r\n", "\0", ALL_BYTES.repeat(100)];
  assert.deepEqual(parse(multibulk(args)), { commands: [args], error: null });
});

Deno.test("parser: big bulks across many reads", () => {
  const big = "x".repeat(1_000_000) + ALL_BYTES;
  const bytes = latin1ToBytes(multibulk(["SET", "k", big]) + multibulk(["GET", "k"]));
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 16 * 1024) chunks.push(bytes.subarray(i, i + 16 * 1024));
  assert.deepEqual(parseChunks(chunks), { commands: [["SET", "k", big], ["GET", "k"]], error: null });
});

Deno.test("parser: *0, *-1 and negative counts are skipped like Redis", () => {
  assert.deepEqual(parse("*0\r\n*-1\r\n*-5\r\n*-9223372036854775808\r\n*1\r\n$4\r\nPING\r\n"), {
    commands: [["PING"]],
    error: null,
  });
});

Deno.test("parser: blank inline lines are skipped", () => {
  assert.deepEqual(parse("\r\n\n  \t \r\nPING\n"), { commands: [["PING"]], error: null });
});

Deno.test("parser: the two bytes after a bulk are skipped unchecked, as Redis does", () => {
  assert.deepEqual(parse("*2\r\n$3\r\nGETxx$1\r\nkXY"), { commands: [["GET", "k"]], error: null });
});

Deno.test("parser: a count line ends at CR; the byte after it is skipped unchecked", () => {
  assert.deepEqual(parse("*1\rX$4\rYPING\r\n"), { commands: [["PING"]], error: null });
});

Deno.test("parser: inline quoting", () => {
  const cases: [string, string[]][] = [
    [`set "a b" 'c d' "\\x41\\n"`, ["set", "a b", "c d", "A\n"]],
    [`"\\n\\r\\t\\b\\a\\\\\\"\\q"`, ['\n\r\t\b\x07\\"q']],
    [`'it\\'s' 'a\\b'`, ["it's", "a\\b"]],
    [`"\\x4"  "\\xZZ" "\\xff\\x00"`, ["x4", "xZZ", "\xff\x00"]],
    [`a"b" c'd'`, ["ab", "cd"]],
    [`"" ''`, ["", ""]],
    ["a\tb\rc", ["a", "b", "c"]],
    ["a\vb\fc", ["a\vb\fc"]],
    ["\v a \f", ["a"]],
    ['"a"\vb', ["a", "b"]],
    ["caf\xe9 \xff", ["caf\xe9", "\xff"]],
  ];
  for (const [line, args] of cases) {
    assert.deepEqual(parse(line + "\r\n"), { commands: [args], error: null }, JSON.stringify(line));
  }
});

Deno.test("parser: unbalanced quotes in inline requests", () => {
  for (const line of [`set "a`, `set 'a`, `"a"b`, `'a'b`, `"a\\"`, `get "\\`, `"abc\\x4`]) {
    assert.deepEqual(
      parse(`PING\r\n${line}\r\nPING\r\n`),
      { commands: [["PING"]], error: protocolError("unbalanced quotes in request") },
      JSON.stringify(line),
    );
  }
});

Deno.test("parser: protocol errors carry Redis's exact texts", () => {
  const cases: [string, string][] = [
    ["*abc\r\n", "invalid multibulk length"],
    ["*+1\r\n", "invalid multibulk length"],
    ["* 1\r\n", "invalid multibulk length"],
    ["*01\r\n", "invalid multibulk length"],
    ["*-0\r\n", "invalid multibulk length"],
    ["*\r\n", "invalid multibulk length"],
    ["*2147483648\r\n", "invalid multibulk length"],
    ["*9223372036854775808\r\n", "invalid multibulk length"],
    ["*-9223372036854775809\r\n", "invalid multibulk length"],
    ["*123456789012345678901\r\n", "invalid multibulk length"],
    ["*1\r\n$abc\r\n", "invalid bulk length"],
    ["*1\r\n$-1\r\n", "invalid bulk length"],
    ["*1\r\n$\r\n", "invalid bulk length"],
    ["*1\r\n$01\r\n", "invalid bulk length"],
    ["*1\r\n$536870913\r\n", "invalid bulk length"],
    ["*1\r\n$99999999999999999999\r\n", "invalid bulk length"],
    ["*1\r\nx\r\n", "expected '$', got 'x'"],
    ["*1\r\n:1\r\n", "expected '$', got ':'"],
    ["*2\r\n$1\r\na\r\n*1\r\n", "expected '$', got '*'"],
    ["*1\r\n\xff\r\n", "expected '$', got '\xff'"],
    ["*1\r\n\r\n", "expected '$', got '\r'"],
    ['"unbalanced\r\n', "unbalanced quotes in request"],
    ["a".repeat(PROTO_INLINE_MAX_SIZE + 1), "too big inline request"],
    ["*" + "1".repeat(PROTO_INLINE_MAX_SIZE), "too big mbulk count string"],
    ["*1\r\n$" + "1".repeat(PROTO_INLINE_MAX_SIZE), "too big bulk count string"],
    ["*1\r\nx" + "y".repeat(PROTO_INLINE_MAX_SIZE), "too big bulk count string"],
  ];
  for (const [stream, reason] of cases) {
    const got = parse("PING\r\n" + stream);
    assert.deepEqual(got, { commands: [["PING"]], error: protocolError(reason) }, JSON.stringify(stream.slice(0, 40)));
  }
});

Deno.test("parser: no error while a line is still incomplete, even a bad one", () => {
  for (
    const stream of [
      "*1\r\nx",
      "*1\r\n$abc",
      "*ab",
      "*1\r",
      "*1\r\n$3\r",
      '"unbalanced',
      "a".repeat(PROTO_INLINE_MAX_SIZE),
    ]
  ) {
    assert.deepEqual(parse(stream), { commands: [], error: null }, JSON.stringify(stream.slice(0, 20)));
  }
});

Deno.test("parser: a NUL byte before the line end hides the line, as strchr does in Redis", () => {
  for (const stream of ["*1\0\r\n", "*1\r\n\0\r\n", "*1\r\n$3\0\r\n", "PI\0NG\r\n", "\0\r\n"]) {
    assert.deepEqual(parse(stream + "PING\r\n"), { commands: [], error: null }, JSON.stringify(stream));
  }
  assert.equal(parse("*1\0" + "x".repeat(PROTO_INLINE_MAX_SIZE)).error, protocolError("too big mbulk count string"));
  assert.equal(parse("PI\0NG" + "x".repeat(PROTO_INLINE_MAX_SIZE)).error, protocolError("too big inline request"));
});

Deno.test("parser: proto-max-bulk-len bounds each bulk and is read on every command", () => {
  const limits = { protoMaxBulkLen: 1024 * 1024 };
  const parser = new RespParser(limits);
  const atLimit = "v".repeat(1024 * 1024);
  assert.deepEqual(parse(multibulk(["SET", "k", atLimit]), parser), { commands: [["SET", "k", atLimit]], error: null });
  limits.protoMaxBulkLen = 1024 * 1024 - 1;
  assert.deepEqual(parse(multibulk(["SET", "k", atLimit]), parser), {
    commands: [],
    error: protocolError("invalid bulk length"),
  });
});

Deno.test("parser: unauthenticated clients get at most 10 arguments of at most 16384 bytes", () => {
  const unauth = () => {
    const p = newParser();
    p.authRequired = true;
    return p;
  };
  const ten = Array.from({ length: 10 }, (_, i) => `a${i}`);
  assert.deepEqual(parse(multibulk(ten), unauth()), { commands: [ten], error: null });
  assert.deepEqual(parse(multibulk([...ten, "x"]), unauth()), {
    commands: [],
    error: protocolError("unauthenticated multibulk length"),
  });
  const max = "b".repeat(16384);
  assert.deepEqual(parse(multibulk(["AUTH", max]), unauth()), { commands: [["AUTH", max]], error: null });
  assert.deepEqual(parse(multibulk(["AUTH", max + "b"]), unauth()), {
    commands: [],
    error: protocolError("unauthenticated bulk length"),
  });
  // An invalid count is reported before the authentication limit, as in Redis.
  assert.equal(parse("*2147483648\r\n", unauth()).error, protocolError("invalid multibulk length"));
  // Inline requests have no argument limit beyond the line length.
  assert.deepEqual(parse("a b c d e f g h i j k l\r\n", unauth()).commands.length, 1);
  const p = unauth();
  p.authRequired = false;
  assert.deepEqual(parse(multibulk([...ten, "x"]), p), { commands: [[...ten, "x"]], error: null });
});

/** Arguments of any bytes, biased towards protocol characters. */
const argArb = fc.oneof(
  fc.string({ unit: fc.constantFrom("\r", "\n", "*", "$", "0", "1", "a", " ", '"', "\0"), maxLength: 12 }),
  fc.uint8Array({ maxLength: 40 }).map((b) => String.fromCharCode(...b)),
);
const commandArb = fc.array(argArb, { minLength: 1, maxLength: 6 });

/** Splits bytes at the given cut points. */
function cut(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of at) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

Deno.test("parser property: encoded commands split at random points parse back identically", () => {
  fc.assert(
    fc.property(
      fc.array(commandArb, { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      (cmds, points) => {
        const bytes = latin1ToBytes(cmds.map(multibulk).join(""));
        assert.deepEqual(parseChunks(cut(bytes, points)), { commands: cmds, error: null });
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("parser property: inline commands of plain words parse back identically", () => {
  const word = fc.string({ unit: fc.constantFrom("a", "B", "7", "-", ":", "\xe9"), minLength: 1, maxLength: 8 });
  fc.assert(
    fc.property(
      fc.array(fc.array(word, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat()),
      (cmds, points) => {
        const bytes = latin1ToBytes(cmds.map((c) => c.join(" ") + "\r\n").join(""));
        assert.deepEqual(parseChunks(cut(bytes, points)), { commands: cmds, error: null });
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("parser property: random garbage never throws, and the result does not depend on the split", () => {
  const garbage = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.array(fc.constantFrom("*", "$", "1", "-", "3", "\r", "\n", "\r\n", "\0", "x", '"', "'", "\\", " "), {
      maxLength: 80,
    }).map((parts) => latin1ToBytes(parts.join(""))),
  );
  fc.assert(
    fc.property(garbage, fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), (bytes, points, auth) => {
      const whole = newParser(1024 * 1024);
      whole.authRequired = auth;
      const split = newParser(1024 * 1024);
      split.authRequired = auth;
      const a = parseChunks([bytes], whole);
      const b = parseChunks(cut(bytes, points), split);
      assert.deepEqual(b, a);
      if (a.error !== null) assert.match(a.error, /^ERR Protocol error: [a-z'$ ]+/);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("first arguments reused from the key cache are always the bytes sent, with their own slot", () => {
  // Same length, same bytes where the cache indexes and tags them, different elsewhere: they share an entry.
  const keys = ["a1b2c3d4", "a9b2c3d4", "a1b2c3d4", "a1b2c3d4", "a9b2c3d4", "{a}b2c3d4", "", "xyz", "xyz", "{a}b2c3d4"];
  const parser = newParser();
  for (const key of keys) {
    const { commands } = parse(multibulk(["GET", key, key]), parser);
    assert.deepEqual(commands, [["GET", key, key]]);
    // The slot hint left for the first argument is the one of these bytes.
    assert.equal(keyHashSlot(commands[0][1]), crc16(key.includes("{a}") ? "a" : key) & 0x3fff);
  }
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom("k1", "k2", "key:0001", "key:1001", "kez:0001", "x{t}y"), { maxLength: 30 }),
      (seq) => {
        for (const key of seq) {
          const { commands } = parse(multibulk(["SET", key, "v"]), parser);
          assert.equal(commands[0][1], key);
        }
      },
    ),
  );
});
