/**
 * The request protocol over TCP, differential with redis-server: garbage streams, protocol error
 * replies and connection closes, proto-max-bulk-len, unauthenticated limits and the query buffer limit.
 */
import assert from "node:assert/strict";
import { connect, requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import { bytesToLatin1, latin1ToBytes } from "../src/resp/latin1.ts";

/** How long a connection must stay silent to count as "still open, waiting for more". */
const QUIET_MS = 300;
/** Longest an exchange may take in all. */
const EXCHANGE_TIMEOUT_MS = 5000;
const PROTO_INLINE_MAX_SIZE = 64 * 1024;

/** What a server did with a stream: every byte it sent back, and whether it closed the connection. */
interface Outcome {
  reply: string;
  closed: boolean;
}

/** Sends `data` on a new connection and collects the answer until the server closes or goes quiet. */
async function exchange(port: number, data: string | Uint8Array): Promise<Outcome> {
  const conn = await Deno.connect({ port, hostname: "127.0.0.1" });
  const bytes = typeof data === "string" ? latin1ToBytes(data) : data;
  // Written concurrently: a server may close before reading everything (a write error is expected then).
  const writing = (async () => {
    let off = 0;
    while (off < bytes.length) off += await conn.write(bytes.subarray(off));
  })().catch(() => {});
  const received: Uint8Array[] = [];
  let closed = false;
  const deadline = Date.now() + EXCHANGE_TIMEOUT_MS;
  const buf = new Uint8Array(64 * 1024);
  try {
    while (Date.now() < deadline) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const quiet = new Promise<"quiet">((r) => timer = setTimeout(() => r("quiet"), QUIET_MS));
      const n = await Promise.race([conn.read(buf), quiet]).finally(() => clearTimeout(timer));
      if (n === "quiet") break;
      if (n === null) {
        closed = true;
        break;
      }
      received.push(buf.slice(0, n));
    }
  } catch {
    closed = true; // connection reset: the server closed with unread input
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
    await writing;
  }
  const all = new Uint8Array(received.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of received) {
    all.set(c, at);
    at += c.length;
  }
  return { reply: bytesToLatin1(all), closed };
}

function multibulk(args: readonly string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join("");
}

function protocolError(reason: string): Outcome {
  return { reply: `-ERR Protocol error: ${reason}\r\n`, closed: true };
}

/** Valid commands sent before each garbage stream: their replies must come first. */
const PREFIX = "PING\r\n" + multibulk(["ECHO", "be\r\nfore"]);
const PREFIX_REPLY = "+PONG\r\n$8\r\nbe\r\nfore\r\n";

/** Garbage streams, each with what Redis 7.0.15 answers to it (after the prefix's replies). */
const GARBAGE: [string, string, Outcome][] = [
  ["bad multibulk count", "*abc\r\n", protocolError("invalid multibulk length")],
  ["count with plus sign", "*+1\r\n", protocolError("invalid multibulk length")],
  ["count above INT_MAX", "*2147483648\r\n", protocolError("invalid multibulk length")],
  ["count beyond long long", "*9223372036854775808\r\n", protocolError("invalid multibulk length")],
  ["bad bulk length", "*1\r\n$abc\r\n", protocolError("invalid bulk length")],
  ["negative bulk length", "*1\r\n$-1\r\n", protocolError("invalid bulk length")],
  ["bulk above proto-max-bulk-len", "*1\r\n$536870913\r\n", protocolError("invalid bulk length")],
  ["missing $", "*2\r\n$4\r\nECHO\r\nx\r\n", protocolError("expected '$', got 'x'")],
  ["CR instead of $", "*1\r\n\r\n", protocolError("expected '$', got ' '")],
  ["high byte instead of $", "*1\r\n\xe9\r\n", protocolError("expected '$', got '\xe9'")],
  ["unbalanced double quote", 'ECHO "abc\r\n', protocolError("unbalanced quotes in request")],
  ["text after a closing quote", "ECHO 'a'b\r\n", protocolError("unbalanced quotes in request")],
  ["too big inline request", "x".repeat(PROTO_INLINE_MAX_SIZE + 100), protocolError("too big inline request")],
  ["too big mbulk count", "*" + "1".repeat(PROTO_INLINE_MAX_SIZE + 100), protocolError("too big mbulk count string")],
  [
    "too big bulk count",
    "*1\r\n$" + "1".repeat(PROTO_INLINE_MAX_SIZE + 100),
    protocolError("too big bulk count string"),
  ],
  ["incomplete bad bulk line", "*1\r\nxyz", { reply: "", closed: false }],
  ["NUL before CR in a count line", "*1\0\r\nPING\r\n", { reply: "", closed: false }],
  ["NUL in an inline line", "PI\0NG\r\nPING\r\n", { reply: "", closed: false }],
  [
    "empty and negative multibulks are skipped",
    "*0\r\n*-1\r\n*-9223372036854775808\r\nPING\r\n",
    { reply: "+PONG\r\n", closed: false },
  ],
  ["bytes after CR are skipped unchecked", "*2\rX$4\rYECHOab$1\r\nkXY", { reply: "$1\r\nk\r\n", closed: false }],
  [
    "inline quoting",
    `ECHO "a\\x41\\n\\"b"\r\nECHO 'c\\'d'\nECHO "\\xzz"\r\n\r\n   \r\n`,
    { reply: "$5\r\naA\n\"b\r\n$3\r\nc'd\r\n$3\r\nxzz\r\n", closed: false },
  ],
  ["inline \\v inside a word", "ECHO a\vb\r\n", { reply: "$3\r\na\vb\r\n", closed: false }],
];

serverTest("protocol: garbage streams get Redis's exact replies and closes, after earlier replies", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(), t.redis()]);
  const mismatches: string[] = [];
  await Promise.all(GARBAGE.map(async ([name, garbage, expected]) => {
    const [ours, theirs] = await Promise.all([
      exchange(tessera.port, PREFIX + garbage),
      exchange(redis.port, PREFIX + garbage),
    ]);
    const want = { reply: PREFIX_REPLY + expected.reply, closed: expected.closed };
    // The expectations are checked against redis-server too, so a wrong expectation cannot hide.
    if (JSON.stringify(theirs) !== JSON.stringify(want)) {
      mismatches.push(`${name}: redis-server gave ${JSON.stringify(theirs)}, expected ${JSON.stringify(want)}`);
    }
    if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
      mismatches.push(`${name}: tessera gave ${JSON.stringify(ours)}, redis-server ${JSON.stringify(theirs)}`);
    }
  }));
  assert.deepEqual(mismatches, []);
});

serverTest("protocol: a client's protocol error leaves other clients working", async (t) => {
  const tessera = await t.tessera();
  const other = await connect(tessera.port);
  assert.equal(await other.call("PING"), "PONG");
  assert.deepEqual(await exchange(tessera.port, "*1\r\n$x\r\n"), protocolError("invalid bulk length"));
  assert.equal(await other.call("SET", "k", "v"), "OK");
  assert.equal(await other.call("GET", "k"), "v");
  const fresh = await connect(tessera.port);
  assert.equal(await fresh.call("GET", "k"), "v");
  other.close();
  fresh.close();
});

serverTest("protocol: pipelined replies before a protocol error are all delivered first", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(), t.redis()]);
  let stream = "";
  for (let i = 0; i < 2000; i++) {
    stream += multibulk(["SET", `k${i}`, "v".repeat(i % 50)]) + multibulk(["GET", `k${i}`]);
  }
  stream += "*1\r\n$-5\r\n";
  const [ours, theirs] = await Promise.all([exchange(tessera.port, stream), exchange(redis.port, stream)]);
  assert.ok(theirs.reply.endsWith("-ERR Protocol error: invalid bulk length\r\n"));
  assert.equal(ours.reply.length, theirs.reply.length);
  assert.deepEqual(ours, theirs);
});

serverTest("protocol: proto-max-bulk-len refuses longer bulks", async (t) => {
  if (!requireTool("redis-server")) return;
  const args = ["--proto-max-bulk-len", "1mb"];
  const [tessera, redis] = await Promise.all([t.tessera(args), t.redis(args)]);
  const atLimit = multibulk(["SET", "k", "v".repeat(1024 * 1024)]) + multibulk(["GET", "nokey"]);
  const over = `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${1024 * 1024 + 1}\r\n`;
  for (
    const [stream, expected] of [
      [atLimit, { reply: "+OK\r\n$-1\r\n", closed: false }],
      [over, protocolError("invalid bulk length")],
    ] as const
  ) {
    const [ours, theirs] = await Promise.all([exchange(tessera.port, stream), exchange(redis.port, stream)]);
    assert.deepEqual(theirs, expected);
    assert.deepEqual(ours, theirs);
  }
});

serverTest("protocol: CONFIG SET proto-max-bulk-len applies to the next command", async (t) => {
  if (!requireTool("redis-server")) return;
  const args = ["--proto-max-bulk-len", "1mb"];
  const [tessera, redis] = await Promise.all([t.tessera(args), t.redis(args)]);
  const stream = multibulk(["CONFIG", "SET", "proto-max-bulk-len", "2mb"]) +
    multibulk(["SET", "k", "v".repeat(1536 * 1024)]) + multibulk(["STRLEN", "k"]) +
    multibulk(["CONFIG", "SET", "proto-max-bulk-len", "1mb"]) + multibulk(["SET", "k", "v".repeat(1536 * 1024)]);
  const [ours, theirs] = await Promise.all([exchange(tessera.port, stream), exchange(redis.port, stream)]);
  assert.deepEqual(theirs, {
    reply: "+OK\r\n+OK\r\n:1572864\r\n+OK\r\n-ERR Protocol error: invalid bulk length\r\n",
    closed: true,
  });
  assert.deepEqual(ours, theirs);
});

serverTest("protocol: unauthenticated clients are limited to 10 arguments and 16 KiB bulks", async (t) => {
  if (!requireTool("redis-server")) return;
  const args = ["--requirepass", "secret"];
  const [tessera, redis] = await Promise.all([t.tessera(args), t.redis(args)]);
  const eleven = ["ECHO", ...Array.from({ length: 10 }, (_, i) => `a${i}`)];
  const cases: [string, Outcome][] = [
    [multibulk(["PING"]), { reply: "-NOAUTH Authentication required.\r\n", closed: false }],
    [multibulk(eleven), protocolError("unauthenticated multibulk length")],
    [multibulk(["ECHO", "b".repeat(16384)]), { reply: "-NOAUTH Authentication required.\r\n", closed: false }],
    [`*2\r\n$4\r\nECHO\r\n$16385\r\n`, protocolError("unauthenticated bulk length")],
    // Inline requests are only bounded by the line length (and arity is checked before authentication).
    [eleven.join(" ") + "\r\n", { reply: "-ERR wrong number of arguments for 'echo' command\r\n", closed: false }],
    // Once authenticated, the limits are gone.
    [
      multibulk(["AUTH", "secret"]) + multibulk(eleven) + multibulk(["ECHO", "b".repeat(20000)]),
      {
        reply: "+OK\r\n-ERR wrong number of arguments for 'echo' command\r\n$20000\r\n" + "b".repeat(20000) + "\r\n",
        closed: false,
      },
    ],
  ];
  const mismatches: string[] = [];
  for (const [stream, expected] of cases) {
    const [ours, theirs] = await Promise.all([exchange(tessera.port, stream), exchange(redis.port, stream)]);
    const name = JSON.stringify(stream.slice(0, 40));
    if (JSON.stringify(theirs) !== JSON.stringify(expected)) {
      mismatches.push(`${name}: redis-server gave ${JSON.stringify(theirs).slice(0, 200)}`);
    }
    if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
      mismatches.push(`${name}: tessera gave ${JSON.stringify(ours).slice(0, 200)}`);
    }
  }
  assert.deepEqual(mismatches, []);
});

serverTest("protocol: a query buffer over client-query-buffer-limit closes the client, not the server", async (t) => {
  if (!requireTool("redis-server")) return;
  const args = ["--client-query-buffer-limit", "1mb"];
  const [tessera, redis] = await Promise.all([t.tessera(args), t.redis(args)]);
  // A bulk announced at 2 MB (allowed by proto-max-bulk-len) of which 1.5 MB arrive: never complete.
  const partial = `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${2 * 1024 * 1024}\r\n` + "v".repeat(1536 * 1024);
  const [ours, theirs] = await Promise.all([exchange(tessera.port, partial), exchange(redis.port, partial)]);
  assert.deepEqual(theirs, { reply: "", closed: true });
  assert.deepEqual(ours, theirs);
  // Under the limit the same kind of partial bulk just waits.
  const small = `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${2 * 1024 * 1024}\r\n` + "v".repeat(512 * 1024);
  assert.deepEqual(await exchange(tessera.port, small), { reply: "", closed: false });
  const c = await connect(tessera.port);
  assert.equal(await c.call("PING"), "PONG");
  c.close();
});
