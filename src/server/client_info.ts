/** The CLIENT LIST / CLIENT INFO line of one client, field for field as Redis 7.0's catClientInfoString. */
import type { Client } from "./client.ts";
import { PROTO_REPLY_CHUNK_BYTES } from "./client.ts";

/** Approximate fixed memory of a client object (the rest of `tot-mem`). */
const CLIENT_STRUCT_BYTES = 1024;

/** Redis's flag letters, in its order; `N` when none applies. */
function clientFlags(c: Client): string {
  let f = "";
  if (c.monitor) f += "O";
  else if (c.isReplica) f += "S";
  if (c.isMaster) f += "M";
  if (c.subCount + c.psubCount + c.ssubCount > 0) f += "P";
  if (c.multi !== null) f += "x";
  if (c.waitFor !== null) f += "b";
  if (c.dirtyCas) f += "d";
  if (c.closeAfterReply) f += "c";
  if (c.noEvict) f += "e";
  return f === "" ? "N" : f;
}

/**
 * One client's line (without the trailing newline). `argvMem` is the size of the arguments of
 * the command being run, passed by the client describing itself.
 */
export function clientInfoString(c: Client, argvMem = 0): string {
  const now = Date.now();
  const qbuf = c.parser.buffered;
  const qbufFree = c.parser.writable(0).length;
  let multiMem = 0;
  if (c.multi !== null) { for (const q of c.multi) for (const a of q.argv) multiMem += a.length; }
  const pending = c.pendingOutput();
  const obl = Math.min(pending, PROTO_REPLY_CHUNK_BYTES);
  const omem = Math.max(0, pending - PROTO_REPLY_CHUNK_BYTES);
  const oll = Math.ceil(omem / PROTO_REPLY_CHUNK_BYTES);
  const rbs = c.replyBufferSize();
  const totMem = qbuf + qbufFree + rbs + omem + argvMem + multiMem + CLIENT_STRUCT_BYTES;
  return `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=${c.fd} name=${c.name}` +
    ` age=${Math.floor((now - c.createdAt) / 1000)} idle=${Math.floor((now - c.lastInteraction) / 1000)}` +
    ` flags=${clientFlags(c)} db=${c.db.id} sub=${c.subCount} psub=${c.psubCount} ssub=${c.ssubCount}` +
    ` multi=${c.multi === null ? -1 : c.multi.length} qbuf=${qbuf} qbuf-free=${qbufFree}` +
    ` argv-mem=${argvMem} multi-mem=${multiMem} rbs=${rbs} rbp=${Math.max(c.replyPeak, rbs)}` +
    ` obl=${obl} oll=${oll} omem=${omem} tot-mem=${totMem} events=${pending > 0 ? "rw" : "r"}` +
    ` cmd=${c.lastCommand} user=${c.user} redir=-1 resp=${c.resp}`;
}
