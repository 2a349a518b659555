/**
 * Keyspace notifications on tessera: off by default, CONFIG SET switching them at once, the exact
 * events (names and order, as Redis documents them) of a command mix, RESP2 and RESP3 frames, exact
 * channel subscriptions and other databases, lazy and active expiry, and a replica announcing the
 * commands its master sends. The byte-for-byte comparison with redis-server is in
 * differential_keyspace_events_test.ts.
 */
import assert from "node:assert/strict";
import { serverTest } from "./helpers/test.ts";
import { connect } from "./helpers/servers.ts";
import { callOk, eventually } from "./helpers/cluster.ts";
import type { RespConnection } from "../src/resp/connection.ts";

/** How long a frame may take to arrive. */
const FRAME_TIMEOUT_MS = 3000;
/** The marker channel that ends a batch (it matches the `__key*__:*` pattern too). */
const MARKER = "__keymarker__:end";

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing in ${FRAME_TIMEOUT_MS} ms`)), FRAME_TIMEOUT_MS);
    }),
  ]);
}

/** A subscriber that turns frames into `channel message` lines up to the marker. */
class Listener {
  private constructor(readonly conn: RespConnection, private readonly port: number) {}

  /** Connects (RESP2 or RESP3) and subscribes to `__key*__:*` (pattern) or to the given channels. */
  static async open(port: number, opts: { resp3?: boolean; channels?: string[] } = {}): Promise<Listener> {
    const conn = await connect(port);
    if (opts.resp3) await conn.call("HELLO", "3");
    if (opts.channels === undefined) {
      await withTimeout(conn.call("PSUBSCRIBE", "__key*__:*"), "psubscribe");
    } else {
      const channels = [...opts.channels, MARKER];
      await withTimeout(conn.call("SUBSCRIBE", ...channels), "subscribe");
      for (let i = 1; i < channels.length; i++) await withTimeout(conn.readReply(), "subscribe");
    }
    return new Listener(conn, port);
  }

  /** Publishes the marker and returns the raw frames received before it. */
  async rawBatch(): Promise<string[]> {
    const publisher = await connect(this.port);
    try {
      await publisher.call("PUBLISH", MARKER, "x");
    } finally {
      publisher.close();
    }
    const frames: string[] = [];
    for (;;) {
      const { raw } = await withTimeout(this.conn.readReply(), "event");
      if (raw.includes(MARKER)) return frames;
      frames.push(raw);
    }
  }

  /** Like rawBatch, as `channel message` lines. */
  async batch(): Promise<string[]> {
    const lines: string[] = [];
    for (const raw of await this.rawBatch()) {
      // The last two bulk strings of a message or pmessage frame are the channel and the message.
      const bulks = [...raw.matchAll(/\$\d+\r\n([^\r]*)\r\n/g)].map((m) => m[1]);
      lines.push(`${bulks.at(-2)} ${bulks.at(-1)}`);
    }
    return lines;
  }

  close(): void {
    this.conn.close();
  }
}

/** Both lines Redis publishes for one event in database 0 with K and E enabled. */
function ev(event: string, key: string, db = 0): string[] {
  return [`__keyspace@${db}__:${key} ${event}`, `__keyevent@${db}__:${event} ${key}`];
}

serverTest("notifications are off by default and CONFIG SET switches them at once", async (t) => {
  const server = await t.tessera(["--save", ""]);
  const listener = await Listener.open(server.port);
  t.defer(() => listener.close());
  const c = await connect(server.port);
  t.defer(() => c.close());
  assert.deepEqual(await c.call("CONFIG", "GET", "notify-keyspace-events"), ["notify-keyspace-events", ""]);
  await c.call("SET", "k", "v");
  assert.deepEqual(await listener.batch(), []);
  await c.call("CONFIG", "SET", "notify-keyspace-events", "KEA");
  assert.deepEqual(await c.call("CONFIG", "GET", "notify-keyspace-events"), ["notify-keyspace-events", "AKE"]);
  await c.call("SET", "k", "v");
  assert.deepEqual(await listener.batch(), ev("set", "k"));
  // Only the keyevent channel, only generic events.
  await c.call("CONFIG", "SET", "notify-keyspace-events", "Eg");
  await c.call("SET", "k", "v");
  await c.call("DEL", "k");
  assert.deepEqual(await listener.batch(), ["__keyevent@0__:del k"]);
  // Classes without K or E publish nothing.
  await c.call("CONFIG", "SET", "notify-keyspace-events", "A");
  await c.call("SET", "k", "v");
  assert.deepEqual(await listener.batch(), []);
  await c.call("CONFIG", "SET", "notify-keyspace-events", "");
  await c.call("LPUSH", "l", "a");
  assert.deepEqual(await listener.batch(), []);
});

serverTest("a command mix announces every event, in Redis's order, once", async (t) => {
  const server = await t.tessera(["--save", "", "--notify-keyspace-events", "KEA"]);
  const listener = await Listener.open(server.port);
  t.defer(() => listener.close());
  const c = await connect(server.port);
  t.defer(() => c.close());
  const steps: [string[], string[]][] = [
    [["RPUSH", "src", "a"], ev("rpush", "src")],
    [["LMOVE", "src", "dst", "LEFT", "RIGHT"], [...ev("rpush", "dst"), ...ev("lpop", "src"), ...ev("del", "src")]],
    [["RENAME", "dst", "d2"], [...ev("rename_from", "dst"), ...ev("rename_to", "d2")]],
    [["SET", "s", "1", "EX", "100"], [...ev("set", "s"), ...ev("expire", "s")]],
    [["INCRBY", "s", "2"], ev("incrby", "s")],
    [["PERSIST", "s"], ev("persist", "s")],
    [["HSET", "h", "f", "v"], ev("hset", "h")],
    [["HDEL", "h", "f"], [...ev("hdel", "h"), ...ev("del", "h")]],
    [["SADD", "set", "a", "b"], ev("sadd", "set")],
    [["SINTERSTORE", "set2", "set", "set"], ev("sinterstore", "set2")],
    [["ZADD", "z", "1", "a"], ev("zadd", "z")],
    [["ZINCRBY", "z", "1", "a"], ev("zincr", "z")],
    [["ZPOPMIN", "z"], [...ev("zpopmin", "z"), ...ev("del", "z")]],
    [["SETBIT", "b", "3", "1"], ev("setbit", "b")],
    [["PFADD", "hll", "x"], ev("pfadd", "hll")],
    [["COPY", "b", "b2"], ev("copy_to", "b2")],
    [["EXPIRE", "b2", "-1"], ev("del", "b2")],
    [["DEL", "s", "nosuch", "b"], [...ev("del", "s"), ...ev("del", "b")]],
    // Nothing changes: nothing is announced.
    [["SADD", "set", "a"], []],
    [["LPOP", "nosuch"], []],
    [["GET", "nosuch"], []],
  ];
  for (const [cmd, expected] of steps) {
    await c.call(...cmd);
    assert.deepEqual(await listener.batch(), expected, cmd.join(" "));
  }
  // A transaction announces its commands' events at EXEC, in order.
  await c.call("MULTI");
  await c.call("SET", "t", "1");
  await c.call("INCR", "t");
  assert.deepEqual(await listener.batch(), []);
  await c.call("EXEC");
  assert.deepEqual(await listener.batch(), [...ev("set", "t"), ...ev("incrby", "t")]);
  // n and m classes: new keys and misses of read lookups.
  await c.call("CONFIG", "SET", "notify-keyspace-events", "KEnm");
  await c.call("SET", "fresh", "1");
  await c.call("GET", "absent");
  await c.call("LPUSHX", "absent", "1");
  assert.deepEqual(await listener.batch(), [...ev("new", "fresh"), ...ev("keymiss", "absent")]);
});

serverTest("RESP2 and RESP3 frames, exact channels, other databases", async (t) => {
  const server = await t.tessera(["--save", "", "--notify-keyspace-events", "KEA"]);
  const resp2 = await Listener.open(server.port);
  const resp3 = await Listener.open(server.port, { resp3: true });
  const exact = await Listener.open(server.port, { channels: ["__keyspace@0__:k", "__keyevent@3__:lpush"] });
  t.defer(() => [resp2, resp3, exact].forEach((l) => l.close()));
  const c = await connect(server.port);
  t.defer(() => c.close());
  await c.call("SET", "k", "v");
  await c.call("SET", "other", "v");
  await c.call("SELECT", "3");
  await c.call("LPUSH", "k", "x");
  const pm = (channel: string, message: string) =>
    `$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$${channel.length}\r\n${channel}\r\n$${message.length}\r\n${message}\r\n`;
  const expected = [
    pm("__keyspace@0__:k", "set"),
    pm("__keyevent@0__:set", "k"),
    pm("__keyspace@0__:other", "set"),
    pm("__keyevent@0__:set", "other"),
    pm("__keyspace@3__:k", "lpush"),
    pm("__keyevent@3__:lpush", "k"),
  ];
  assert.deepEqual(await resp2.rawBatch(), expected.map((f) => "*4\r\n" + f));
  assert.deepEqual(await resp3.rawBatch(), expected.map((f) => ">4\r\n" + f));
  assert.deepEqual(await exact.rawBatch(), [
    "*3\r\n$7\r\nmessage\r\n$16\r\n__keyspace@0__:k\r\n$3\r\nset\r\n",
    "*3\r\n$7\r\nmessage\r\n$20\r\n__keyevent@3__:lpush\r\n$1\r\nk\r\n",
  ]);
});

serverTest("expired keys are announced on access and by the active expire cycle", async (t) => {
  const server = await t.tessera(["--save", "", "--notify-keyspace-events", "KEA", "--enable-debug-command", "yes"]);
  const listener = await Listener.open(server.port);
  t.defer(() => listener.close());
  const c = await connect(server.port);
  t.defer(() => c.close());
  await c.call("DEBUG", "SET-ACTIVE-EXPIRE", "0");
  await c.call("SET", "lazy", "v", "PX", "20");
  assert.deepEqual(await listener.batch(), [...ev("set", "lazy"), ...ev("expire", "lazy")]);
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(await listener.batch(), []);
  assert.equal(await c.call("GET", "lazy"), null);
  assert.deepEqual(await listener.batch(), ev("expired", "lazy"));
  await c.call("DEBUG", "SET-ACTIVE-EXPIRE", "1");
  await c.call("SET", "active", "v", "PX", "20");
  assert.deepEqual(await listener.batch(), [...ev("set", "active"), ...ev("expire", "active")]);
  // No command touches the key: the cron's expire cycle deletes and announces it.
  await eventually("active expiry", async () => {
    assert.equal(await c.call("DBSIZE"), 0);
  }, 5000);
  assert.deepEqual(await listener.batch(), ev("expired", "active"));
});

serverTest("a replica announces the commands its master sends", async (t) => {
  const args = ["--save", "", "--repl-diskless-sync-delay", "0"];
  const master = await t.tessera(args);
  const replica = await t.tessera([...args, "--notify-keyspace-events", "KEA"]);
  await callOk(replica.port, "REPLICAOF", "127.0.0.1", String(master.port));
  await eventually("link up", async () => {
    const info = await callOk(replica.port, "INFO", "replication") as string;
    assert.match(info, /master_link_status:up/);
  }, 15_000);
  const listener = await Listener.open(replica.port);
  t.defer(() => listener.close());
  const c = await connect(master.port);
  t.defer(() => c.close());
  await c.call("SET", "k", "1", "EX", "100");
  await c.call("RPUSH", "l", "a", "b");
  await c.call("LPOP", "l", "2");
  await c.call("INCRBYFLOAT", "f", "1.5");
  assert.equal(await c.call("WAIT", "1", "2000"), 1);
  // The master sends SET ... PXAT and INCRBYFLOAT as SET KEEPTTL: the replica announces what it runs.
  assert.deepEqual(await listener.batch(), [
    ...ev("set", "k"),
    ...ev("expire", "k"),
    ...ev("rpush", "l"),
    ...ev("lpop", "l"),
    ...ev("del", "l"),
    ...ev("set", "f"),
  ]);
}, 60_000);

serverTest("DEBUG RELOAD NOFLUSH loads keys into the live databases without announcing them", async (t) => {
  const server = await t.tessera(["--save", "", "--enable-debug-command", "yes", "--notify-keyspace-events", "KEAn"]);
  const listener = await Listener.open(server.port);
  t.defer(() => listener.close());
  const c = await connect(server.port);
  t.defer(() => c.close());
  await c.call("SET", "k", "v");
  await c.call("SAVE");
  assert.deepEqual(await listener.batch(), [...ev("new", "k"), ...ev("set", "k")]);
  await c.call("DEL", "k");
  assert.deepEqual(await listener.batch(), ev("del", "k"));
  // The saved key comes back into the live database: Redis's dbAddRDBLoad announces nothing.
  assert.equal(await callOk(server.port, "DEBUG", "RELOAD", "NOSAVE", "NOFLUSH"), "OK");
  assert.equal(await c.call("GET", "k"), "v");
  assert.deepEqual(await listener.batch(), []);
  // Events flow again afterwards.
  await c.call("SET", "k2", "v");
  assert.deepEqual(await listener.batch(), [...ev("new", "k2"), ...ev("set", "k2")]);
});
