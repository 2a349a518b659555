/**
 * HyperLogLog in Redis's own string representation, so that values interoperate with redis-server
 * byte for byte: a 16-byte header ("HYLL", encoding, 3 unused bytes, cached cardinality as a
 * little-endian uint64 whose top bit marks it stale), then either the sparse run-length opcodes
 * (ZERO 00xxxxxx, XZERO 01xxxxxx yyyyyyyy, VAL 1vvvvvxx) or 16384 dense 6-bit registers.
 * Elements are hashed with MurmurHash64A (seed 0xadc83b19); the estimate is Otmar Ertl's improved
 * estimator as Redis 5+ computes it. Sparse updates follow Redis's in-place edit steps exactly,
 * because the resulting bytes are visible to GET.
 */
import { Buffer } from "node:buffer";
import { bytesToLatin1, latin1Slice, latin1View } from "../resp/latin1.ts";

/** Register index bits (Redis's HLL_P). */
export const HLL_P = 14;
/** Bits of the hash left for the run of zeroes (HLL_Q). */
export const HLL_Q = 64 - HLL_P;
/** Number of registers. */
export const HLL_REGISTERS = 1 << HLL_P;
/** Bits per dense register. */
const HLL_BITS = 6;
/** Largest value a dense register holds. */
const HLL_REGISTER_MAX = (1 << HLL_BITS) - 1;
/** Header size in bytes. */
export const HLL_HDR_SIZE = 16;
/** Size in bytes of a dense HLL (header plus 12288 register bytes). */
export const HLL_DENSE_SIZE = HLL_HDR_SIZE + Math.ceil((HLL_REGISTERS * HLL_BITS) / 8);
/** Encoding byte values. */
export const HLL_DENSE = 0;
export const HLL_SPARSE = 1;
const HLL_MAX_ENCODING = 1;
/** Offset of the encoding byte and of the cached cardinality in the header. */
const ENCODING_OFFSET = 4;
const CARD_OFFSET = 8;
/** Byte of the cached cardinality whose top bit marks the cache stale. */
const CARD_STALE_BYTE = CARD_OFFSET + 7;
const CARD_STALE_BIT = 0x80;
/** Seed Redis passes to MurmurHash64A. */
export const HLL_HASH_SEED = 0xadc83b19;

/** Sparse opcode limits. */
const SPARSE_VAL_MAX_VALUE = 32;
const SPARSE_VAL_MAX_LEN = 4;
const SPARSE_ZERO_MAX_LEN = 64;
const SPARSE_XZERO_MAX_LEN = 16384;
/** Worst growth of one sparse update (an XZERO split into XZERO VAL XZERO). */
const SPARSE_MAX_GROWTH = 3;

/** 0.5 / ln(2): the estimator's alpha for an infinite number of registers. */
const HLL_ALPHA_INF = 0.721347520444481703680;
/** The histogram has room for any 6-bit value, as Redis's does (values above Q+1 are ignored). */
const HISTOGRAM_SIZE = 64;
/** 2^63: estimates from here on overflow Redis's llroundl (it then yields INT64_MIN). */
const TWO_POW_63 = 2 ** 63;
const TWO_POW_32 = 2 ** 32;

// ----------------------------------------------------------------------------------------------
// MurmurHash64A over 32-bit halves.

/** MurmurHash64A's multiplier 0xc6a4a7935bd1e995, as 32-bit halves. */
const M_HI = 0xc6a4a793 | 0;
const M_LO = 0x5bd1e995;

/**
 * Result of the last 64-bit operation as signed 32-bit halves [hi, lo]. A typed array rather than
 * module variables: storing large numbers in those would allocate on every step of the hash.
 */
const word = new Int32Array(2);

/** Sets `word` to (hi, lo) * m modulo 2^64. */
function mulM(hi: number, lo: number): void {
  // The low 32 bits of lo * M_LO are exact from imul; the double product is within 2^11 of the
  // true one, so removing the exact low part and rounding recovers the high 32 bits exactly.
  const low = Math.imul(lo, M_LO);
  const carryHi = Math.round(((lo >>> 0) * M_LO - (low >>> 0)) / TWO_POW_32);
  word[1] = low;
  word[0] = carryHi + Math.imul(hi, M_LO) + Math.imul(lo, M_HI);
}

/** Mixes the 8-byte block (kHi, kLo) into the running hash (hHi, hLo); result in `word`. */
function mixBlock(hHi: number, hLo: number, kHi: number, kLo: number): void {
  mulM(kHi, kLo);
  const mixedHi = word[0];
  mulM(mixedHi, word[1] ^ (mixedHi >>> 15)); // k ^= k >> 47, then k *= m
  mulM(hHi ^ word[0], hLo ^ word[1]);
}

/** Mixes the last 1-7 bytes (tHi, tLo) into the hash, as Redis's fall-through switch does. */
function mixTail(hHi: number, hLo: number, tHi: number, tLo: number): void {
  mulM(hHi ^ tHi, hLo ^ tLo);
}

/** The final avalanche: h ^= h >> 47; h *= m; h ^= h >> 47. Result in `word`. */
function finish(hHi: number, hLo: number): void {
  mulM(hHi, hLo ^ (hHi >>> 15));
  word[1] = word[1] ^ (word[0] >>> 15);
}

/** Hashes a latin1 string (one char per byte); result in `word`. */
function hashString(s: string, seed: number): void {
  const len = s.length;
  mulM(0, len);
  let hHi = word[0];
  let hLo = word[1] ^ seed;
  const blocks = len - (len & 7);
  for (let i = 0; i < blocks; i += 8) {
    const kLo = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) |
      (s.charCodeAt(i + 3) << 24);
    const kHi = s.charCodeAt(i + 4) | (s.charCodeAt(i + 5) << 8) | (s.charCodeAt(i + 6) << 16) |
      (s.charCodeAt(i + 7) << 24);
    mixBlock(hHi, hLo, kHi, kLo);
    hHi = word[0];
    hLo = word[1];
  }
  const rest = len & 7;
  if (rest > 0) {
    let tHi = 0;
    let tLo = 0;
    for (let i = rest - 1; i >= 0; i--) {
      const byte = s.charCodeAt(blocks + i);
      if (i >= 4) tHi |= byte << ((i - 4) * 8);
      else tLo |= byte << (i * 8);
    }
    mixTail(hHi, hLo, tHi, tLo);
    hHi = word[0];
    hLo = word[1];
  }
  finish(hHi, hLo);
}

/** MurmurHash64A of a latin1 string or of bytes, as Redis computes it (little-endian blocks). */
export function murmurHash64A(data: string | Uint8Array, seed = HLL_HASH_SEED): bigint {
  hashString(typeof data === "string" ? data : bytesToLatin1(data), seed | 0);
  return (BigInt(word[0] >>> 0) << 32n) | BigInt(word[1] >>> 0);
}

/** Register index of the last hash (its low P bits). */
let patIndex = 0;

/**
 * Redis's hllPatLen on the last hash: sets `patIndex` to the register and returns the position
 * of the first 1 bit above the index bits, counting from 1 (Q+1 when there is none).
 */
function patLenOfHash(): number {
  const lo = word[1];
  const hi = word[0];
  patIndex = lo & (HLL_REGISTERS - 1);
  const low = lo >>> HLL_P;
  if (low !== 0) return 32 - Math.clz32(low & -low);
  if (hi !== 0) return 32 - HLL_P + 32 - Math.clz32(hi & -hi);
  return HLL_Q + 1;
}

/** The register an element maps to and its run length (Redis's hllPatLen). */
export function patLen(element: string | Uint8Array): { index: number; count: number } {
  hashString(typeof element === "string" ? element : bytesToLatin1(element), HLL_HASH_SEED | 0);
  const count = patLenOfHash();
  return { index: patIndex, count };
}

// ----------------------------------------------------------------------------------------------
// The value being worked on.

/** How many values' past-the-end bytes are remembered (only corrupt HLLs ever have one). */
const PAST_END_LIMIT = 64;
/**
 * The byte just past the end of HLL values whose last opcode is a truncated XZERO, by value.
 * Redis reads that byte (normally the sds terminator) as the XZERO's low byte, and when it splits
 * such an opcode it writes the new last XZERO's low byte there, where the object keeps it from
 * command to command. tessera's values are plain strings, so the byte is kept here, keyed by
 * the exact value (a new value gets a zero terminator, as a new Redis object does).
 */
const pastEndBytes = new Map<string, number>();

function rememberPastEnd(s: string, byte: number): void {
  pastEndBytes.delete(s);
  pastEndBytes.set(s, byte);
  if (pastEndBytes.size > PAST_END_LIMIT) pastEndBytes.delete(pastEndBytes.keys().next().value!);
}

/** How many recently written HLL values keep their bytes decoded (see `decoded`). */
const DECODED_LIMIT = 8;
/**
 * The bytes of recently written HLL values, newest first: commands on one HLL usually follow
 * each other, and turning a 12 KB string back into bytes costs far more than copying bytes. The
 * keyspace holds the very string objects written here, so `===` finds them by identity without
 * hashing. Purely a cache: an entry always holds exactly its value's bytes.
 */
const decoded: { value: string; bytes: Uint8Array }[] = [];

function rememberDecoded(value: string, bytes: Uint8Array): void {
  decoded.unshift({ value, bytes });
  if (decoded.length > DECODED_LIMIT) decoded.pop();
}

function decodedBytes(s: string): Uint8Array | undefined {
  for (const entry of decoded) if (entry.value === s) return entry.bytes;
  return undefined;
}

/**
 * An HLL's bytes while a command works on it: `buf[0, len)` is the value, then the byte Redis
 * would find just past the end (sds's zero terminator, read past the last dense register and past
 * a truncated XZERO; see `pastEndBytes` for when it is not zero), then spare room for growth.
 */
export class Hll {
  constructor(public buf: Uint8Array, public len: number) {}

  /** Copies a stored string value (latin1) into a working buffer. */
  static fromString(s: string, spare = SPARSE_MAX_GROWTH + 1): Hll {
    const buf = new Uint8Array(s.length + spare);
    buf.set(decodedBytes(s) ?? Buffer.from(s, "latin1"));
    if (pastEndBytes.size > 0) buf[s.length] = pastEndBytes.get(s) ?? 0;
    return new Hll(buf, s.length);
  }

  /** A new empty HLL as PFADD creates it: sparse, one XZERO covering every register, cache 0. */
  static create(): Hll {
    const len = HLL_HDR_SIZE + Math.ceil(HLL_REGISTERS / SPARSE_XZERO_MAX_LEN) * 2;
    const hll = new Hll(new Uint8Array(len + SPARSE_MAX_GROWTH + 1), len);
    hll.buf.set([0x48, 0x59, 0x4c, 0x4c], 0); // "HYLL"
    hll.buf[ENCODING_OFFSET] = HLL_SPARSE;
    let at = HLL_HDR_SIZE;
    for (let left = HLL_REGISTERS; left > 0;) {
      const run = Math.min(left, SPARSE_XZERO_MAX_LEN);
      setXzero(hll.buf, at, run);
      at += 2;
      left -= run;
    }
    return hll;
  }

  /** The value as a latin1 string. */
  toString(): string {
    const s = latin1Slice(latin1View(this.buf), 0, this.len);
    if (this.buf[this.len] !== 0) rememberPastEnd(s, this.buf[this.len]);
    rememberDecoded(s, this.buf.slice(0, this.len));
    return s;
  }

  /** HLL_DENSE or HLL_SPARSE. */
  get encoding(): number {
    return this.buf[ENCODING_OFFSET];
  }

  /** Marks the cached cardinality stale. */
  invalidateCache(): void {
    this.buf[CARD_STALE_BYTE] |= CARD_STALE_BIT;
  }

  /** Stores a cardinality in the cache (as Redis stores the uint64 it computed). */
  setCachedCard(card: HllCard): void {
    let lo: number;
    let hi: number;
    if (card.overflow) {
      lo = 0;
      hi = 0x80000000;
    } else {
      lo = card.value % TWO_POW_32;
      hi = Math.floor(card.value / TWO_POW_32);
    }
    for (let i = 0; i < 4; i++) {
      this.buf[CARD_OFFSET + i] = (lo >>> (8 * i)) & 0xff;
      this.buf[CARD_OFFSET + 4 + i] = (hi >>> (8 * i)) & 0xff;
    }
  }

  /** Makes room for `extra` more bytes (plus the terminator). */
  reserve(extra: number): void {
    if (this.buf.length >= this.len + extra + 1) return;
    const next = new Uint8Array(this.len * 2 + extra + 1);
    next.set(this.buf.subarray(0, this.len + 1));
    this.buf = next;
  }
}

/**
 * Whether a string value is an HLL Redis accepts (isHLLObjectOrReply): at least a header, the
 * magic, a known encoding, and the exact size when dense.
 */
export function isHllString(s: string): boolean {
  if (s.length < HLL_HDR_SIZE) return false;
  if (s.charCodeAt(0) !== 0x48 || s.charCodeAt(1) !== 0x59 || s.charCodeAt(2) !== 0x4c || s.charCodeAt(3) !== 0x4c) {
    return false;
  }
  const encoding = s.charCodeAt(ENCODING_OFFSET);
  if (encoding > HLL_MAX_ENCODING) return false;
  return encoding !== HLL_DENSE || s.length === HLL_DENSE_SIZE;
}

/** Whether a stored HLL string's encoding byte says dense (the value must pass `isHllString`). */
export function isDenseString(s: string): boolean {
  return s.charCodeAt(ENCODING_OFFSET) === HLL_DENSE;
}

/** A computed or cached cardinality: a uint64 Redis replies as a signed 64-bit integer. */
export interface HllCard {
  /** The count (an integer; may exceed 2^53, then it is the double Redis rounded). */
  value: number;
  /** The estimate overflowed llroundl: Redis stores 2^63 and replies INT64_MIN. */
  overflow: boolean;
}

/** The integer Redis replies for a cardinality. */
export function cardReply(card: HllCard): number | bigint {
  if (card.overflow) return -(2n ** 63n);
  return Number.isSafeInteger(card.value) ? card.value : BigInt(card.value);
}

/**
 * The cached cardinality of a stored HLL string, or null when stale. Cached values always have
 * the top bit clear, so they fit a signed 64-bit reply as is.
 */
export function cachedCard(s: string): number | bigint | null {
  const top = s.charCodeAt(CARD_STALE_BYTE);
  if (top & CARD_STALE_BIT) return null;
  let lo = 0;
  let hi = 0;
  for (let i = 3; i >= 0; i--) {
    lo = lo * 256 + s.charCodeAt(CARD_OFFSET + i);
    hi = hi * 256 + s.charCodeAt(CARD_OFFSET + 4 + i);
  }
  if (hi < 1 << 21) return hi * TWO_POW_32 + lo;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

// ----------------------------------------------------------------------------------------------
// Dense registers: 6 bits each, packed from the least significant bit of each byte up.

/** Reads dense register `index` from the registers starting at `base`. */
export function denseGet(buf: Uint8Array, base: number, index: number): number {
  const bit = index * HLL_BITS;
  const at = base + (bit >>> 3);
  const shift = bit & 7;
  return ((buf[at] >>> shift) | (buf[at + 1] << (8 - shift))) & HLL_REGISTER_MAX;
}

/** Writes dense register `index` of the registers starting at `base`. */
export function denseWrite(buf: Uint8Array, base: number, index: number, value: number): void {
  const bit = index * HLL_BITS;
  const at = base + (bit >>> 3);
  const shift = bit & 7;
  buf[at] = (buf[at] & ~(HLL_REGISTER_MAX << shift)) | (value << shift);
  buf[at + 1] = (buf[at + 1] & ~(HLL_REGISTER_MAX >>> (8 - shift))) | (value >>> (8 - shift));
}

/** Raises a dense register to `count`; returns 1 when it changed, else 0 (Redis's hllDenseSet). */
function denseSet(hll: Hll, index: number, count: number): number {
  if (count <= denseGet(hll.buf, HLL_HDR_SIZE, index)) return 0;
  denseWrite(hll.buf, HLL_HDR_SIZE, index, count);
  return 1;
}

// ----------------------------------------------------------------------------------------------
// Sparse opcodes.

function isZero(op: number): boolean {
  return (op & 0xc0) === 0;
}

function isXzero(op: number): boolean {
  return (op & 0xc0) === 0x40;
}

function valOp(value: number, run: number): number {
  return 0x80 | ((value - 1) << 2) | (run - 1);
}

function setXzero(buf: Uint8Array, at: number, run: number): void {
  buf[at] = 0x40 | ((run - 1) >>> 8);
  buf[at + 1] = (run - 1) & 0xff;
}

/** Appends a ZERO or XZERO run (whichever Redis picks for that length) to `seq`. */
function pushZeroRun(seq: number[], run: number): void {
  if (run > SPARSE_ZERO_MAX_LEN) seq.push(0x40 | ((run - 1) >>> 8), (run - 1) & 0xff);
  else seq.push(run - 1);
}

/** One decoded sparse opcode: its kind, registers covered, value and size in bytes. */
interface SparseOp {
  kind: "zero" | "xzero" | "val";
  run: number;
  value: number;
  size: number;
}

/** Decodes the opcode at `at` (a truncated XZERO takes the byte past the end as its low byte, as in Redis). */
function readOp(buf: Uint8Array, at: number, out: SparseOp): void {
  const op = buf[at];
  if (isZero(op)) {
    out.kind = "zero";
    out.run = (op & 0x3f) + 1;
    out.value = 0;
    out.size = 1;
  } else if (isXzero(op)) {
    out.kind = "xzero";
    out.run = (((op & 0x3f) << 8) | (buf[at + 1] ?? 0)) + 1;
    out.value = 0;
    out.size = 2;
  } else {
    out.kind = "val";
    out.run = (op & 3) + 1;
    out.value = ((op >>> 2) & 0x1f) + 1;
    out.size = 1;
  }
}

/**
 * Visits the runs of a sparse HLL in order; stops early when `visit` returns false. Returns the
 * number of registers covered (16384 for a well-formed HLL).
 */
function forEachRun(hll: Hll, visit: (first: number, run: number, value: number) => boolean): number {
  const op: SparseOp = { kind: "zero", run: 0, value: 0, size: 1 };
  let index = 0;
  for (let at = HLL_HDR_SIZE; at < hll.len; at += op.size) {
    readOp(hll.buf, at, op);
    if (!visit(index, op.run, op.value)) break;
    index += op.run;
  }
  return index;
}

/**
 * Passes the non-zero runs of a sparse HLL to `into`; false when its runs do not cover exactly
 * 16384 registers (Debian's 7.0.15, with the CVE-2025-32023 fix, rejects any overflowing run).
 */
function sparseRegisters(hll: Hll, into: (first: number, run: number, value: number) => void): boolean {
  let overflow = false;
  const covered = forEachRun(hll, (first, run, value) => {
    if (first + run > HLL_REGISTERS) {
      overflow = true;
      return false;
    }
    if (value !== 0) into(first, run, value);
    return true;
  });
  return !overflow && covered === HLL_REGISTERS;
}

/**
 * Converts a sparse HLL to dense in place (Redis's hllSparseToDense): the header is kept (magic,
 * unused bytes and cached cardinality), the encoding becomes dense. Returns false when the sparse
 * data is corrupt (the HLL is then unchanged).
 */
export function sparseToDense(hll: Hll): boolean {
  if (hll.encoding === HLL_DENSE) return true;
  const dense = new Uint8Array(HLL_DENSE_SIZE + 1);
  dense.set(hll.buf.subarray(0, HLL_HDR_SIZE));
  dense[ENCODING_OFFSET] = HLL_DENSE;
  const ok = sparseRegisters(hll, (first, run, value) => {
    for (let i = first; i < first + run; i++) denseWrite(dense, HLL_HDR_SIZE, i, value);
  });
  if (!ok) return false;
  hll.buf = dense;
  hll.len = HLL_DENSE_SIZE;
  return true;
}

/**
 * Raises sparse register `index` to `count` by Redis's in-place edit (hllSparseSet): locate the
 * opcode, update or split it, merge equal VAL neighbours in a short window; promote to dense when
 * the value does not fit a VAL opcode or the string would pass `maxBytes`. Returns 1 when a
 * register changed, 0 when not, -1 when the sparse data is corrupt.
 */
export function sparseSet(hll: Hll, index: number, count: number, maxBytes: number): number {
  if (count > SPARSE_VAL_MAX_VALUE) return promote(hll, index, count);
  hll.reserve(SPARSE_MAX_GROWTH);
  const buf = hll.buf;
  let end = hll.len;

  // Step 1: find the opcode covering `index`.
  const op: SparseOp = { kind: "zero", run: 0, value: 0, size: 1 };
  let at = HLL_HDR_SIZE;
  let first = 0;
  let prev = -1;
  let span = 0;
  while (at < end) {
    // The hot loop of sparse updates: opcodes decoded inline.
    const code = buf[at];
    let size = 1;
    if ((code & 0xc0) === 0) span = (code & 0x3f) + 1;
    else if (code & 0x80) span = (code & 3) + 1;
    else {
      span = (((code & 0x3f) << 8) | buf[at + 1]) + 1;
      size = 2;
    }
    if (index <= first + span - 1) break;
    prev = at;
    at += size;
    first += span;
  }
  if (span === 0 || at >= end) return -1;
  readOp(buf, at, op);
  let next = at + op.size;
  if (next >= end) next = -1;

  // Step 2: trivial in-place cases, else build the replacement sequence.
  let trivial = false;
  if (op.kind === "val") {
    if (op.value >= count) return 0;
    if (op.run === 1) {
      buf[at] = valOp(count, 1);
      trivial = true;
    }
  } else if (op.kind === "zero" && op.run === 1) {
    buf[at] = valOp(count, 1);
    trivial = true;
  }
  if (!trivial) {
    const last = first + span - 1;
    const seq: number[] = [];
    if (op.kind === "val") {
      if (index !== first) seq.push(valOp(op.value, index - first));
      seq.push(valOp(count, 1));
      if (index !== last) seq.push(valOp(op.value, last - index));
    } else {
      if (index !== first) pushZeroRun(seq, index - first);
      seq.push(valOp(count, 1));
      if (index !== last) pushZeroRun(seq, last - index);
    }
    // Step 3: put the sequence in place of the opcode, shifting the tail.
    const delta = seq.length - op.size;
    if (delta > 0 && hll.len + delta > maxBytes) return promote(hll, index, count);
    if (delta !== 0 && next !== -1) buf.copyWithin(next + delta, next, end);
    hll.len += delta;
    end += delta;
    // Terminator first, then the sequence: splitting a truncated last XZERO writes past the end.
    buf[end] = 0;
    buf.set(seq, at);
  }

  // Step 4: merge adjacent VAL opcodes of equal value, scanning up to 5 opcodes from prev.
  let p = prev === -1 ? HLL_HDR_SIZE : prev;
  let scan = 5;
  while (p < end && scan-- !== 0) {
    const code = buf[p];
    if (isXzero(code)) {
      p += 2;
      continue;
    }
    if (isZero(code)) {
      p++;
      continue;
    }
    if (p + 1 < end && (buf[p + 1] & 0x80) !== 0) {
      const v1 = ((code >>> 2) & 0x1f) + 1;
      const v2 = ((buf[p + 1] >>> 2) & 0x1f) + 1;
      if (v1 === v2) {
        const run = (code & 3) + (buf[p + 1] & 3) + 2;
        if (run <= SPARSE_VAL_MAX_LEN) {
          buf[p + 1] = valOp(v1, run);
          buf.copyWithin(p, p + 1, end + 1);
          hll.len--;
          end--;
          buf[end] = 0;
          continue;
        }
      }
    }
    p++;
  }
  hll.invalidateCache();
  return 1;
}

/** Converts to dense, then sets the register (the update is known to raise it). */
function promote(hll: Hll, index: number, count: number): number {
  if (!sparseToDense(hll)) return -1;
  return denseSet(hll, index, count);
}

/** Raises register `index` to `count` in either encoding; 1 changed, 0 not, -1 corrupt. */
export function setRegister(hll: Hll, index: number, count: number, maxBytes: number): number {
  if (hll.encoding === HLL_DENSE) return denseSet(hll, index, count);
  if (hll.encoding === HLL_SPARSE) return sparseSet(hll, index, count, maxBytes);
  return -1;
}

/** Adds an element (Redis's hllAdd): 1 when a register changed, 0 when not, -1 when corrupt. */
export function hllAdd(hll: Hll, element: string | Uint8Array, maxBytes: number): number {
  hashString(typeof element === "string" ? element : bytesToLatin1(element), HLL_HASH_SEED | 0);
  const count = patLenOfHash();
  return setRegister(hll, patIndex, count, maxBytes);
}

// ----------------------------------------------------------------------------------------------
// Merging and counting.

/**
 * Raises `max[i]` to each register of `hll` (Redis's hllMerge); false when a sparse HLL is corrupt
 * (`max` may then be partly updated).
 */
export function mergeInto(max: Uint8Array, hll: Hll): boolean {
  if (hll.encoding === HLL_DENSE) {
    const buf = hll.buf;
    // Four registers per three bytes.
    for (let at = HLL_HDR_SIZE, i = 0; at < HLL_DENSE_SIZE; at += 3, i += 4) {
      const b0 = buf[at];
      const b1 = buf[at + 1];
      const b2 = buf[at + 2];
      const r0 = b0 & 63;
      const r1 = ((b0 >>> 6) | (b1 << 2)) & 63;
      const r2 = ((b1 >>> 4) | (b2 << 4)) & 63;
      const r3 = b2 >>> 2;
      if (r0 > max[i]) max[i] = r0;
      if (r1 > max[i + 1]) max[i + 1] = r1;
      if (r2 > max[i + 2]) max[i + 2] = r2;
      if (r3 > max[i + 3]) max[i + 3] = r3;
    }
    return true;
  }
  return sparseRegisters(hll, (first, run, value) => {
    for (let i = first; i < first + run; i++) if (value > max[i]) max[i] = value;
  });
}

/**
 * Raises each register of `hll` to `max[i]`, in index order (PFMERGE's write-back): a sparse HLL
 * is edited register by register and may turn dense on the way, exactly as Redis does.
 */
export function raiseRegisters(hll: Hll, max: Uint8Array, maxBytes: number): void {
  let i = 0;
  for (; i < HLL_REGISTERS && hll.encoding === HLL_SPARSE; i++) {
    if (max[i] !== 0) sparseSet(hll, i, max[i], maxBytes);
  }
  if (i === HLL_REGISTERS || hll.encoding !== HLL_DENSE) return;
  // Dense: raising registers one by one or all at once gives the same bytes; do it a group at a time.
  const buf = hll.buf;
  for (let g = i & ~3; g < HLL_REGISTERS; g += 4) {
    const at = HLL_HDR_SIZE + (g / 4) * 3;
    const b0 = buf[at];
    const b1 = buf[at + 1];
    const b2 = buf[at + 2];
    const r0 = Math.max(b0 & 63, g >= i ? max[g] : 0);
    const r1 = Math.max(((b0 >>> 6) | (b1 << 2)) & 63, g + 1 >= i ? max[g + 1] : 0);
    const r2 = Math.max(((b1 >>> 4) | (b2 << 4)) & 63, g + 2 >= i ? max[g + 2] : 0);
    const r3 = Math.max(b2 >>> 2, max[g + 3]);
    buf[at] = r0 | (r1 << 6);
    buf[at + 1] = (r1 >>> 2) | (r2 << 4);
    buf[at + 2] = (r2 >>> 4) | (r3 << 2);
  }
}

/** Redis's hllSigma (Ertl): sum over k of x^(2^k) * 2^(k-1). */
function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  let previous: number;
  do {
    x *= x;
    previous = z;
    z += x * y;
    y += y;
  } while (previous !== z);
  return z;
}

/** Redis's hllTau (Ertl). */
function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  let previous: number;
  do {
    x = Math.sqrt(x);
    previous = z;
    y *= 0.5;
    const d = 1 - x;
    z -= d * d * y;
  } while (previous !== z);
  return z / 3;
}

/** The estimate from a register histogram (Redis's hllCount after the histogram). */
export function estimateFromHistogram(histogram: Int32Array | number[]): HllCard {
  const m = HLL_REGISTERS;
  let z = m * tau((m - histogram[HLL_Q + 1]) / m);
  for (let j = HLL_Q; j >= 1; j--) {
    z += histogram[j];
    z *= 0.5;
  }
  z += m * sigma(histogram[0] / m);
  const e = Math.round(HLL_ALPHA_INF * m * m / z);
  if (!(e < TWO_POW_63)) return { value: 0, overflow: true };
  return { value: e, overflow: false };
}

/** Histogram of 16384 byte registers (PFCOUNT over several keys). */
export function rawHistogram(registers: Uint8Array): Int32Array {
  const histogram = new Int32Array(HISTOGRAM_SIZE);
  for (let i = 0; i < HLL_REGISTERS; i++) histogram[registers[i]]++;
  return histogram;
}

/**
 * The estimated cardinality of an HLL, or null when a sparse HLL is corrupt (its runs do not
 * cover exactly 16384 registers).
 */
export function hllCount(hll: Hll): HllCard | null {
  const histogram = new Int32Array(HISTOGRAM_SIZE);
  if (hll.encoding === HLL_DENSE) {
    const buf = hll.buf;
    // Four registers per three bytes.
    for (let at = HLL_HDR_SIZE; at < HLL_DENSE_SIZE; at += 3) {
      const b0 = buf[at];
      const b1 = buf[at + 1];
      const b2 = buf[at + 2];
      histogram[b0 & 63]++;
      histogram[((b0 >>> 6) | (b1 << 2)) & 63]++;
      histogram[((b1 >>> 4) | (b2 << 4)) & 63]++;
      histogram[b2 >>> 2]++;
    }
  } else {
    let covered = 0;
    forEachRun(hll, (_first, run, value) => {
      histogram[value] += run;
      covered += run;
      return true;
    });
    if (covered !== HLL_REGISTERS) return null;
  }
  return estimateFromHistogram(histogram);
}

/** The opcodes of a sparse HLL as PFDEBUG DECODE prints them (`z:N Z:N v:V,N`). */
export function decodeSparse(hll: Hll): string {
  const op: SparseOp = { kind: "zero", run: 0, value: 0, size: 1 };
  const parts: string[] = [];
  for (let at = HLL_HDR_SIZE; at < hll.len; at += op.size) {
    readOp(hll.buf, at, op);
    if (op.kind === "zero") parts.push(`z:${op.run}`);
    else if (op.kind === "xzero") parts.push(`Z:${op.run}`);
    else parts.push(`v:${op.value},${op.run}`);
  }
  return parts.join(" ");
}

/** All 16384 register values of a dense HLL. */
export function denseRegisters(hll: Hll): number[] {
  const out = new Array<number>(HLL_REGISTERS);
  for (let i = 0; i < HLL_REGISTERS; i++) out[i] = denseGet(hll.buf, HLL_HDR_SIZE, i);
  return out;
}

// ----------------------------------------------------------------------------------------------
// PFSELFTEST.

/** Random register fill/read-back rounds of the self test (Redis's HLL_TEST_CYCLES). */
const SELFTEST_CYCLES = 1000;
/** Elements added in the self test's accuracy check. */
const SELFTEST_ELEMENTS = 10_000_000;

/** Hashes the 8-byte little-endian integer (hi, lo); result in `word`. */
function hashWord(hi: number, lo: number): void {
  mulM(0, 8);
  mixBlock(word[0], word[1] ^ HLL_HASH_SEED, hi, lo);
  finish(word[0], word[1]);
}

/** A random unsigned 32-bit integer. */
function random32(): number {
  return Math.floor(Math.random() * TWO_POW_32);
}

/** A random register value. */
function randomRegister(): number {
  return Math.floor(Math.random() * (HLL_REGISTER_MAX + 1));
}

/**
 * Redis's PFSELFTEST: dense registers keep random values without disturbing their neighbours, then
 * 10 million distinct elements go into a dense and a sparse HLL at once, and at every power of
 * ten the sparse one must still be sparse while small, both must agree, and the error must stay
 * within six standard errors. Returns the error reply, or null when every check passed.
 */
export function hllSelfTest(maxBytes: number): string | null {
  const dense = new Uint8Array(HLL_DENSE_SIZE + 1);
  const expected = new Uint8Array(HLL_REGISTERS);
  for (let cycle = 0; cycle < SELFTEST_CYCLES; cycle++) {
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const r = randomRegister();
      expected[i] = r;
      denseWrite(dense, HLL_HDR_SIZE, i, r);
    }
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const v = denseGet(dense, HLL_HDR_SIZE, i);
      if (v !== expected[i]) return `TESTFAILED Register ${i} should be ${expected[i]} but is ${v}`;
    }
  }

  dense.fill(0, HLL_HDR_SIZE);
  dense[ENCODING_OFFSET] = HLL_DENSE;
  const denseHll = new Hll(dense, HLL_DENSE_SIZE);
  const sparse = Hll.create();
  const relativeError = 1.04 / Math.sqrt(HLL_REGISTERS);
  const seedHi = random32();
  const seedLo = random32();
  const sparseCheckBelow = Math.floor(maxBytes / 2);
  let checkpoint = 1;
  for (let j = 1; j <= SELFTEST_ELEMENTS; j++) {
    hashWord(seedHi, j ^ seedLo);
    const count = patLenOfHash();
    const index = patIndex;
    denseSet(denseHll, index, count);
    setRegister(sparse, index, count, maxBytes);
    if (j !== checkpoint) continue;
    if (j < sparseCheckBelow && sparse.encoding !== HLL_SPARSE) return "TESTFAILED sparse encoding not used";
    const fromDense = hllCount(denseHll)!;
    const fromSparse = hllCount(sparse);
    if (fromSparse === null || fromDense.value !== fromSparse.value || fromDense.overflow !== fromSparse.overflow) {
      return "TESTFAILED dense/sparse disagree";
    }
    const maxError = j === 10 ? 1 : Math.ceil(relativeError * 6 * checkpoint);
    const error = Math.abs(checkpoint - fromDense.value);
    if (error > maxError) return `TESTFAILED Too big error. card:${checkpoint} abserr:${error}`;
    checkpoint *= 10;
  }
  return null;
}
