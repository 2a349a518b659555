/**
 * DEBUG DIGEST and DIGEST-VALUE mix each type's content as redis-server does, so the same data gives
 * the same digests on both (replication tests compare datasets this way).
 */
import assert from "node:assert/strict";
import { serverTest } from "./helpers/test.ts";
import { connect, requireTool } from "./helpers/servers.ts";

const ARGS = ["--save", "", "--enable-debug-command", "yes"];

/** Commands that build one value of each kind that has content digests. */
const DATA = [
  ["SET", "str", "hello"],
  ["SET", "num", "12345"],
  ["HSET", "h", "a", "1", "bb", "22", "ccc", "333"],
  ["HSET", "hbig", "f", "x".repeat(100)],
  ["SADD", "intset", "3", "1", "2", "-7"],
  ["SADD", "strset", "x", "yy", "zzz"],
  ["SET", "ttl", "v", "EX", "1000"],
  ["RPUSH", "list", "a", "1", "bb", "-22", "x".repeat(300)],
  ["ZADD", "zsmall", "1", "a", "0.1", "b", "-3e300", "c", "inf", "d"],
  ["ZADD", "zbig", "2.5", "y".repeat(100), "7", "z"],
];

serverTest("DEBUG DIGEST / DIGEST-VALUE equal redis-server's for every type", async (t) => {
  if (!requireTool("redis-server")) return;
  const digests: string[][] = [];
  for (const proc of [await t.tessera(ARGS), await t.redis(ARGS)]) {
    const conn = await connect(proc.port);
    for (const cmd of DATA) await conn.call(...cmd);
    const values = await conn.call("DEBUG", "DIGEST-VALUE", ...DATA.map((cmd) => cmd[1]));
    const all = await conn.call("DEBUG", "DIGEST");
    digests.push([...(values as string[]), all as string]);
    conn.close();
  }
  assert.deepEqual(digests[0], digests[1]);
  assert.notEqual(digests[0][2], "0".repeat(40), "a hash's digest is not empty");
});
