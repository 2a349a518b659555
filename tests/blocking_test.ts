/**
 * Blocking list commands (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP) against a real tessera and a real
 * redis-server: each scenario drives several connections and records what each one received;
 * the transcripts of both servers must be equal byte for byte, and the semantics that matter
 * (FIFO wake-up order, serving right after the pushing command or EXEC, disconnects, timeouts)
 * are asserted on tessera's transcript as well.
 */
import assert from "node:assert/strict";
import { serverTest } from "./helpers/test.ts";
import { blockedClients, both, encode, Peer, withTimeout } from "./helpers/blocking.ts";

serverTest("BLPOP wakes blocked clients in the order they blocked, one element each", async (t) => {
  const result = await both(t, async (port) => {
    const [x, y, z, pusher] = await Promise.all([Peer.open(port), Peer.open(port), Peer.open(port), Peer.open(port)]);
    const out: string[] = [];
    await x.send("BLPOP", "q", "0");
    await blockedClients(pusher, 1);
    await y.send("BRPOP", "other", "q", "0");
    await blockedClients(pusher, 2);
    await z.send("BLPOP", "q", "0");
    await blockedClients(pusher, 3);
    out.push(await pusher.call("RPUSH", "q", "1", "2"));
    out.push(await x.reply(), await y.reply());
    out.push(String(z.settled));
    out.push(await pusher.call("LLEN", "q"));
    out.push(await pusher.call("LPUSH", "q", "3"));
    out.push(await z.reply());
    out.push(await pusher.call("EXISTS", "q"));
    for (const p of [x, y, z, pusher]) p.close();
    return out;
  });
  if (result === null) return;
  assert.deepEqual(result, [
    ":2\r\n",
    "*2\r\n$1\r\nq\r\n$1\r\n1\r\n",
    "*2\r\n$1\r\nq\r\n$1\r\n2\r\n",
    "false",
    ":0\r\n",
    ":1\r\n",
    "*2\r\n$1\r\nq\r\n$1\r\n3\r\n",
    ":0\r\n",
  ]);
});

serverTest("a blocked client is served right after the push, before the pusher's next pipelined command", async (t) => {
  const result = await both(t, async (port) => {
    const [waiter, pusher] = await Promise.all([Peer.open(port), Peer.open(port)]);
    const out: string[] = [];
    await waiter.send("BLPOP", "k", "0");
    await blockedClients(pusher, 1);
    // One write carrying both commands: Redis serves the waiter between them.
    await pusher.conn.writeRaw(encode(["RPUSH", "k", "a"]) + encode(["LPOP", "k"]));
    out.push((await pusher.conn.readReply()).raw, (await pusher.conn.readReply()).raw);
    out.push(await waiter.reply());
    waiter.close();
    pusher.close();
    return out;
  });
  if (result === null) return;
  assert.deepEqual(result, [":1\r\n", "$-1\r\n", "*2\r\n$1\r\nk\r\n$1\r\na\r\n"]);
});

serverTest("MULTI/EXEC: blocked clients see the state after EXEC, not the steps inside it", async (t) => {
  const result = await both(t, async (port) => {
    const [waiter, writer] = await Promise.all([Peer.open(port), Peer.open(port)]);
    const out: string[] = [];
    await waiter.send("BLPOP", "k", "0");
    await blockedClients(writer, 1);
    for (const cmd of [["MULTI"], ["RPUSH", "k", "a", "b"], ["LPOP", "k"], ["EXEC"]]) {
      out.push(await writer.call(...cmd));
    }
    out.push(await waiter.reply());
    // Created and emptied inside one EXEC: the waiter stays blocked.
    await waiter.send("BLPOP", "k", "0");
    await blockedClients(writer, 1);
    for (const cmd of [["MULTI"], ["RPUSH", "k", "x"], ["DEL", "k"], ["EXEC"]]) out.push(await writer.call(...cmd));
    out.push(String(waiter.settled));
    out.push(await writer.call("RPUSH", "k", "y"));
    out.push(await waiter.reply());
    waiter.close();
    writer.close();
    return out;
  });
  if (result === null) return;
  assert.equal(result[4], "*2\r\n$1\r\nk\r\n$1\r\nb\r\n");
  assert.equal(result[9], "false");
  assert.equal(result[11], "*2\r\n$1\r\nk\r\n$1\r\ny\r\n");
});

serverTest("BLMOVE chains: the element moved into a key wakes a client blocked on that key", async (t) => {
  const result = await both(t, async (port) => {
    const [mover, popper, pusher] = await Promise.all([Peer.open(port), Peer.open(port), Peer.open(port)]);
    const out: string[] = [];
    await mover.send("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0");
    await blockedClients(pusher, 1);
    await popper.send("BLPOP", "dst", "0");
    await blockedClients(pusher, 2);
    out.push(await pusher.call("RPUSH", "src", "x", "y"));
    out.push(await mover.reply(), await popper.reply());
    out.push(await pusher.call("LRANGE", "src", "0", "-1"), await pusher.call("EXISTS", "dst"));
    // BRPOPLPUSH onto a key of the wrong type: the waiter gets the error, the element stays.
    await mover.send("BRPOPLPUSH", "empty", "str", "0");
    await blockedClients(pusher, 1);
    out.push(await pusher.call("SET", "str", "v"));
    out.push(await pusher.call("RPUSH", "empty", "e"));
    out.push(await mover.reply());
    out.push(await pusher.call("LRANGE", "empty", "0", "-1"));
    for (const p of [mover, popper, pusher]) p.close();
    return out;
  });
  if (result === null) return;
  assert.deepEqual(result, [
    ":2\r\n",
    "$1\r\nx\r\n",
    "*2\r\n$3\r\ndst\r\n$1\r\nx\r\n",
    "*1\r\n$1\r\ny\r\n",
    ":0\r\n",
    "+OK\r\n",
    ":1\r\n",
    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    "*1\r\n$1\r\ne\r\n",
  ]);
});

serverTest("BLMPOP with COUNT and BRPOP on several keys are served from the key that got data", async (t) => {
  const result = await both(t, async (port) => {
    const [a, b, pusher] = await Promise.all([Peer.open(port), Peer.open(port, 3), Peer.open(port)]);
    const out: string[] = [];
    await a.send("BLMPOP", "0", "2", "k1", "k2", "RIGHT", "COUNT", "2");
    await blockedClients(pusher, 1);
    await b.send("BRPOP", "k1", "k3", "k3", "0");
    await blockedClients(pusher, 2);
    out.push(await pusher.call("RPUSH", "k2", "a", "b", "c"));
    out.push(await a.reply());
    out.push(await pusher.call("RPUSH", "k3", "z"));
    out.push(await b.reply());
    out.push(await pusher.call("LRANGE", "k2", "0", "-1"));
    for (const p of [a, b, pusher]) p.close();
    return out;
  });
  if (result === null) return;
  assert.equal(result[1], "*2\r\n$2\r\nk2\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
  assert.equal(result[3], "*2\r\n$2\r\nk3\r\n$1\r\nz\r\n");
});

serverTest("keys moved into place by RENAME, COPY, MOVE and SWAPDB wake blocked clients", async (t) => {
  const result = await both(t, async (port) => {
    const [waiter, writer] = await Promise.all([Peer.open(port), Peer.open(port)]);
    const out: string[] = [];
    const cases: string[][][] = [
      [["RPUSH", "tmp", "r"], ["RENAME", "tmp", "k"]],
      [["RPUSH", "tmp", "c"], ["COPY", "tmp", "k"], ["DEL", "tmp"]],
      [["SELECT", "1"], ["RPUSH", "k", "m"], ["MOVE", "k", "0"], ["SELECT", "0"]],
      [["SELECT", "1"], ["RPUSH", "k", "s"], ["SWAPDB", "0", "1"], ["SELECT", "0"]],
    ];
    for (const steps of cases) {
      await waiter.send("BLPOP", "k", "0");
      await blockedClients(writer, 1);
      for (const cmd of steps) out.push(await writer.call(...cmd));
      out.push(await waiter.reply());
    }
    waiter.close();
    writer.close();
    return out;
  });
  if (result === null) return;
  const served = result.filter((r) => r.startsWith("*2"));
  assert.deepEqual(served, ["r", "c", "m", "s"].map((v) => `*2\r\n$1\r\nk\r\n$1\r\n${v}\r\n`));
});

serverTest("timeouts answer a null array (RESP2 *-1, RESP3 _) after about the given time", async (t) => {
  const result = await both(t, async (port) => {
    const [two, three] = await Promise.all([Peer.open(port), Peer.open(port, 3)]);
    const out: string[] = [];
    const started = Date.now();
    await two.send("BLPOP", "k", "0.2");
    await three.send("BLMOVE", "k", "d", "LEFT", "LEFT", "0.2");
    out.push(await two.reply(), await three.reply());
    const elapsed = Date.now() - started;
    out.push(String(elapsed >= 150 && elapsed < 2000));
    out.push(await two.call("BRPOPLPUSH", "k", "d", "0.01"), await three.call("BLMPOP", "0.01", "1", "k", "LEFT"));
    two.close();
    three.close();
    return out;
  });
  if (result === null) return;
  assert.deepEqual(result, ["*-1\r\n", "_\r\n", "true", "*-1\r\n", "_\r\n"]);
});

serverTest("a blocked client that disconnects or is killed consumes nothing; its pipeline waits", async (t) => {
  const result = await both(t, async (port) => {
    const [gone, killed, piped, admin] = await Promise.all([
      Peer.open(port),
      Peer.open(port),
      Peer.open(port),
      Peer.open(port),
    ]);
    const out: string[] = [];
    await gone.send("BLPOP", "k", "0");
    await killed.send("CLIENT", "ID");
    const id = (await killed.reply()).slice(1, -2);
    await killed.send("BLPOP", "k", "0");
    await blockedClients(admin, 2);
    gone.close();
    await blockedClients(admin, 1);
    out.push(await admin.call("CLIENT", "KILL", "ID", id));
    await blockedClients(admin, 0);
    // Commands pipelined after a blocking one run once it is served.
    await piped.conn.writeRaw(encode(["BLPOP", "k", "0"]) + encode(["ECHO", "after"]));
    await blockedClients(admin, 1);
    out.push(await admin.call("RPUSH", "k", "a", "b"));
    out.push((await piped.conn.readReply()).raw, (await piped.conn.readReply()).raw);
    out.push(await admin.call("LRANGE", "k", "0", "-1"));
    piped.close();
    admin.close();
    killed.close();
    return out;
  });
  if (result === null) return;
  assert.deepEqual(result, [
    ":1\r\n",
    ":2\r\n",
    "*2\r\n$1\r\nk\r\n$1\r\na\r\n",
    "$5\r\nafter\r\n",
    "*1\r\n$1\r\nb\r\n",
  ]);
});

serverTest("a blocked client that keeps sending while it is served never stalls (tessera)", async (t) => {
  const node = await t.tessera(["--save", ""]);
  const [waiter, pusher] = await Promise.all([Peer.open(node.port), Peer.open(node.port)]);
  t.defer(() => {
    waiter.close();
    pusher.close();
  });
  for (let i = 0; i < 300; i++) {
    // Vary the timing so the next command arrives before, during or after the wake-up.
    await waiter.conn.writeRaw(encode(["BLPOP", "k", "0"]));
    if (i % 3 === 1) await new Promise((r) => setTimeout(r, 1));
    const pushed = pusher.call("RPUSH", "k", `v${i}`);
    if (i % 3 === 2) await pushed;
    await waiter.conn.writeRaw(encode(["ECHO", `e${i}`]));
    await pushed;
    const replies = [
      (await withTimeout(waiter.conn.readReply(), `BLPOP round ${i}`)).raw,
      (await withTimeout(waiter.conn.readReply(), `ECHO round ${i}`)).raw,
    ];
    const value = `v${i}`;
    const echo = `e${i}`;
    assert.deepEqual(replies, [
      `*2\r\n$1\r\nk\r\n$${value.length}\r\n${value}\r\n`,
      `$${echo.length}\r\n${echo}\r\n`,
    ]);
  }
});
