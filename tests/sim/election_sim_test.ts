/**
 * The election simulator as a test: seeded runs of every kind (master crash, manual failover with FORCE and
 * TAKEOVER, a master cut off from the bus, replica migration) with up to 20% message loss must keep every
 * election invariant; a seed replays exactly; and runs with fencing switched off prove the fencing checks fail.
 */
import assert from "node:assert/strict";
import { ELECTION_INVARIANTS, type ElectionKind, type ElectionResult, runElectionSeed } from "./election_sim.ts";

/** A failing run's report: the scenario, each violation with the trace tail, and how to replay it. */
function report(seed: number, result: ElectionResult): string {
  const lines = [`seed ${seed}: ${JSON.stringify(result.scenario)}`];
  for (const v of result.violations) lines.push(`  ${v.invariant} at ${v.at} ms: ${v.detail}`, ...v.trace);
  lines.push(`  replay: deno run -A tests/sim/election_main.ts ${seed}`);
  return lines.join("\n");
}

function runSeeds(first: number, count: number): ElectionResult[] {
  const failures: string[] = [];
  const results: ElectionResult[] = [];
  for (let seed = first; seed < first + count; seed++) {
    const result = runElectionSeed(seed);
    results.push(result);
    if (result.violations.length > 0) failures.push(report(seed, result));
  }
  assert.equal(failures.length, 0, failures.join("\n\n"));
  return results;
}

Deno.test("election sim: seeds 1-40 keep every election invariant", () => {
  const results = runSeeds(1, 40);
  const kinds = new Set(results.map((r) => r.scenario.kind));
  for (const kind of ["crash", "manual", "force", "takeover", "partition", "migration"] as ElectionKind[]) {
    assert.ok(kinds.has(kind), `no ${kind} run among the seeds`);
  }
  assert.ok(results.some((r) => r.scenario.dropRate >= 0.2), "no run with 20% loss");
  // The bound holds with 20% loss (retransmitted) and Redis's election delays: such runs exist and fail over in time.
  const lossyBounded = results.filter((r) =>
    r.scenario.dropRate >= 0.2 && r.scenario.dropMode === "retransmit" && r.scenario.baseDelayMs >= 500 &&
    r.scenario.replicasPerMaster === 1 && r.scenario.kind !== "migration"
  );
  assert.ok(lossyBounded.length > 0, "no bounded run with 20% loss");
  for (const r of lossyBounded) {
    assert.ok(r.failoverMs !== null && r.failoverMs <= r.boundMs, `seed ${r.scenario.seed}`);
  }
  // Without loss every failover run promotes a replica; with loss a lost vote can push the retry (2 x the auth
  // timeout) past the end of the run, as it would in Redis, so most runs must still promote.
  const failovers = results.filter((r) => r.scenario.kind !== "migration");
  for (const r of failovers) {
    if (r.scenario.dropRate === 0) assert.ok(r.promotions.length >= 1, `seed ${r.scenario.seed}: nobody promoted`);
  }
  const promoted = failovers.filter((r) => r.promotions.length >= 1).length;
  assert.ok(promoted >= failovers.length * 0.9, `only ${promoted} of ${failovers.length} runs promoted a replica`);
});

Deno.test("election sim: seeds 41-80 keep every election invariant", () => void runSeeds(41, 40));

Deno.test("election sim: a seed replays exactly", () => {
  const a = runElectionSeed(4);
  const b = runElectionSeed(4);
  assert.deepEqual(a.promotions, b.promotions);
  assert.equal(a.failoverMs, b.failoverMs);
  assert.equal(a.lostWrites, b.lostWrites);
});

Deno.test("election sim: a manual failover loses no acknowledged write and is fast", () => {
  for (const seed of [101, 102, 103]) {
    const result = runElectionSeed(seed, { kind: "manual", override: { dropRate: 0 } });
    assert.deepEqual(result.violations, [], report(seed, result));
    assert.equal(result.lostWrites, 0);
    assert.ok(result.failoverMs !== null && result.failoverMs < 1000, `took ${result.failoverMs} ms`);
  }
});

Deno.test("election sim: with tuned delays a crashed master is replaced close to node_timeout", () => {
  const override = { baseDelayMs: 0, randomDelayMs: 100, rankDelayMs: 200, dropRate: 0, replicasPerMaster: 1 };
  for (const seed of [201, 202, 203]) {
    const result = runElectionSeed(seed, { kind: "crash", override });
    assert.deepEqual(result.violations, [], report(seed, result));
    const nt = result.scenario.nodeTimeoutMs;
    // PFAIL after node_timeout (plus up to half of it for the ping cadence), FAIL, then at most 100 ms of delay.
    assert.ok(result.failoverMs! <= 1.5 * nt + 600, `failover ${result.failoverMs} ms at node timeout ${nt}`);
  }
});

Deno.test("election sim: a master cut off from the bus fences itself; without the fence it loses writes", () => {
  let lostWithoutFence = 0;
  for (const seed of [301, 302, 303, 304]) {
    for (const kind of ["partition", "oneway"] as const) {
      const override = { dropRate: 0, replicasPerMaster: 1 };
      const fenced = runElectionSeed(seed, { kind, override });
      assert.deepEqual(fenced.violations, [], report(seed, fenced));
      assert.equal(fenced.lostWrites, 0);
      assert.ok(fenced.fencedAt !== null);
      // Control: the same run with the fence off. The check must notice the missing fence; a master that
      // still hears the others (one-way outage) never goes to cluster_state fail and loses writes.
      const open = runElectionSeed(seed, { kind, override: { ...override, fencePercent: 0 } });
      const names = open.violations.map((v) => v.invariant);
      assert.ok(names.includes(ELECTION_INVARIANTS.fencedFirst), names.join(", "));
      if (kind === "oneway") lostWithoutFence += open.lostWrites ?? 0;
    }
  }
  assert.ok(lostWithoutFence > 0);
});

Deno.test("election sim: two masters claiming a slot with one configEpoch are caught (invariant e2)", () => {
  const result = runElectionSeed(5, {
    kind: "crash",
    override: { dropRate: 0 },
    sabotage: (states) => {
      // Two live masters (the crashed one is gone): b claims one of a's slots with a's configEpoch.
      const [a, b] = [...states.entries()].filter(([name]) => name.startsWith("m")).map(([, state]) => state);
      const slot = a.slots.indexOf(a.myself);
      b.myself.configEpoch = a.myself.configEpoch;
      b.setSlotOwner(slot, b.myself);
    },
  });
  const names = result.violations.map((v) => v.invariant);
  assert.ok(names.includes(ELECTION_INVARIANTS.uniqueClaims), names.join(", "));
});
