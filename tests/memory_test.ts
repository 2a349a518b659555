import assert from "node:assert/strict";
import { connect, requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import { assertSameReplies, rawReplies } from "./helpers/diff.ts";

serverTest("MEMORY PURGE and HELP answer as redis-server; unknown MEMORY subcommands are refused", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(), t.redis()]);
  const commands = [["MEMORY", "PURGE"], ["MEMORY", "HELP"], ["MEMORY", "foo"], ["MEMORY"]];
  const r = await rawReplies(tessera.port, redis.port, commands);
  assertSameReplies(r, commands);
});

serverTest("MEMORY PURGE collects garbage: used_memory drops after big values are deleted", async (t) => {
  const node = await t.tessera();
  const c = await connect(node.port);
  t.defer(() => c.close());
  const used = async () => Number(/used_memory:(\d+)/.exec(await c.call("INFO", "memory") as string)![1]);
  await c.call("MEMORY", "PURGE");
  const before = await used();
  for (let i = 0; i < 50; i++) await c.call("SET", `big:${i}`, "x".repeat(200_000));
  for (let i = 0; i < 50; i++) await c.call("DEL", `big:${i}`);
  await c.call("MEMORY", "PURGE");
  assert.ok(await used() - before < 5_000_000, "10 MB of deleted values are collected");
});
