/**
 * Per-key access data for OBJECT IDLETIME / OBJECT FREQ, in Redis's 24-bit `lru` field layout:
 * with an LRU eviction policy it holds the LRU clock (unix seconds mod 2^24); with an LFU policy,
 * 16 bits of "last decrement time" in minutes and an 8-bit logarithmic counter.
 *
 * Trade-off: a tracked key costs one extra Map entry (about 40 B/key: Deno runs V8 without pointer
 * compression) and each read one extra Map lookup. Redis only relies on these fields for LRU/LFU
 * eviction, so they are tracked only while such a policy is selected; with any other policy
 * (the default noeviction) nothing is stored per key and OBJECT IDLETIME replies with an error.
 */

/** Bits of the access field (Redis's LRU_BITS). */
export const ACCESS_BITS = 24;
/** Mask of the access field inside a key's meta number. */
export const ACCESS_MASK = (1 << ACCESS_BITS) - 1;
/** Redis's LRU_CLOCK_MAX. */
const LRU_CLOCK_MAX = ACCESS_MASK;
/** Initial LFU counter of a new key (LFU_INIT_VAL). */
const LFU_INIT_VAL = 5;

/** The clock and policy shared by every database; refreshed by the server cron. */
export const accessClock = {
  /** LRU clock: unix seconds, 24 bits (Redis's server.lruclock, updated at `hz`). */
  lru: lruNow(),
  /** Whether per-key access fields are kept: an LRU or LFU maxmemory policy is selected. */
  tracking: false,
  /** Whether an LFU maxmemory policy is selected. */
  lfu: false,
  /** Bumped whenever tracking starts, stops or changes between LRU and LFU: older fields are void. */
  epoch: 0,
  /** The access field of keys without one: "accessed when tracking started" in the current layout. */
  since: 0,
  /** Shared integers (0..9999) are used: no maxmemory or a policy that is neither LRU nor LFU. */
  sharedIntegers: true,
  lfuLogFactor: 10,
  lfuDecayTime: 1,
};

function lruNow(): number {
  return Math.floor(Date.now() / 1000) & LRU_CLOCK_MAX;
}

/** A config reader that tolerates directives the table does not have yet. */
export interface ConfigLike {
  directive(name: string): unknown;
  get(name: string): unknown;
}

function optional<T>(config: ConfigLike, name: string, fallback: T): T {
  return config.directive(name) === undefined ? fallback : config.get(name) as T;
}

/**
 * Re-reads the clock and the eviction settings (each cron tick, after CONFIG SET, before OBJECT
 * replies). Returns true when tracking started, stopped or changed layout (a new epoch).
 */
export function refreshAccessClock(config: ConfigLike): boolean {
  accessClock.lru = lruNow();
  const policy: string = optional(config, "maxmemory-policy", "noeviction");
  const lfu = policy === "allkeys-lfu" || policy === "volatile-lfu";
  const tracking = lfu || policy === "allkeys-lru" || policy === "volatile-lru";
  const changed = tracking !== accessClock.tracking || (tracking && lfu !== accessClock.lfu);
  accessClock.tracking = tracking;
  accessClock.lfu = lfu;
  accessClock.sharedIntegers = optional<number>(config, "maxmemory", 0) === 0 || !tracking;
  accessClock.lfuLogFactor = optional<number>(config, "lfu-log-factor", 10);
  accessClock.lfuDecayTime = optional<number>(config, "lfu-decay-time", 1);
  if (changed) {
    // Fields kept in the other layout would be misread (Redis reinterprets them); start afresh.
    accessClock.epoch++;
    accessClock.since = tracking ? freshAccess() : 0;
  }
  return changed;
}

function minutesNow(): number {
  return Math.floor(Date.now() / 60000) & 65535;
}

/** The access field of a newly created value. */
export function freshAccess(): number {
  return accessClock.lfu ? (minutesNow() << 8) | LFU_INIT_VAL : accessClock.lru;
}

/** Redis's LFUDecrAndReturn: the counter after decay for the elapsed minutes. */
export function lfuDecayed(access: number): number {
  const ldt = access >> 8;
  const counter = access & 255;
  const now = minutesNow();
  const elapsed = now >= ldt ? now - ldt : 65535 - ldt + now;
  const periods = accessClock.lfuDecayTime > 0 ? Math.floor(elapsed / accessClock.lfuDecayTime) : 0;
  if (periods === 0) return counter;
  return periods > counter ? 0 : counter - periods;
}

/** The access field after one access (LRU: the clock; LFU: decay then logarithmic increment). */
export function touchedAccess(access: number): number {
  if (!accessClock.lfu) return accessClock.lru;
  let counter = lfuDecayed(access);
  if (counter < 255) {
    const base = Math.max(0, counter - LFU_INIT_VAL);
    if (Math.random() < 1 / (base * accessClock.lfuLogFactor + 1)) counter++;
  }
  return (minutesNow() << 8) | counter;
}

/** Redis's estimateObjectIdleTime, in seconds. */
export function idleSeconds(access: number): number {
  const now = accessClock.lru;
  return now >= access ? now - access : now + (LRU_CLOCK_MAX - access);
}
