/** One RESP command to a node with a deadline, for tools that must keep going when a node is down or stopped. */
import { RespConnection } from "../../src/resp/connection.ts";
import { RespError, type RespValue } from "../../src/resp/reply_parser.ts";

/** Default bound for one call: a SIGSTOPped node must not freeze a live view or a wait loop. */
export const DEFAULT_CALL_TIMEOUT_MS = 2000;

/**
 * Sends one command on a fresh connection and returns the reply (error replies as RespError values).
 * Rejects when the node refuses the connection or does not answer within `timeoutMs`.
 */
export async function callWithin(port: number, timeoutMs: number, ...args: string[]): Promise<RespValue> {
  let conn: RespConnection | undefined;
  let settled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const attempt = (async () => {
    const c = await RespConnection.connect(port);
    // The deadline may have passed while connecting: nobody will close this connection later.
    if (settled) c.close();
    conn = c;
    return await c.call(...args);
  })();
  // The losing side of the race must not surface as an unhandled rejection.
  attempt.catch(() => {});
  try {
    return await Promise.race([
      attempt,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${args.join(" ")} on ${port}: no reply in ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    settled = true;
    clearTimeout(timer);
    conn?.close();
  }
}

/** Like `callWithin` with the default timeout, but an error reply throws (command and port in the message). */
export async function callOk(port: number, ...args: string[]): Promise<RespValue> {
  const reply = await callWithin(port, DEFAULT_CALL_TIMEOUT_MS, ...args);
  if (reply instanceof RespError) throw new Error(`${args.join(" ")} on ${port}: ${reply.message}`);
  return reply;
}

/** Parses `field:value` lines (CLUSTER INFO, INFO sections) into a record. */
export function parseInfoFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}
