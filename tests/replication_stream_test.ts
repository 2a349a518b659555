/**
 * The replication stream, byte for byte: a scripted replica attaches to tessera and to redis-server
 * 7.0, the same commands run on both masters, and the streams they send must be identical once
 * absolute times (PXAT / PEXPIREAT values) are masked.
 */
import assert from "node:assert/strict";
import { serverTest } from "./helpers/test.ts";
import { connect, requireTool } from "./helpers/servers.ts";
import { withTimeout } from "./helpers/blocking.ts";
import { attachReplica } from "./helpers/raw_replica.ts";

const MASTER_ARGS = [
  "--repl-diskless-sync-delay",
  "0",
  "--repl-ping-replica-period",
  "3600",
  "--enable-debug-command",
  "yes",
];

/** Commands whose propagated form Redis rewrites, plus plain ones for contrast. */
const SCRIPT: string[][] = [
  ["SET", "plain", "v"],
  ["set", "lower", "case kept"],
  ["GET", "plain"],
  ["SET", "ex", "v", "EX", "100"],
  ["SET", "pxat", "v", "PXAT", "99999999999999"],
  ["SET", "getset-ex", "v", "GET", "PX", "5000"],
  ["SETEX", "setex", "100", "v"],
  ["PSETEX", "psetex", "100000", "v"],
  ["EXPIRE", "plain", "100"],
  ["PEXPIRE", "plain", "200000", "GT"],
  ["pexpireat", "plain", "99999999999998"],
  ["EXPIRE", "lower", "-1"],
  ["INCRBYFLOAT", "float", "1.5"],
  ["HINCRBYFLOAT", "hfloat", "f", "2.25"],
  ["GETSET", "getset", "new"],
  ["SET", "getdel", "v"],
  ["GETDEL", "getdel"],
  ["SET", "getex", "v"],
  ["GETEX", "getex", "PX", "100000"],
  ["GETEX", "getex", "PERSIST"],
  ["GETEX", "getex"],
  ["SADD", "spop1", "only"],
  ["SPOP", "spop1"],
  ["SADD", "spopall", "a", "b"],
  ["SPOP", "spopall", "5"],
  ["RPUSH", "list", "a", "b", "c", "d", "e"],
  ["BLPOP", "list", "0"],
  ["BRPOP", "list", "0"],
  ["LMPOP", "1", "list", "LEFT", "COUNT", "1"],
  ["BLMPOP", "0", "1", "list", "RIGHT", "COUNT", "10"],
  ["RPUSH", "list2", "x", "y"],
  ["BLMOVE", "list2", "dst", "LEFT", "RIGHT", "0"],
  ["BRPOPLPUSH", "list2", "dst", "0"],
  ["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"],
  ["BZPOPMIN", "z", "0"],
  ["BZPOPMAX", "z", "0"],
  ["ZMPOP", "1", "z", "MIN", "COUNT", "1"],
  ["BZMPOP", "0", "1", "z", "MAX", "COUNT", "3"],
  ["MULTI"],
  ["INCR", "tx"],
  ["INCR", "tx"],
  ["EXEC"],
  ["MULTI"],
  ["INCR", "tx1"],
  ["GET", "tx1"],
  ["EXEC"],
  ["SELECT", "3"],
  ["SET", "in3", "v"],
  ["SELECT", "0"],
  ["PUBLISH", "ch", "msg"],
  ["DEL", "nothing"],
  ["DEL", "plain"],
  // Keys found expired: a read propagates the DEL alone, a write wraps DEL and itself in MULTI/EXEC.
  ["SET", "short1", "v", "PX", "1"],
  ["SET", "short2", "5", "PX", "1"],
  ["SLEEP", "20"],
  ["GET", "short1"],
  ["INCR", "short2"],
  ["SET", "sentinel", "done"],
];

/** The stream one master sends for SCRIPT, with absolute times masked. */
async function streamOf(port: number): Promise<string> {
  const replica = await attachReplica(port);
  const c = await connect(port);
  // Only lookups expire keys here, so the order of DELs does not depend on the expiry cycle's timing.
  await c.call("DEBUG", "SET-ACTIVE-EXPIRE", "0");
  for (const cmd of SCRIPT) {
    if (cmd[0] === "SLEEP") await new Promise((r) => setTimeout(r, Number(cmd[1])));
    else await c.call(...cmd);
  }
  const stream = await withTimeout(replica.until("sentinel\r\n$4\r\ndone\r\n"), "stream").catch((e) => {
    throw new Error(`${e.message} from port ${port}; got so far: ${JSON.stringify(replica.buffered())}`);
  });
  c.close();
  replica.close();
  // Periodic PINGs depend on when the cron ticks, not on the commands.
  return stream.replace(/\$13\r\n1\d{12}\r\n/g, "$13\r\n<unix ms>\r\n").replaceAll("*1\r\n$4\r\nping\r\n", "");
}

serverTest("the replication stream equals redis-server 7.0's byte for byte", async (t) => {
  if (!requireTool("redis-server")) return;
  const tesseraProc = await t.tessera(MASTER_ARGS);
  const tessera = await streamOf(tesseraProc.port).catch((e) => {
    throw new Error(`tessera: ${e.message}\n${tesseraProc.output()}`);
  });
  const redis = await streamOf((await t.redis(MASTER_ARGS)).port);
  const show = (s: string) => s.replace(/\r\n/g, " ").replace(/\*\d+ /g, "\n");
  assert.equal(show(tessera), show(redis));
}, 30_000);
