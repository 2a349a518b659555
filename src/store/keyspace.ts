/**
 * One database: keys kept per hash slot (design principle 4), with expiry times in parallel
 * per-slot maps. Per-key metadata is sparse so that a plain key costs only its slot map entry:
 * access fields exist only while an LRU/LFU policy tracks them, encoding hints only for keys whose
 * hint is not ENC_AUTO. Lookups expire lazily; `activeExpire` is Redis's slow expire cycle over
 * the slots that hold TTLs.
 */
import { CLUSTER_SLOTS, keyHashSlot } from "../cluster/slots.ts";
import { accessClock, freshAccess, touchedAccess } from "./access_clock.ts";
import { NOTIFY_KEY_MISS, NOTIFY_NEW, notifyKeyspaceEvent } from "../server/keyspace_events.ts";

/** A non-string value (lists, hashes, sets, ... arrive with the data-types issue). */
export interface TypedValue {
  /** The name TYPE prints. */
  readonly type: string;
  /** The name OBJECT ENCODING prints (Redis's encoding for this value's current shape). */
  readonly encoding?: string;
  /** A deep copy, for COPY. */
  clone?(): TypedValue;
}

/** A stored value: strings are latin1 JS strings (one char per byte), other types are objects. */
export type Value = string | TypedValue;

/** Receives keyspace changes (WATCH invalidation, stats). */
export interface KeyspaceObserver {
  /** A key was written, deleted or expired. */
  keyModified(db: Db, key: string): void;
  /** A key was removed because its TTL passed. */
  keyExpired(db: Db, key: string): void;
  /** INFO stats counters for read lookups. */
  readonly stats: { keyspaceHits: number; keyspaceMisses: number };
}

/**
 * String encoding hints. AUTO is what Redis's tryObjectEncoding gives a value set by SET (int /
 * embstr / raw by content) and is not stored; RAW marks values Redis keeps as raw sds (APPEND,
 * SETRANGE); EMBSTR marks values Redis created from a formatted number that never become `int`
 * (INCRBYFLOAT).
 */
export const ENC_AUTO = 0;
export const ENC_RAW = 1;
export const ENC_EMBSTR = 2;

/**
 * How lookups treat keys whose TTL passed. A replica never deletes them itself (its master's DEL
 * does): they look missing to its clients but stay live for the commands its master sends.
 */
export const expiryControl = {
  /** This node is a replica. */
  replica: false,
  /** The running command came from my master. */
  fromMaster: false,
};

/** Keys sampled per step of the active expire cycle (ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP). */
const EXPIRE_KEYS_PER_LOOP = 20;
/** A db is left once fewer than this share of sampled keys were expired (…ACCEPTABLE_STALE). */
const EXPIRE_ACCEPTABLE_STALE_PERCENT = 10;

/** All that is stored for one key, for RENAME, MOVE and COPY. */
export interface KeyEntry {
  value: Value;
  /** Encoding hint (ENC_*). */
  hint: number;
  /** Access field while access is tracked, else undefined. */
  access: number | undefined;
  /** Unix ms, or -1. */
  expire: number;
}

/** One sparse map per slot, the array itself created on first use. */
type SlotMaps = (Map<string, number> | undefined)[];

function newSlotMaps(): SlotMaps {
  return new Array(CLUSTER_SLOTS).fill(undefined);
}

/** Result of one active expire step. */
export interface ActiveExpireResult {
  sampled: number;
  expired: number;
  timedOut: boolean;
}

/** A database: 16384 slot maps plus expiry maps and sparse metadata maps. */
export class Db {
  private slots: (Map<string, Value> | undefined)[] = new Array(CLUSTER_SLOTS).fill(undefined);
  private expires: SlotMaps = newSlotMaps();
  /** Encoding hints other than ENC_AUTO; null until the first one. */
  private hints: SlotMaps | null = null;
  /** Access fields of the tracking epoch `accessEpoch`; null when not tracking (or none yet). */
  private access: SlotMaps | null = null;
  private accessEpoch = -1;
  /** Number of keys (DBSIZE). */
  size = 0;
  /** Number of keys with a TTL. */
  expiresSize = 0;
  /** Number of stored encoding hints (the SET/GET path skips hint work while it is 0). */
  hintsSize = 0;
  /** Keys watched by clients in MULTI; checked on every write only when non-empty. */
  readonly watched = new Map<string, Set<unknown>>();
  /** Where the active expiry cycle resumes. */
  private expireCursor = 0;

  /**
   * `announced`: this is one of the server's live databases, whose new keys and misses are keyspace
   * events; databases a snapshot loads into are not (Redis's dbAddRDBLoad notifies nothing).
   */
  constructor(readonly id: number, private readonly observer: KeyspaceObserver, readonly announced = false) {}

  /** The value if present and not expired (an expired key is deleted); no touch, no stats. */
  private live(slot: number, key: string): Value | undefined {
    const map = this.slots[slot];
    if (map === undefined) return undefined;
    const value = map.get(key);
    if (value === undefined || this.expiresSize === 0) return value;
    const exp = this.expires[slot];
    if (exp !== undefined) {
      const when = exp.get(key);
      if (when !== undefined && when <= Date.now()) {
        if (expiryControl.replica) return expiryControl.fromMaster ? value : undefined;
        this.expireKey(slot, key);
        return undefined;
      }
    }
    return value;
  }

  /** Records an access (Redis's updateLFU / LRU clock store); nothing unless access is tracked. */
  private touch(slot: number, key: string): void {
    if (!accessClock.tracking) return;
    const maps = this.accessMaps();
    const m = maps[slot]?.get(key) ?? accessClock.since;
    const next = touchedAccess(m);
    if (next !== m) setIn(maps, slot, key, next);
  }

  /** The access maps of the current tracking epoch (fields of an older epoch are dropped). */
  private accessMaps(): SlotMaps {
    if (this.access === null || this.accessEpoch !== accessClock.epoch) {
      this.access = newSlotMaps();
      this.accessEpoch = accessClock.epoch;
    }
    return this.access;
  }

  /** Drops access fields that tracking no longer uses (policy changed); called after CONFIG SET and by cron. */
  syncAccessTracking(): void {
    if (this.access !== null && (!accessClock.tracking || this.accessEpoch !== accessClock.epoch)) {
      this.access = null;
    }
  }

  /** Stores a key's encoding hint; ENC_AUTO removes it. */
  private setHint(slot: number, key: string, hint: number): void {
    if (hint === ENC_AUTO) {
      if (this.hints !== null && deleteIn(this.hints, slot, key)) this.hintsSize--;
      return;
    }
    if (this.hints === null) this.hints = newSlotMaps();
    if (setIn(this.hints, slot, key, hint)) this.hintsSize++;
  }

  /** Reads a key for a write command (Redis's lookupKeyWrite): lazy expiry, access touched. */
  get(key: string): Value | undefined {
    const slot = keyHashSlot(key);
    const value = this.live(slot, key);
    if (value !== undefined) this.touch(slot, key);
    return value;
  }

  /**
   * Reads a key for a read command (Redis's lookupKeyRead): also counts keyspace hits/misses.
   * `touch` false is Redis's LOOKUP_NOTOUCH (TYPE, TTL, EXISTS, OBJECT); `notify` false is its
   * LOOKUP_NONOTIFY (OBJECT): a miss is not announced as a `keymiss` event.
   */
  lookupRead(key: string, touch = true, notify = true): Value | undefined {
    const slot = keyHashSlot(key);
    const value = this.live(slot, key);
    if (value === undefined) {
      this.observer.stats.keyspaceMisses++;
      if (notify && this.announced) notifyKeyspaceEvent(NOTIFY_KEY_MISS, "keymiss", key, this.id);
      return undefined;
    }
    this.observer.stats.keyspaceHits++;
    if (touch) this.touch(slot, key);
    return value;
  }

  /** Reads a key without touching it or counting stats (still expires it lazily). */
  peek(key: string): Value | undefined {
    return this.live(keyHashSlot(key), key);
  }

  /** Whether a key is stored, expired or not (no lazy expiry: WATCH bookkeeping). */
  hasStored(key: string): boolean {
    return this.slots[keyHashSlot(key)]?.has(key) ?? false;
  }

  /** Whether a key exists (with lazy expiry, without touching it). */
  has(key: string): boolean {
    return this.peek(key) !== undefined;
  }

  /**
   * Stores a value as a new object. Any TTL is removed unless `keepTtl`; `expireAt` (unix ms) sets
   * a new one; `encoding` is a string encoding hint (ENC_*). Signals the modification (WATCH).
   */
  set(key: string, value: Value, keepTtl = false, expireAt?: number, encoding = ENC_AUTO): void {
    const slot = keyHashSlot(key);
    // An expired key is deleted first (Redis's lookupKeyWrite): KEEPTTL must not revive its TTL.
    if (this.expiresSize > 0) this.live(slot, key);
    let map = this.slots[slot];
    if (map === undefined) map = this.slots[slot] = new Map();
    const before = map.size;
    map.set(key, value);
    const added = map.size !== before;
    if (added) {
      this.size++;
      if (this.announced) notifyKeyspaceEvent(NOTIFY_NEW, "new", key, this.id);
    }
    if (encoding !== ENC_AUTO || this.hintsSize > 0) this.setHint(slot, key, encoding);
    // Redis's dbOverwrite keeps the LFU counter of the replaced object; LRU starts afresh.
    if (accessClock.tracking && (added || !accessClock.lfu)) setIn(this.accessMaps(), slot, key, freshAccess());
    if (expireAt !== undefined) this.setExpireInSlot(slot, key, expireAt);
    else if (!keepTtl && this.expiresSize > 0) this.removeExpireInSlot(slot, key);
    if (this.watched.size > 0) this.observer.keyModified(this, key);
  }

  /**
   * Redis's setKey without "found" flags (SET, GETSET, MSET): the key is looked up for writing
   * first, which under LFU counts as an access the overwrite then keeps.
   */
  setKey(key: string, value: Value): void {
    if (accessClock.lfu) this.get(key);
    this.set(key, value);
  }

  /**
   * Replaces the value of an existing key in place, keeping its TTL and access data (APPEND,
   * INCR, SETRANGE, and container types changed in place).
   */
  update(key: string, value: Value, encoding = ENC_AUTO): void {
    const slot = keyHashSlot(key);
    const map = this.slots[slot];
    if (map === undefined || !map.has(key)) {
      this.set(key, value, true, undefined, encoding);
      return;
    }
    map.set(key, value);
    if (encoding !== ENC_AUTO || this.hintsSize > 0) this.setHint(slot, key, encoding);
    if (this.watched.size > 0) this.observer.keyModified(this, key);
  }

  /**
   * Like `update` but without signalling WATCH: Redis's in-place edits that it does not count as a
   * modification (turning a shared string into a raw one before editing it, a write that changed nothing).
   */
  updateQuietly(key: string, value: Value, encoding = ENC_AUTO): void {
    const watchers = this.watched.get(key);
    if (watchers !== undefined) this.watched.delete(key);
    this.update(key, value, encoding);
    if (watchers !== undefined) this.watched.set(key, watchers);
  }

  /** Signals that a value object was changed in place (WATCH), for container types. */
  touchModified(key: string): void {
    if (this.watched.size > 0) this.observer.keyModified(this, key);
  }

  /** Deletes a key; returns whether it existed (expired keys count as absent). */
  delete(key: string): boolean {
    const slot = keyHashSlot(key);
    if (this.live(slot, key) === undefined) return false;
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
    if (this.hintsSize > 0 && deleteIn(this.hints!, slot, key)) this.hintsSize--;
    if (this.access !== null) deleteIn(this.access, slot, key);
  }

  private expireKey(slot: number, key: string): void {
    this.removeFromSlot(slot, key);
    this.observer.keyExpired(this, key);
    if (this.watched.size > 0) this.observer.keyModified(this, key);
  }

  private hintIn(slot: number, key: string): number {
    return this.hintsSize === 0 ? ENC_AUTO : this.hints![slot]?.get(key) ?? ENC_AUTO;
  }

  private accessIn(slot: number, key: string): number | undefined {
    if (!accessClock.tracking) return undefined;
    return this.accessMaps()[slot]?.get(key) ?? accessClock.since;
  }

  /**
   * The access field (LRU clock or LFU data) of an existing key while access is tracked (an LRU
   * or LFU policy), else undefined.
   */
  accessOf(key: string): number | undefined {
    return this.accessIn(keyHashSlot(key), key);
  }

  /** The string encoding hint (ENC_*) of an existing key. */
  encodingHint(key: string): number {
    return this.hintIn(keyHashSlot(key), key);
  }

  /** Everything stored for a live key (no touch), or undefined. */
  entry(key: string): KeyEntry | undefined {
    const slot = keyHashSlot(key);
    const value = this.live(slot, key);
    if (value === undefined) return undefined;
    const expire = this.expiresSize === 0 ? -1 : this.expires[slot]?.get(key) ?? -1;
    return { value, hint: this.hintIn(slot, key), access: this.accessIn(slot, key), expire };
  }

  /** Stores a key with its hint, access field and TTL as they were elsewhere (RENAME, MOVE). */
  putEntry(key: string, e: KeyEntry): void {
    this.set(key, e.value, false, e.expire === -1 ? undefined : e.expire, e.hint);
    if (e.access !== undefined && accessClock.tracking) setIn(this.accessMaps(), keyHashSlot(key), key, e.access);
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
    if (setIn(this.expires, slot, key, when)) this.expiresSize++;
  }

  private removeExpireInSlot(slot: number, key: string): boolean {
    if (!deleteIn(this.expires, slot, key)) return false;
    this.expiresSize--;
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

  /** Every key (expired-but-present ones included), slot by slot. */
  *keys(): Generator<string> {
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
      const map = this.slots[slot];
      if (map !== undefined) yield* map.keys();
    }
  }

  /**
   * Calls `fn` for every stored key with its value and expiry (unix ms, -1 for none), expired or not,
   * without lookups: a snapshot's walk over the whole dataset.
   */
  forEachEntry(fn: (key: string, value: Value, expire: number) => void): void {
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
      const map = this.slots[slot];
      if (map === undefined) continue;
      const exp = this.expires[slot];
      if (exp === undefined) {
        for (const [key, value] of map) fn(key, value, -1);
      } else {
        for (const [key, value] of map) fn(key, value, exp.get(key) ?? -1);
      }
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
    if (this.watched.size > 0) { for (const key of this.keys()) this.observer.keyModified(this, key); }
    this.slots = new Array(CLUSTER_SLOTS).fill(undefined);
    this.expires = newSlotMaps();
    this.hints = null;
    this.access = null;
    this.size = 0;
    this.expiresSize = 0;
    this.hintsSize = 0;
    return removed;
  }

  /**
   * Exchanges all keys with another database (SWAPDB); clients keep their Db objects.
   * Watchers of keys in either database are signalled, as Redis's touchAllWatchedKeysInDb does.
   */
  swapContents(other: Db): void {
    this.signalAllWatched(other);
    other.signalAllWatched(this);
    [this.slots, other.slots] = [other.slots, this.slots];
    [this.expires, other.expires] = [other.expires, this.expires];
    [this.hints, other.hints] = [other.hints, this.hints];
    [this.access, other.access] = [other.access, this.access];
    [this.accessEpoch, other.accessEpoch] = [other.accessEpoch, this.accessEpoch];
    [this.size, other.size] = [other.size, this.size];
    [this.expiresSize, other.expiresSize] = [other.expiresSize, this.expiresSize];
    [this.hintsSize, other.hintsSize] = [other.hintsSize, this.hintsSize];
    [this.expireCursor, other.expireCursor] = [other.expireCursor, this.expireCursor];
  }

  /** Signals watchers of keys that exist here or in `other` (their value changes on swap). */
  private signalAllWatched(other: Db): void {
    for (const key of this.watched.keys()) {
      if (this.has(key) || other.has(key)) this.observer.keyModified(this, key);
    }
  }

  /**
   * One run of Redis's slow active expire cycle on this db: samples keys with a TTL, slot by slot
   * from where the last run stopped, in rounds of EXPIRE_KEYS_PER_LOOP; goes on while more than
   * 10% of a round was expired and `deadline` (performance.now() ms) is not reached.
   */
  activeExpire(deadline: number, now = Date.now()): ActiveExpireResult {
    let sampled = 0;
    let expired = 0;
    let visited = 0;
    while (this.expiresSize > 0 && visited < CLUSTER_SLOTS) {
      let roundSampled = 0;
      let roundExpired = 0;
      while (roundSampled < EXPIRE_KEYS_PER_LOOP && visited < CLUSTER_SLOTS && this.expiresSize > 0) {
        const slot = this.expireCursor;
        this.expireCursor = (slot + 1) % CLUSTER_SLOTS;
        visited++;
        const exp = this.expires[slot];
        if (exp === undefined) continue;
        // Deleting the current entry while iterating a Map is safe in JS.
        for (const [key, when] of exp) {
          roundSampled++;
          if (when <= now) {
            this.expireKey(slot, key);
            roundExpired++;
          }
        }
      }
      sampled += roundSampled;
      expired += roundExpired;
      if (performance.now() > deadline) return { sampled, expired, timedOut: true };
      if (roundExpired * 100 <= roundSampled * EXPIRE_ACCEPTABLE_STALE_PERCENT) break;
    }
    return { sampled, expired, timedOut: false };
  }
}

/** Sets `key` in its slot's map (created on demand); returns whether the key was new there. */
function setIn(maps: SlotMaps, slot: number, key: string, n: number): boolean {
  let map = maps[slot];
  if (map === undefined) map = maps[slot] = new Map();
  const before = map.size;
  map.set(key, n);
  return map.size !== before;
}

/** Deletes `key` from its slot's map (dropping an emptied map); returns whether it was there. */
function deleteIn(maps: SlotMaps, slot: number, key: string): boolean {
  const map = maps[slot];
  if (map === undefined || !map.delete(key)) return false;
  if (map.size === 0) maps[slot] = undefined;
  return true;
}

function pickRandom(map: Map<string, Value>): string {
  let index = Math.floor(Math.random() * map.size);
  for (const key of map.keys()) if (index-- === 0) return key;
  return map.keys().next().value!;
}
