/** The ioredis client (npm) against tessera: connection, pipelines, transactions, binary values. */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Redis, type RedisOptions } from "ioredis";
import { requireTool } from "./helpers/servers.ts";
import { serverTest, type ServerTestContext } from "./helpers/test.ts";

/** Opens an ioredis client that fails fast instead of reconnecting forever; closed by the test's cleanup. */
async function client(t: ServerTestContext, port: number, options: RedisOptions = {}): Promise<Redis> {
  const redis = new Redis({
    port,
    host: "127.0.0.1",
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...options,
  });
  redis.on("error", () => {}); // failures surface through the rejected calls
  t.defer(() => redis.disconnect());
  await redis.connect();
  return redis;
}

/** Runs `scenario` against tessera and redis-server (when installed); returns tessera's result, checked equal. */
async function differential<T>(
  t: ServerTestContext,
  options: RedisOptions,
  scenario: (redis: Redis) => Promise<T>,
): Promise<T> {
  const tessera = await t.tessera();
  const ours = await scenario(await client(t, tessera.port, options));
  if (requireTool("redis-server")) {
    const redis = await t.redis();
    const theirs = await scenario(await client(t, redis.port, options));
    assert.deepEqual(ours, theirs);
  }
  return ours;
}

/** Options that skip ioredis's INFO ready check, for cases that test other commands. */
const NO_READY_CHECK: RedisOptions = { enableReadyCheck: false };

serverTest("ioredis: connects with its default ready check (INFO), PING, SET, GET", async (t) => {
  const result = await differential(t, {}, async (redis) => {
    return [
      await redis.ping(),
      await redis.set("k", "v"),
      await redis.get("k"),
      await redis.get("missing"),
      redis.status,
    ];
  });
  assert.deepEqual(result, ["PONG", "OK", "v", null, "ready"]);
});

serverTest("ioredis: SET with options and errors as rejected promises", async (t) => {
  const result = await differential(t, NO_READY_CHECK, async (redis) => {
    const setnx = await redis.set("k", "1", "NX");
    const again = await redis.set("k", "2", "NX");
    const get = await redis.get("k");
    const error = await redis.call("SET", "k").catch((e: Error) => e.message);
    return [setnx, again, get, error];
  });
  assert.deepEqual(result, ["OK", null, "1", "ERR wrong number of arguments for 'set' command"]);
});

serverTest("ioredis: a pipeline of 1000 commands", async (t) => {
  const result = await differential(t, NO_READY_CHECK, async (redis) => {
    const pipeline = redis.pipeline();
    for (let i = 0; i < 500; i++) pipeline.set(`key:${i}`, `value:${i}`).get(`key:${i}`);
    return await pipeline.exec();
  });
  assert.equal(result?.length, 1000);
  for (let i = 0; i < 500; i++) {
    assert.deepEqual(result?.[2 * i], [null, "OK"]);
    assert.deepEqual(result?.[2 * i + 1], [null, `value:${i}`]);
  }
});

serverTest("ioredis: MULTI/EXEC", async (t) => {
  const result = await differential(t, NO_READY_CHECK, async (redis) => {
    return await redis.multi().set("a", "1").get("a").set("b", "2").exec();
  });
  assert.deepEqual(result, [[null, "OK"], [null, "1"], [null, "OK"]]);
});

serverTest("ioredis: binary Buffer values round-trip", async (t) => {
  const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const big = Buffer.alloc(300_000, allBytes);
  const result = await differential(t, NO_READY_CHECK, async (redis) => {
    await redis.set(Buffer.from([0, 13, 10, 255]), allBytes);
    await redis.set("big", big);
    return [
      await redis.getBuffer(Buffer.from([0, 13, 10, 255])),
      await redis.getBuffer("big"),
      await redis.getBuffer("missing"),
    ];
  });
  assert.ok(allBytes.equals(result[0]!));
  assert.ok(big.equals(result[1]!));
  assert.equal(result[2], null);
});

serverTest("ioredis: enableAutoPipelining batches concurrent calls", async (t) => {
  const result = await differential(t, { ...NO_READY_CHECK, enableAutoPipelining: true }, async (redis) => {
    const sets = await Promise.all(Array.from({ length: 1000 }, (_, i) => redis.set(`auto:${i}`, String(i))));
    const gets = await Promise.all(Array.from({ length: 1000 }, (_, i) => redis.get(`auto:${i}`)));
    return { sets: new Set(sets), gets, batched: redis.autoPipelineQueueSize >= 0 };
  });
  assert.deepEqual(result.sets, new Set(["OK"]));
  assert.deepEqual(result.gets, Array.from({ length: 1000 }, (_, i) => String(i)));
});
