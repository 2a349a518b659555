/**
 * The sorted set type (TYPE `zset`), with Redis 7.0's two encodings:
 *
 * - `listpack`: members and scores in two parallel arrays kept in (score, member) order; lookups
 *   scan, as Redis's listpack does. Like a listpack, it stores integral scores as integers, so a
 *   score of -0 reads back as 0.
 * - `skiplist`: a member -> slot Map, per-slot member and score arrays, and an order-statistics
 *   B+ tree of slots (subtree sizes give O(log n) rank and index access, as the skiplist spans do).
 *   Slots stay put while a member lives, so ZSCAN's cursor is a slot number: a member present for
 *   a whole scan is returned at least once, whatever else changes.
 *
 * The encoding follows Redis's one-way listpack -> skiplist conversion (see `typeLimits`). Order
 * is score, then member bytes; latin1 strings compare like memcmp with `<`.
 * Also here: Redis's score parsers (strtod rules) and range specs, which this type's queries take.
 */
import type { TypedValue } from "../keyspace.ts";
import { typeLimits } from "./limits.ts";

// ---------------------------------------------------------------------------------------------
// Score parsing: C's strtod as glibc implements it, with Redis's checks on top.

const DECIMAL_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const HEX_RE = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/;
const INFINITY_RE = /^[+-]?(?:inf|infinity)$/i;
const NONZERO_DIGIT_RE = /[1-9]/;

/** Lowest exponent of a double's last mantissa bit (subnormals included). */
const MIN_LSB_EXP = -1074;
const MANTISSA_BITS = 53;

/** x * 2^e without intermediate overflow or underflow (x has at most 53 significant bits). */
function scaleByPowerOfTwo(x: number, e: number): number {
  while (e > 1000) {
    x *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    x *= 2 ** -1000;
    e += 1000;
  }
  return x * 2 ** e;
}

/** Rounds the hexadecimal mantissa * 2^exp2 to the nearest double (ties to even), as strtod does. */
function hexToDouble(digits: string, exp2: number): number {
  let m = BigInt("0x" + (digits === "" ? "0" : digits));
  if (m === 0n) return 0;
  const bits = m.toString(2).length;
  const leadExp = bits - 1 + exp2;
  const lsbExp = Math.max(leadExp - (MANTISSA_BITS - 1), MIN_LSB_EXP);
  const drop = lsbExp - exp2;
  if (drop <= 0) return scaleByPowerOfTwo(Number(m), exp2);
  const shift = BigInt(drop);
  const rest = m & ((1n << shift) - 1n);
  m >>= shift;
  const half = 1n << (shift - 1n);
  if (rest > half || (rest === half && (m & 1n) === 1n)) m++;
  return scaleByPowerOfTwo(Number(m), lsbExp);
}

/** The value of a complete hexadecimal float text (HEX_RE matched), or NaN when it has no digits. */
function parseHexFloat(match: RegExpExecArray): number {
  const intPart = match[2];
  const frac = match[3] ?? "";
  if (intPart === "" && frac === "") return NaN;
  const exp2 = (match[4] === undefined ? 0 : Number(match[4])) - 4 * frac.length;
  const v = hexToDouble(intPart + frac, exp2);
  return match[1] === "-" ? -v : v;
}

/**
 * Parses a score like Redis's string2d (getDoubleFromObject): the whole text must be a strtod
 * number without leading space; NaN, overflow to infinity and underflow to zero are refused.
 * Returns NaN when Redis would reply "value is not a valid float".
 */
export function parseScore(s: string): number {
  if (DECIMAL_RE.test(s)) {
    const v = Number(s);
    if (v === Infinity || v === -Infinity) return NaN; // ERANGE overflow
    if (v === 0 && NONZERO_DIGIT_RE.test(s.replace(/[eE].*$/, ""))) return NaN; // ERANGE underflow
    return v;
  }
  const hex = HEX_RE.exec(s);
  if (hex !== null) {
    const v = parseHexFloat(hex);
    if (v === Infinity || v === -Infinity) return NaN;
    if (v === 0 && /[1-9a-fA-F]/.test(hex[2] + (hex[3] ?? ""))) return NaN;
    return v;
  }
  if (INFINITY_RE.test(s)) return s.charCodeAt(0) === 45 ? -Infinity : Infinity;
  return NaN;
}

function isCSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13);
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isHexDigit(code: number): boolean {
  return isDigit(code) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102);
}

/** Result of `strtod`: the value and the index just past what was parsed (`from` when nothing was). */
export interface StrtodResult {
  value: number;
  end: number;
}

/**
 * C's strtod from index `from`: leading white space, a sign, then a decimal or hexadecimal number,
 * `inf`/`infinity` or `nan[(...)]`. Out-of-range values give ±Infinity or ±0 as glibc does.
 */
export function strtod(s: string, from = 0): StrtodResult {
  const n = s.length;
  let i = from;
  while (i < n && isCSpace(s.charCodeAt(i))) i++;
  const signAt = i;
  if (i < n && (s[i] === "+" || s[i] === "-")) i++;
  const negative = s[signAt] === "-";
  const rest = s.slice(i, i + 8).toLowerCase();
  if (rest.startsWith("inf")) {
    const end = i + (rest === "infinity" ? 8 : 3);
    return { value: negative ? -Infinity : Infinity, end };
  }
  if (rest.startsWith("nan")) {
    let end = i + 3;
    if (s[end] === "(") {
      let j = end + 1;
      while (j < n && /[0-9A-Za-z_]/.test(s[j])) j++;
      if (s[j] === ")") end = j + 1;
    }
    return { value: NaN, end };
  }
  if (s[i] === "0" && (s[i + 1] === "x" || s[i + 1] === "X")) {
    let j = i + 2;
    while (j < n && isHexDigit(s.charCodeAt(j))) j++;
    const intEnd = j;
    let fracEnd = j;
    if (s[j] === ".") {
      fracEnd = j + 1;
      while (fracEnd < n && isHexDigit(s.charCodeAt(fracEnd))) fracEnd++;
    }
    if (intEnd > i + 2 || fracEnd > intEnd + 1) {
      let end = fracEnd;
      if (s[end] === "p" || s[end] === "P") {
        let k = end + 1;
        if (s[k] === "+" || s[k] === "-") k++;
        if (k < n && isDigit(s.charCodeAt(k))) {
          while (k < n && isDigit(s.charCodeAt(k))) k++;
          end = k;
        }
      }
      const match = HEX_RE.exec(s.slice(signAt, end))!;
      return { value: parseHexFloat(match), end };
    }
    // "0x" without hex digits: strtod reads the "0" only.
  }
  let j = i;
  while (j < n && isDigit(s.charCodeAt(j))) j++;
  let digits = j - i;
  if (s[j] === ".") {
    let k = j + 1;
    while (k < n && isDigit(s.charCodeAt(k))) k++;
    digits += k - j - 1;
    j = k;
  }
  if (digits === 0) return { value: 0, end: from };
  if (s[j] === "e" || s[j] === "E") {
    let k = j + 1;
    if (s[k] === "+" || s[k] === "-") k++;
    if (k < n && isDigit(s.charCodeAt(k))) {
      while (k < n && isDigit(s.charCodeAt(k))) k++;
      j = k;
    }
  }
  return { value: Number(s.slice(signAt, j)), end: j };
}

// ---------------------------------------------------------------------------------------------
// Range specifications (Redis's zrangespec and zlexrangespec).

/** A score interval; `minex`/`maxex` make an end open (`(` prefix). */
export interface ScoreRange {
  min: number;
  max: number;
  minex: boolean;
  maxex: boolean;
}

/** Lexicographic bound kinds: a string, or Redis's shared minstring (`-`) and maxstring (`+`). */
export const LEX_STRING = 0;
export const LEX_MIN = -1;
export const LEX_MAX = 1;

/** A member interval for the BYLEX commands. */
export interface LexRange {
  min: string;
  max: string;
  minKind: number;
  maxKind: number;
  minex: boolean;
  maxex: boolean;
}

/**
 * Redis's zslParseRange for one end: `(` makes it exclusive; strtod then must reach the end of
 * the text (or a NUL byte, as C sees it). Leading space, an empty text (0) and out-of-range values
 * are accepted, NaN is not. Returns null on error.
 */
function parseScoreBound(s: string): { value: number; exclusive: boolean } | null {
  const exclusive = s.charCodeAt(0) === 40; // '('
  const { value, end } = strtod(s, exclusive ? 1 : 0);
  if ((end < s.length && s.charCodeAt(end) !== 0) || Number.isNaN(value)) return null;
  return { value, exclusive };
}

/** Parses `min` and `max` of ZRANGEBYSCORE and friends; null means "min or max is not a float". */
export function parseScoreRange(min: string, max: string): ScoreRange | null {
  const lo = parseScoreBound(min);
  if (lo === null) return null;
  const hi = parseScoreBound(max);
  if (hi === null) return null;
  return { min: lo.value, max: hi.value, minex: lo.exclusive, maxex: hi.exclusive };
}

/** Redis's zslParseLexRangeItem: `+`, `-`, `(text` or `[text` (C string rules for `+`/`-`). */
function parseLexBound(s: string): { value: string; kind: number; exclusive: boolean } | null {
  const first = s[0];
  if (first === "+" || first === "-") {
    if (s.length > 1 && s.charCodeAt(1) !== 0) return null;
    return { value: "", kind: first === "+" ? LEX_MAX : LEX_MIN, exclusive: true };
  }
  if (first === "(") return { value: s.slice(1), kind: LEX_STRING, exclusive: true };
  if (first === "[") return { value: s.slice(1), kind: LEX_STRING, exclusive: false };
  return null;
}

/** Parses `min` and `max` of the BYLEX commands; null means "min or max not valid string range item". */
export function parseLexRange(min: string, max: string): LexRange | null {
  const lo = parseLexBound(min);
  if (lo === null) return null;
  const hi = parseLexBound(max);
  if (hi === null) return null;
  return { min: lo.value, max: hi.value, minKind: lo.kind, maxKind: hi.kind, minex: lo.exclusive, maxex: hi.exclusive };
}

/** Redis's sdscmplex of a member against a bound. */
function cmpLex(value: string, bound: string, kind: number): number {
  if (kind === LEX_MIN) return 1;
  if (kind === LEX_MAX) return -1;
  return value < bound ? -1 : value > bound ? 1 : 0;
}

/** Whether `score` is at or above the range's lower end (Redis's zslValueGteMin). */
export function scoreGteMin(score: number, r: ScoreRange): boolean {
  return r.minex ? score > r.min : score >= r.min;
}

/** Whether `score` is at or below the range's upper end (Redis's zslValueLteMax). */
export function scoreLteMax(score: number, r: ScoreRange): boolean {
  return r.maxex ? score < r.max : score <= r.max;
}

/** Whether a member is at or above the lower end (Redis's zslLexValueGteMin). */
export function lexGteMin(member: string, r: LexRange): boolean {
  const c = cmpLex(member, r.min, r.minKind);
  return r.minex ? c > 0 : c >= 0;
}

/** Whether a member is at or below the upper end (Redis's zslLexValueLteMax). */
export function lexLteMax(member: string, r: LexRange): boolean {
  const c = cmpLex(member, r.max, r.maxKind);
  return r.maxex ? c < 0 : c <= 0;
}

/** Whether a lex range can hold nothing: min above max, or equal with an open end. */
function lexRangeEmpty(r: LexRange): boolean {
  let c: number;
  if (r.minKind !== LEX_STRING && r.minKind === r.maxKind) c = 0;
  else if (r.minKind === LEX_MIN || r.maxKind === LEX_MAX) c = -1;
  else if (r.minKind === LEX_MAX || r.maxKind === LEX_MIN) c = 1;
  else c = r.min < r.max ? -1 : r.min > r.max ? 1 : 0;
  return c > 0 || (c === 0 && (r.minex || r.maxex));
}

/** Whether (s1, m1) sorts before (s2, m2). */
function keyLess(s1: number, m1: string, s2: number, m2: string): boolean {
  return s1 < s2 || (s1 === s2 && m1 < m2);
}

// ---------------------------------------------------------------------------------------------
// The skiplist encoding's order-statistics B+ tree.

/** Most elements a leaf holds before it splits. */
const LEAF_MAX = 128;
/** A leaf below this many elements merges with a sibling when both fit in one. */
const LEAF_MIN = 32;
/** Most children an inner node holds before it splits. */
const INNER_MAX = 64;
/** An inner node below this many children merges with a sibling when both fit in one. */
const INNER_MIN = 16;
/** Fill of leaves and inner nodes built in bulk (room left for inserts). */
const LEAF_FILL = 96;
const INNER_FILL = 48;
/** Initial capacity of the slot arrays. */
const INITIAL_SLOTS = 16;
/** Slot arrays of at least this many slots are rebuilt when fewer than a quarter are used. */
const COMPACT_MIN_SLOTS = 1024;

/** A leaf: members and their scores in order (parallel arrays), linked both ways. */
class Leaf {
  prev: Leaf | null = null;
  next: Leaf | null = null;
  constructor(public members: string[], public scores: number[]) {}
}

/**
 * An inner node: children, their subtree sizes, and per child a lower bound of its keys that is
 * above every key of the children before it (exact after splits; deletions may leave it lower
 * than the child's first key, which keeps both properties). Bounds sit here, not in the children,
 * so that a descent reads one node per level.
 */
class Inner {
  constructor(
    public kids: TreeNode[],
    public sizes: number[],
    public boundScores: number[],
    public boundMembers: string[],
    public size: number,
  ) {}
}

type TreeNode = Leaf | Inner;

function sizeOf(node: TreeNode): number {
  return node instanceof Leaf ? node.members.length : node.size;
}

/** Lower bound of a node built or split from existing keys: its first key. */
function firstScore(node: TreeNode): number {
  return node instanceof Leaf ? node.scores[0] : node.boundScores[0];
}

function firstMember(node: TreeNode): string {
  return node instanceof Leaf ? node.members[0] : node.boundMembers[0];
}

function sum(a: number[]): number {
  let n = 0;
  for (const x of a) n += x;
  return n;
}

/** Inner nodes and child indexes of the last descent (single-threaded scratch space). */
const pathNodes: Inner[] = [];
const pathIdx: number[] = [];
/** Result of `locate`. */
let foundLeaf: Leaf;
let foundPos = 0;

/** The last child whose lower bound is at or below the key (the first child when none is). */
function childFor(node: Inner, score: number, member: string): number {
  const bs = node.boundScores;
  const bm = node.boundMembers;
  let lo = 1;
  let hi = bs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const s = bs[mid];
    if (s < score || (s === score && bm[mid] <= member)) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** First position in a leaf whose key is not below (score, member). */
function leafLowerBound(leaf: Leaf, score: number, member: string): number {
  const ss = leaf.scores;
  const ms = leaf.members;
  let lo = 0;
  let hi = ss.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const s = ss[mid];
    if (s < score || (s === score && ms[mid] < member)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Predicate over keys, true on a prefix of the order (monotone) for the tree descents. */
type KeyPredicate = (score: number, member: string) => boolean;

/**
 * The skiplist encoding's storage: member -> slot, slot -> member/score (for O(1) ZSCORE, ZSCAN
 * cursors and random picks), and the ordered tree of (score, member) keys. Freed slots are reused;
 * the slot arrays are rebuilt when mostly empty.
 */
class SkipStore {
  dict = new Map<string, number>();
  slotMembers: (string | undefined)[] = [];
  slotScores = new Float64Array(INITIAL_SLOTS);
  /** Slots in use are below this. */
  high = 0;
  private free: number[] = [];
  root: TreeNode = new Leaf([], []);
  head!: Leaf;
  tail!: Leaf;

  constructor(members: string[], scores: ArrayLike<number>) {
    this.load(members, scores);
  }

  get size(): number {
    return this.dict.size;
  }

  /** Replaces the content with sorted, distinct members and their scores (slots 0..n-1 in order). */
  private load(members: string[], scores: ArrayLike<number>): void {
    const n = members.length;
    let capacity = INITIAL_SLOTS;
    while (capacity < n) capacity *= 2;
    this.dict = new Map();
    this.slotMembers = members.slice();
    this.slotScores = new Float64Array(capacity);
    this.free = [];
    this.high = n;
    for (let i = 0; i < n; i++) {
      this.dict.set(members[i], i);
      this.slotScores[i] = scores[i];
    }
    let level: TreeNode[] = [];
    let prev: Leaf | null = null;
    for (let at = 0; at < n || level.length === 0; at += LEAF_FILL) {
      const end = Math.min(at + LEAF_FILL, n);
      const leafScores: number[] = [];
      for (let i = at; i < end; i++) leafScores.push(scores[i]);
      const leaf = new Leaf(members.slice(at, end), leafScores);
      leaf.prev = prev;
      if (prev !== null) prev.next = leaf;
      else this.head = leaf;
      prev = leaf;
      level.push(leaf);
    }
    this.tail = prev!;
    while (level.length > 1) {
      const up: TreeNode[] = [];
      for (let at = 0; at < level.length; at += INNER_FILL) {
        const kids = level.slice(at, at + INNER_FILL);
        const sizes = kids.map(sizeOf);
        up.push(new Inner(kids, sizes, kids.map(firstScore), kids.map(firstMember), sum(sizes)));
      }
      level = up;
    }
    this.root = level[0];
  }

  /** Members and scores in order. */
  sorted(): { members: string[]; scores: number[] } {
    const members: string[] = [];
    const scores: number[] = [];
    for (let leaf: Leaf | null = this.head; leaf !== null; leaf = leaf.next) {
      for (let i = 0; i < leaf.members.length; i++) {
        members.push(leaf.members[i]);
        scores.push(leaf.scores[i]);
      }
    }
    return { members, scores };
  }

  /** Rebuilds the slot arrays when they are mostly free (after many removals). */
  maybeCompact(): void {
    if (this.high < COMPACT_MIN_SLOTS || this.dict.size * 4 >= this.high) return;
    const { members, scores } = this.sorted();
    this.load(members, scores);
  }

  scoreOf(member: string): number | undefined {
    const slot = this.dict.get(member);
    return slot === undefined ? undefined : this.slotScores[slot];
  }

  private allocSlot(): number {
    if (this.free.length > 0) return this.free.pop()!;
    if (this.high === this.slotScores.length) {
      const grown = new Float64Array(this.slotScores.length * 2);
      grown.set(this.slotScores);
      this.slotScores = grown;
    }
    return this.high++;
  }

  /** Adds a member that is not present. */
  insert(member: string, score: number): void {
    const slot = this.allocSlot();
    if (slot === this.slotMembers.length) this.slotMembers.push(member);
    else this.slotMembers[slot] = member;
    this.slotScores[slot] = score;
    this.dict.set(member, slot);
    this.treeInsert(member, score);
  }

  /** Removes a member; returns whether it was present. */
  remove(member: string): boolean {
    const slot = this.dict.get(member);
    if (slot === undefined) return false;
    this.treeDelete(member, this.slotScores[slot]);
    this.dict.delete(member);
    this.slotMembers[slot] = undefined;
    this.free.push(slot);
    return true;
  }

  /** Changes the score of a present member, moving it in the order. */
  update(member: string, score: number): void {
    const slot = this.dict.get(member)!;
    this.treeDelete(member, this.slotScores[slot]);
    this.slotScores[slot] = score;
    this.treeInsert(member, score);
  }

  private treeInsert(member: string, score: number): void {
    let node = this.root;
    let depth = 0;
    while (node instanceof Inner) {
      const i = childFor(node, score, member);
      if (i === 0 && keyLess(score, member, node.boundScores[0], node.boundMembers[0])) {
        node.boundScores[0] = score;
        node.boundMembers[0] = member;
      }
      node.size++;
      node.sizes[i]++;
      pathNodes[depth] = node;
      pathIdx[depth] = i;
      depth++;
      node = node.kids[i];
    }
    const ss = node.scores;
    const ms = node.members;
    let lo = 0;
    let hi = ss.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = ss[mid];
      if (s < score || (s === score && ms[mid] < member)) lo = mid + 1;
      else hi = mid;
    }
    ss.splice(lo, 0, score);
    ms.splice(lo, 0, member);
    if (ms.length > LEAF_MAX) this.splitLeaf(node, depth);
  }

  private splitLeaf(leaf: Leaf, depth: number): void {
    const half = leaf.members.length >>> 1;
    const right = new Leaf(leaf.members.splice(half), leaf.scores.splice(half));
    right.next = leaf.next;
    right.prev = leaf;
    if (leaf.next !== null) leaf.next.prev = right;
    else this.tail = right;
    leaf.next = right;
    this.attachRight(leaf, right, depth);
  }

  /** Puts `right` (split off `left`, at path depth `depth`) after `left` in its parent, splitting upwards. */
  private attachRight(left: TreeNode, right: TreeNode, depth: number): void {
    const leftSize = sizeOf(left);
    const rightSize = sizeOf(right);
    if (depth === 0) {
      this.root = new Inner(
        [left, right],
        [leftSize, rightSize],
        [firstScore(left), firstScore(right)],
        [firstMember(left), firstMember(right)],
        leftSize + rightSize,
      );
      return;
    }
    const parent = pathNodes[depth - 1];
    const i = pathIdx[depth - 1];
    parent.kids.splice(i + 1, 0, right);
    parent.sizes[i] = leftSize;
    parent.sizes.splice(i + 1, 0, rightSize);
    parent.boundScores.splice(i + 1, 0, firstScore(right));
    parent.boundMembers.splice(i + 1, 0, firstMember(right));
    if (parent.kids.length > INNER_MAX) {
      const half = parent.kids.length >>> 1;
      const sizes = parent.sizes.splice(half);
      const size = sum(sizes);
      const split = new Inner(
        parent.kids.splice(half),
        sizes,
        parent.boundScores.splice(half),
        parent.boundMembers.splice(half),
        size,
      );
      parent.size -= size;
      this.attachRight(parent, split, depth - 1);
    }
  }

  private treeDelete(member: string, score: number): void {
    let node = this.root;
    let depth = 0;
    while (node instanceof Inner) {
      const i = childFor(node, score, member);
      pathNodes[depth] = node;
      pathIdx[depth] = i;
      depth++;
      node = node.kids[i];
    }
    const pos = leafLowerBound(node, score, member);
    if (node.members[pos] !== member) throw new Error("zset order tree: member not found");
    node.members.splice(pos, 1);
    node.scores.splice(pos, 1);
    for (let d = 0; d < depth; d++) {
      pathNodes[d].size--;
      pathNodes[d].sizes[pathIdx[d]]--;
    }
    if (depth > 0) this.rebalanceLeaf(node, depth);
    while (this.root instanceof Inner && this.root.kids.length === 1) this.root = this.root.kids[0];
  }

  /** Removes child `i` of an inner node from all its parallel arrays. */
  private static dropChild(node: Inner, i: number): void {
    node.kids.splice(i, 1);
    node.sizes.splice(i, 1);
    node.boundScores.splice(i, 1);
    node.boundMembers.splice(i, 1);
  }

  private rebalanceLeaf(leaf: Leaf, depth: number): void {
    const n = leaf.members.length;
    const parent = pathNodes[depth - 1];
    const i = pathIdx[depth - 1];
    if (n === 0) {
      if (leaf.prev !== null) leaf.prev.next = leaf.next;
      else this.head = leaf.next!;
      if (leaf.next !== null) leaf.next.prev = leaf.prev;
      else this.tail = leaf.prev!;
      SkipStore.dropChild(parent, i);
      this.rebalanceInner(depth - 1);
      return;
    }
    if (n >= LEAF_MIN) return;
    const right = parent.kids[i + 1] as Leaf | undefined;
    const left = parent.kids[i - 1] as Leaf | undefined;
    if (right !== undefined && n + right.members.length <= LEAF_MAX) {
      this.mergeLeaves(leaf, right);
      parent.sizes[i] += parent.sizes[i + 1];
      SkipStore.dropChild(parent, i + 1);
      this.rebalanceInner(depth - 1);
    } else if (left !== undefined && left.members.length + n <= LEAF_MAX) {
      this.mergeLeaves(left, leaf);
      parent.sizes[i - 1] += parent.sizes[i];
      SkipStore.dropChild(parent, i);
      this.rebalanceInner(depth - 1);
    }
  }

  private mergeLeaves(left: Leaf, right: Leaf): void {
    for (let k = 0; k < right.members.length; k++) {
      left.members.push(right.members[k]);
      left.scores.push(right.scores[k]);
    }
    left.next = right.next;
    if (right.next !== null) right.next.prev = left;
    else this.tail = left;
  }

  private static mergeInners(left: Inner, right: Inner): void {
    for (let k = 0; k < right.kids.length; k++) {
      left.kids.push(right.kids[k]);
      left.sizes.push(right.sizes[k]);
      left.boundScores.push(right.boundScores[k]);
      left.boundMembers.push(right.boundMembers[k]);
    }
    left.size += right.size;
  }

  /** Fixes the inner node at path depth `d` after it lost a child. */
  private rebalanceInner(d: number): void {
    const node = pathNodes[d];
    const n = node.kids.length;
    if (d === 0) {
      if (n === 0) this.root = this.head = this.tail = new Leaf([], []);
      return;
    }
    const parent = pathNodes[d - 1];
    const i = pathIdx[d - 1];
    if (n === 0) {
      SkipStore.dropChild(parent, i);
      this.rebalanceInner(d - 1);
      return;
    }
    if (n >= INNER_MIN) return;
    const right = parent.kids[i + 1] as Inner | undefined;
    const left = parent.kids[i - 1] as Inner | undefined;
    if (right !== undefined && n + right.kids.length <= INNER_MAX) {
      SkipStore.mergeInners(node, right);
      parent.sizes[i] += parent.sizes[i + 1];
      SkipStore.dropChild(parent, i + 1);
      this.rebalanceInner(d - 1);
    } else if (left !== undefined && left.kids.length + n <= INNER_MAX) {
      SkipStore.mergeInners(left, node);
      parent.sizes[i - 1] += parent.sizes[i];
      SkipStore.dropChild(parent, i);
      this.rebalanceInner(d - 1);
    }
  }

  /** 0-based rank of a present member. */
  rankOf(member: string): number {
    const score = this.slotScores[this.dict.get(member)!];
    let rank = 0;
    let node = this.root;
    while (node instanceof Inner) {
      const i = childFor(node, score, member);
      const sizes = node.sizes;
      for (let j = 0; j < i; j++) rank += sizes[j];
      node = node.kids[i];
    }
    return rank + leafLowerBound(node, score, member);
  }

  /** Finds the leaf and position of a rank (0 <= rank < size) into foundLeaf / foundPos. */
  locate(rank: number): void {
    let node = this.root;
    while (node instanceof Inner) {
      const sizes = node.sizes;
      const last = sizes.length - 1;
      let i = 0;
      while (i < last && rank >= sizes[i]) rank -= sizes[i++];
      node = node.kids[i];
    }
    foundLeaf = node;
    foundPos = rank;
  }

  memberAt(rank: number): string {
    this.locate(rank);
    return foundLeaf.members[foundPos];
  }

  scoreAt(rank: number): number {
    this.locate(rank);
    return foundLeaf.scores[foundPos];
  }

  /** Number of leading elements for which `pred` holds (it must hold on a prefix of the order). */
  prefixCount(pred: KeyPredicate): number {
    let count = 0;
    let node = this.root;
    while (node instanceof Inner) {
      const bs = node.boundScores;
      const bm = node.boundMembers;
      let lo = 0;
      let hi = bs.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (pred(bs[mid], bm[mid])) lo = mid + 1;
        else hi = mid;
      }
      if (lo === 0) return count;
      for (let j = 0; j < lo - 1; j++) count += node.sizes[j];
      node = node.kids[lo - 1];
    }
    const ss = node.scores;
    const ms = node.members;
    let lo = 0;
    let hi = ss.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pred(ss[mid], ms[mid])) lo = mid + 1;
      else hi = mid;
    }
    return count + lo;
  }

  /** Visits elements from rank `start` in order (or reverse order) while `fn` returns true. */
  walk(start: number, reverse: boolean, fn: (member: string, score: number) => boolean): void {
    if (start < 0 || start >= this.dict.size) return;
    this.locate(start);
    let leaf: Leaf | null = foundLeaf;
    let pos = foundPos;
    while (leaf !== null) {
      const ms = leaf.members;
      const ss = leaf.scores;
      if (reverse) {
        for (; pos >= 0; pos--) if (!fn(ms[pos], ss[pos])) return;
        leaf = leaf.prev;
        if (leaf !== null) pos = leaf.members.length - 1;
      } else {
        for (; pos < ms.length; pos++) if (!fn(ms[pos], ss[pos])) return;
        leaf = leaf.next;
        pos = 0;
      }
    }
  }

  /** A random live slot. */
  randomSlot(): number {
    for (;;) {
      const slot = Math.floor(Math.random() * this.high);
      if (this.slotMembers[slot] !== undefined) return slot;
    }
  }

  /**
   * One ZSCAN step from slot `cursor`: up to `count` live slots, visiting at most count * 10
   * (Redis's bound on empty buckets). Returns the next cursor, 0 at the end.
   */
  scan(cursor: number, count: number, members: string[], scores: number[]): number {
    let visits = count * 10;
    let slot = cursor;
    while (slot < this.high && members.length < count && visits-- > 0) {
      const m = this.slotMembers[slot];
      if (m !== undefined) {
        members.push(m);
        scores.push(this.slotScores[slot]);
      }
      slot++;
    }
    return slot < this.high ? slot : 0;
  }

  /** Checks the tree's invariants (tests): sizes, order, bounds, links, slots. */
  check(): void {
    const keys: [number, string][] = [];
    const visit = (node: TreeNode, isRoot: boolean, boundS: number, boundM: string): number => {
      if (node instanceof Leaf) {
        if (node.members.length !== node.scores.length) throw new Error("leaf arrays differ");
        if (!isRoot && node.members.length === 0) throw new Error("empty leaf");
        for (let k = 0; k < node.members.length; k++) {
          if (!isRoot && keyLess(node.scores[k], node.members[k], boundS, boundM)) throw new Error("key below bound");
          keys.push([node.scores[k], node.members[k]]);
        }
        return node.members.length;
      }
      let size = 0;
      for (let k = 0; k < node.kids.length; k++) {
        const before = keys.length;
        const kidSize = visit(node.kids[k], false, node.boundScores[k], node.boundMembers[k]);
        if (kidSize !== node.sizes[k]) throw new Error(`child size ${node.sizes[k]} != ${kidSize}`);
        if (k > 0 && before > 0) {
          const [s, m] = keys[before - 1];
          if (!keyLess(s, m, node.boundScores[k], node.boundMembers[k])) throw new Error("bound not above left keys");
        }
        size += kidSize;
      }
      if (size !== node.size) throw new Error(`inner size ${node.size} != ${size}`);
      return size;
    };
    visit(this.root, true, -Infinity, "");
    for (let k = 1; k < keys.length; k++) {
      if (!keyLess(keys[k - 1][0], keys[k - 1][1], keys[k][0], keys[k][1])) throw new Error("order");
    }
    if (keys.length !== this.dict.size) throw new Error("tree size differs from dict");
    let linked = 0;
    for (let leaf: Leaf | null = this.head; leaf !== null; leaf = leaf.next) linked += leaf.members.length;
    if (linked !== keys.length) throw new Error("leaf chain");
    for (const [s, m] of keys) {
      const slot = this.dict.get(m);
      if (slot === undefined || this.slotMembers[slot] !== m || !Object.is(this.slotScores[slot], s)) {
        throw new Error("slot content");
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The value.

/** zsetAdd input flags. */
export const ZADD_IN_INCR = 1;
export const ZADD_IN_NX = 2;
export const ZADD_IN_XX = 4;
export const ZADD_IN_GT = 8;
export const ZADD_IN_LT = 16;
/** zsetAdd results. */
export const ZADD_OUT_NOP = 1;
export const ZADD_OUT_NAN = 2;
export const ZADD_OUT_ADDED = 4;
export const ZADD_OUT_UPDATED = 8;

/** One ZSCAN step's result: the next cursor and parallel member/score lists. */
export interface ZScanBatch {
  cursor: number;
  members: string[];
  scores: number[];
}

/** A sorted set value. */
export class ZSetValue implements TypedValue {
  /** Listpack encoding: members and scores in order; null once skiplist-encoded. */
  private lpMembers: string[] | null = [];
  private lpScores: number[] | null = [];
  private tree: SkipStore | null = null;
  /** The score the last `add` settled on (Redis's `newscore`), when it did not report NOP. */
  newScore = 0;

  get type(): string {
    return "zset";
  }

  get encoding(): string {
    return this.tree === null ? "listpack" : "skiplist";
  }

  /** Whether the value is listpack-encoded. */
  get isListpack(): boolean {
    return this.tree === null;
  }

  get size(): number {
    return this.tree === null ? this.lpMembers!.length : this.tree.size;
  }

  /**
   * A value from sorted, distinct members, encoded as Redis encodes a computed result
   * (zsetConvertToListpackIfNeeded): listpack when it fits the limits, else skiplist.
   */
  static fromSorted(members: string[], scores: number[]): ZSetValue {
    const z = new ZSetValue();
    let longest = 0;
    for (const m of members) if (m.length > longest) longest = m.length;
    if (members.length <= typeLimits.zsetMaxListpackEntries && longest <= typeLimits.zsetMaxListpackValue) {
      z.lpMembers = members;
      z.lpScores = scores.map(listpackScore);
    } else {
      z.toSkiplist(members, scores);
    }
    return z;
  }

  /**
   * An empty value encoded as Redis's zsetTypeCreate(sizeHint, 0) makes it: a skiplist when more
   * than zset-max-listpack-entries members are expected, else a listpack.
   */
  static withSizeHint(sizeHint: number): ZSetValue {
    const z = new ZSetValue();
    if (sizeHint > typeLimits.zsetMaxListpackEntries) z.toSkiplist([], []);
    return z;
  }

  /** A deep copy with the same encoding (COPY). */
  clone(): ZSetValue {
    const z = new ZSetValue();
    if (this.tree === null) {
      z.lpMembers = this.lpMembers!.slice();
      z.lpScores = this.lpScores!.slice();
    } else {
      const { members, scores } = this.tree.sorted();
      z.toSkiplist(members, scores);
    }
    return z;
  }

  private toSkiplist(members: string[], scores: number[]): void {
    this.tree = new SkipStore(members, scores);
    this.lpMembers = null;
    this.lpScores = null;
  }

  /** Converts a listpack to the skiplist encoding (Redis's zsetConvert; SORT does it to what it reads). */
  convert(): void {
    if (this.lpMembers === null) return;
    this.toSkiplist(this.lpMembers!, this.lpScores!);
  }

  /** The score of a member, or undefined. */
  score(member: string): number | undefined {
    if (this.tree !== null) return this.tree.scoreOf(member);
    const i = this.lpMembers!.indexOf(member);
    return i < 0 ? undefined : this.lpScores![i];
  }

  /** Inserts into the listpack arrays at the member's place (zzlInsert). */
  private lpInsert(member: string, score: number): void {
    const ms = this.lpMembers!;
    const ss = this.lpScores!;
    let lo = 0;
    let hi = ms.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ss[mid] < score || (ss[mid] === score && ms[mid] < member)) lo = mid + 1;
      else hi = mid;
    }
    ms.splice(lo, 0, member);
    ss.splice(lo, 0, listpackScore(score));
  }

  private lpRemoveAt(i: number): void {
    this.lpMembers!.splice(i, 1);
    this.lpScores!.splice(i, 1);
  }

  /**
   * Redis's zsetAdd: adds or updates a member under the ZADD_IN_* flags; returns ZADD_OUT_* bits
   * and leaves the resulting score in `newScore`. Converts to skiplist when a new member would
   * pass the listpack limits.
   */
  add(score: number, member: string, flags: number): number {
    const incr = (flags & ZADD_IN_INCR) !== 0;
    const nx = (flags & ZADD_IN_NX) !== 0;
    const xx = (flags & ZADD_IN_XX) !== 0;
    const gt = (flags & ZADD_IN_GT) !== 0;
    const lt = (flags & ZADD_IN_LT) !== 0;
    if (Number.isNaN(score)) return ZADD_OUT_NAN;
    if (this.tree === null) {
      const i = this.lpMembers!.indexOf(member);
      if (i >= 0) {
        if (nx) return ZADD_OUT_NOP;
        const current = this.lpScores![i];
        if (incr) {
          score += current;
          if (Number.isNaN(score)) return ZADD_OUT_NAN;
        }
        if ((lt && score >= current) || (gt && score <= current)) return ZADD_OUT_NOP;
        this.newScore = score;
        if (score !== current) {
          this.lpRemoveAt(i);
          this.lpInsert(member, score);
          return ZADD_OUT_UPDATED;
        }
        return 0;
      }
      if (xx) return ZADD_OUT_NOP;
      if (
        this.lpMembers!.length + 1 > typeLimits.zsetMaxListpackEntries ||
        member.length > typeLimits.zsetMaxListpackValue
      ) {
        this.convert();
      } else {
        this.lpInsert(member, score);
        this.newScore = score;
        return ZADD_OUT_ADDED;
      }
    }
    const tree = this.tree!;
    const current = tree.scoreOf(member);
    if (current !== undefined) {
      if (nx) return ZADD_OUT_NOP;
      if (incr) {
        score += current;
        if (Number.isNaN(score)) return ZADD_OUT_NAN;
      }
      if ((lt && score >= current) || (gt && score <= current)) return ZADD_OUT_NOP;
      this.newScore = score;
      if (score !== current) {
        tree.update(member, score);
        return ZADD_OUT_UPDATED;
      }
      return 0;
    }
    if (xx) return ZADD_OUT_NOP;
    tree.insert(member, score);
    this.newScore = score;
    return ZADD_OUT_ADDED;
  }

  /** Removes a member; returns whether it was there. */
  remove(member: string): boolean {
    if (this.tree !== null) {
      const removed = this.tree.remove(member);
      if (removed) this.tree.maybeCompact();
      return removed;
    }
    const i = this.lpMembers!.indexOf(member);
    if (i < 0) return false;
    this.lpRemoveAt(i);
    return true;
  }

  /** 0-based rank of a member in score order (or reverse), or -1 when absent. */
  rank(member: string, reverse = false): number {
    let r: number;
    if (this.tree !== null) r = this.tree.dict.has(member) ? this.tree.rankOf(member) : -1;
    else r = this.lpMembers!.indexOf(member);
    return r < 0 || !reverse ? r : this.size - 1 - r;
  }

  /** The member at a rank (0 <= rank < size). */
  memberAt(rank: number): string {
    if (this.tree === null) return this.lpMembers![rank];
    return this.tree.memberAt(rank);
  }

  /** The score at a rank (0 <= rank < size). */
  scoreAt(rank: number): number {
    if (this.tree === null) return this.lpScores![rank];
    return this.tree.scoreAt(rank);
  }

  /** Visits members from rank `start`, forwards or backwards, while `fn` returns true. */
  walk(start: number, reverse: boolean, fn: (member: string, score: number) => boolean): void {
    if (this.tree !== null) return this.tree.walk(start, reverse, fn);
    const ms = this.lpMembers!;
    const ss = this.lpScores!;
    if (start < 0 || start >= ms.length) return;
    if (reverse) {
      for (let i = start; i >= 0; i--) if (!fn(ms[i], ss[i])) return;
    } else {
      for (let i = start; i < ms.length; i++) if (!fn(ms[i], ss[i])) return;
    }
  }

  /** Number of leading elements (in order) for which the monotone predicate holds. */
  private prefixCount(pred: KeyPredicate): number {
    if (this.tree !== null) return this.tree.prefixCount(pred);
    const ms = this.lpMembers!;
    const ss = this.lpScores!;
    let lo = 0;
    let hi = ms.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pred(ss[mid], ms[mid])) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Rank of the first element in a score range (the last one when `reverse`), or -1 when the
   * range holds none (Redis's zslFirstInRange / zslLastInRange).
   */
  scoreRangeStart(r: ScoreRange, reverse: boolean): number {
    if (reverse) {
      const last = this.prefixCount((s) => scoreLteMax(s, r)) - 1;
      return last >= 0 && scoreGteMin(this.scoreAt(last), r) ? last : -1;
    }
    const first = this.prefixCount((s) => !scoreGteMin(s, r));
    return first < this.size && scoreLteMax(this.scoreAt(first), r) ? first : -1;
  }

  /** Number of elements in a score range (ZCOUNT). */
  countInScoreRange(r: ScoreRange): number {
    const first = this.scoreRangeStart(r, false);
    if (first < 0) return 0;
    return this.prefixCount((s) => scoreLteMax(s, r)) - first;
  }

  /**
   * Rank of the first element in a lex range (the last one when `reverse`), or -1. A listpack is
   * scanned like Redis's zzlFirstInLexRange / zzlLastInLexRange, which also fixes the result for
   * members of different scores; the skiplist encoding descends the tree.
   */
  lexRangeStart(r: LexRange, reverse: boolean): number {
    if (this.tree !== null) {
      if (reverse) {
        const last = this.tree.prefixCount((_, m) => lexLteMax(m, r)) - 1;
        return last >= 0 && lexGteMin(this.memberAt(last), r) ? last : -1;
      }
      const first = this.tree.prefixCount((_, m) => !lexGteMin(m, r));
      return first < this.size && lexLteMax(this.memberAt(first), r) ? first : -1;
    }
    const ms = this.lpMembers!;
    if (lexRangeEmpty(r) || ms.length === 0) return -1;
    if (!lexGteMin(ms[ms.length - 1], r) || !lexLteMax(ms[0], r)) return -1;
    if (reverse) {
      for (let i = ms.length - 1; i >= 0; i--) {
        if (lexLteMax(ms[i], r)) return lexGteMin(ms[i], r) ? i : -1;
      }
      return -1;
    }
    for (let i = 0; i < ms.length; i++) {
      if (lexGteMin(ms[i], r)) return lexLteMax(ms[i], r) ? i : -1;
    }
    return -1;
  }

  /** Number of elements in a lex range (ZLEXCOUNT). */
  countInLexRange(r: LexRange): number {
    const first = this.lexRangeStart(r, false);
    if (first < 0) return 0;
    if (this.tree !== null) return this.tree.prefixCount((_, m) => lexLteMax(m, r)) - first;
    let n = 0;
    this.walk(first, false, (m) => lexLteMax(m, r) && ++n > 0);
    return n;
  }

  /** Removes ranks start..end (inclusive, within bounds); returns how many were removed. */
  removeRankRange(start: number, end: number): number {
    const count = end - start + 1;
    if (count <= 0) return 0;
    if (this.tree === null) {
      this.lpMembers!.splice(start, count);
      this.lpScores!.splice(start, count);
      return count;
    }
    const doomed: string[] = [];
    this.tree.walk(start, false, (m) => doomed.push(m) < count);
    for (const m of doomed) this.tree.remove(m);
    this.tree.maybeCompact();
    return count;
  }

  /** Removes the run of elements from `first` on while `inRange` holds; returns how many. */
  private removeRun(first: number, inRange: (member: string, score: number) => boolean): number {
    if (first < 0) return 0;
    let n = 0;
    this.walk(first, false, (m, s) => inRange(m, s) && ++n > 0);
    return this.removeRankRange(first, first + n - 1);
  }

  /** ZREMRANGEBYSCORE. */
  removeScoreRange(r: ScoreRange): number {
    return this.removeRun(this.scoreRangeStart(r, false), (_, s) => scoreLteMax(s, r));
  }

  /** ZREMRANGEBYLEX. */
  removeLexRange(r: LexRange): number {
    return this.removeRun(this.lexRangeStart(r, false), (m) => lexLteMax(m, r));
  }

  /** Removes and returns the first (or last) element; the set must not be empty. */
  pop(last: boolean): [string, number] {
    const rank = last ? this.size - 1 : 0;
    const member = this.memberAt(rank);
    const score = this.scoreAt(rank);
    this.remove(member);
    return [member, score];
  }

  /** A random element; the set must not be empty. */
  randomElement(): [string, number] {
    if (this.tree === null) {
      const i = Math.floor(Math.random() * this.lpMembers!.length);
      return [this.lpMembers![i], this.lpScores![i]];
    }
    const slot = this.tree.randomSlot();
    return [this.tree.slotMembers[slot]!, this.tree.slotScores[slot]];
  }

  /**
   * One ZSCAN step. A listpack returns everything at once with cursor 0, as in Redis; the skiplist
   * encoding walks slots from `cursor`.
   */
  scan(cursor: number, count: number): ZScanBatch {
    if (this.tree === null) return { cursor: 0, members: this.lpMembers!.slice(), scores: this.lpScores!.slice() };
    const members: string[] = [];
    const scores: number[] = [];
    const next = this.tree.scan(cursor, count, members, scores);
    return { cursor: next, members, scores };
  }

  /** Checks the internal structure (tests). */
  check(): void {
    if (this.tree !== null) {
      this.tree.check();
      return;
    }
    const ms = this.lpMembers!;
    const ss = this.lpScores!;
    for (let i = 1; i < ms.length; i++) {
      if (!keyLess(ss[i - 1], ms[i - 1], ss[i], ms[i])) throw new Error("listpack order");
    }
  }
}

/** A score as a listpack keeps it: integral values become integers there, so -0 reads back as 0. */
function listpackScore(score: number): number {
  return score === 0 ? 0 : score;
}

/** Largest magnitude Redis's double2ll turns into an integer (LLONG_MAX / 2, as a double). */
const LISTPACK_INT_LIMIT = 4611686018427387904;

/**
 * A listpack score as ZSCAN prints it: Redis stores integral scores within ±2^62 as integers
 * (printed in full), others as `%.17g` text. `formatG17` is that `%.17g`.
 */
export function listpackScoreText(score: number, formatG17: (d: number) => string): string {
  if (Number.isInteger(score) && Math.abs(score) <= LISTPACK_INT_LIMIT) return BigInt(score).toString();
  return formatG17(score);
}
