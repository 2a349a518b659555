/**
 * The set type. Members live in a dense array plus a member -> position index: random picks
 * (SPOP, SRANDMEMBER) are O(1), and SSCAN's cursor survives removals (see `scanStep`). The value
 * reports Redis 7.0's encoding: `intset` while every member is a canonical int64 and the count
 * stays within set-max-intset-entries, else `hashtable`, one-way as in Redis.
 */
import type { TypedValue } from "../keyspace.ts";
import { parseInt64 } from "../numbers.ts";
import { typeLimits } from "./limits.ts";

/** Redis caps intsets at 2^30 entries whatever set-max-intset-entries says. */
const INTSET_ENTRIES_CAP = 1 << 30;

/**
 * Whether Redis would keep `member` in an intset (isSdsRepresentableAsLongLong: string2ll's
 * canonical form, no `+`, no leading zeros, no spaces, int64 range).
 */
export function isIntsetMember(member: string): boolean {
  return parseInt64(member) !== null;
}

/**
 * Orders canonical int64 strings numerically without parsing them: the sign first, then the
 * digit count, then the digits (reversed for negatives).
 */
export function compareInt64Strings(a: string, b: string): number {
  if (a === b) return 0;
  const aNegative = a.charCodeAt(0) === 45;
  const bNegative = b.charCodeAt(0) === 45;
  if (aNegative !== bNegative) return aNegative ? -1 : 1;
  const aFirst = a.length !== b.length ? a.length < b.length : a < b;
  return aFirst !== aNegative ? -1 : 1;
}

/** A Redis set. Members are latin1 strings. */
export class SetValue implements TypedValue {
  readonly type = "set";
  private items: string[] = [];
  private index = new Map<string, number>();
  private intset: boolean;
  /** Members in numeric order while the set is an intset; dropped on every change. */
  private sorted: string[] | null = null;

  /** An empty set; `intset` false starts it as a hashtable. */
  constructor(intset = true) {
    this.intset = intset;
  }

  /** Redis's setTypeCreate: an intset when the first member is an integer, else a hashtable. */
  static forMember(member: string): SetValue {
    return new SetValue(isIntsetMember(member));
  }

  /**
   * A set built as Redis builds a result set (createIntsetObject, then setTypeAdd of each
   * member), so the encoding follows the content.
   */
  static fromMembers(members: Iterable<string>): SetValue {
    const set = new SetValue();
    for (const m of members) set.add(m);
    return set;
  }

  /** What OBJECT ENCODING prints. */
  get encoding(): string {
    return this.intset ? "intset" : "hashtable";
  }

  /** Whether the set is intset-encoded (its iteration order is then numeric). */
  get isIntset(): boolean {
    return this.intset;
  }

  /** Number of members. */
  get size(): number {
    return this.items.length;
  }

  has(member: string): boolean {
    return this.index.has(member);
  }

  /** Redis's setTypeAdd: returns whether the member was new; converts to hashtable when due. */
  add(member: string): boolean {
    if (this.index.has(member)) return false;
    if (this.intset && !isIntsetMember(member)) this.intset = false;
    this.index.set(member, this.items.length);
    this.items.push(member);
    this.sorted = null;
    if (this.intset && this.items.length > Math.min(typeLimits.setMaxIntsetEntries, INTSET_ENTRIES_CAP)) {
      this.intset = false;
    }
    return true;
  }

  /** Removes a member (the last one fills its place); returns whether it was there. */
  remove(member: string): boolean {
    const at = this.index.get(member);
    if (at === undefined) return false;
    this.index.delete(member);
    const last = this.items.pop()!;
    if (at < this.items.length) {
      this.items[at] = last;
      this.index.set(last, at);
    }
    this.sorted = null;
    return true;
  }

  /** A uniformly random member; the set must not be empty. */
  random(): string {
    return this.items[Math.floor(Math.random() * this.items.length)];
  }

  /** Removes and returns a uniformly random member; the set must not be empty. */
  popRandom(): string {
    const member = this.random();
    this.remove(member);
    return member;
  }

  /**
   * The members in Redis's iteration order where it is defined: numeric for an intset. A
   * hashtable's order is unspecified (here: insertion order disturbed by removals). The array
   * is shared: do not change the set while reading it.
   */
  members(): readonly string[] {
    if (!this.intset) return this.items;
    if (this.sorted === null) this.sorted = this.items.slice().sort(compareInt64Strings);
    return this.sorted;
  }

  /**
   * `count` distinct random members (count < size), in random order: a partial shuffle of a
   * copy when most members are wanted, else rejection sampling of positions.
   */
  randomDistinct(count: number): string[] {
    const n = this.items.length;
    const out: string[] = [];
    if (count * 3 > n) {
      const copy = this.items.slice();
      for (let i = 0; i < count; i++) {
        const j = i + Math.floor(Math.random() * (n - i));
        [copy[i], copy[j]] = [copy[j], copy[i]];
        out.push(copy[i]);
      }
      return out;
    }
    const picked = new Set<number>();
    while (out.length < count) {
      const at = Math.floor(Math.random() * n);
      if (picked.has(at)) continue;
      picked.add(at);
      out.push(this.items[at]);
    }
    return out;
  }

  /**
   * One SSCAN step. `cursor` counts the positions still to visit (0 starts a new scan); positions
   * are visited from the end down, because a removal moves the last member into the hole: a
   * member not yet visited then stays below the cursor, so members present for the whole scan
   * are returned at least once. Returns the next cursor (0 when done) and up to `count` members.
   */
  scanStep(cursor: number, count: number): { cursor: number; members: string[] } {
    const n = this.items.length;
    const from = cursor === 0 || cursor > n ? n : cursor;
    const to = Math.max(0, from - count);
    const members: string[] = [];
    for (let i = from - 1; i >= to; i--) members.push(this.items[i]);
    return { cursor: to, members };
  }

  /** A deep copy (COPY). */
  clone(): SetValue {
    const copy = new SetValue(this.intset);
    copy.items = this.items.slice();
    copy.index = new Map(this.index);
    return copy;
  }
}

/**
 * Redis's SINTER core (sinterGenericCommand): the members common to every set, in the iteration
 * order of the smallest set (a stable sort by size picks it). Stops after `limit` members when
 * `limit` > 0. Every set must exist (a missing key makes the result empty before this is called).
 */
export function intersect(sets: readonly SetValue[], limit = 0): string[] {
  const bySize = sets.slice().sort((a, b) => a.size - b.size);
  const first = bySize[0];
  const out: string[] = [];
  outer: for (const member of first.members()) {
    for (let j = 1; j < bySize.length; j++) {
      if (bySize[j] !== first && !bySize[j].has(member)) continue outer;
    }
    out.push(member);
    if (limit > 0 && out.length >= limit) break;
  }
  return out;
}

/** Redis's SUNION core: a new set with every member, built by adds (its encoding follows). */
export function union(sets: readonly (SetValue | undefined)[]): SetValue {
  const result = new SetValue();
  for (const set of sets) {
    if (set === undefined) continue;
    for (const member of set.members()) result.add(member);
  }
  return result;
}

/**
 * Redis's SDIFF core, with its choice of algorithm, which decides the result's encoding:
 * algorithm 1 adds the members of the first set found in no other set; algorithm 2 adds all
 * of the first set and removes the others' members (so the first set's content decides).
 */
export function difference(sets: readonly (SetValue | undefined)[]): SetValue {
  const result = new SetValue();
  const first = sets[0];
  if (first === undefined || sets.some((s, j) => j > 0 && s === first)) return result;
  let algorithmOneWork = 0;
  let algorithmTwoWork = 0;
  for (const set of sets) {
    if (set === undefined) continue;
    algorithmOneWork += first.size;
    algorithmTwoWork += set.size;
  }
  // Redis halves algorithm 1's estimate: it has better constants and stops early on a hit.
  if (Math.floor(algorithmOneWork / 2) <= algorithmTwoWork) {
    outer: for (const member of first.members()) {
      for (let j = 1; j < sets.length; j++) if (sets[j]?.has(member)) continue outer;
      result.add(member);
    }
    return result;
  }
  for (const member of first.members()) result.add(member);
  for (let j = 1; j < sets.length && result.size > 0; j++) {
    const set = sets[j];
    if (set === undefined) continue;
    for (const member of set.members()) result.remove(member);
  }
  return result;
}
