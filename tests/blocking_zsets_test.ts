/**
 * Blocking sorted set commands (BZPOPMIN BZPOPMAX BZMPOP) against a real tessera and a real
 * redis-server: each scenario drives several connections and records what each one received;
 * the transcripts of both servers must be equal byte for byte, and the semantics that matter
 * (FIFO wake-up order, reply shapes in RESP2 and RESP3, serving after EXEC, timeouts) are
 * asserted on tessera's transcript as well.
 */
import assert from "node:assert/strict";
import { serverTest } from "./helpers/test.ts";
import { blockedClients, both, Peer } from "./helpers/blocking.ts";

serverTest("BZPOPMIN/BZPOPMAX/BZMPOP wake blocked clients in the order they blocked", async (t) => {
  const result = await both(t, async (port) => {
    const peers = await Promise.all([Peer.open(port), Peer.open(port), Peer.open(port, 3), Peer.open(port)]);
    const [x, y, z, writer] = peers;
    const out: string[] = [];
    await x.send("BZPOPMIN", "k", "0");
    await blockedClients(writer, 1);
    await y.send("BZPOPMAX", "other", "k", "0");
    await blockedClients(writer, 2);
    await z.send("BZMPOP", "0", "1", "k", "MIN", "COUNT", "2");
    await blockedClients(writer, 3);
    out.push(await writer.call("ZADD", "k", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"));
    out.push(await x.reply(), await y.reply(), await z.reply());
    out.push(await writer.call("ZRANGE", "k", "0", "-1", "WITHSCORES"));
    out.push(await x.call("BZMPOP", "0", "1", "k", "MAX", "COUNT", "10"));
    // Two waiters, one element: the first gets it, the second stays blocked until more comes.
    await x.send("BZMPOP", "0", "1", "k", "MAX", "COUNT", "10");
    await blockedClients(writer, 1);
    await y.send("BZPOPMIN", "k", "0");
    await blockedClients(writer, 2);
    out.push(await writer.call("ZADD", "k", "7", "f"));
    out.push(await x.reply());
    out.push(String(y.settled));
    out.push(await writer.call("ZINCRBY", "k", "1.5", "g"));
    out.push(await y.reply());
    out.push(await writer.call("EXISTS", "k"));
    for (const p of peers) p.close();
    return out;
  });
  if (result === null) return;
  assert.deepEqual(result, [
    ":5\r\n",
    "*3\r\n$1\r\nk\r\n$1\r\na\r\n$1\r\n1\r\n",
    "*3\r\n$1\r\nk\r\n$1\r\ne\r\n$1\r\n5\r\n",
    "*2\r\n$1\r\nk\r\n*2\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n",
    "*2\r\n$1\r\nd\r\n$1\r\n4\r\n",
    "*2\r\n$1\r\nk\r\n*1\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n",
    ":1\r\n",
    "*2\r\n$1\r\nk\r\n*1\r\n*2\r\n$1\r\nf\r\n$1\r\n7\r\n",
    "false",
    "$3\r\n1.5\r\n",
    "*3\r\n$1\r\nk\r\n$1\r\ng\r\n$3\r\n1.5\r\n",
    ":0\r\n",
  ]);
});

serverTest("BZPOPMIN/BZMPOP: blocked clients see the state after EXEC, not the steps inside it", async (t) => {
  const result = await both(t, async (port) => {
    const [waiter, writer] = await Promise.all([Peer.open(port, 3), Peer.open(port)]);
    const out: string[] = [];
    await waiter.send("BZPOPMIN", "k", "0");
    await blockedClients(writer, 1);
    for (const cmd of [["MULTI"], ["ZADD", "k", "1", "a", "2", "b"], ["ZPOPMIN", "k"], ["EXEC"]]) {
      out.push(await writer.call(...cmd));
    }
    out.push(await waiter.reply());
    // Created and emptied inside one EXEC: the waiter stays blocked.
    await waiter.send("BZMPOP", "0", "2", "j", "k", "MAX");
    await blockedClients(writer, 1);
    for (const cmd of [["MULTI"], ["ZADD", "k", "1", "x"], ["DEL", "k"], ["EXEC"]]) out.push(await writer.call(...cmd));
    out.push(String(waiter.settled));
    // A key of another type does not serve it either.
    out.push(await writer.call("RPUSH", "k", "l"));
    out.push(String(waiter.settled));
    for (const cmd of [["MULTI"], ["DEL", "k"], ["ZADD", "k", "-1", "y", "3", "z"], ["EXEC"]]) {
      out.push(await writer.call(...cmd));
    }
    out.push(await waiter.reply());
    waiter.close();
    writer.close();
    return out;
  });
  if (result === null) return;
  assert.equal(result[4], "*3\r\n$1\r\nk\r\n$1\r\nb\r\n,2\r\n");
  assert.equal(result[9], "false");
  assert.equal(result[11], "false");
  assert.equal(result[16], "*2\r\n$1\r\nk\r\n*1\r\n*2\r\n$1\r\nz\r\n,3\r\n");
});

serverTest("BZPOPMAX and BZMPOP are served from the key a STORE command creates", async (t) => {
  const result = await both(t, async (port) => {
    const [a, b, writer] = await Promise.all([Peer.open(port), Peer.open(port), Peer.open(port)]);
    const out: string[] = [];
    await a.send("BZPOPMAX", "u", "i", "0");
    await blockedClients(writer, 1);
    await b.send("BZMPOP", "0", "1", "i", "MIN", "COUNT", "5");
    await blockedClients(writer, 2);
    out.push(await writer.call("ZADD", "s1", "1", "a", "2", "b", "3", "c"));
    out.push(await writer.call("ZADD", "s2", "10", "b", "20", "c"));
    out.push(await writer.call("ZINTERSTORE", "i", "2", "s1", "s2"));
    out.push(await a.reply(), await b.reply());
    out.push(await writer.call("EXISTS", "i"));
    a.close();
    b.close();
    writer.close();
    return out;
  });
  if (result === null) return;
  assert.equal(result[3], "*3\r\n$1\r\ni\r\n$1\r\nc\r\n$2\r\n23\r\n");
  assert.equal(result[4], "*2\r\n$1\r\ni\r\n*1\r\n*2\r\n$1\r\nb\r\n$2\r\n12\r\n");
  assert.equal(result[5], ":0\r\n");
});

serverTest(
  "BZPOPMIN/BZMPOP timeouts answer a null array (RESP2 *-1, RESP3 _) after about the given time",
  async (t) => {
    const result = await both(t, async (port) => {
      const [two, three] = await Promise.all([Peer.open(port), Peer.open(port, 3)]);
      const out: string[] = [];
      const started = Date.now();
      await two.send("BZPOPMIN", "k", "0.2");
      await three.send("BZMPOP", "0.2", "1", "k", "MAX");
      out.push(await two.reply(), await three.reply());
      const elapsed = Date.now() - started;
      out.push(String(elapsed >= 150 && elapsed < 2000));
      out.push(await two.call("BZMPOP", "0.01", "2", "k", "j", "MIN"), await three.call("BZPOPMAX", "k", "0.01"));
      two.close();
      three.close();
      return out;
    });
    if (result === null) return;
    assert.deepEqual(result, ["*-1\r\n", "_\r\n", "true", "*-1\r\n", "_\r\n"]);
  },
);

serverTest("a waiter for another type is skipped: BLPOP first, BZPOPMIN second, ZADD serves the second", async (t) => {
  const result = await both(t, async (port) => {
    const [lister, zsetter, writer] = await Promise.all([Peer.open(port), Peer.open(port), Peer.open(port)]);
    const out: string[] = [];
    await lister.send("BLPOP", "k", "0");
    await blockedClients(writer, 1);
    await zsetter.send("BZPOPMIN", "k", "0");
    await blockedClients(writer, 2);
    out.push(await writer.call("ZADD", "k", "1", "x"));
    out.push(await zsetter.reply());
    out.push(String(lister.settled));
    out.push(await writer.call("DEL", "k"), await writer.call("RPUSH", "k", "v"));
    out.push(await lister.reply());
    for (const p of [lister, zsetter, writer]) p.close();
    return out;
  });
  if (result === null) return;
  assert.deepEqual(result, [
    ":1\r\n",
    "*3\r\n$1\r\nk\r\n$1\r\nx\r\n$1\r\n1\r\n",
    "false",
    ":0\r\n",
    ":1\r\n",
    "*2\r\n$1\r\nk\r\n$1\r\nv\r\n",
  ]);
});
