/**
 * Instantaneous rates as Redis computes them (trackInstantaneousMetric): every 100 ms the rate
 * since the previous sample goes into a ring of 16; the reported value is the ring's mean.
 */

/** Samples averaged per metric (STATS_METRIC_SAMPLES). */
const STATS_METRIC_SAMPLES = 16;

/** One sampled per-second rate (ops/sec, bytes/sec). */
export class InstantaneousMetric {
  private readonly samples = new Float64Array(STATS_METRIC_SAMPLES);
  private idx = 0;
  private lastTimeMs = 0;
  private lastReading = 0;

  /** Records the counter's value at `nowMs`. */
  sample(nowMs: number, reading: number): void {
    const elapsed = nowMs - this.lastTimeMs;
    const delta = reading - this.lastReading;
    this.samples[this.idx] = this.lastTimeMs > 0 && elapsed > 0 ? Math.floor((delta * 1000) / elapsed) : 0;
    this.idx = (this.idx + 1) % STATS_METRIC_SAMPLES;
    this.lastTimeMs = nowMs;
    this.lastReading = reading;
  }

  /** The mean rate per second over the ring (integer, as Redis's getInstantaneousMetric). */
  value(): number {
    let sum = 0;
    for (const s of this.samples) sum += s;
    return Math.floor(sum / STATS_METRIC_SAMPLES);
  }
}
