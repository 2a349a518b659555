/**
 * What a seed chooses: cluster size, node timeout, how the cluster is created, network quality and
 * which faults hit it. Drawn from the run's generator first, so a seed (with the same options) always
 * describes the same run.
 */
import type { DropMode } from "./network.ts";
import type { Rng } from "./rng.ts";

/** `quick`: small clusters and short runs (the `deno test` mix); `full`: bigger and longer (the task's default). */
export type Profile = "quick" | "full";

/** Options that shape the draw; a replay needs the same ones. */
export interface ScenarioOptions {
  profile?: Profile;
  /** Fixes the number of masters instead of drawing it. */
  masters?: number;
  /** Lost messages vanish from live connections (not TCP; see DropMode) instead of the drawn mode. */
  lossy?: boolean;
}

/** Everything one run does. Times are virtual ms. */
export interface Scenario {
  seed: number;
  profile: Profile;
  masters: number;
  nodeTimeoutMs: number;
  /** `distinct`: SET-CONFIG-EPOCH i+1 before meeting (as redis-cli does); `zero`: collisions must resolve. */
  epochs: "distinct" | "zero";
  /** `star`: every node meets node 0; `chain`: node i meets node i-1; `random`: a random earlier node. */
  meetTopology: "star" | "chain" | "random";
  /** Whether ADDSLOTS runs before the MEETs (redis-cli's order) or after. */
  slotsBeforeMeet: boolean;
  /** MEETs are spread over this many ms. */
  meetSpreadMs: number;
  /** Whether nodes set cluster-announce-ip (else they learn their address from MEET / PING). */
  announceIp: boolean;
  /** Whether nodes announce a hostname (the ping extension). */
  hostnames: boolean;
  /** Each node's clock is off by up to this many ms either way. */
  clockSkewMs: number;
  /** Fraction of messages that go through the real codec and framer. */
  codecFraction: number;
  latencyMinMs: number;
  latencyMaxMs: number;
  /** Length of the fault period. */
  faultMs: number;
  dropRate: number;
  dropMode: DropMode;
  rtoMaxMs: number;
  duplicateRate: number;
  spikeRate: number;
  spikeMaxMs: number;
  /** Number of partition episodes and of crash-and-restart episodes in the fault period. */
  partitions: number;
  crashes: number;
  /** Masters stopped for good (a minority, so failure detection can still reach a quorum). */
  stopped: number;
  /** Deadlines for the cluster to form, and to converge after the faults end. */
  setupDeadlineMs: number;
  healDeadlineMs: number;
  /** The checks must pass at every poll for this long to count as converged. */
  settleMs: number;
  /** A stopped node must be FAIL everywhere within this long (invariant 4). */
  failBoundMs: number;
}

/** The failure quorum among `masters` masters. */
export function quorumOf(masters: number): number {
  return Math.floor(masters / 2) + 1;
}

/** Draws the scenario of a seed. */
export function drawScenario(seed: number, rng: Rng, options: ScenarioOptions = {}): Scenario {
  const profile = options.profile ?? "full";
  const quick = profile === "quick";
  const drawnMasters = quick ? rng.pick([3, 3, 3, 4, 4, 5, 5, 6, 7, 9]) : rng.range(3, 9);
  const masters = options.masters ?? drawnMasters;
  const nodeTimeoutMs = quick ? rng.pick([1000, 1500, 2000]) : rng.pick([1000, 2000, 3000, 5000]);
  const epochs = rng.chance(0.6) ? "distinct" : "zero";
  const meetTopology = rng.pick(["star", "chain", "random"] as const);
  const slotsBeforeMeet = rng.chance(0.7);
  const meetSpreadMs = rng.pick([0, 0, 200, 1000]);
  const announceIp = rng.chance(0.3);
  const hostnames = rng.chance(0.3);
  const clockSkewMs = rng.pick([0, 0, 50, 300]);
  const codecFraction = rng.pick([0, 0.1, 0.1, 0.3, 1]);
  const latencyMinMs = rng.range(0, 2);
  const latencyMaxMs = latencyMinMs + rng.pick([1, 5, 20]);

  const faultMs = quick ? rng.range(4, 10) * nodeTimeoutMs : rng.range(5, 15) * nodeTimeoutMs;
  const dropRate = rng.pick([0, 0, 0.005, 0.02, 0.05]);
  const drawnDropMode: DropMode = rng.chance(0.5) ? "reset" : "retransmit";
  const dropMode: DropMode = options.lossy ? "lossy" : drawnDropMode;
  const rtoMaxMs = Math.max(200, Math.floor(nodeTimeoutMs / 4));
  const duplicateRate = rng.pick([0, 0, 0.01, 0.05]);
  const spikeRate = rng.pick([0, 0.01, 0.05]);
  // Spikes stay well under the node timeout: a slower network is a partition, not a delay.
  const spikeMaxMs = Math.floor(nodeTimeoutMs / 5);
  const partitions = rng.pick([0, 1, 1, 2, 3]);
  const crashes = rng.pick([0, 0, 1, 1, 2]);
  // Leave one master beyond the quorum from 5 masters up: with exactly a quorum alive, a node that restarts
  // without the FAIL flag (saved without fsync, as in Redis) must collect every live master's report within
  // 2 x node timeout, while FAIL nodes reach gossip only by the random pick, so detection takes many seconds.
  const maxStopped = masters - quorumOf(masters) - (masters >= 5 ? 1 : 0);
  const stopped = Math.min(maxStopped, rng.pick([0, 0, 0, 1, 1, maxStopped]));

  return {
    seed,
    profile,
    masters,
    nodeTimeoutMs,
    epochs,
    meetTopology,
    slotsBeforeMeet,
    meetSpreadMs,
    announceIp,
    hostnames,
    clockSkewMs,
    codecFraction,
    latencyMinMs,
    latencyMaxMs,
    faultMs,
    dropRate,
    dropMode,
    rtoMaxMs,
    duplicateRate,
    spikeRate,
    spikeMaxMs,
    partitions,
    crashes,
    stopped,
    setupDeadlineMs: 20_000 + masters * 1_000,
    healDeadlineMs: Math.max(30_000, 12 * nodeTimeoutMs) + masters * 500,
    // Longer than a node timeout, so a failure detection already under way shows up inside it.
    settleMs: (quick ? 1 : 2) * nodeTimeoutMs + 500,
    failBoundMs: 2 * nodeTimeoutMs + 3_000,
  };
}

/** One line describing a scenario (printed with failures). */
export function describeScenario(s: Scenario): string {
  return [
    `masters=${s.masters}`,
    `timeout=${s.nodeTimeoutMs}`,
    `epochs=${s.epochs}`,
    `meet=${s.meetTopology}${s.slotsBeforeMeet ? "" : ",slots-after"}`,
    `announce-ip=${s.announceIp ? "yes" : "no"}`,
    `hostnames=${s.hostnames ? "yes" : "no"}`,
    `skew=${s.clockSkewMs}`,
    `codec=${s.codecFraction}`,
    `latency=${s.latencyMinMs}-${s.latencyMaxMs}`,
    `faults=${s.faultMs}ms`,
    `drop=${s.dropRate}(${s.dropMode})`,
    `dup=${s.duplicateRate}`,
    `spikes=${s.spikeRate}`,
    `partitions=${s.partitions}`,
    `crashes=${s.crashes}`,
    `stopped=${s.stopped}`,
  ].join(" ");
}
