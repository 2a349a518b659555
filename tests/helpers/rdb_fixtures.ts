/**
 * Values of every type and encoding for the DUMP/RESTORE and RDB interop tests: each fixture is the
 * commands that build one key (named after the fixture) on tessera and redis-server alike.
 */
import type { RespConnection } from "../../src/resp/connection.ts";
import { RespError } from "../../src/resp/reply_parser.ts";
import { Rng } from "./rng.ts";

/** One key to build. `sameBytes`: 7.0.15's DUMP of it is deterministic, so tessera's must be equal. */
export interface Fixture {
  key: string;
  commands: string[][];
  sameBytes: boolean;
  /** OBJECT ENCODING expected on both servers (checked after RESTORE). */
  encoding: string;
}

function bytesString(rng: Rng, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(rng.int(0, 255));
  return s;
}

/** The fixtures, built from a fixed seed. */
export function fixtures(): Fixture[] {
  const rng = new Rng(20261122);
  const out: Fixture[] = [];
  const add = (key: string, encoding: string, sameBytes: boolean, ...commands: string[][]) =>
    out.push({ key, encoding, sameBytes, commands });
  // Strings: INT forms of each width, non-canonical numbers, LZF-compressible and binary values.
  const ints = ["0", "-1", "127", "-128", "128", "-129", "32767", "-32768", "32768", "2147483647", "-2147483648"];
  ints.forEach((v, i) => add(`str:int:${i}`, "int", true, ["SET", `str:int:${i}`, v]));
  add("str:int64", "int", true, ["SET", "str:int64", "9223372036854775807"]);
  add("str:noncanonical", "embstr", true, ["SET", "str:noncanonical", "007"]);
  add("str:plus", "embstr", true, ["SET", "str:plus", "+5"]);
  add("str:hello", "embstr", true, ["SET", "str:hello", "hello"]);
  add("str:empty", "embstr", true, ["SET", "str:empty", ""]);
  add("str:lzf", "raw", true, ["SET", "str:lzf", "abcabcabc".repeat(40) + "z".repeat(300)]);
  add("str:lzf21", "embstr", true, ["SET", "str:lzf21", "a".repeat(21)]);
  add("str:binary", "raw", true, ["SET", "str:binary", bytesString(rng, 3000)]);
  add("str:big", "raw", true, ["SET", "str:big", "0123456789".repeat(20000)]);
  add("str:hll", "embstr", true, ["PFADD", "str:hll", "a", "b", "c", "d"]);
  // Lists: one node, every listpack integer width, several nodes, big elements.
  add("list:small", "quicklist", true, ["RPUSH", "list:small", "a", "b", "1", "2"]);
  add("list:ints", "quicklist", true, [
    "RPUSH",
    "list:ints",
    ...["0", "127", "128", "-4096", "4095", "4096", "-32768", "32767", "8388607", "-8388608", "2147483647"],
    ...["2147483648", "-9223372036854775808", "9223372036854775807", "9223372036854775808", "-0", "01"],
  ]);
  const many = Array.from({ length: 3000 }, (_, i) => `item:${i}:${"x".repeat(i % 37)}`);
  add("list:nodes", "quicklist", true, ["RPUSH", "list:nodes", ...many]);
  add("list:bigitems", "quicklist", true, [
    "RPUSH",
    "list:bigitems",
    ...Array.from({ length: 12 }, (_, i) => bytesString(rng, 3000 + i * 500)),
  ]);
  add("list:lpush", "quicklist", false, ["LPUSH", "list:lpush", ...many.slice(0, 1200)]);
  // Hashes: listpack (deterministic) and hashtable (order is Redis's dict order).
  add("hash:lp", "listpack", true, ["HSET", "hash:lp", "f1", "v1", "f2", "2", "n", "-70000", "e", ""]);
  add("hash:ht", "hashtable", false, [
    "HSET",
    "hash:ht",
    ...Array.from({ length: 700 }, (_, i) => [`field:${i}`, `value:${i * 7}`]).flat(),
  ]);
  add("hash:long", "hashtable", false, ["HSET", "hash:long", "f", "v".repeat(65), "g", "1"]);
  // Sets: intsets of each width, hashtable.
  add("set:i16", "intset", true, ["SADD", "set:i16", "1", "2", "3", "-5", "300"]);
  add("set:i32", "intset", true, ["SADD", "set:i32", "1", "2", "3", "-5", "70000"]);
  add("set:i64", "intset", true, ["SADD", "set:i64", "1", "-9223372036854775808", "5000000000"]);
  add("set:ht", "hashtable", false, ["SADD", "set:ht", "a", "b", "c", "1", "2"]);
  add("set:bigint", "hashtable", false, ["SADD", "set:bigint", ...Array.from({ length: 600 }, (_, i) => String(i))]);
  // Sorted sets: listpack (integer and string scores, infinities) and skiplist.
  add("zset:lp", "listpack", true, [
    "ZADD",
    "zset:lp",
    ...["1", "a", "2.5", "b", "inf", "c", "-inf", "d", "1e20", "e", "0.1", "f", "-3", "g", "5000000000000000000", "h"],
  ]);
  add("zset:sl", "skiplist", true, [
    "ZADD",
    "zset:sl",
    ...Array.from({ length: 300 }, (_, i) => [String((i % 50) * 1.25), `member:${i}`]).flat(),
  ]);
  add("zset:longmember", "skiplist", true, ["ZADD", "zset:longmember", "1", "m".repeat(65), "2", "x"]);
  return out;
}

/** Builds every fixture through `conn`. */
export async function buildFixtures(conn: RespConnection, list: Fixture[] = fixtures()): Promise<void> {
  for (const f of list) {
    for (const cmd of f.commands) {
      const reply = await conn.call(...cmd);
      if (reply instanceof RespError) throw new Error(`${cmd[0]} ${f.key}: ${reply.message}`);
    }
  }
}
