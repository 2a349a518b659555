/**
 * Latency monitor (Redis latency.c): per-event rings of one-second samples above
 * `latency-monitor-threshold`, and per-command latency histograms (LATENCY HISTOGRAM,
 * INFO latencystats) kept in power-of-two buckets from 1024 ns, as Redis's log iteration reports.
 */
import type { Command, CommandStats } from "../commands/table.ts";

/** Samples kept per event (LATENCY_TS_LEN). */
const LATENCY_TS_LEN = 160;
/** Histogram buckets: 1024 ns << k for k < HISTOGRAM_BUCKETS (covers ~2^50 ns). */
export const HISTOGRAM_BUCKETS = 40;
const HISTOGRAM_FIRST_NS = 1024;

/** One recorded latency sample. */
export interface LatencySample {
  /** Unix time in seconds. */
  time: number;
  /** Latency in milliseconds. */
  latency: number;
}

/** The samples of one event class. */
export interface LatencyEvent {
  samples: (LatencySample | null)[];
  idx: number;
  max: number;
}

/** Per-event latency rings. */
export class LatencyMonitor {
  readonly events = new Map<string, LatencyEvent>();

  /** Adds a sample; samples within the same second keep the highest latency. */
  addSample(event: string, latencyMs: number, nowSec = Math.floor(Date.now() / 1000)): void {
    let ev = this.events.get(event);
    if (ev === undefined) {
      ev = { samples: new Array(LATENCY_TS_LEN).fill(null), idx: 0, max: 0 };
      this.events.set(event, ev);
    }
    if (latencyMs > ev.max) ev.max = latencyMs;
    const prev = ev.samples[(ev.idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN];
    if (prev !== null && prev.time === nowSec) {
      if (latencyMs > prev.latency) prev.latency = latencyMs;
      return;
    }
    ev.samples[ev.idx] = { time: nowSec, latency: latencyMs };
    ev.idx = (ev.idx + 1) % LATENCY_TS_LEN;
  }

  /** Samples of an event, oldest first. */
  history(event: string): LatencySample[] {
    const ev = this.events.get(event);
    if (ev === undefined) return [];
    const out: LatencySample[] = [];
    for (let j = 0; j < LATENCY_TS_LEN; j++) {
      const s = ev.samples[(ev.idx + j) % LATENCY_TS_LEN];
      if (s !== null) out.push(s);
    }
    return out;
  }

  /** The newest sample of an event. */
  latest(event: string): LatencySample | null {
    const ev = this.events.get(event);
    if (ev === undefined) return null;
    return ev.samples[(ev.idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN];
  }

  /** Removes the named events (all when none given); returns how many existed. */
  reset(names: string[]): number {
    if (names.length === 0) {
      const n = this.events.size;
      this.events.clear();
      return n;
    }
    let n = 0;
    for (const name of names) if (this.events.delete(name)) n++;
    return n;
  }
}

/** Command stats with the latency histogram the server attaches at start-up. */
export interface TrackedStats extends CommandStats {
  histogram: Float64Array;
}

/** Gives every command (and subcommand) a histogram, so all stats objects keep one shape. */
export function attachHistograms(commands: Iterable<Command>): void {
  for (const cmd of commands) {
    (cmd.stats as TrackedStats).histogram = new Float64Array(HISTOGRAM_BUCKETS);
    if (cmd.subcommands) attachHistograms(cmd.subcommands.values());
  }
}

/** Records one call duration (microseconds). */
export function recordLatency(stats: CommandStats, usec: number): void {
  (stats as TrackedStats).histogram[latencyBucket(usec)]++;
}

/**
 * The histogram bucket of a duration (microseconds), for callers that record one duration many
 * times (a read batch's fast commands share one): `recordBucket` then skips the arithmetic.
 */
export function latencyBucket(usec: number): number {
  // Smallest k with ns <= 1024 << k, with integer bit tricks (this runs for every timed command).
  const x = Math.ceil((usec * 1000) / HISTOGRAM_FIRST_NS) - 1;
  return x <= 0 ? 0 : x >= 0xffffffff ? HISTOGRAM_BUCKETS - 1 : Math.min(HISTOGRAM_BUCKETS - 1, 32 - Math.clz32(x));
}

/** Records one call in a bucket found by `latencyBucket`. */
export function recordBucket(stats: CommandStats, bucket: number): void {
  (stats as TrackedStats).histogram[bucket]++;
}

/** The upper bound of bucket k in microseconds, as Redis reports it (1, 2, 4, 8, 16, 32, 65, ...). */
export function bucketMicros(k: number): number {
  return Math.floor((HISTOGRAM_FIRST_NS * 2 ** k) / 1000);
}

/** The value (usec) at a percentile, from the bucket upper bounds. */
export function histogramPercentile(h: Float64Array, percentile: number): number {
  let total = 0;
  for (let k = 0; k < h.length; k++) total += h[k];
  if (total === 0) return 0;
  const want = Math.max(1, Math.ceil((percentile / 100) * total));
  let cum = 0;
  for (let k = 0; k < h.length; k++) {
    cum += h[k];
    if (cum >= want) return (HISTOGRAM_FIRST_NS * 2 ** k) / 1000;
  }
  return 0;
}
