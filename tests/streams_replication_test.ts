/**
 * The replication stream of the stream commands, byte for byte against redis-server 7.0: XADD with
 * generated IDs, approximate trimming rewritten as exact, XREADGROUP / XCLAIM / XAUTOCLAIM
 * propagated as XCLAIM ... FORCE JUSTID LASTID and XGROUP SETID / CREATECONSUMER, a blocked
 * XREADGROUP served by another client's XADD, and MULTI/EXEC. Absolute times and generated IDs
 * are masked.
 */
import assert from "node:assert/strict";
import { serverTest } from "./helpers/test.ts";
import { connect, requireTool } from "./helpers/servers.ts";
import { blockedClients, Peer, withTimeout } from "./helpers/blocking.ts";
import { attachReplica } from "./helpers/raw_replica.ts";
import type { RespConnection } from "../src/resp/connection.ts";

const MASTER_ARGS = ["--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "3600"];

/** Commands run on both masters; ["BLOCKED", ...] runs on a second connection that blocks. */
const SCRIPT: string[][] = [
  ["XADD", "s", "1-1", "a", "1"],
  ["XADD", "s", "*", "b", "2"],
  ["XADD", "t", "5-*", "c", "3"],
  ["XADD", "t", "5-*", "c", "4"],
  ["XADD", "t", "MAXLEN", "~", "1", "6-0", "d", "4"],
  ["XADD", "t", "MINID", "~", "0", "6-1", "d", "5"],
  ["XADD", "t", "MAXLEN", "=", "10", "6-2", "d", "6"],
  ["XTRIM", "t", "MAXLEN", "~", "0"],
  ["XTRIM", "t", "MAXLEN", "4"],
  ["XTRIM", "t", "MAXLEN", "4"],
  ["XTRIM", "t", "MINID", "6-1"],
  ["XADD", "t", "NOMKSTREAM", "7-0", "e", "1"],
  ["XADD", "missing", "NOMKSTREAM", "7-0", "e", "1"],
  ["XGROUP", "CREATE", "t", "g", "0"],
  ["XGROUP", "CREATE", "t", "g", "0"],
  ["XGROUP", "CREATE", "new", "g2", "$", "MKSTREAM", "ENTRIESREAD", "2"],
  ["XADD", "t", "8-0", "f", "1"],
  ["XADD", "t", "9-0", "f", "2"],
  ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "t", ">"],
  ["XREADGROUP", "GROUP", "g", "bob", "NOACK", "COUNT", "1", "STREAMS", "t", ">"],
  ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "t", ">"],
  ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "t", "0"],
  ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "t", ">"],
  ["XCLAIM", "t", "g", "carol", "0", "6-2", "7-0"],
  ["XCLAIM", "t", "g", "carol", "0", "8-0", "JUSTID", "LASTID", "99-0"],
  ["XCLAIM", "t", "g", "carol", "0", "1-0", "LASTID", "100-0"],
  ["XCLAIM", "t", "g", "carol", "1000000", "8-0"],
  ["XDEL", "t", "7-0"],
  ["XAUTOCLAIM", "t", "g", "dave", "0", "0", "COUNT", "10"],
  ["XAUTOCLAIM", "t", "g", "dave", "0", "0", "COUNT", "10", "JUSTID"],
  ["XACK", "t", "g", "8-0", "1-1"],
  ["XACK", "t", "g", "1-1"],
  ["XGROUP", "SETID", "t", "g", "6-0"],
  ["XGROUP", "SETID", "t", "g", "$", "ENTRIESREAD", "3"],
  ["XGROUP", "CREATECONSUMER", "t", "g", "erin"],
  ["XGROUP", "CREATECONSUMER", "t", "g", "erin"],
  ["XGROUP", "DELCONSUMER", "t", "g", "erin"],
  ["XGROUP", "DELCONSUMER", "t", "g", "nobody"],
  ["XSETID", "t", "200-0", "ENTRIESADDED", "50", "MAXDELETEDID", "10-0"],
  ["XDEL", "t", "1-1"],
  ["XGROUP", "CREATE", "t", "g3", "$"],
  ["BLOCKED", "XREADGROUP", "GROUP", "g3", "frank", "BLOCK", "0", "STREAMS", "t", ">"],
  ["XADD", "t", "300-0", "h", "1"],
  ["BLOCKED", "XREAD", "BLOCK", "0", "STREAMS", "t", "$"],
  ["XADD", "t", "301-0", "h", "2"],
  ["XGROUP", "CREATE", "t", "g4", "$"],
  ["BLOCKED", "XREADGROUP", "GROUP", "g4", "gina", "NOACK", "BLOCK", "0", "STREAMS", "t", ">"],
  ["XADD", "t", "302-0", "h", "3"],
  ["MULTI"],
  ["XADD", "t", "303-0", "i", "1"],
  ["XREADGROUP", "GROUP", "g3", "frank", "STREAMS", "t", ">"],
  ["EXEC"],
  ["XGROUP", "DESTROY", "t", "g2"],
  ["XGROUP", "DESTROY", "new", "g2"],
  ["SET", "sentinel", "done"],
];

/** The stream one master sends for SCRIPT, with times and generated IDs masked. */
async function streamOf(port: number): Promise<{ stream: string; replies: string[] }> {
  const replica = await attachReplica(port);
  const c = await connect(port);
  const admin = await Peer.open(port);
  const replies: string[] = [];
  let blocked: Peer | null = null;
  for (const cmd of SCRIPT) {
    if (cmd[0] === "BLOCKED") {
      blocked = await Peer.open(port);
      await blocked.send(...cmd.slice(1));
      await blockedClients(admin, 1).catch(async (e) => {
        throw new Error(`${e.message}: ${cmd.join(" ")} answered ${JSON.stringify(await blocked!.reply())}`);
      });
      continue;
    }
    replies.push((await c.callRaw(...cmd)).replace(/1\d{12}-\d+/g, "<id>"));
    if (blocked !== null) {
      replies.push(await blocked.reply());
      blocked.close();
      blocked = null;
    }
  }
  const stream = await withTimeout(replica.until("sentinel\r\n$4\r\ndone\r\n"), "stream");
  c.close();
  admin.close();
  replica.close();
  return {
    stream: stream
      .replace(/\$13\r\n1\d{12}\r\n/g, "$13\r\n<unix ms>\r\n")
      .replace(/\$\d+\r\n1\d{12}-\d+\r\n/g, "<generated id>")
      .replaceAll("*1\r\n$4\r\nping\r\n", ""),
    replies,
  };
}

serverTest("streams: the replication stream equals redis-server 7.0's byte for byte", async (t) => {
  if (!requireTool("redis-server")) return;
  const tesseraProc = await t.tessera(MASTER_ARGS);
  const tessera = await streamOf(tesseraProc.port).catch((e) => {
    throw new Error(`tessera: ${e.message}\n${tesseraProc.output()}`);
  });
  const redis = await streamOf((await t.redis(MASTER_ARGS)).port);
  const show = (s: string) => s.replace(/\r\n/g, " ").replace(/\*\d+ /g, "\n");
  const mask = (r: string) => r.replace(/(\*4\r\n\$\d+\r\n\d+-\d+\r\n\$\d+\r\n[^\r]*\r\n:)\d+/g, "$1<t>");
  assert.deepEqual(tessera.replies.map(mask), redis.replies.map(mask));
  assert.equal(show(tessera.stream), show(redis.stream));
}, 30_000);

/** Node size is not replicated (CONFIG SET is not): every server starts with the same small nodes. */
const REPLICA_ARGS = ["--save", "", "--enable-debug-command", "yes", "--stream-node-max-entries", "3"];

/** Stream commands of every kind, run on the master. */
async function streamWrites(c: RespConnection, prefix: string): Promise<void> {
  const key = `${prefix}s`;
  for (let i = 1; i <= 10; i++) await c.call("XADD", key, `${i}-0`, "f", String(i), ...(i % 2 ? ["g", "x"] : []));
  await c.call("XADD", key, "MAXLEN", "~", "6", "*", "f", "auto");
  await c.call("XDEL", key, "8-0");
  await c.call("XGROUP", "CREATE", key, "g", "0");
  await c.call("XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", key, ">");
  await c.call("XREADGROUP", "GROUP", "g", "bob", "NOACK", "COUNT", "2", "STREAMS", key, ">");
  await c.call("XCLAIM", key, "g", "carol", "0", "7-0", "9-0");
  await c.call("XAUTOCLAIM", key, "g", "dave", "0", "0", "COUNT", "1");
  await c.call("XACK", key, "g", "9-0");
  await c.call("XSETID", key, "99999999999999-0");
}

/**
 * What replicas must agree on (consumer seen times are each server's own clock: left out). A
 * replica's group read counters follow what 7.0 propagates, so they are compared between the two
 * replicas; the master shares the digest.
 */
async function streamState(port: number, key: string, digestOnly = false): Promise<string[]> {
  const c = await connect(port);
  try {
    if (digestOnly) return [await c.callRaw("DEBUG", "DIGEST-VALUE", key)];
    return [
      await c.callRaw("DEBUG", "DIGEST-VALUE", key),
      await c.callRaw("XINFO", "STREAM", key),
      await c.callRaw("XINFO", "GROUPS", key),
      await c.callRaw("XPENDING", key, "g"),
      (await c.callRaw("XPENDING", key, "g", "-", "+", "10")).replace(
        /(\*4\r\n\$\d+\r\n\d+-\d+\r\n\$\d+\r\n[^\r]*\r\n:)\d+/g,
        "$1<t>",
      ),
    ];
  } finally {
    c.close();
  }
}

async function waitSame(ports: number[], key: string, digestOnly = false): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const states = await Promise.all(ports.map((p) => streamState(p, key, digestOnly)));
    try {
      for (const s of states.slice(1)) assert.deepEqual(s, states[0]);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

for (const masterKind of ["tessera", "redis-server"] as const) {
  serverTest(
    `streams: replicas (tessera and redis-server) of a ${masterKind} master hold the same streams`,
    async (t) => {
      if (!requireTool("redis-server")) return;
      const args = [...MASTER_ARGS, ...REPLICA_ARGS];
      const master = masterKind === "tessera" ? await t.tessera(args) : await t.redis(args);
      const mc = await connect(master.port);
      t.defer(() => mc.close());
      // Written before the replicas attach: carried by the snapshot (RDB type 19, groups and PEL).
      await streamWrites(mc, "a:");
      const [tr, rr] = await Promise.all([t.tessera(REPLICA_ARGS), t.redis(REPLICA_ARGS)]);
      for (const r of [tr, rr]) {
        const c = await connect(r.port);
        await c.call("REPLICAOF", "127.0.0.1", String(master.port));
        c.close();
      }
      await waitSame([master.port, tr.port, rr.port], "a:s", true);
      await waitSame([tr.port, rr.port], "a:s");
      // A reader blocked on the tessera replica is woken by the replicated XADD.
      const reader = await Peer.open(tr.port);
      t.defer(() => reader.close());
      const admin = await Peer.open(tr.port);
      t.defer(() => admin.close());
      await reader.send("XREAD", "BLOCK", "0", "STREAMS", "b:s", "$");
      await blockedClients(admin, 1);
      // Written afterwards: carried by the command stream.
      await streamWrites(mc, "b:");
      assert.match(await reader.reply(), /^\*1\r\n\*2\r\n\$3\r\nb:s\r\n\*1\r\n\*2\r\n\$3\r\n1-0\r\n/);
      await mc.call("MULTI");
      await mc.call("XADD", "b:s", "99999999999999-1", "in", "multi");
      await mc.call("XREADGROUP", "GROUP", "g", "erin", "STREAMS", "b:s", ">");
      await mc.call("EXEC");
      for (const key of ["a:s", "b:s"]) {
        await waitSame([master.port, tr.port, rr.port], key, true);
        await waitSame([tr.port, rr.port], key);
      }
    },
    30_000,
  );
}
