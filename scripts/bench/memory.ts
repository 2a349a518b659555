/** Memory per key: loads N small keys into a server and reports INFO used_memory and RSS deltas. */
import { writeAll } from "../../src/resp/connection.ts";
import { RespConnection } from "../../src/resp/connection.ts";
import { RespError } from "../../src/resp/reply_parser.ts";
import { latin1ToBytes } from "../../src/resp/latin1.ts";

/** SET commands sent per batch when DEBUG POPULATE is not available. */
const SET_BATCH = 10_000;
/** Bytes of one `+OK\r\n` reply. */
const OK_REPLY_BYTES = 5;

/** Memory used per key after loading, by two measures. */
export interface MemoryResult {
  /** How the keys were loaded. */
  method: "DEBUG POPULATE" | "SET pipeline";
  /** Delta of INFO memory `used_memory` per key (the server's own accounting), or null without INFO. */
  usedMemoryPerKey: number | null;
  /** Delta of the process's resident set (VmRSS in /proc/<pid>/status) per key. */
  rssPerKey: number;
}

/** The process's resident set size in bytes. */
export function rssBytes(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const m = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

async function usedMemory(conn: RespConnection): Promise<number | null> {
  const info = await conn.call("INFO", "memory");
  if (typeof info !== "string") return null;
  const m = info.match(/^used_memory:(\d+)/m);
  return m ? Number(m[1]) : null;
}

/** Loads keys `key:0..n-1` with values `value:i`, like DEBUG POPULATE, through pipelined SETs. */
async function pipeSets(port: number, n: number): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const buf = new Uint8Array(64 * 1024);
    for (let from = 0; from < n; from += SET_BATCH) {
      const to = Math.min(n, from + SET_BATCH);
      let text = "";
      for (let i = from; i < to; i++) {
        const key = `key:${i}`;
        const value = `value:${i}`;
        text += `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`;
      }
      await writeAll(conn, latin1ToBytes(text));
      let pending = (to - from) * OK_REPLY_BYTES;
      while (pending > 0) {
        const got = await conn.read(buf);
        if (got === null) throw new Error("server closed the connection while loading keys");
        // Only `+OK\r\n` replies are expected: an error reply is the only thing holding a '-'.
        if (buf.subarray(0, got).includes(45 /* '-' */)) {
          throw new Error(`SET failed: ${new TextDecoder().decode(buf.subarray(0, got)).slice(0, 200)}`);
        }
        pending -= got;
      }
    }
  } finally {
    conn.close();
  }
}

/** Loads `keys` keys into the fresh, empty server at `port` (process `pid`) and measures the memory they take. */
export async function measureMemory(port: number, pid: number, keys: number): Promise<MemoryResult> {
  const conn = await RespConnection.connect(port);
  try {
    await conn.call("MEMORY", "PURGE");
    const usedBefore = await usedMemory(conn);
    const rssBefore = rssBytes(pid);
    let method: MemoryResult["method"] = "DEBUG POPULATE";
    const populated = await conn.call("DEBUG", "POPULATE", String(keys));
    if (populated instanceof RespError) {
      method = "SET pipeline";
      await pipeSets(port, keys);
    }
    // MEMORY PURGE on both: jemalloc returns dirty pages in redis-server, a full GC drops garbage from
    // tessera's heap (V8's heap-in-use counts unreachable objects until the next major GC).
    await conn.call("MEMORY", "PURGE");
    await new Promise((r) => setTimeout(r, 1000));
    const usedAfter = await usedMemory(conn);
    const rssAfter = rssBytes(pid);
    return {
      method,
      usedMemoryPerKey: usedBefore !== null && usedAfter !== null ? (usedAfter - usedBefore) / keys : null,
      rssPerKey: (rssAfter - rssBefore) / keys,
    };
  } finally {
    conn.close();
  }
}
