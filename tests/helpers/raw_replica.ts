/** A raw replica link for tests: the PSYNC handshake by hand, then the replication stream as text. */
import { encodeCommand } from "../../src/resp/connection.ts";
import { bytesToLatin1 } from "../../src/resp/latin1.ts";
import { withTimeout } from "./blocking.ts";

/** What `attachReplica` returns: the stream received so far, read on demand. */
export interface RawReplica {
  /** Reads until the stream (since the snapshot) contains `text`; returns all of it. */
  until: (text: string) => Promise<string>;
  close: () => void;
  /** The stream received so far. */
  buffered: () => string;
}

/** Attaches to the master on `port` as a diskless replica (PSYNC ? -1); reads the stream that follows the snapshot. */
export async function attachReplica(port: number): Promise<RawReplica> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let buf = "";
  const chunk = new Uint8Array(65536);
  const read = async () => {
    const n = await conn.read(chunk);
    if (n === null) throw new Error("master closed the link");
    buf += bytesToLatin1(chunk.subarray(0, n));
  };
  const until = async (text: string) => {
    while (!buf.includes(text)) await read();
    return buf;
  };
  for (const cmd of [["PING"], ["REPLCONF", "listening-port", "1"], ["REPLCONF", "capa", "eof", "capa", "psync2"]]) {
    await conn.write(encodeCommand(cmd));
  }
  await until("+OK\r\n+OK\r\n");
  buf = "";
  await conn.write(encodeCommand(["PSYNC", "?", "-1"]));
  await until("$EOF:");
  const header = await until("\r\n");
  const markStart = header.indexOf("$EOF:") + 5;
  const mark = header.slice(markStart, markStart + 40);
  await withTimeout(
    (async () => {
      while (buf.indexOf(mark, markStart + 42) === -1) await read();
    })(),
    "snapshot",
  );
  buf = buf.slice(buf.indexOf(mark, markStart + 42) + 40);
  // Like a real replica, ACK every so often: an ACK that arrives before the master saw its transfer end is ignored.
  const acker = setInterval(() => conn.write(encodeCommand(["REPLCONF", "ACK", "0"])).catch(() => {}), 100);
  return {
    until,
    close: () => {
      clearInterval(acker);
      conn.close();
    },
    buffered: () => buf,
  };
}
