/**
 * Faults on the replication link, against a scripted master: a snapshot cut short, a corrupt
 * snapshot, garbage in the stream. The replica retries, logs why, and keeps serving its previous
 * dataset — never a half-loaded one.
 */
import assert from "node:assert/strict";
import { serverTest } from "./helpers/test.ts";
import { freePort } from "./helpers/servers.ts";
import { callOk, eventually } from "./helpers/cluster.ts";
import { latin1ToBytes } from "../src/resp/latin1.ts";

const REPL_ID = "a".repeat(40);

/** A fake master: answers the handshake, then lets `afterPsync` misbehave; counts connections. */
function fakeMaster(
  afterPsync: (conn: Deno.Conn) => Promise<void>,
): { port: number; attempts: () => number; close: () => void } {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  let attempts = 0;
  (async () => {
    for await (const conn of listener) {
      attempts++;
      (async () => {
        const buf = new Uint8Array(4096);
        let text = "";
        try {
          while (!text.includes("PSYNC")) {
            const n = await conn.read(buf);
            if (n === null) return;
            text += new TextDecoder().decode(buf.subarray(0, n));
            if (text.includes("PING") && !text.includes("+PONG sent")) {
              text += "+PONG sent";
              await conn.write(latin1ToBytes("+PONG\r\n"));
            }
            const replconfs = text.split("REPLCONF").length - 1;
            if (replconfs === 2 && !text.includes("+OKs sent")) {
              text += "+OKs sent";
              await conn.write(latin1ToBytes("+OK\r\n+OK\r\n"));
            }
          }
          // Wait for the PSYNC's arguments to arrive whole.
          await new Promise((r) => setTimeout(r, 50));
          await afterPsync(conn);
        } catch {
          // the replica hung up
        } finally {
          try {
            conn.close();
          } catch {
            // closed
          }
        }
      })();
    }
  })().catch(() => {});
  return { port, attempts: () => attempts, close: () => listener.close() };
}

async function assertKeepsDataAndRetries(
  t: Parameters<Parameters<typeof serverTest>[1]>[0],
  afterPsync: (conn: Deno.Conn) => Promise<void>,
  logged: RegExp,
): Promise<void> {
  const master = fakeMaster(afterPsync);
  t.defer(master.close);
  const replica = await t.tessera([]);
  await callOk(replica.port, "SET", "kept", "value");
  await callOk(replica.port, "RPUSH", "list", "a", "b");
  await callOk(replica.port, "REPLICAOF", "127.0.0.1", String(master.port));
  await eventually("the replica retries", () => {
    assert.ok(master.attempts() >= 2, `connections: ${master.attempts()}`);
    return Promise.resolve();
  }, 10_000);
  assert.match(replica.output(), logged);
  assert.equal(await callOk(replica.port, "GET", "kept"), "value");
  assert.equal(await callOk(replica.port, "DBSIZE"), 2);
  const info = (await callOk(replica.port, "INFO", "replication")) as string;
  assert.match(info, /master_link_status:down/);
}

serverTest("a snapshot cut short: the replica keeps its data and retries", async (t) => {
  await assertKeepsDataAndRetries(t, async (conn) => {
    await conn.write(latin1ToBytes(`+FULLRESYNC ${REPL_ID} 0\r\n$1000\r\nREDIS0010`));
  }, /Master link error .*connection closed/);
}, 30_000);

serverTest("a corrupt snapshot: refused, the old dataset stays, the replica retries", async (t) => {
  await assertKeepsDataAndRetries(t, async (conn) => {
    const junk = "REDIS0010" + "\xfe\x00\x00\x05hello\x05world" + "garbage!".repeat(8);
    await conn.write(latin1ToBytes(`+FULLRESYNC ${REPL_ID} 0\r\n$${junk.length}\r\n${junk}`));
    await new Promise((r) => setTimeout(r, 300));
  }, /Master link error/);
}, 30_000);

serverTest("garbage instead of a PSYNC reply or in the stream closes the link and retries", async (t) => {
  await assertKeepsDataAndRetries(t, async (conn) => {
    await conn.write(latin1ToBytes(`+CONTINUE ${REPL_ID}\r\n*1\r\n$abc\r\n`));
    await new Promise((r) => setTimeout(r, 300));
  }, /Protocol error|Master link error|Connection with master lost/);
}, 30_000);
