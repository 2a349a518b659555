/**
 * The seeded cluster simulator as a test: 200 quick seeds (3–9 masters, short runs) and a few full
 * ones must keep every invariant; a seed replays exactly; and sabotaged runs prove the checks can fail.
 * A failing seed prints its report and the command that replays it (`deno task sim --seed S ...`).
 */
import assert from "node:assert/strict";
import { forgetNode } from "../../src/cluster/admin.ts";
import { NODE_FAIL } from "../../src/cluster/node.ts";
import { failureReport } from "./report.ts";
import { INVARIANTS, runSeed } from "./simulator.ts";
import type { Profile } from "./scenario.ts";

/**
 * Seeds that fail because of known state-machine bugs, reported to its owner: "profile:seed" -> the invariant
 * they break. They still run: breaking another invariant fails the test; passing prints a reminder to drop them.
 * Empty now: the last one (a peer's configEpoch saved without fsync) is fixed and has its own test below.
 */
const KNOWN_FAILING_SEEDS = new Map<string, string>();

function runBatch(profile: Profile, first: number, count: number): void {
  const reports: string[] = [];
  for (let seed = first; seed < first + count; seed++) {
    const result = runSeed(seed, { profile });
    const known = KNOWN_FAILING_SEEDS.get(`${profile}:${seed}`);
    const unexpected = result.violations.filter((v) => v.invariant !== known);
    if (known !== undefined && result.violations.length === 0) {
      console.log(`known-failing seed ${profile}:${seed} passes now: remove it from KNOWN_FAILING_SEEDS`);
    }
    if (unexpected.length > 0) reports.push(failureReport({ ...result, violations: unexpected }, { profile }));
  }
  assert.equal(reports.length, 0, `${reports.length} failing seed(s):\n${reports.join("\n\n")}`);
}

for (let batch = 0; batch < 4; batch++) {
  const first = 1 + batch * 50;
  Deno.test(`sim: quick seeds ${first}-${first + 49} keep every invariant`, () => runBatch("quick", first, 50));
}

Deno.test("sim: full-profile seeds 1-12 keep every invariant", () => runBatch("full", 1, 12));

Deno.test("sim: a seed replays exactly", () => {
  const a = runSeed(7, { profile: "quick" });
  const b = runSeed(7, { profile: "quick" });
  assert.equal(a.fingerprint, b.fingerprint);
  assert.equal(a.events, b.events);
  assert.deepEqual(a.network, b.network);
  const other = runSeed(8, { profile: "quick" });
  assert.notEqual(other.fingerprint, a.fingerprint);
});

Deno.test("sim: --nodes fixes the cluster size and the run still converges", () => {
  const result = runSeed(3, { profile: "quick", masters: 12 });
  assert.equal(result.scenario.masters, 12);
  assert.deepEqual(result.violations, []);
  assert.ok(result.healConvergedAt !== null);
});

Deno.test("sim: a clean run reports every invariant as held", () => {
  const result = runSeed(11, { profile: "quick" });
  assert.deepEqual(result.violations, []);
  assert.equal(result.held.length, Object.keys(INVARIANTS).length);
  assert.ok(result.setupConvergedAt !== null && result.healConvergedAt !== null);
  assert.ok(result.network.delivered > 100);
});

Deno.test("sim: a FAIL flag on a reachable node is caught as it happens (invariant 5)", () => {
  const result = runSeed(5, {
    profile: "quick",
    sabotage: {
      phase: "faults",
      run: (states) => {
        const n1 = states.get("n1")!;
        const victim = [...n1.nodes.values()].find((n) => n !== n1.myself)!;
        victim.flags |= NODE_FAIL;
      },
    },
  });
  const names = result.violations.map((v) => v.invariant);
  assert.ok(names.includes(INVARIANTS.noFalseFail), names.join(", "));
  const violation = result.violations.find((v) => v.invariant === INVARIANTS.noFalseFail)!;
  assert.match(violation.detail, /^n1 flags n\d FAIL/);
  assert.ok(violation.trace.some((line) => line.includes("sabotage at faults")));
});

Deno.test("sim: a node that forgets a peer breaks convergence (invariants 1 and 2)", () => {
  const result = runSeed(4, {
    profile: "quick",
    sabotage: {
      phase: "heal",
      run: (states, now) => {
        const n0 = states.get("n0")!;
        const peer = [...n0.nodes.values()].find((n) => n !== n0.myself)!;
        assert.equal(forgetNode(n0, peer.id, now), null);
      },
    },
  });
  const names = result.violations.map((v) => v.invariant);
  assert.ok(names.includes(INVARIANTS.views), names.join(", "));
  assert.ok(names.includes(INVARIANTS.slots), names.join(", "));
  assert.equal(result.healConvergedAt, null);
  const views = result.violations.find((v) => v.invariant === INVARIANTS.views)!;
  assert.match(views.detail, /n0 does not know n\d/);
});

// Known state-machine bug, reported to its owner; ignored so `deno test` stays green. processMessage (gossip.ts)
// saves a sender's newer configEpoch with persist() (no fsync), where Redis asks SAVE|FSYNC. A host crash then
// loses it; once that peer is stopped for good nobody tells the restarted node again, and two masters share a
// configEpoch in its view forever. Remove `ignore` once fixed. Other seeds: quick 280 640 799 904 932 1053.
Deno.test({
  name: "sim: a peer's configEpoch survives a host crash (quick seed 1027, once a bug: saved without fsync)",
  fn: () => {
    const result = runSeed(1027, { profile: "quick" });
    assert.deepEqual(result.violations.map((v) => v.invariant), []);
  },
});
