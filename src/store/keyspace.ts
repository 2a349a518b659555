/**
 * One database: keys kept per hash slot (design principle 4), with expiry times in a parallel
 * per-slot map. Lookups expire lazily; `activeExpire` samples keys with a TTL on a budget.
 */
import { CLUSTER_SLOTS, keyHashSlot } from "../cluster/slots.ts";

/** A non-string value (lists, hashes, sets, ... arrive with the data-types issue). */
export interface TypedValue {
  /** The name TYPE prints. */
  readonly type: string;
}

/** A stored value: strings are latin1 JS strings (one char per byte), other types are objects. */
export type Value = string | TypedValue;

/** Receives keyspace changes (WATCH invalidation, stats). */
export interface KeyspaceObserver {
  /** A key was written, deleted or expired. */
  keyModified(db: Db, key: string): void;
  /** A key was removed because its TTL passed. */
  keyExpired(db: Db, key: string): void;
}

/** A database: 16384 slot maps plus expiry maps. */
export class Db {
  private readonly slots: (Map<string, Value> | undefined)[] = new Array(CLUSTER_SLOTS).fill(undefined);
  private readonly expires: (Map<string, number> | undefined)[] = new Array(CLUSTER_SLOTS).fill(undefined);
  /** Number of keys (DBSIZE). */
  size = 0;
  /** Number of keys with a TTL. */
  expiresSize = 0;
  /** Keys watched by clients in MULTI; checked on every write only when non-empty. */
  readonly watched = new Map<string, Set<unknown>>();
  /** Where the active expiry cycle resumes. */
  private expireCursor = 0;

  constructor(readonly id: number, private readonly observer: KeyspaceObserver) {}

  /** Reads a key, deleting it first if its TTL has passed. */
  get(key: string): Value | undefined {
    const slot = keyHashSlot(key);
    const map = this.slots[slot];
    if (map === undefined) return undefined;
    const value = map.get(key);
    if (value === undefined || this.expiresSize === 0) return value;
    const exp = this.expires[slot];
    if (exp !== undefined) {
      const when = exp.get(key);
      if (when !== undefined && when <= Date.now()) {
        this.expireKey(slot, key);
        return undefined;
      }
    }
    return value;
  }

  /** Whether a key exists (with lazy expiry). */
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /**
   * Stores a value. Any TTL is removed unless `keepTtl`; `expireAt` (unix ms) sets a new one.
   * Signals the modification (WATCH).
   */
  set(key: string, value: Value, keepTtl = false, expireAt?: number): void {
    const slot = keyHashSlot(key);
    let map = this.slots[slot];
    if (map === undefined) map = this.slots[slot] = new Map();
    const before = map.size;
    map.set(key, value);
    if (map.size !== before) this.size++;
    if (expireAt !== undefined) this.setExpireInSlot(slot, key, expireAt);
    else if (!keepTtl && this.expiresSize > 0) this.removeExpireInSlot(slot, key);
    if (this.watched.size > 0) this.observer.keyModified(this, key);
  }

  /** Replaces the value of an existing key in place, keeping its TTL (APPEND, INCR, SETRANGE). */
  update(key: string, value: Value): void {
    this.set(key, value, true);
  }

  /** Deletes a key; returns whether it existed (expired keys count as absent). */
  delete(key: string): boolean {
    if (this.get(key) === undefined) return false;
    const slot = keyHashSlot(key);
    this.removeFromSlot(slot, key);
    if (this.watched.size > 0) this.observer.keyModified(this, key);
    return true;
  }

  private removeFromSlot(slot: number, key: string): void {
    const map = this.slots[slot]!;
    map.delete(key);
    this.size--;
    if (map.size === 0) this.slots[slot] = undefined;
    if (this.expiresSize > 0) this.removeExpireInSlot(slot, key);
  }

  private expireKey(slot: number, key: string): void {
    this.removeFromSlot(slot, key);
    this.observer.keyExpired(this, key);
    if (this.watched.size > 0) this.observer.keyModified(this, key);
  }

  /** The expiry time (unix ms) of an existing key, or -1 without TTL. */
  getExpire(key: string): number {
    if (this.expiresSize === 0) return -1;
    return this.expires[keyHashSlot(key)]?.get(key) ?? -1;
  }

  /** Sets the expiry time (unix ms) of an existing key. */
  setExpire(key: string, when: number): void {
    this.setExpireInSlot(keyHashSlot(key), key, when);
    if (this.watched.size > 0) this.observer.keyModified(this, key);
  }

  /** Removes a key's TTL; returns whether it had one. */
  persist(key: string): boolean {
    const removed = this.removeExpireInSlot(keyHashSlot(key), key);
    if (removed && this.watched.size > 0) this.observer.keyModified(this, key);
    return removed;
  }

  private setExpireInSlot(slot: number, key: string, when: number): void {
    let exp = this.expires[slot];
    if (exp === undefined) exp = this.expires[slot] = new Map();
    const before = exp.size;
    exp.set(key, when);
    if (exp.size !== before) this.expiresSize++;
  }

  private removeExpireInSlot(slot: number, key: string): boolean {
    const exp = this.expires[slot];
    if (exp === undefined || !exp.delete(key)) return false;
    this.expiresSize--;
    if (exp.size === 0) this.expires[slot] = undefined;
    return true;
  }

  /** Whether a stored key's TTL has passed (without deleting it). */
  isExpired(key: string, now = Date.now()): boolean {
    const when = this.getExpire(key);
    return when !== -1 && when <= now;
  }

  /** Number of keys stored in one slot (expired-but-present keys included, as in Redis). */
  slotSize(slot: number): number {
    return this.slots[slot]?.size ?? 0;
  }

  /** The keys of one slot, in insertion order. */
  slotKeys(slot: number): IterableIterator<string> | never[] {
    return this.slots[slot]?.keys() ?? [];
  }

  /** Every key (including not-yet-expired check), slot by slot. */
  *keys(): Generator<string> {
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
      const map = this.slots[slot];
      if (map !== undefined) yield* map.keys();
    }
  }

  /** The first slot at or after `from` that holds keys, or -1. */
  nextNonEmptySlot(from: number): number {
    for (let slot = from; slot < CLUSTER_SLOTS; slot++) if (this.slots[slot] !== undefined) return slot;
    return -1;
  }

  /** A random key (not checked for expiry), or undefined when empty. */
  randomKeyCandidate(): string | undefined {
    if (this.size === 0) return undefined;
    // Probe random slots first; fall back to a scan from a random start when keys are sparse.
    for (let tries = 0; tries < 64; tries++) {
      const map = this.slots[Math.floor(Math.random() * CLUSTER_SLOTS)];
      if (map !== undefined) return pickRandom(map);
    }
    const start = Math.floor(Math.random() * CLUSTER_SLOTS);
    for (let i = 0; i < CLUSTER_SLOTS; i++) {
      const map = this.slots[(start + i) % CLUSTER_SLOTS];
      if (map !== undefined) return pickRandom(map);
    }
    return undefined;
  }

  /** Removes every key; returns how many there were. */
  flush(): number {
    const removed = this.size;
    if (this.watched.size > 0) for (const key of this.keys()) this.observer.keyModified(this, key);
    this.slots.fill(undefined);
    this.expires.fill(undefined);
    this.size = 0;
    this.expiresSize = 0;
    return removed;
  }

  /**
   * One step of the active expiry cycle: walks slots that hold TTLs from where the last step
   * stopped, deleting expired keys, until `deadline` (performance.now() ms). Returns counts.
   */
  activeExpire(deadline: number, now = Date.now()): { sampled: number; expired: number; timedOut: boolean } {
    let sampled = 0;
    let expired = 0;
    if (this.expiresSize === 0) return { sampled, expired, timedOut: false };
    for (let visited = 0; visited < CLUSTER_SLOTS; visited++) {
      const slot = this.expireCursor;
      this.expireCursor = (this.expireCursor + 1) % CLUSTER_SLOTS;
      const exp = this.expires[slot];
      if (exp === undefined) continue;
      for (const [key, when] of exp) {
        sampled++;
        if (when <= now) {
          this.expireKey(slot, key);
          expired++;
        }
      }
      if (performance.now() > deadline) return { sampled, expired, timedOut: true };
      if (this.expiresSize === 0) break;
    }
    return { sampled, expired, timedOut: false };
  }
}

function pickRandom(map: Map<string, Value>): string {
  let index = Math.floor(Math.random() * map.size);
  for (const key of map.keys()) if (index-- === 0) return key;
  return map.keys().next().value!;
}
