/**
 * Parses RESP2/RESP3 replies (what a server sends): used by tessera's own outbound links
 * (tools, tests, later replication and MIGRATE) to read a peer's answers.
 */
import { bytesToLatin1 } from "./latin1.ts";

/** A decoded reply. Errors are kept as values so a caller can compare them. */
export type RespValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | RespError
  | RespValue[]
  | Map<RespValue, RespValue>;

/** An error reply (`-ERR ...`). */
export class RespError {
  constructor(readonly message: string) {}
  toString(): string {
    return this.message;
  }
}

/** Result of one parse: the value and the offset just past it, or null when incomplete. */
export interface Parsed {
  value: RespValue;
  end: number;
}

/** Parses one reply starting at `pos`; null if the bytes hold only part of it. Throws on garbage. */
export function parseReply(bytes: Uint8Array, pos: number, end = bytes.length): Parsed | null {
  if (pos >= end) return null;
  const lineEnd = findCrlf(bytes, pos + 1, end);
  if (lineEnd === -1) return null;
  const type = bytes[pos];
  const line = bytesToLatin1(bytes.subarray(pos + 1, lineEnd));
  const after = lineEnd + 2;
  switch (type) {
    case 43: // +
      return { value: line, end: after };
    case 45: // -
      return { value: new RespError(line), end: after };
    case 58: // :
      return { value: toInt(line), end: after };
    case 44: // , double
      return { value: line === "inf" ? Infinity : line === "-inf" ? -Infinity : Number(line), end: after };
    case 40: // ( big number
      return { value: BigInt(line), end: after };
    case 35: // #
      return { value: line === "t", end: after };
    case 95: // _
      return { value: null, end: after };
    case 36: // $
    case 61: // = verbatim
    case 33: { // ! blob error
      const len = Number(line);
      if (len < 0) return { value: null, end: after };
      if (after + len + 2 > end) return null;
      const body = bytesToLatin1(bytes.subarray(after, after + len));
      const value = type === 33 ? new RespError(body) : type === 61 ? body.slice(4) : body;
      return { value, end: after + len + 2 };
    }
    case 42: // *
    case 126: // ~
    case 62: { // >
      const n = Number(line);
      if (n < 0) return { value: null, end: after };
      const items: RespValue[] = [];
      let at = after;
      for (let i = 0; i < n; i++) {
        const item = parseReply(bytes, at, end);
        if (item === null) return null;
        items.push(item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    case 37: { // %
      const n = Number(line);
      const map = new Map<RespValue, RespValue>();
      let at = after;
      for (let i = 0; i < n; i++) {
        const k = parseReply(bytes, at, end);
        if (k === null) return null;
        const v = parseReply(bytes, k.end, end);
        if (v === null) return null;
        map.set(k.value, v.value);
        at = v.end;
      }
      return { value: map, end: at };
    }
    default:
      throw new Error(`RESP: unexpected type byte ${type}`);
  }
}

function toInt(s: string): number | bigint {
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : BigInt(s);
}

function findCrlf(bytes: Uint8Array, from: number, end: number): number {
  for (let i = from; i + 1 < end; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10) return i;
  }
  return -1;
}
