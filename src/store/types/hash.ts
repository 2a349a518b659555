/**
 * The hash type: one JS Map of field -> value (latin1 strings) per key, nothing per field.
 * A Map keeps insertion order, overwrites in place and closes gaps on delete, which is exactly how
 * Redis's listpack behaves, so listpack-encoded hashes iterate in Redis's order. The encoding is a
 * label that follows Redis's one-way listpack -> hashtable conversion rules (see `typeLimits`).
 */
import type { TypedValue } from "../keyspace.ts";
import { typeLimits } from "./limits.ts";

/** Live HSCAN iterators a hashtable-encoded hash keeps at most (older cursors restart the scan). */
const MAX_SCANS_PER_HASH = 32;

/** Up to this many fields, random picks walk the Map; bigger hashes keep a field array for O(1) picks. */
const WALK_MAX_FIELDS = 128;
/** Live Map iterators of unfinished HSCANs, by cursor, per hash (kept off the hash objects themselves). */
const liveScans = new WeakMap<HashValue, Map<number, MapIterator<[string, string]>>>();
/** Source of HSCAN cursors; unique across hashes so that a stale cursor is never mistaken for another's. */
let lastScanCursor = 0;

/** One HSCAN step: the cursor to send next (0 when done) and the field/value pairs, flattened. */
export interface HashScanBatch {
  cursor: number;
  items: string[];
}

/** A hash value (TYPE `hash`). */
export class HashValue implements TypedValue {
  /** Field -> value, in listpack order while listpack-encoded. */
  readonly map: Map<string, string>;
  private listpack: boolean;
  /** The fields in Map order, built for random picks in a big hash; dropped when a field comes or goes. */
  private fieldArray: string[] | undefined = undefined;

  constructor(map: Map<string, string> = new Map(), listpack = true) {
    this.map = map;
    this.listpack = listpack;
  }

  get type(): string {
    return "hash";
  }

  get encoding(): string {
    return this.listpack ? "listpack" : "hashtable";
  }

  /** Whether the hash is still listpack-encoded (its order is then Redis's order). */
  get isListpack(): boolean {
    return this.listpack;
  }

  /** Number of fields. */
  get size(): number {
    return this.map.size;
  }

  /** A deep copy (COPY): same fields in the same order, same encoding. */
  clone(): HashValue {
    return new HashValue(new Map(this.map), this.listpack);
  }

  /** The value of a field, or undefined. */
  get(field: string): string | undefined {
    return this.map.get(field);
  }

  /** Whether a field exists. */
  has(field: string): boolean {
    return this.map.has(field);
  }

  /**
   * Redis's hashTypeSet: converts first when the field or value is too long for a listpack, sets
   * (an existing field keeps its place), then converts when there are too many entries.
   * Returns whether the field is new.
   */
  set(field: string, value: string): boolean {
    if (this.listpack) {
      const maxLength = typeLimits.hashMaxListpackValue;
      if (field.length > maxLength || value.length > maxLength) this.listpack = false;
    }
    const before = this.map.size;
    this.map.set(field, value);
    // Checked on updates too: a lowered limit converts on the next write, as in Redis.
    if (this.listpack && this.map.size > typeLimits.hashMaxListpackEntries) this.listpack = false;
    if (this.map.size === before) return false;
    this.fieldArray = undefined;
    return true;
  }

  /** Removes a field; returns whether it existed. A hashtable never goes back to listpack. */
  delete(field: string): boolean {
    if (!this.map.delete(field)) return false;
    this.fieldArray = undefined;
    return true;
  }

  /**
   * Picks `count` distinct random positions among the fields (Floyd's sampling) and returns those
   * fields' [field, value] pairs in hash order. `count` must be below the size.
   */
  sampleUnique(count: number): [string, string][] {
    const size = this.map.size;
    const chosen = new Set<number>();
    for (let j = size - count; j < size; j++) {
      const t = Math.floor(Math.random() * (j + 1));
      chosen.add(chosen.has(t) ? j : t);
    }
    return this.pairsAt(Float64Array.from(chosen).sort());
  }

  /** Picks `count` random fields with repetition, in pick order (HRANDFIELD with a negative count). */
  sampleWithRepetition(count: number): [string, string][] {
    const size = this.map.size;
    const picks = new Float64Array(count);
    for (let i = 0; i < count; i++) picks[i] = Math.floor(Math.random() * size);
    if (size > WALK_MAX_FIELDS) return this.pairsAt(picks);
    // A small hash is walked once: visit the positions sorted, then put the pairs back in pick order.
    const sorted = picks.slice().sort();
    const pairs = this.pairsAt(sorted);
    const byPosition = new Map<number, [string, string]>();
    for (let i = 0; i < sorted.length; i++) byPosition.set(sorted[i], pairs[i]);
    const out: [string, string][] = new Array(count);
    for (let i = 0; i < count; i++) out[i] = byPosition.get(picks[i])!;
    return out;
  }

  /**
   * The pairs at the given positions. A big hash indexes its cached field array (any order of
   * positions); a small one walks the Map once, so its positions must be ascending (repeats allowed).
   */
  private pairsAt(positions: Float64Array): [string, string][] {
    const out: [string, string][] = [];
    if (this.map.size > WALK_MAX_FIELDS) {
      const fields = this.fieldArray ??= [...this.map.keys()];
      for (const position of positions) out.push([fields[position], this.map.get(fields[position])!]);
      return out;
    }
    let at = 0;
    let index = 0;
    for (const entry of this.map) {
      while (at < positions.length && positions[at] === index) {
        out.push(entry);
        at++;
      }
      if (at === positions.length) break;
      index++;
    }
    return out;
  }

  /**
   * One HSCAN call. A listpack hash is returned whole with cursor 0, as Redis does. A hashtable
   * hash is walked by a live Map iterator stored under a fresh cursor per call; a Map iterator sees
   * every entry that stays present, so each field present for the whole scan is returned. An unknown
   * (or evicted) cursor starts over, which only repeats fields. `pairs` is how many pairs to take.
   */
  scan(cursor: number, pairs: number): HashScanBatch {
    if (this.listpack) {
      const items: string[] = [];
      for (const [field, value] of this.map) items.push(field, value);
      return { cursor: 0, items };
    }
    let scans = liveScans.get(this);
    let iterator = scans?.get(cursor);
    if (iterator !== undefined) scans!.delete(cursor);
    else iterator = this.map.entries();
    const items: string[] = [];
    for (let n = 0; n < pairs; n++) {
      const next = iterator.next();
      if (next.done) return { cursor: 0, items };
      items.push(next.value[0], next.value[1]);
    }
    if (scans === undefined) liveScans.set(this, scans = new Map());
    if (scans.size >= MAX_SCANS_PER_HASH) scans.delete(scans.keys().next().value!);
    const next = ++lastScanCursor;
    scans.set(next, iterator);
    return { cursor: next, items };
  }
}
