/**
 * Bitmap commands over string values, with Redis 7.0's replies and errors: SETBIT GETBIT BITCOUNT
 * BITPOS BITOP BITFIELD BITFIELD_RO. Bit 0 is the most significant bit of the first byte; bits past
 * the end of a string read as 0. Strings are immutable in JS, so a write rebuilds the value (O(n));
 * reads scan it with charCodeAt and never copy it.
 */
import { NOTIFY_GENERIC, NOTIFY_STRING, notifyKeyspaceEvent } from "../server/keyspace_events.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import { type Db, ENC_RAW } from "../store/keyspace.ts";
import { parseInt64 } from "../store/numbers.ts";
import { bytesToLatin1 } from "../resp/latin1.ts";
import { ERR_NOT_INTEGER, ERR_STRING_TOO_LONG, ERR_SYNTAX, ERR_WRONGTYPE } from "./errors.ts";

const ERR_BIT_OFFSET = "ERR bit offset is not an integer or out of range";
const ERR_BIT_VALUE = "ERR bit is not an integer or out of range";
const ERR_BIT_ARGUMENT = "ERR The bit argument must be 1 or 0.";
const ERR_BITFIELD_TYPE =
  "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
const ERR_OVERFLOW_TYPE = "ERR Invalid OVERFLOW type specified";
const ERR_BITFIELD_RO = "ERR BITFIELD_RO only supports the GET subcommand";
const ERR_BITOP_NOT = "ERR BITOP NOT must be called with a single source key.";

/** V8's longest string (String::kMaxLength on 64-bit): a bitmap cannot grow past it here. */
const MAX_JS_STRING_CHARS = 2 ** 29 - 24;

/** Set bits per byte value. */
const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1];

/** Looks up a key for a write; replies WRONGTYPE and returns null for a non-string. */
function writableString(c: Client, key: string): string | undefined | null {
  const v = c.db.get(key);
  if (v === undefined || typeof v === "string") return v;
  c.error(ERR_WRONGTYPE);
  return null;
}

/**
 * Stores a string without signalling WATCH: Redis unshares the value (making it `raw`) or grows it
 * before knowing whether a bit changes, and signals the key only when one did.
 */
function storeQuietly(db: Db, key: string, value: string): void {
  db.updateQuietly(key, value, ENC_RAW);
}

/**
 * Redis's getBitOffsetFromArgument: a bit offset, or with `hashBits` > 0 also `#N` meaning
 * N * hashBits (the product wraps as C's int64 does). Offsets whose byte reaches
 * proto-max-bulk-len are refused. Returns null after replying the error.
 */
function parseBitOffset(c: Client, text: string, hashBits: number): number | null {
  const useHash = hashBits > 0 && text.charCodeAt(0) === 35; // '#'
  const v = parseInt64(useHash ? text.slice(1) : text);
  if (v === null) {
    c.error(ERR_BIT_OFFSET);
    return null;
  }
  if (!useHash && typeof v === "number") {
    if (v >= 0 && Math.floor(v / 8) < c.server.limits.protoMaxBulkLen) return v;
    c.error(ERR_BIT_OFFSET);
    return null;
  }
  const offset = useHash ? BigInt.asIntN(64, BigInt(v) * BigInt(hashBits)) : BigInt(v);
  if (offset < 0n || offset >> 3n >= BigInt(c.server.limits.protoMaxBulkLen)) {
    c.error(ERR_BIT_OFFSET);
    return null;
  }
  return Number(offset);
}

/** Set bits in bytes [from, to] of a latin1 string (both inside it). */
function popcount(s: string, from: number, to: number): number {
  let bits = 0;
  for (let i = from; i <= to; i++) bits += POPCOUNT[s.charCodeAt(i)];
  return bits;
}

/**
 * The first bit equal to `bit` in bit positions [fromBit, toBit] of a latin1 string (both inside
 * it), or -1. Bytes holding only the other value are skipped whole.
 */
function firstBit(s: string, fromBit: number, toBit: number, bit: number): number {
  const firstByte = Math.floor(fromBit / 8);
  const lastByte = Math.floor(toBit / 8);
  const flip = bit === 1 ? 0 : 0xff;
  for (let i = firstByte; i <= lastByte; i++) {
    // After the flip the bits sought are ones.
    let b = s.charCodeAt(i) ^ flip;
    if (b === 0) continue;
    if (i === firstByte) b &= 0xff >> (fromBit & 7);
    if (i === lastByte) b &= (0xff << (7 - (toBit & 7))) & 0xff;
    if (b !== 0) return i * 8 + Math.clz32(b) - 24;
  }
  return -1;
}

/**
 * Redis's start/end conversion for BITCOUNT and BITPOS: negative indexes count from the end, then
 * both are clamped into the string (`len` is in the unit of the indexes).
 */
function clampRange(start: number, end: number, len: number): [number, number] {
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  return [start, end];
}

/** Parses BYTE|BIT (any case): true for BIT, false for BYTE, null for anything else. */
function parseIndexUnit(text: string): boolean | null {
  const unit = text.toLowerCase();
  return unit === "bit" ? true : unit === "byte" ? false : null;
}

/** BITCOUNT key [start end [BYTE|BIT]]: Redis 7.0 looks the key up before parsing the range. */
function bitcount(c: Client, argv: string[]): void {
  const v = c.db.lookupRead(argv[1]);
  if (v === undefined) return c.out.int(0);
  if (typeof v !== "string") return c.error(ERR_WRONGTYPE);
  if (argv.length === 2) return c.out.int(popcount(v, 0, v.length - 1));
  if (argv.length !== 4 && argv.length !== 5) return c.error(ERR_SYNTAX);
  const rawStart = parseInt64(argv[2]);
  if (rawStart === null) return c.error(ERR_NOT_INTEGER);
  const rawEnd = parseInt64(argv[3]);
  if (rawEnd === null) return c.error(ERR_NOT_INTEGER);
  // Both negative and inverted: empty, even where clamping would make them meet (checked before BYTE|BIT).
  if (rawStart < 0 && rawEnd < 0 && rawStart > rawEnd) return c.out.int(0);
  let isBit = false;
  if (argv.length === 5) {
    const unit = parseIndexUnit(argv[4]);
    if (unit === null) return c.error(ERR_SYNTAX);
    isBit = unit;
  }
  const [start, end] = clampRange(Number(rawStart), Number(rawEnd), isBit ? v.length * 8 : v.length);
  if (start > end) return c.out.int(0);
  if (!isBit) return c.out.int(popcount(v, start, end));
  const firstByte = Math.floor(start / 8);
  const lastByte = Math.floor(end / 8);
  let count = popcount(v, firstByte, lastByte);
  // Bits of the edge bytes outside the range were counted: take them out.
  count -= POPCOUNT[v.charCodeAt(firstByte) & ~(0xff >> (start & 7)) & 0xff];
  count -= POPCOUNT[v.charCodeAt(lastByte) & ((1 << (7 - (end & 7))) - 1)];
  c.out.int(count);
}

/**
 * BITPOS key bit [start [end [BYTE|BIT]]]: a missing key is all zeros. Without an end the string
 * counts as zero-padded on the right, so a clear bit is found just past it.
 */
function bitpos(c: Client, argv: string[]): void {
  const bit = parseInt64(argv[2]);
  if (bit === null) return c.error(ERR_NOT_INTEGER);
  if (bit !== 0 && bit !== 1) return c.error(ERR_BIT_ARGUMENT);
  const v = c.db.lookupRead(argv[1]);
  if (v === undefined) return c.out.int(bit === 1 ? -1 : 0);
  if (typeof v !== "string") return c.error(ERR_WRONGTYPE);
  let start = 0;
  let end = v.length - 1;
  let isBit = false;
  const endGiven = argv.length >= 5;
  if (argv.length > 6) return c.error(ERR_SYNTAX);
  if (argv.length > 3) {
    const rawStart = parseInt64(argv[3]);
    if (rawStart === null) return c.error(ERR_NOT_INTEGER);
    if (argv.length === 6) {
      const unit = parseIndexUnit(argv[5]);
      if (unit === null) return c.error(ERR_SYNTAX);
      isBit = unit;
    }
    let rawEnd: number | bigint = end;
    if (endGiven) {
      const parsed = parseInt64(argv[4]);
      if (parsed === null) return c.error(ERR_NOT_INTEGER);
      rawEnd = parsed;
    }
    [start, end] = clampRange(Number(rawStart), Number(rawEnd), isBit ? v.length * 8 : v.length);
  }
  if (start > end) return c.out.int(-1);
  const pos = isBit ? firstBit(v, start, end, bit) : firstBit(v, start * 8, end * 8 + 7, bit);
  if (pos !== -1 || bit === 1 || endGiven) return c.out.int(pos);
  c.out.int((end + 1) * 8);
}

/** SETBIT key offset 0|1: replies the previous bit; the value becomes a `raw` string. */
function setbit(c: Client, argv: string[]): void {
  const offset = parseBitOffset(c, argv[2], 0);
  if (offset === null) return;
  const on = parseInt64(argv[3]);
  if (on !== 0 && on !== 1) return c.error(ERR_BIT_VALUE);
  const key = argv[1];
  const old = writableString(c, key);
  if (old === null) return;
  const byte = Math.floor(offset / 8);
  if (byte >= MAX_JS_STRING_CHARS) return c.error(ERR_STRING_TOO_LONG);
  const mask = 0x80 >> (offset & 7);
  if (old === undefined) {
    c.db.set(key, "\0".repeat(byte) + String.fromCharCode(on ? mask : 0), false, undefined, ENC_RAW);
    notifyKeyspaceEvent(NOTIFY_STRING, "setbit", key, c.db.id);
    c.server.dirty++;
    return c.out.int(0);
  }
  const grows = byte >= old.length;
  const current = grows ? 0 : old.charCodeAt(byte);
  const previous = (current & mask) !== 0 ? 1 : 0;
  if (grows || previous !== on) {
    const next = String.fromCharCode(on ? current | mask : current & ~mask);
    const value = grows ? old + "\0".repeat(byte - old.length) + next : old.slice(0, byte) + next + old.slice(byte + 1);
    c.db.update(key, value, ENC_RAW);
    notifyKeyspaceEvent(NOTIFY_STRING, "setbit", key, c.db.id);
    c.server.dirty++;
  } else if (c.db.encodingHint(key) !== ENC_RAW) {
    storeQuietly(c.db, key, old);
  }
  c.out.int(previous);
}

/** GETBIT key offset. */
function getbit(c: Client, argv: string[]): void {
  const offset = parseBitOffset(c, argv[2], 0);
  if (offset === null) return;
  const v = c.db.lookupRead(argv[1]);
  if (v === undefined) return c.out.int(0);
  if (typeof v !== "string") return c.error(ERR_WRONGTYPE);
  const byte = Math.floor(offset / 8);
  c.out.int(byte < v.length && (v.charCodeAt(byte) & (0x80 >> (offset & 7))) !== 0 ? 1 : 0);
}

/** BITOP AND|OR|XOR|NOT destkey key...: missing sources are empty strings, shorter ones zero-padded. */
function bitop(c: Client, argv: string[]): void {
  const op = argv[1].toLowerCase();
  if (op !== "and" && op !== "or" && op !== "xor" && op !== "not") return c.error(ERR_SYNTAX);
  if (op === "not" && argv.length !== 4) return c.error(ERR_BITOP_NOT);
  const sources: string[] = [];
  let maxLen = 0;
  for (let j = 3; j < argv.length; j++) {
    const v = c.db.lookupRead(argv[j]);
    if (v !== undefined && typeof v !== "string") return c.error(ERR_WRONGTYPE);
    const s = v ?? "";
    sources.push(s);
    if (s.length > maxLen) maxLen = s.length;
  }
  const dest = argv[2];
  if (maxLen === 0) {
    if (c.db.delete(dest)) {
      notifyKeyspaceEvent(NOTIFY_GENERIC, "del", dest, c.db.id);
      c.server.dirty++;
    }
    return c.out.int(0);
  }
  const res = new Uint8Array(maxLen);
  const first = sources[0];
  if (op === "not") {
    for (let i = 0; i < maxLen; i++) res[i] = ~first.charCodeAt(i) & 0xff;
  } else {
    for (let i = 0; i < first.length; i++) res[i] = first.charCodeAt(i);
    for (let k = 1; k < sources.length; k++) {
      const s = sources[k];
      const n = s.length;
      if (op === "and") {
        for (let i = 0; i < n; i++) res[i] &= s.charCodeAt(i);
        res.fill(0, n);
      } else if (op === "or") {
        for (let i = 0; i < n; i++) res[i] |= s.charCodeAt(i);
      } else {
        for (let i = 0; i < n; i++) res[i] ^= s.charCodeAt(i);
      }
    }
  }
  // Redis's setKey: a write lookup first, then the overwrite drops any TTL.
  c.db.get(dest);
  c.db.set(dest, bytesToLatin1(res), false, undefined, ENC_RAW);
  notifyKeyspaceEvent(NOTIFY_STRING, "set", dest, c.db.id);
  c.server.dirty++;
  c.out.int(maxLen);
}

const OVERFLOW_WRAP = 0;
const OVERFLOW_SAT = 1;
const OVERFLOW_FAIL = 2;

const OP_GET = 0;
const OP_SET = 1;
const OP_INCRBY = 2;

/** One parsed BITFIELD subcommand. */
interface BitfieldOp {
  opcode: number;
  signed: boolean;
  bits: number;
  /** Bit offset. */
  offset: number;
  /** SET value or INCRBY increment (int64). */
  value: bigint;
  overflow: number;
}

/**
 * Redis's getBitfieldTypeFromArgument: `i1`..`i64` or `u1`..`u63` (lowercase sign; the width is
 * read as a C string, so it stops at a NUL byte).
 */
function parseBitfieldType(text: string): { signed: boolean; bits: number } | null {
  const sign = text.charCodeAt(0);
  if (sign !== 105 && sign !== 117) return null; // 'i', 'u'
  const signed = sign === 105;
  let width = text.slice(1);
  const nul = width.indexOf("\0");
  if (nul !== -1) width = width.slice(0, nul);
  const bits = parseInt64(width);
  if (typeof bits !== "number" || bits < 1 || bits > (signed ? 64 : 63)) return null;
  return { signed, bits };
}

/**
 * The bytes BITFIELD works on: the stored string, with the byte range its writes reach copied into
 * `window` (from byte `from`), so that a write rebuilds only that range and not the whole value.
 */
interface FieldBytes {
  base: string;
  window: Uint8Array;
  from: number;
}

const NO_WINDOW = new Uint8Array(0);

/** Byte `i`: from the window when inside it, else from the string; 0 past both. */
function byteAt(b: FieldBytes, i: number): number {
  const w = i - b.from;
  if (w >= 0 && w < b.window.length) return b.window[w];
  return i < b.base.length ? b.base.charCodeAt(i) : 0;
}

/** Reads `bits` bits at bit `offset` as an unsigned integer (bits past the end are 0). */
function readField(b: FieldBytes, offset: number, bits: number): bigint {
  const lastBit = offset + bits - 1;
  const lastByte = Math.floor(lastBit / 8);
  let v = 0n;
  for (let i = Math.floor(offset / 8); i <= lastByte; i++) v = (v << 8n) | BigInt(byteAt(b, i));
  return BigInt.asUintN(bits, v >> BigInt(7 - (lastBit & 7)));
}

/** Writes the low `bits` bits of `value` at bit `offset` (inside the window), most significant first. */
function writeField(b: FieldBytes, offset: number, bits: number, value: bigint): void {
  const u = BigInt.asUintN(64, value);
  const lo = Number(u & 0xffffffffn);
  const hi = Number(u >> 32n);
  const window = b.window;
  for (let k = bits - 1, at = offset; k >= 0; k--, at++) {
    const bit = k < 32 ? (lo >>> k) & 1 : (hi >>> (k - 32)) & 1;
    const i = Math.floor(at / 8) - b.from;
    const mask = 0x80 >> (at & 7);
    window[i] = bit ? window[i] | mask : window[i] & ~mask;
  }
}

/**
 * Redis's checkUnsignedBitfieldOverflow: whether `value + incr` (value as uint64, incr as int64)
 * leaves the `bits`-wide unsigned range, and the value to store instead (wrapped or saturated).
 */
function unsignedOverflow(
  value: bigint,
  incr: bigint,
  bits: number,
  mode: number,
): { overflow: boolean; limit: bigint } {
  const max = (1n << BigInt(bits)) - 1n;
  const maxIncr = BigInt.asIntN(64, max - value);
  const minIncr = BigInt.asIntN(64, -value);
  const wrapped = () => BigInt.asUintN(bits, value + incr);
  if (value > max || (incr > 0n && incr > maxIncr)) {
    return { overflow: true, limit: mode === OVERFLOW_WRAP ? wrapped() : max };
  }
  if (incr < 0n && incr < minIncr) return { overflow: true, limit: mode === OVERFLOW_WRAP ? wrapped() : 0n };
  return { overflow: false, limit: 0n };
}

/**
 * Redis's checkSignedBitfieldOverflow: the same for a `bits`-wide two's complement field, with C's
 * wrapping int64 arithmetic on the limits.
 */
function signedOverflow(value: bigint, incr: bigint, bits: number, mode: number): { overflow: boolean; limit: bigint } {
  const max = bits === 64 ? (1n << 63n) - 1n : (1n << BigInt(bits - 1)) - 1n;
  const min = -max - 1n;
  const maxIncr = BigInt.asIntN(64, max - value);
  const minIncr = BigInt.asIntN(64, min - value);
  const wrapped = () => BigInt.asIntN(bits, value + incr);
  if (value > max || (bits !== 64 && incr > maxIncr) || (value >= 0n && incr > 0n && incr > maxIncr)) {
    return { overflow: true, limit: mode === OVERFLOW_WRAP ? wrapped() : max };
  }
  if (value < min || (bits !== 64 && incr < minIncr) || (value < 0n && incr < 0n && incr < minIncr)) {
    return { overflow: true, limit: mode === OVERFLOW_WRAP ? wrapped() : min };
  }
  return { overflow: false, limit: 0n };
}

/** BITFIELD's parsed subcommands and the bit range their writes reach (highestWrite -1: read-only). */
interface BitfieldPlan {
  ops: BitfieldOp[];
  lowestWrite: number;
  highestWrite: number;
}

/**
 * Parses BITFIELD's subcommands (all of them, before any lookup, as Redis does); null after
 * replying an error.
 */
function parseBitfieldOps(c: Client, argv: string[]): BitfieldPlan | null {
  const ops: BitfieldOp[] = [];
  let overflow = OVERFLOW_WRAP;
  let lowestWrite = Infinity;
  let highestWrite = -1;
  for (let j = 2; j < argv.length; j++) {
    const remaining = argv.length - j - 1;
    const sub = argv[j].toLowerCase();
    let opcode: number;
    if (sub === "get" && remaining >= 2) opcode = OP_GET;
    else if (sub === "set" && remaining >= 3) opcode = OP_SET;
    else if (sub === "incrby" && remaining >= 3) opcode = OP_INCRBY;
    else if (sub === "overflow" && remaining >= 1) {
      const mode = argv[++j].toLowerCase();
      if (mode === "wrap") overflow = OVERFLOW_WRAP;
      else if (mode === "sat") overflow = OVERFLOW_SAT;
      else if (mode === "fail") overflow = OVERFLOW_FAIL;
      else {
        c.error(ERR_OVERFLOW_TYPE);
        return null;
      }
      continue;
    } else {
      c.error(ERR_SYNTAX);
      return null;
    }
    const type = parseBitfieldType(argv[j + 1]);
    if (type === null) {
      c.error(ERR_BITFIELD_TYPE);
      return null;
    }
    const offset = parseBitOffset(c, argv[j + 2], type.bits);
    if (offset === null) return null;
    let value = 0n;
    if (opcode !== OP_GET) {
      lowestWrite = Math.min(lowestWrite, offset);
      highestWrite = Math.max(highestWrite, offset + type.bits - 1);
      const v = parseInt64(argv[j + 3]);
      if (v === null) {
        c.error(ERR_NOT_INTEGER);
        return null;
      }
      value = BigInt(v);
    }
    ops.push({ opcode, signed: type.signed, bits: type.bits, offset, value, overflow });
    j += opcode === OP_GET ? 2 : 3;
  }
  return { ops, lowestWrite, highestWrite };
}

/** Write outcomes of one BITFIELD SET or INCRBY. */
const WRITE_FAILED = -1;
const WRITE_SAME = 0;
const WRITE_CHANGED = 1;

/** Runs one SET or INCRBY, replying its result; returns a WRITE_* outcome. */
function applyWrite(c: Client, bytes: FieldBytes, op: BitfieldOp): number {
  const raw = readField(bytes, op.offset, op.bits);
  const old = op.signed ? BigInt.asIntN(op.bits, raw) : raw;
  const check = op.signed ? signedOverflow : unsignedOverflow;
  let next: bigint;
  let reply: bigint;
  let overflow: boolean;
  if (op.opcode === OP_INCRBY) {
    const r = check(old, op.value, op.bits, op.overflow);
    overflow = r.overflow;
    next = overflow ? r.limit : old + op.value;
    reply = next;
  } else {
    // SET stores the int64 as is, unsigned fields seeing it as its uint64 bit pattern.
    const value = op.signed ? op.value : BigInt.asUintN(64, op.value);
    const r = check(value, 0n, op.bits, op.overflow);
    overflow = r.overflow;
    next = overflow ? r.limit : value;
    reply = old;
  }
  if (overflow && op.overflow === OVERFLOW_FAIL) {
    c.out.nil();
    return WRITE_FAILED;
  }
  c.out.int(reply);
  writeField(bytes, op.offset, op.bits, next);
  return next !== old ? WRITE_CHANGED : WRITE_SAME;
}

/** Replies a GET: the field read as signed or unsigned. */
function replyGet(c: Client, bytes: FieldBytes, op: BitfieldOp): void {
  const raw = readField(bytes, op.offset, op.bits);
  c.out.int(op.signed ? BigInt.asIntN(op.bits, raw) : raw);
}

/** BITFIELD and BITFIELD_RO (`readOnlyCommand`: only GET is accepted). */
function bitfield(c: Client, argv: string[], readOnlyCommand: boolean): void {
  const plan = parseBitfieldOps(c, argv);
  if (plan === null) return;
  const { ops, lowestWrite, highestWrite } = plan;
  const key = argv[1];
  if (highestWrite === -1) {
    const v = c.db.lookupRead(key);
    if (v !== undefined && typeof v !== "string") return c.error(ERR_WRONGTYPE);
    const bytes: FieldBytes = { base: v ?? "", window: NO_WINDOW, from: 0 };
    c.out.array(ops.length);
    for (const op of ops) replyGet(c, bytes, op);
    return;
  }
  if (readOnlyCommand) return c.error(ERR_BITFIELD_RO);
  const old = writableString(c, key);
  if (old === null) return;
  const lastByte = Math.floor(highestWrite / 8);
  if (lastByte >= MAX_JS_STRING_CHARS) return c.error(ERR_STRING_TOO_LONG);
  // Redis creates a missing key before running the operations (its `new` event precedes the reply).
  if (old === undefined) c.db.updateQuietly(key, "\0".repeat(lastByte + 1), ENC_RAW);
  const base = old ?? "";
  const from = Math.floor(lowestWrite / 8);
  const window = new Uint8Array(lastByte - from + 1);
  for (let i = from; i < base.length && i <= lastByte; i++) window[i - from] = base.charCodeAt(i);
  const bytes: FieldBytes = { base, window, from };
  // As in Redis, a created or grown string makes every successful write count as a change.
  const grows = lastByte >= base.length;
  let changes = 0;
  c.out.array(ops.length);
  for (const op of ops) {
    if (op.opcode === OP_GET) replyGet(c, bytes, op);
    else {
      const outcome = applyWrite(c, bytes, op);
      if (outcome === WRITE_CHANGED || (outcome === WRITE_SAME && grows)) changes++;
    }
  }
  if (changes === 0 && !grows) {
    if (c.db.encodingHint(key) !== ENC_RAW) storeQuietly(c.db, key, base);
    return;
  }
  const head = from <= base.length ? base.slice(0, from) : base + "\0".repeat(from - base.length);
  const value = head + bytesToLatin1(window) + base.slice(lastByte + 1);
  if (changes === 0) return storeQuietly(c.db, key, value);
  if (old === undefined) c.db.set(key, value, false, undefined, ENC_RAW);
  else c.db.update(key, value, ENC_RAW);
  notifyKeyspaceEvent(NOTIFY_STRING, "setbit", key, c.db.id);
  c.server.dirty += changes;
}

export const bitmapCommands: Record<string, Handler> = {
  setbit,
  getbit,
  bitcount,
  bitpos,
  bitop,
  bitfield(c, argv) {
    bitfield(c, argv, false);
  },
  bitfield_ro(c, argv) {
    bitfield(c, argv, true);
  },
};
