/**
 * Timing of cheap commands (Redis flags them `fast` or documents them O(1)) per read batch.
 * `performance.now()` costs about 90 ns here (an op call); two per command were a sixth of the whole
 * server's time at pipeline 16. So cheap commands run untimed and share their batch's measured time
 * equally; other commands are timed one by one as Redis does. See docs/performance.md.
 */
import { CMD_SKIP_SLOWLOG, type Command } from "../commands/table.ts";
import { latencyBucket, recordBucket } from "./latency.ts";
import type { Client } from "./client.ts";

/** Collects the fast commands of one batch and spreads the batch's time over them. */
export class BatchTimer {
  /** `performance.now()` at the batch start; -1 outside a batch (then every command is timed). */
  startedAt = -1;
  /** Time of individually timed commands in this batch, not to be charged to the fast ones. */
  timedUsec = 0;
  /**
   * The last clock reading of this batch when no command has run since (its start, or the end of a timed command),
   * else -1: the next timed command starts from it instead of reading the clock again (it is charged the few tens of
   * nanoseconds its parsing took).
   */
  lastNow = -1;
  private readonly fast: (Command | undefined)[] = [];
  private readonly fastArgv: (string[] | undefined)[] = [];
  private fastCount = 0;

  /** Starts a batch (before the first command of a read). */
  begin(): void {
    this.startedAt = this.lastNow = performance.now();
    this.timedUsec = 0;
  }

  /** Notes a fast command run without its own timing. */
  addFast(cmd: Command, argv: string[]): void {
    this.lastNow = -1;
    this.fast[this.fastCount] = cmd;
    this.fastArgv[this.fastCount++] = argv;
  }

  /**
   * Ends the batch: each fast command gets an equal share of the time not otherwise accounted,
   * and goes to the slowlog / latency monitor if that share passes their thresholds.
   */
  end(c: Client): void {
    if (this.startedAt < 0) return;
    const count = this.fastCount;
    if (count > 0) {
      const elapsedUsec = (performance.now() - this.startedAt) * 1000 - this.timedUsec;
      const share = elapsedUsec > 0 ? elapsedUsec / count : 0;
      const { slowlogUsec, latencyMs } = c.server.limits;
      const slow = (slowlogUsec >= 0 && share >= slowlogUsec) || (latencyMs > 0 && share >= latencyMs * 1000);
      const bucket = latencyBucket(share);
      for (let i = 0; i < count; i++) {
        const cmd = this.fast[i]!;
        cmd.stats.usec += share;
        recordBucket(cmd.stats, bucket);
        if (slow && (cmd.flags & CMD_SKIP_SLOWLOG) === 0) c.server.slowlogCheck(c, this.fastArgv[i]!, share, cmd);
        this.fast[i] = undefined;
        this.fastArgv[i] = undefined;
      }
      this.fastCount = 0;
    }
    this.startedAt = this.lastNow = -1;
  }
}
