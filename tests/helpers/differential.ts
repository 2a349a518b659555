/** Differential testing: the same commands against tessera and redis-server, replies side by side. */
import { connect } from "./servers.ts";

/** Sends each command on one fresh connection per server; returns the raw replies of both. */
export async function rawReplies(
  tesseraPort: number,
  redisPort: number,
  commands: string[][],
): Promise<{ tessera: string[]; redis: string[] }> {
  const run = async (port: number) => {
    const conn = await connect(port);
    const out: string[] = [];
    try {
      for (const cmd of commands) out.push(await conn.callRaw(...cmd));
    } finally {
      conn.close();
    }
    return out;
  };
  return { tessera: await run(tesseraPort), redis: await run(redisPort) };
}

/** Replaces values that legitimately differ between servers: peer ports and the HELLO client id. */
export function normalize(raw: string): string {
  return raw.replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:PORT").replace(/\$2\r\nid\r\n:\d+\r\n/, "$$2\r\nid\r\n:ID\r\n");
}
