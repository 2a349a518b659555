/**
 * Data-type benchmarks: redis-benchmark's list, set, hash and sorted-set tests against fresh
 * servers, and memory per element of one key holding 1M elements of each container type.
 */
import { RespConnection } from "../../src/resp/connection.ts";
import { RespError } from "../../src/resp/reply_parser.ts";

/** The redis-benchmark tests the issue names, in its order. */
export const TYPE_TESTS = [
  "lpush",
  "rpush",
  "lpop",
  "rpop",
  "sadd",
  "hset",
  "spop",
  "zadd",
  "zpopmin",
  "lrange_100",
  "lrange_600",
  "mset",
];

/** Elements sent per command while loading a container. */
const LOAD_BATCH = 1000;

/** One container type's loader: the command that adds elements [from, to) to `key`. */
interface Loader {
  type: string;
  command(key: string, from: number, to: number): string[];
}

export const LOADERS: Loader[] = [
  {
    type: "hash",
    command: (key, from, to) => ["HSET", key, ...range(from, to).flatMap((i) => [`field:${i}`, `value:${i}`])],
  },
  { type: "set", command: (key, from, to) => ["SADD", key, ...range(from, to).map((i) => `member:${i}`)] },
  {
    type: "zset",
    command: (key, from, to) => ["ZADD", key, ...range(from, to).flatMap((i) => [String(i), `member:${i}`])],
  },
  { type: "list", command: (key, from, to) => ["RPUSH", key, ...range(from, to).map((i) => `element:${i}`)] },
];

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, k) => from + k);
}

async function usedMemory(conn: RespConnection): Promise<number> {
  const info = String(await conn.call("INFO", "memory"));
  return Number(info.match(/^used_memory:(\d+)/m)?.[1] ?? NaN);
}

/**
 * Bytes of INFO used_memory per element after loading `elements` into one key of a fresh server
 * (MEMORY PURGE before both readings: jemalloc's dirty pages in redis-server, V8's garbage in tessera).
 */
export async function memoryPerElement(port: number, loader: Loader, elements: number): Promise<number> {
  const conn = await RespConnection.connect(port);
  try {
    await conn.call("MEMORY", "PURGE");
    const before = await usedMemory(conn);
    for (let from = 0; from < elements; from += LOAD_BATCH) {
      const reply = await conn.call(...loader.command("bench", from, Math.min(elements, from + LOAD_BATCH)));
      if (reply instanceof RespError) throw new Error(`${loader.type}: ${reply.message}`);
    }
    await conn.call("MEMORY", "PURGE");
    await new Promise((r) => setTimeout(r, 1000));
    const after = await usedMemory(conn);
    await conn.call("FLUSHALL");
    return (after - before) / elements;
  } finally {
    conn.close();
  }
}
