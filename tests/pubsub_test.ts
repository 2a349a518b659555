/**
 * Pub/sub against real processes: scripted scenarios run on tessera and redis-server 7.0 over several
 * connections, in RESP2 and RESP3, with every byte each connection receives compared (acknowledgements,
 * counts, message frames, subscribed-mode errors, PUBSUB replies); prompt delivery to a silent
 * subscriber; INFO / CLIENT LIST fields; the pubsub output buffer limit; and ioredis subscribers.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Redis } from "ioredis";
import { requireTool } from "./helpers/servers.ts";
import { serverTest, type ServerTestContext } from "./helpers/test.ts";
import { parseReply } from "../src/resp/reply_parser.ts";

/** How long a connection waits for its barrier reply before taking what arrived (CLIENT REPLY OFF hides it). */
const BARRIER_TIMEOUT_MS = 300;
/** How long a test waits for a frame that must arrive. */
const FRAME_TIMEOUT_MS = 3000;

/** A raw connection that keeps reading in the background, so pushes are seen without sending anything. */
class RawConn {
  private text = "";
  closed = false;
  private paused = false;
  private wake: (() => void) | null = null;

  private constructor(private readonly conn: Deno.TcpConn) {
    this.pump();
  }

  static async open(port: number): Promise<RawConn> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new RawConn(conn);
  }

  /** Stops reading (the peer's output then piles up in its buffers). */
  pause(): void {
    this.paused = true;
  }

  private async pump(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        if (this.paused) return;
        const n = await this.conn.read(chunk);
        if (n === null) break;
        this.text += Buffer.from(chunk.subarray(0, n)).toString("latin1");
        this.wake?.();
      }
    } catch {
      // closed
    }
    this.closed = true;
    this.wake?.();
  }

  /** Sends commands (latin1 arguments) in one write. */
  async send(...commands: string[][]): Promise<void> {
    let out = "";
    for (const args of commands) {
      out += `*${args.length}\r\n`;
      for (const a of args) out += `$${a.length}\r\n${a}\r\n`;
    }
    const bytes = Buffer.from(out, "latin1");
    let at = 0;
    while (at < bytes.length) at += await this.conn.write(bytes.subarray(at));
  }

  /** Waits until `done(received)` holds, the connection closes or `timeoutMs` passes; returns whether it held. */
  async until(done: (text: string) => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.text)) {
      const left = deadline - Date.now();
      if (this.closed || left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
    return true;
  }

  /** Takes the first complete frame received (the caller waited for it). */
  takeFrame(): string {
    const first = frames(this.text)[0];
    this.text = this.text.slice(first.length);
    return first;
  }

  /** Takes everything received so far. */
  take(): string {
    const t = this.text;
    this.text = "";
    return t;
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // closed
    }
  }
}

/** Splits raw RESP into its complete top-level frames (raw text each); an incomplete tail is left out. */
function frames(raw: string): string[] {
  const bytes = Buffer.from(raw, "latin1");
  const out: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    const parsed = parseReply(bytes, at);
    if (parsed === null) break;
    out.push(raw.slice(at, parsed.end));
    at = parsed.end;
  }
  return out;
}

/** A wait condition: at least `n` complete frames received. */
const atLeast = (n: number) => (text: string) => frames(text).length >= n;

/**
 * Order-insensitive (un)subscribe acknowledgements (mass UNSUBSCRIBE, Redis walks a hash table): the
 * channel names are masked in place and listed sorted after the frames, so counts still compare in order.
 */
function maskNames(raw: string): string {
  const names: string[] = [];
  const masked = frames(raw).map((f) => {
    const m = /^([*>]3\r\n\$\d+\r\n[a-z]+\r\n)\$\d+\r\n([^]*?)\r\n(:\d+\r\n)$/.exec(f);
    if (m === null) return f;
    names.push(m[2]);
    return m[1] + "<name>" + m[3];
  });
  return masked.join("") + " names=" + JSON.stringify(names.sort());
}

/** Order-insensitive frames (messages to several patterns of one client, PUBSUB CHANNELS elements). */
function sortFrames(raw: string): string {
  return frames(raw).map((f) => {
    const agg = /^(\*\d+\r\n)([^]*)$/.exec(f);
    if (agg === null || f.startsWith("*3\r\n$7\r\nmessage") || f.startsWith("*4\r\n$8\r\npmessage")) return f;
    return agg[1] + frames(agg[2]).sort().join("");
  }).sort().join("");
}

const NORMALISERS: Record<string, (raw: string) => string> = { maskNames, sortFrames };

/**
 * One scenario step: `[conn, ...args]`; `conn` may carry a normaliser (`a~sortFrames`) applied to what
 * every connection received in that step. `["!close", conn]` closes a connection; `["!sleep", ms]` waits.
 */
type Step = string[];

interface Scenario {
  name: string;
  steps: Step[];
}

/** The barrier after each step: a PING with a unique text, allowed in subscribed mode too. */
function barrierFrames(marker: string): string[] {
  const bulk = `$${marker.length}\r\n${marker}\r\n`;
  return [bulk, `*2\r\n$4\r\npong\r\n${bulk}`];
}

/** Runs a scenario on one server; returns the transcript of what every connection received per step. */
async function runScenario(port: number, scenario: Scenario, resp: 2 | 3): Promise<string[]> {
  const conns = new Map<string, RawConn>();
  const names = [...new Set(scenario.steps.filter((s) => !s[0].startsWith("!")).map((s) => s[0].split("~")[0]))];
  for (const name of names.sort()) {
    const conn = await RawConn.open(port);
    conns.set(name, conn);
    if (resp === 3) {
      await conn.send(["HELLO", "3"]);
      assert.ok(await conn.until(atLeast(1), FRAME_TIMEOUT_MS), "HELLO 3 reply");
      conn.take();
    }
  }
  const transcript: string[] = [];
  let marker = 0;
  try {
    for (const step of scenario.steps) {
      if (step[0] === "!sleep") {
        await new Promise((r) => setTimeout(r, Number(step[1])));
        continue;
      }
      if (step[0] === "!close") {
        conns.get(step[1])!.close();
        conns.delete(step[1]);
        transcript.push(`close ${step[1]}`);
        continue;
      }
      const [name, normaliser] = step[0].split("~");
      await conns.get(name)!.send(step.slice(1));
      let line = `${name}> ${JSON.stringify(step.slice(1))}`;
      // Barrier on every connection: what a step caused anywhere has arrived once the barrier reply does.
      for (const [other, conn] of conns) {
        const text = `barrier-${marker++}`;
        const ends = barrierFrames(text);
        await conn.send(["PING", text]);
        const ok = await conn.until((t) => ends.some((e) => t.endsWith(e)), BARRIER_TIMEOUT_MS);
        let got = conn.take();
        if (ok) got = got.slice(0, got.length - ends.find((e) => got.endsWith(e))!.length);
        if (normaliser !== undefined) got = NORMALISERS[normaliser](got);
        line += `\n  ${other}: ${JSON.stringify(got)}${conn.closed ? " (closed)" : ""}`;
      }
      transcript.push(line);
    }
  } finally {
    for (const conn of conns.values()) conn.close();
  }
  return transcript;
}

const BINARY = "bin\x00\r\n\xff\x80end";

const SCENARIOS: Scenario[] = [
  {
    name: "channels: acks, messages, subscribed-mode errors, mass unsubscribe",
    steps: [
      ["a", "SUBSCRIBE", "ch1", "ch2", "ch1"],
      ["b", "PUBLISH", "ch1", "hello"],
      ["b", "PUBLISH", "nochan", "x"],
      ["b", "PUBLISH", "ch2", BINARY],
      ["a", "PING"],
      ["a", "PING", "msg"],
      ["a", "GET", "k"],
      ["a", "SET", "k", "v"],
      ["a", "CONFIG", "GET", "hz"],
      ["a", "PUBLISH", "ch1", "self"],
      ["a", "GET"],
      ["a", "NOSUCHCOMMAND", "x"],
      ["a", "MULTI"],
      ["a", "UNSUBSCRIBE", "ch1", "never"],
      ["b", "PUBLISH", "ch1", "gone"],
      ["a", "SUBSCRIBE", "ch3"],
      ["a~maskNames", "UNSUBSCRIBE"],
      ["a", "UNSUBSCRIBE"],
      ["a", "PING"],
      ["a", "GET", "k"],
      ["b", "PUBLISH", "ch2", "nobody"],
    ],
  },
  {
    name: "patterns: psubscribe, pmessage, punsubscribe",
    steps: [
      ["a", "PSUBSCRIBE", "news.*", "h[ae]llo", "news.*"],
      ["b", "PUBLISH", "news.sport", "goal"],
      ["b", "PUBLISH", "hallo", "x"],
      ["b", "PUBLISH", "hillo", "no"],
      ["c", "SUBSCRIBE", "news.sport"],
      ["b", "PUBLISH", "news.sport", "both"],
      ["a", "PSUBSCRIBE", "*.sport"],
      ["b~sortFrames", "PUBLISH", "news.sport", "two patterns"],
      ["b", "PUBSUB", "NUMPAT"],
      ["c", "PSUBSCRIBE", "news.*"],
      ["b", "PUBSUB", "NUMPAT"],
      ["a", "PUNSUBSCRIBE", "h[ae]llo", "never"],
      ["a~maskNames", "PUNSUBSCRIBE"],
      ["a", "PUNSUBSCRIBE"],
      ["c", "UNSUBSCRIBE"],
      ["c", "PING"],
      ["c", "PUNSUBSCRIBE", "news.*"],
      ["c", "PING"],
      ["b", "PUBSUB", "NUMPAT"],
    ],
  },
  {
    name: "shard channels: ssubscribe, spublish, separate counts",
    steps: [
      ["a", "SSUBSCRIBE", "s1", "s2", "s1"],
      ["b", "SPUBLISH", "s1", "m"],
      ["b", "PUBLISH", "s1", "not shard"],
      ["a", "SUBSCRIBE", "c1"],
      ["a", "PSUBSCRIBE", "s*"],
      ["b", "SPUBLISH", "s2", "patterns ignore shard messages"],
      ["b", "PUBLISH", "s9", "pattern only"],
      ["b", "PUBSUB", "SHARDNUMSUB", "s1", "s2", "s3"],
      ["b~sortFrames", "PUBSUB", "SHARDCHANNELS"],
      ["b", "PUBSUB", "SHARDCHANNELS", "*1"],
      ["b", "PUBSUB", "CHANNELS"],
      ["a", "SPUBLISH", "s1", "x"],
      ["a", "SUNSUBSCRIBE", "s1"],
      ["a", "SUNSUBSCRIBE"],
      ["a", "SUNSUBSCRIBE"],
      ["a", "PING"],
      ["a", "UNSUBSCRIBE"],
      ["a", "PUNSUBSCRIBE"],
      ["a", "PING"],
    ],
  },
  {
    name: "PUBSUB introspection and argument errors",
    steps: [
      ["a", "SUBSCRIBE", "x", "y"],
      ["b", "SUBSCRIBE", "y", "z"],
      ["c", "PSUBSCRIBE", "y*", "q?"],
      ["d~sortFrames", "PUBSUB", "CHANNELS"],
      ["d~sortFrames", "PUBSUB", "CHANNELS", "[xz]"],
      ["d", "PUBSUB", "CHANNELS", "nomatch*"],
      ["d", "PUBSUB", "NUMSUB", "x", "y", "z", "w", "y"],
      ["d", "PUBSUB", "NUMSUB"],
      ["d", "PUBSUB", "NUMPAT"],
      ["d", "PUBSUB", "SHARDNUMSUB"],
      ["d", "PUBSUB", "SHARDCHANNELS"],
      ["d", "PUBSUB", "HELP"],
      ["d", "pubsub", "help"],
      ["d", "PUBSUB", "FOO"],
      ["d", "PUBSUB", "CHANNELS", "a", "b"],
      ["d", "PUBSUB", "shardchannels", "a", "b"],
      ["d", "PUBSUB", "NUMPAT", "x"],
      ["d", "PUBSUB", "HELP", "x"],
      ["d", "PUBSUB"],
      ["d", "SUBSCRIBE"],
      ["d", "PSUBSCRIBE"],
      ["d", "SSUBSCRIBE"],
      ["d", "PUBLISH", "a"],
      ["d", "PUBLISH", "a", "b", "c"],
      ["d", "SPUBLISH", "a"],
      ["d", "PUBLISH", "y", "to two"],
      ["!close", "a"],
      ["!sleep", "100"],
      ["d", "PUBSUB", "NUMSUB", "x", "y"],
      ["d", "PUBLISH", "y", "to one"],
      ["d", "PUBLISH", "x", "to none"],
    ],
  },
  {
    name: "MULTI, RESET and subscribed mode",
    steps: [
      ["a", "MULTI"],
      ["a", "SUBSCRIBE", "m1"],
      ["a", "SSUBSCRIBE", "s"],
      ["a", "PSUBSCRIBE", "p*"],
      ["a", "EXEC"],
      ["b", "PUBLISH", "m1", "after exec"],
      ["a", "GET", "x"],
      ["a", "SSUBSCRIBE", "s"],
      ["a", "RESET"],
      ["a", "PING"],
      ["b", "PUBSUB", "NUMSUB", "m1"],
      ["b", "PUBSUB", "NUMPAT"],
      ["b", "PUBSUB", "SHARDNUMSUB", "s"],
      ["b", "PUBLISH", "m1", "after reset"],
      ["b", "SPUBLISH", "s", "after reset"],
      ["a", "UNSUBSCRIBE"],
      ["a", "PUNSUBSCRIBE"],
      ["a", "SUNSUBSCRIBE"],
      ["a", "GET", "x"],
    ],
  },
  {
    name: "CLIENT REPLY OFF / SKIP: acknowledgements and messages still go out",
    steps: [
      ["a", "CLIENT", "REPLY", "OFF"],
      ["a", "SUBSCRIBE", "q"],
      ["b", "PUBLISH", "q", "hi"],
      ["a", "PUBLISH", "q", "self"],
      ["a", "CLIENT", "REPLY", "ON"],
      ["a", "UNSUBSCRIBE"],
      ["a", "CLIENT", "REPLY", "ON"],
      ["a", "CLIENT", "REPLY", "SKIP"],
      ["a", "SUBSCRIBE", "r"],
      ["a", "PING"],
      ["a", "UNSUBSCRIBE", "r"],
    ],
  },
];

/** Runs every scenario on both servers and compares transcripts. */
async function compareScenarios(t: ServerTestContext, resp: 2 | 3): Promise<void> {
  const [tessera, redis] = await Promise.all([t.tessera(), t.redis()]);
  const failures: string[] = [];
  for (const scenario of SCENARIOS) {
    const [ours, theirs] = await Promise.all([
      runScenario(tessera.port, scenario, resp),
      runScenario(redis.port, scenario, resp),
    ]);
    assert.equal(ours.length, theirs.length);
    for (let i = 0; i < ours.length; i++) {
      if (ours[i] !== theirs[i]) {
        failures.push(`[RESP${resp}] ${scenario.name}\n  tessera ${ours[i]}\n  redis   ${theirs[i]}`);
        break;
      }
    }
  }
  assert.deepEqual(failures, [], failures.join("\n"));
}

for (const resp of [2, 3] as const) {
  serverTest(`pubsub scenarios match redis-server byte for byte, RESP${resp}`, async (t) => {
    if (!requireTool("redis-server")) return;
    await compareScenarios(t, resp);
  });
}

/** Reads the next frame on a connection that sends nothing meanwhile (prompt delivery). */
async function nextFrame(conn: RawConn): Promise<string> {
  assert.ok(await conn.until(atLeast(1), FRAME_TIMEOUT_MS), "no frame arrived");
  return conn.takeFrame();
}

serverTest("messages reach a silent subscriber promptly, RESP2 and RESP3, like redis-server", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(), t.redis()]);
  const run = async (port: number) => {
    const out: string[] = [];
    for (const resp of [2, 3]) {
      const sub = await RawConn.open(port);
      const pub = await RawConn.open(port);
      t.defer(() => sub.close());
      t.defer(() => pub.close());
      if (resp === 3) {
        await sub.send(["HELLO", "3"]);
        await nextFrame(sub);
      }
      await sub.send(["SUBSCRIBE", "news"], ["PSUBSCRIBE", "n*"], ["SSUBSCRIBE", "shard"]);
      for (let i = 0; i < 3; i++) out.push(await nextFrame(sub));
      const big = "x".repeat(200_000) + BINARY;
      for (const msg of ["one", big]) {
        await pub.send(["PUBLISH", "news", msg]);
        out.push(await nextFrame(sub), await nextFrame(sub));
        out.push(await nextFrame(pub));
      }
      await pub.send(["SPUBLISH", "shard", "s"]);
      out.push(await nextFrame(sub));
      // A pipeline of publishes arrives complete and in order.
      const many = Array.from({ length: 500 }, (_, i) => ["PUBLISH", "nx", `m${i}`]);
      await pub.send(...many);
      assert.ok(await sub.until(atLeast(500), FRAME_TIMEOUT_MS), "500 messages");
      const got = frames(sub.take());
      assert.ok(got.every((f, i) => f.endsWith(`$${`m${i}`.length}\r\nm${i}\r\n`)), "in order");
      out.push(got[0], got[499]);
    }
    return out;
  };
  const ours = await run(tessera.port);
  const theirs = await run(redis.port);
  assert.equal(ours.length, theirs.length);
  for (let i = 0; i < ours.length; i++) assert.equal(ours[i].slice(0, 300), theirs[i].slice(0, 300), `frame ${i}`);
  assert.deepEqual(ours, theirs);
});

/** The pub/sub lines of INFO stats and a client's CLIENT LIST fields, as one comparable text. */
async function pubsubIntrospection(port: number): Promise<string> {
  const subs = await Promise.all([RawConn.open(port), RawConn.open(port)]);
  const admin = await RawConn.open(port);
  try {
    await subs[0].send(["CLIENT", "SETNAME", "s0"], ["SUBSCRIBE", "a", "b"], ["PSUBSCRIBE", "p*"]);
    await subs[1].send(["CLIENT", "SETNAME", "s1"], ["SUBSCRIBE", "b"], ["SSUBSCRIBE", "x", "y", "z"]);
    assert.ok(await subs[0].until(atLeast(4), FRAME_TIMEOUT_MS));
    assert.ok(await subs[1].until(atLeast(5), FRAME_TIMEOUT_MS));
    await admin.send(["INFO", "stats"], ["CLIENT", "LIST"]);
    assert.ok(await admin.until(atLeast(2), FRAME_TIMEOUT_MS));
    const [info, list] = frames(admin.take());
    const infoLines = info.split("\r\n").filter((l) => l.startsWith("pubsub"));
    const clientFields = list.split("\n").filter((l) => / name=s\d /.test(l)).map((l) =>
      l.split(" ").filter((f) => /^(name|flags|sub|psub|ssub)=/.test(f)).join(" ")
    ).sort();
    return [...infoLines, ...clientFields].join("\n");
  } finally {
    for (const c of [...subs, admin]) c.close();
  }
}

serverTest("INFO pubsub counts and CLIENT LIST sub/psub/ssub fields match redis-server", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(), t.redis()]);
  const ours = await pubsubIntrospection(tessera.port);
  assert.match(ours, /pubsub_channels:2\npubsub_patterns:1\npubsubshard_channels:3/);
  assert.equal(ours, await pubsubIntrospection(redis.port));
});

serverTest("a subscriber that does not read is closed at the pubsub output buffer limit", async (t) => {
  const tessera = await t.tessera(["--client-output-buffer-limit", "pubsub", "1mb", "0", "0"]);
  // A subscriber that never reads after subscribing: the server's pending output for it grows.
  const stuck = await RawConn.open(tessera.port);
  t.defer(() => stuck.close());
  await stuck.send(["CLIENT", "SETNAME", "stuck"], ["SUBSCRIBE", "flood"]);
  assert.ok(await stuck.until(atLeast(2), FRAME_TIMEOUT_MS));
  stuck.pause();
  const pub = await RawConn.open(tessera.port);
  t.defer(() => pub.close());
  const chunk = "y".repeat(64 * 1024);
  let delivered = 0;
  // Up to 64 MiB, far more than the socket buffers hold: the pending output passes 1mb and the client goes.
  for (let round = 0; round < 16; round++) {
    await pub.send(...Array.from({ length: 64 }, () => ["PUBLISH", "flood", chunk]));
    assert.ok(await pub.until(atLeast(64), 10_000), "publish replies");
    const counts = frames(pub.take()).map((f) => Number(f.slice(1, -2)));
    delivered += counts.reduce((a, b) => a + b, 0);
    if (counts.at(-1) === 0) break;
  }
  assert.ok(delivered > 16 && delivered < 16 * 64, `delivered ${delivered}`);
  await pub.send(["CLIENT", "LIST"], ["PUBSUB", "NUMSUB", "flood"]);
  assert.ok(await pub.until(atLeast(2), FRAME_TIMEOUT_MS));
  const [list, numsub] = frames(pub.take());
  assert.doesNotMatch(list, /name=stuck/);
  assert.equal(numsub, "*2\r\n$5\r\nflood\r\n:0\r\n");
  assert.match(tessera.output(), /scheduled to be closed ASAP for overcoming of output buffer limits/);
});

serverTest("ioredis subscribers receive message, pmessage and smessage events", async (t) => {
  const tessera = await t.tessera();
  const open = async () => {
    const r = new Redis({ port: tessera.port, host: "127.0.0.1", lazyConnect: true, retryStrategy: () => null });
    r.on("error", () => {});
    t.defer(() => r.disconnect());
    await r.connect();
    return r;
  };
  const [sub, pub] = await Promise.all([open(), open()]);
  const events: string[] = [];
  let notify: () => void = () => {};
  const arrived = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${JSON.stringify(events)}`)), FRAME_TIMEOUT_MS);
      notify = () => {
        if (events.length >= n) {
          clearTimeout(timer);
          resolve();
        }
      };
      notify();
    });
  sub.on("message", (ch: string, msg: string) => (events.push(`message ${ch} ${msg}`), notify()));
  sub.on("pmessage", (p: string, ch: string, msg: string) => (events.push(`pmessage ${p} ${ch} ${msg}`), notify()));
  sub.on("smessage", (ch: string, msg: string) => (events.push(`smessage ${ch} ${msg}`), notify()));
  assert.equal(await sub.subscribe("news", "weather"), 2);
  assert.equal(await sub.psubscribe("n*"), 3);
  assert.equal(await sub.ssubscribe("shard"), 1);
  assert.equal(await pub.publish("news", "héllo"), 2);
  assert.equal(await pub.publish("weather", "rain"), 1);
  assert.equal(await pub.spublish("shard", "s"), 1);
  assert.equal(await pub.publish("other", "x"), 0);
  await arrived(4);
  assert.deepEqual(events.sort(), [
    "message news héllo",
    "message weather rain",
    "pmessage n* news héllo",
    "smessage shard s",
  ]);
  assert.deepEqual(await pub.pubsub("NUMSUB", "news", "weather", "none"), ["news", 1, "weather", 1, "none", 0]);
  assert.equal(await pub.pubsub("NUMPAT"), 1);
  await sub.unsubscribe("news");
  assert.equal(await pub.publish("news", "again"), 1);
  await arrived(5);
  assert.equal(events.at(-1), "pmessage n* news again");
  sub.disconnect();
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await pub.pubsub("CHANNELS"), []);
  assert.equal(await pub.publish("news", "nobody"), 0);
});
