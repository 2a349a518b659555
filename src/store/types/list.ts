/**
 * The list type. Like Redis's quicklist, a list is a sequence of nodes and each node packs its
 * elements into one byte buffer, so a long list costs a few bytes per element beyond the
 * element's own bytes (a JS string per element would cost 24+ bytes), and pushes and pops at
 * either end are O(1): each node keeps free room on both sides of its packed entries.
 *
 * Entry layout (tessera's own, in the spirit of Redis's listpack): `header payload backlen`.
 * - header `0xxxxxxx`: the integer 0..127 itself, no payload;
 * - `10LLLLLL`: a string of up to 63 bytes; `110LLLLL LLLLLLLL`: up to 8191 bytes;
 *   `11100000` + 4-byte little-endian length: longer strings;
 * - `11100nnn` (n = 1..6): a signed integer in n little-endian bytes.
 * Integers are stored in binary only when the element is the canonical text of an integer below
 * 2^47 in magnitude (`"12"`, not `"012"` or `"+12"`), so decoding gives back the same bytes. The
 * encoding of an element is a function of its bytes: equal elements have equal encodings, which
 * lets LREM, LPOS and LINSERT compare encoded bytes without decoding.
 * `backlen` is the length of header + payload in 7-bit groups, readable from its last byte
 * backwards (high bit set: another group precedes), so the list can be walked from the tail.
 */
import type { ReplyWriter } from "../../resp/writer.ts";
import { Buffer } from "node:buffer";
import type { TypedValue } from "../keyspace.ts";

/** A node's buffer. */
type NodeBytes = Uint8Array;
/** Node's native latin1 decoder, applied to plain byte arrays (no Buffer object per node). */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(start: number, end: number): string }).latin1Slice;

/** Packed bytes per node before a new node starts (Redis's default `list-max-listpack-size -2`: 8 KB). */
export const NODE_MAX_BYTES = 8192;
/** Smallest buffer given to a node. */
const NODE_MIN_CAPACITY_BYTES = 32;
/** Elements up to this length are decoded with a JS loop (faster than a native call for short ones). */
const SHORT_DECODE_CHARS = 8;
/** Elements from this length are encoded with TextEncoder when they are ASCII. */
const ENCODE_INTO_MIN_CHARS = 64;

const HDR_STR6 = 0x80;
const HDR_STR13 = 0xc0;
const HDR_STR32 = 0xe0;
/** `HDR_INT + n`: an integer in n bytes. */
const HDR_INT = 0xe0;
const SMALL_INT_MAX = 0x7f;
const STR6_MAX_LEN = 63;
const STR13_MAX_LEN = 8191;
/** Integers are stored in binary while |v| < 2^47 (six bytes, exact as a double). */
const STORED_INT_LIMIT = 2 ** 47;

const asciiEncoder = new TextEncoder();
/** Decoded small integers 0..127, shared. */
const SMALL_INT_TEXT: string[] = Array.from({ length: SMALL_INT_MAX + 1 }, (_, i) => String(i));

function allocBytes(size: number): NodeBytes {
  return new Uint8Array(size);
}

/** The element as a stored integer, or NaN when it is kept as a string. */
function storedInt(s: string): number {
  const n = s.length;
  if (n === 0 || n > 15) return NaN;
  let i = 0;
  let negative = false;
  let c = s.charCodeAt(0);
  if (c === 45) { // '-'
    if (n === 1) return NaN;
    negative = true;
    i = 1;
    c = s.charCodeAt(1);
  }
  if (c === 48) return n === 1 ? 0 : NaN; // "0" only: "-0" and "01" are strings
  let v = 0;
  for (; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
  }
  if (v >= STORED_INT_LIMIT) return NaN;
  return negative ? -v : v;
}

/** Bytes (1..6) of the smallest signed little-endian form of a stored integer. */
function intBytes(v: number): number {
  let n = 1;
  let limit = 128;
  while (v >= limit || v < -limit) {
    n++;
    limit *= 256;
  }
  return n;
}

/** Header + payload length of an element (`iv` from storedInt). */
function entryDataLen(s: string, iv: number): number {
  if (iv === iv) return iv >= 0 && iv <= SMALL_INT_MAX ? 1 : 1 + intBytes(iv);
  const len = s.length;
  return len + (len <= STR6_MAX_LEN ? 1 : len <= STR13_MAX_LEN ? 2 : 5);
}

/** Bytes of the backlen of an entry whose header + payload is `t` bytes. */
function backlenSize(t: number): number {
  return t < 0x80 ? 1 : t < 0x4000 ? 2 : t < 0x200000 ? 3 : t < 0x10000000 ? 4 : 5;
}

/** Header + payload length of the entry at `pos`. */
function dataLenAt(buf: Uint8Array, pos: number): number {
  const h = buf[pos];
  if (h < HDR_STR6) return 1;
  if (h < HDR_STR13) return 1 + (h & 0x3f);
  if (h < HDR_STR32) return 2 + (((h & 0x1f) << 8) | buf[pos + 1]);
  if (h === HDR_STR32) {
    return 5 + (buf[pos + 1] | (buf[pos + 2] << 8) | (buf[pos + 3] << 16)) + buf[pos + 4] * 0x1000000;
  }
  return 1 + (h - HDR_INT);
}

/** Offset just past the entry at `pos`. */
function nextEntry(buf: Uint8Array, pos: number): number {
  const t = dataLenAt(buf, pos);
  return pos + t + backlenSize(t);
}

/** Offset of the entry that ends at `end`. */
function prevEntry(buf: Uint8Array, end: number): number {
  let pos = end - 1;
  let b = buf[pos];
  let t = b & 0x7f;
  let scale = 0x80;
  while (b & 0x80) {
    b = buf[--pos];
    t += (b & 0x7f) * scale;
    scale *= 0x80;
  }
  return pos - t;
}

/** Writes an element's header and payload at `pos`; returns the offset after them. */
function writeData(buf: Uint8Array, pos: number, s: string, iv: number, t: number): number {
  if (iv === iv) {
    if (t === 1) {
      buf[pos++] = iv;
      return pos;
    }
    const n = t - 1;
    buf[pos++] = HDR_INT + n;
    let u = iv < 0 ? iv + 2 ** (8 * n) : iv;
    for (let k = 0; k < n; k++) {
      buf[pos++] = u % 256;
      u = Math.floor(u / 256);
    }
    return pos;
  }
  const len = s.length;
  if (len <= STR6_MAX_LEN) {
    buf[pos++] = HDR_STR6 | len;
  } else if (len <= STR13_MAX_LEN) {
    buf[pos++] = HDR_STR13 | (len >> 8);
    buf[pos++] = len & 0xff;
  } else {
    buf[pos++] = HDR_STR32;
    buf[pos++] = len & 0xff;
    buf[pos++] = (len >>> 8) & 0xff;
    buf[pos++] = (len >>> 16) & 0xff;
    buf[pos++] = (len >>> 24) & 0xff;
  }
  if (len >= ENCODE_INTO_MIN_CHARS) {
    // ASCII text encodes natively (UTF-8 = latin1 then); otherwise fall back to the loop.
    const { read, written } = asciiEncoder.encodeInto(s, buf.subarray(pos, pos + len));
    if (read === len && written === len) return pos + len;
  }
  for (let i = 0; i < len; i++) buf[pos++] = s.charCodeAt(i);
  return pos;
}

/** Writes a whole entry (data + backlen `t`) at `pos`; returns the offset after it. */
function writeEntry(buf: Uint8Array, pos: number, s: string, iv: number, t: number): number {
  pos = writeData(buf, pos, s, iv, t);
  const groups = backlenSize(t);
  // Most significant group first; every group but the first in memory carries the "more before" bit.
  for (let g = groups - 1; g >= 0; g--) {
    const bits = Math.floor(t / 2 ** (7 * g)) & 0x7f;
    buf[pos++] = g === groups - 1 ? bits : bits | 0x80;
  }
  return pos;
}

/**
 * Writes the entry at `pos` as a bulk reply: a string's bytes straight from the node, an integer as its decimal text
 * (what `decodeAt` would return, without making the string).
 */
function replyAt(buf: NodeBytes, pos: number, out: ReplyWriter): void {
  const h = buf[pos];
  if (h < HDR_STR6) return out.bulkInteger(h);
  if (h > HDR_STR32) return out.bulkInteger(intAt(buf, pos, h - HDR_INT));
  if (h < HDR_STR13) return out.bulkSlice(buf, pos + 1, h & 0x3f);
  if (h < HDR_STR32) return out.bulkSlice(buf, pos + 2, ((h & 0x1f) << 8) | buf[pos + 1]);
  out.bulkSlice(buf, pos + 5, dataLenAt(buf, pos) - 5);
}

/** The integer of `n` little-endian two's complement bytes stored after the header at `pos`. */
function intAt(buf: NodeBytes, pos: number, n: number): number {
  let v = 0;
  for (let k = n; k >= 1; k--) v = v * 256 + buf[pos + k];
  // Up to three bytes the sign is extended with shifts, which keeps small integers small (no double).
  if (n <= 3) return (v << (32 - 8 * n)) >> (32 - 8 * n);
  if (buf[pos + n] & 0x80) v -= 2 ** (8 * n);
  return v;
}

/** Decodes the entry at `pos`. */
function decodeAt(buf: NodeBytes, pos: number): string {
  const h = buf[pos];
  let start: number;
  let len: number;
  if (h < HDR_STR6) return SMALL_INT_TEXT[h];
  if (h < HDR_STR13) {
    start = pos + 1;
    len = h & 0x3f;
  } else if (h < HDR_STR32) {
    start = pos + 2;
    len = ((h & 0x1f) << 8) | buf[pos + 1];
  } else if (h === HDR_STR32) {
    start = pos + 5;
    len = dataLenAt(buf, pos) - 5;
  } else {
    return String(intAt(buf, pos, h - HDR_INT));
  }
  if (len <= SHORT_DECODE_CHARS) {
    let s = "";
    for (let i = start; i < start + len; i++) s += String.fromCharCode(buf[i]);
    return s;
  }
  return latin1Slice.call(buf, start, start + len);
}

/** An element encoded once (header + payload), for comparisons against stored entries. */
export class ListProbe {
  readonly bytes: Uint8Array;
  constructor(element: string) {
    const iv = storedInt(element);
    const t = entryDataLen(element, iv);
    this.bytes = new Uint8Array(t);
    writeData(this.bytes, 0, element, iv, t);
  }

  /** Whether the entry at `pos` holds the probed element. */
  matches(buf: Uint8Array, pos: number): boolean {
    const p = this.bytes;
    if (buf[pos] !== p[0]) return false;
    const t = p.length;
    if (dataLenAt(buf, pos) !== t) return false;
    for (let i = 1; i < t; i++) if (buf[pos + i] !== p[i]) return false;
    return true;
  }
}

/** One node: packed entries in `buf[start, end)`, `count` of them. */
class ListNode {
  constructor(public buf: NodeBytes, public start: number, public end: number, public count: number) {}
}

/** Where `seek` found an element: node index and byte offset. */
let seekNode = 0;
let seekPos = 0;

/** A Redis list (OBJECT ENCODING `quicklist`, as always in Redis 7.0). */
export class ListValue implements TypedValue {
  private nodes: ListNode[] = [];
  /** Number of elements. */
  length = 0;

  /** The name TYPE prints. */
  get type(): string {
    return "list";
  }

  /** OBJECT ENCODING: Redis 7.0 keeps every list as a quicklist. */
  get encoding(): string {
    return "quicklist";
  }

  /** A list holding `elements` in order. */
  static from(elements: Iterable<string>): ListValue {
    const list = new ListValue();
    for (const e of elements) list.pushBack(e);
    return list;
  }

  /** Appends an element at the tail (RPUSH). */
  pushBack(element: string): void {
    const iv = storedInt(element);
    const t = entryDataLen(element, iv);
    const size = t + backlenSize(t);
    const nodes = this.nodes;
    let node = nodes[nodes.length - 1];
    if (node === undefined) {
      // An array literal is allocated at its size; push would reserve room for 17 nodes.
      node = newNode(size, false);
      this.nodes = [node];
    } else if (node.end - node.start + size > NODE_MAX_BYTES) {
      node = newNode(size, false, NODE_MAX_BYTES);
      nodes.push(node);
    } else if (node.end + size > node.buf.length) {
      makeRoom(node, size, false);
    }
    node.end = writeEntry(node.buf, node.end, element, iv, t);
    node.count++;
    this.length++;
  }

  /** Inserts an element at the head (LPUSH). */
  pushFront(element: string): void {
    const iv = storedInt(element);
    const t = entryDataLen(element, iv);
    const size = t + backlenSize(t);
    const nodes = this.nodes;
    let node = nodes[0];
    if (node === undefined) {
      node = newNode(size, true);
      this.nodes = [node];
    } else if (node.end - node.start + size > NODE_MAX_BYTES) {
      node = newNode(size, true, NODE_MAX_BYTES);
      nodes.unshift(node);
    } else if (node.start < size) {
      makeRoom(node, size, true);
    }
    node.start -= size;
    writeEntry(node.buf, node.start, element, iv, t);
    node.count++;
    this.length++;
  }

  /** Removes and returns the head element, or undefined when empty. */
  popFront(): string | undefined {
    const node = this.nodes[0];
    if (node === undefined) return undefined;
    const element = decodeAt(node.buf, node.start);
    node.start = nextEntry(node.buf, node.start);
    this.length--;
    if (--node.count === 0) this.nodes.shift();
    return element;
  }

  /** Removes and returns the tail element, or undefined when empty. */
  popBack(): string | undefined {
    const nodes = this.nodes;
    const node = nodes[nodes.length - 1];
    if (node === undefined) return undefined;
    node.end = prevEntry(node.buf, node.end);
    const element = decodeAt(node.buf, node.end);
    this.length--;
    if (--node.count === 0) nodes.pop();
    return element;
  }

  /** Finds element `index` (0 <= index < length): sets seekNode / seekPos. */
  private seek(index: number): void {
    const nodes = this.nodes;
    let ni: number;
    let local: number;
    if (index < this.length / 2) {
      ni = 0;
      while (index >= nodes[ni].count) index -= nodes[ni++].count;
      local = index;
    } else {
      let fromEnd = this.length - 1 - index;
      ni = nodes.length - 1;
      while (fromEnd >= nodes[ni].count) fromEnd -= nodes[ni--].count;
      local = nodes[ni].count - 1 - fromEnd;
    }
    const node = nodes[ni];
    const buf = node.buf;
    let pos: number;
    if (local <= node.count / 2) {
      pos = node.start;
      for (let k = 0; k < local; k++) pos = nextEntry(buf, pos);
    } else {
      pos = node.end;
      for (let k = node.count; k > local; k--) pos = prevEntry(buf, pos);
    }
    seekNode = ni;
    seekPos = pos;
  }

  /** Element at `index` (negative counts from the tail, as LINDEX), or undefined when out of range. */
  at(index: number): string | undefined {
    if (index < 0) index += this.length;
    if (index < 0 || index >= this.length) return undefined;
    this.seek(index);
    return decodeAt(this.nodes[seekNode].buf, seekPos);
  }

  /** Replaces element `index` (negative from the tail, as LSET); false when out of range. */
  set(index: number, element: string): boolean {
    if (index < 0) index += this.length;
    if (index < 0 || index >= this.length) return false;
    this.seek(index);
    const buf = this.nodes[seekNode].buf;
    this.splice(seekNode, seekPos, nextEntry(buf, seekPos), 1, element);
    return true;
  }

  /** `count` elements from `start` (0 <= start, start + count <= length), head to tail. */
  range(start: number, count: number): string[] {
    const out: string[] = new Array(count);
    let i = 0;
    this.walk(start, count, (buf, pos) => out[i++] = decodeAt(buf, pos));
    return out;
  }

  /** Replies `count` elements from `start` as an array of bulk strings (LRANGE), without decoding them to strings. */
  replyRange(start: number, count: number, out: ReplyWriter): void {
    out.array(count);
    this.walk(start, count, (buf, pos) => replyAt(buf, pos, out));
  }

  /** Visits the entries of `count` elements from `start` (as `range` takes them), head to tail. */
  private walk(start: number, count: number, visit: (buf: NodeBytes, pos: number) => void): void {
    if (count === 0) return;
    this.seek(start);
    const nodes = this.nodes;
    let ni = seekNode;
    let node = nodes[ni];
    let pos = seekPos;
    for (let i = 0; i < count; i++) {
      if (pos === node.end) {
        node = nodes[++ni];
        pos = node.start;
      }
      visit(node.buf, pos);
      pos = nextEntry(node.buf, pos);
    }
  }

  /** Every element, head to tail. */
  values(): string[] {
    return this.range(0, this.length);
  }

  /** Removes `count` elements at the head (count <= length). */
  deleteFront(count: number): void {
    const nodes = this.nodes;
    this.length -= count;
    while (count > 0) {
      const node = nodes[0];
      if (node.count <= count) {
        count -= node.count;
        nodes.shift();
        continue;
      }
      let pos = node.start;
      for (let k = 0; k < count; k++) pos = nextEntry(node.buf, pos);
      node.start = pos;
      node.count -= count;
      count = 0;
    }
  }

  /** Removes `count` elements at the tail (count <= length). */
  deleteBack(count: number): void {
    const nodes = this.nodes;
    this.length -= count;
    while (count > 0) {
      const node = nodes[nodes.length - 1];
      if (node.count <= count) {
        count -= node.count;
        nodes.pop();
        continue;
      }
      let pos = node.end;
      for (let k = 0; k < count; k++) pos = prevEntry(node.buf, pos);
      node.end = pos;
      node.count -= count;
      count = 0;
    }
  }

  /**
   * Inserts `element` before or after the first element equal to `pivot` (LINSERT); returns
   * whether the pivot was found.
   */
  insert(pivot: string, element: string, after: boolean): boolean {
    const probe = new ListProbe(pivot);
    const nodes = this.nodes;
    for (let ni = 0; ni < nodes.length; ni++) {
      const node = nodes[ni];
      const buf = node.buf;
      for (let pos = node.start; pos < node.end; pos = nextEntry(buf, pos)) {
        if (!probe.matches(buf, pos)) continue;
        const at = after ? nextEntry(buf, pos) : pos;
        this.splice(ni, at, at, 0, element);
        return true;
      }
    }
    return false;
  }

  /**
   * Removes elements equal to `element` (LREM): the first `count` from the head when count > 0,
   * the last -count from the tail when count < 0, all when 0. Returns how many were removed.
   */
  remove(element: string, count: number): number {
    const probe = new ListProbe(element);
    const fromTail = count < 0;
    let left = fromTail ? -count : count === 0 ? Infinity : count;
    let removed = 0;
    const nodes = this.nodes;
    const matches: number[] = [];
    for (let step = 0, n = nodes.length; step < n && left > 0; step++) {
      const ni = fromTail ? n - 1 - step : step;
      const node = nodes[ni];
      const buf = node.buf;
      matches.length = 0;
      if (fromTail) {
        for (let pos = node.end; pos > node.start && matches.length < left;) {
          pos = prevEntry(buf, pos);
          if (probe.matches(buf, pos)) matches.push(pos);
        }
        matches.reverse();
      } else {
        for (let pos = node.start; pos < node.end && matches.length < left; pos = nextEntry(buf, pos)) {
          if (probe.matches(buf, pos)) matches.push(pos);
        }
      }
      if (matches.length === 0) continue;
      // Compact in place: keep the bytes between matches.
      let write = matches[0];
      let keepFrom = nextEntry(buf, matches[0]);
      for (let m = 1; m < matches.length; m++) {
        buf.copyWithin(write, keepFrom, matches[m]);
        write += matches[m] - keepFrom;
        keepFrom = nextEntry(buf, matches[m]);
      }
      buf.copyWithin(write, keepFrom, node.end);
      node.end = write + (node.end - keepFrom);
      node.count -= matches.length;
      removed += matches.length;
      left -= matches.length;
    }
    if (removed > 0) {
      this.length -= removed;
      this.nodes = nodes.filter((node) => node.count > 0);
    }
    return removed;
  }

  /**
   * LPOS: indexes of elements equal to `element`, scanning from the head (rank > 0) or the tail
   * (rank < 0), skipping the first |rank| - 1 matches, returning at most `count` (0: all) and
   * comparing at most `maxlen` elements (0: all).
   */
  positions(element: string, rank: number, count: number, maxlen: number): number[] {
    const probe = new ListProbe(element);
    const out: number[] = [];
    const fromTail = rank < 0;
    let skip = Math.abs(rank) - 1;
    const limit = maxlen === 0 ? this.length : Math.min(maxlen, this.length);
    const nodes = this.nodes;
    let index = 0;
    for (let step = 0; step < nodes.length && index < limit; step++) {
      const node = nodes[fromTail ? nodes.length - 1 - step : step];
      const buf = node.buf;
      let pos = fromTail ? node.end : node.start;
      for (let k = 0; k < node.count && index < limit; k++, index++) {
        if (fromTail) pos = prevEntry(buf, pos);
        if (probe.matches(buf, pos)) {
          if (skip > 0) {
            skip--;
          } else {
            out.push(fromTail ? this.length - 1 - index : index);
            if (out.length === count) return out;
          }
        }
        if (!fromTail) pos = nextEntry(buf, pos);
      }
    }
    return out;
  }

  /**
   * Replaces the entries in `[from, to)` of node `ni` (`removed` of them) by `element` (if given),
   * splitting the node when it grows past NODE_MAX_BYTES and dropping it when it empties.
   */
  private splice(ni: number, from: number, to: number, removed: number, element?: string): void {
    const node = this.nodes[ni];
    let iv = NaN;
    let t = 0;
    let size = 0;
    if (element !== undefined) {
      iv = storedInt(element);
      t = entryDataLen(element, iv);
      size = t + backlenSize(t);
    }
    const used = node.end - node.start - (to - from) + size;
    const count = node.count - removed + (element === undefined ? 0 : 1);
    this.length += count - node.count;
    if (count === 0) {
      this.nodes.splice(ni, 1);
      return;
    }
    const bytes = allocBytes(used);
    bytes.set(node.buf.subarray(node.start, from), 0);
    let pos = from - node.start;
    if (element !== undefined) pos = writeEntry(bytes, pos, element, iv, t);
    bytes.set(node.buf.subarray(to, node.end), pos);
    if (used <= NODE_MAX_BYTES || count === 1) {
      node.buf = bytes;
      node.start = 0;
      node.end = used;
      node.count = count;
      return;
    }
    this.nodes.splice(ni, 1, ...splitBytes(bytes, used));
  }

  /** A deep copy (COPY). */
  clone(): ListValue {
    const copy = new ListValue();
    copy.length = this.length;
    copy.nodes = this.nodes.map((node) => {
      const used = node.end - node.start;
      const buf = allocBytes(Math.max(used, NODE_MIN_CAPACITY_BYTES));
      buf.set(node.buf.subarray(node.start, node.end), 0);
      return new ListNode(buf, 0, used, node.count);
    });
    return copy;
  }

  /** Node count and packed bytes (tests and memory reports). */
  stats(): { nodes: number; bytes: number; capacity: number } {
    let bytes = 0;
    let capacity = 0;
    for (const node of this.nodes) {
      bytes += node.end - node.start;
      capacity += node.buf.length;
    }
    return { nodes: this.nodes.length, bytes, capacity };
  }
}

/**
 * A node for a first entry of `size` bytes, with room on the side it will grow. A node added beside a full one
 * starts at full capacity (`minCapacity`): that end of the list is growing, and doubling up from 32 bytes would cost
 * nine allocations and copies per node.
 */
function newNode(size: number, atFront: boolean, minCapacity = NODE_MIN_CAPACITY_BYTES): ListNode {
  const capacity = Math.max(minCapacity, size);
  const at = atFront ? capacity : 0;
  return new ListNode(allocBytes(capacity), at, at, 0);
}

/**
 * Makes room for `size` more bytes at one end of a node: doubles the buffer (up to
 * NODE_MAX_BYTES) or recentres the entries, leaving three quarters of the free room on the
 * growing side.
 */
function makeRoom(node: ListNode, size: number, atFront: boolean): void {
  const used = node.end - node.start;
  const need = used + size;
  const capacity = node.buf.length;
  let newCapacity = capacity;
  if (need * 2 > capacity) {
    newCapacity = Math.min(Math.max(need * 2, NODE_MIN_CAPACITY_BYTES), Math.max(NODE_MAX_BYTES, need));
  }
  const slack = newCapacity - need;
  const start = atFront ? size + slack - (slack >> 2) : slack >> 2;
  if (newCapacity === capacity) {
    node.buf.copyWithin(start, node.start, node.end);
  } else {
    const buf = allocBytes(newCapacity);
    buf.set(node.buf.subarray(node.start, node.end), start);
    node.buf = buf;
  }
  node.start = start;
  node.end = start + used;
}

/** Cuts packed entries into nodes of at most NODE_MAX_BYTES (an entry larger than that alone). */
function splitBytes(bytes: NodeBytes, used: number): ListNode[] {
  const out: ListNode[] = [];
  let chunkStart = 0;
  let count = 0;
  let pos = 0;
  while (pos < used) {
    const next = nextEntry(bytes, pos);
    if (count > 0 && next - chunkStart > NODE_MAX_BYTES) {
      out.push(nodeOf(bytes, chunkStart, pos, count));
      chunkStart = pos;
      count = 0;
    }
    count++;
    pos = next;
  }
  out.push(nodeOf(bytes, chunkStart, used, count));
  return out;
}

function nodeOf(bytes: NodeBytes, start: number, end: number, count: number): ListNode {
  const buf = allocBytes(end - start);
  buf.set(bytes.subarray(start, end), 0);
  return new ListNode(buf, 0, end - start, count);
}
