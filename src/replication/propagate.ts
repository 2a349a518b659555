/**
 * What a command sends down the replication stream (Redis's alsoPropagate / propagatePendingCommands):
 * the commands one top-level call queued, sent bare when there is one and wrapped in MULTI/EXEC when
 * there are more. Handlers rewrite what they propagate (SET ... EX → PXAT, SPOP → SREM ...) with the
 * functions here; they check `propagation.active` first so nothing is built when no replica listens.
 */

/** A command queued for the replication stream, with the db it ran in. */
export interface PendingCommand {
  db: number;
  argv: string[];
}

/** Sends a command (or a MULTI/EXEC-wrapped group) to the replication stream. */
export type StreamFeeder = (commands: readonly PendingCommand[]) => void;

/** Propagation state of the running command; one process, one instance. */
export const propagation = {
  /** Whether a replication stream exists (a master with a backlog); nothing is queued otherwise. */
  active: false,
  /** Nesting of `call` (EXEC runs its commands inside its own call). */
  depth: 0,
  /** Commands queued by the current top-level call. */
  pending: [] as PendingCommand[],
  /** The argv this command propagates instead of its own (null: its own). */
  rewritten: null as string[] | null,
  /** This command propagates nothing itself (it queued what it wants with `alsoPropagate`). */
  prevented: false,
  /** This command propagates although the dataset did not change (PUBLISH outside cluster mode). */
  forced: false,
  /** Where queued commands go. */
  feeder: null as StreamFeeder | null,
};

/** Propagates `argv` instead of the command as the client sent it. */
export function propagateAs(argv: string[]): void {
  propagation.rewritten = argv;
}

/** Queues an extra command for the stream (or sends it at once outside any call). */
export function alsoPropagate(db: number, argv: string[]): void {
  if (!propagation.active) return;
  if (propagation.depth > 0) propagation.pending.push({ db, argv });
  else propagation.feeder?.([{ db, argv }]);
}

/** The running command propagates nothing of its own. */
export function preventPropagation(): void {
  propagation.prevented = true;
}

/** The running command propagates even without changing the dataset. */
export function forcePropagation(): void {
  propagation.forced = true;
}

/** Sends what the finished top-level call queued. */
export function flushPropagation(): void {
  const pending = propagation.pending;
  if (pending.length === 0) return;
  propagation.pending = [];
  propagation.feeder?.(pending);
}

/**
 * Propagates `argv` in place of the running command, or alone when there is none (a blocked
 * client served after another client's write): BLPOP → LPOP, BZMPOP → ZPOPMIN key count...
 */
export function replicateAs(db: number, argv: string[]): void {
  if (!propagation.active) return;
  if (propagation.depth > 0) propagation.rewritten = argv;
  else propagation.feeder?.([{ db, argv }]);
}
