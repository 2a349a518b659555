/**
 * Runs the election simulator from the command line: `deno run -A tests/sim/election_main.ts [seed...]`
 * (seeds 1-100 by default). One line per run; a failing run prints its violations with the trace tail.
 * `ECHO=1` prints every trace line as it happens (for replaying one seed).
 */
import { runElectionSeed } from "./election_sim.ts";

const DEFAULT_SEEDS = 100;
const TRACE_LINES = 30;

const seeds = Deno.args.length > 0 ? Deno.args.map(Number) : Array.from({ length: DEFAULT_SEEDS }, (_, i) => i + 1);
let failed = 0;
for (const seed of seeds) {
  const started = performance.now();
  const r = runElectionSeed(seed, { echo: Deno.env.get("ECHO") === "1" });
  const s = r.scenario;
  const promotions = r.promotions.map((p) => `${p.name}@${p.epoch}`).join(",") || "none";
  console.log(
    `seed ${seed} ${s.kind} masters=${s.masters} replicas=${s.replicasPerMaster} timeout=${s.nodeTimeoutMs} ` +
      `drop=${s.dropRate}(${s.dropMode}) delays=${s.baseDelayMs}/${s.randomDelayMs}/${s.rankDelayMs} ` +
      `fence=${s.fencePercent}% -> failover ${r.failoverMs} ms (bound ${r.boundMs}) lost ${r.lostWrites} ` +
      `promoted ${promotions} [${(performance.now() - started).toFixed(0)} ms]`,
  );
  for (const v of r.violations) {
    console.log(`  VIOLATION ${v.invariant} at ${v.at} ms: ${v.detail}`);
    for (const line of v.trace.slice(-TRACE_LINES)) console.log(`    ${line}`);
  }
  if (r.violations.length > 0) failed++;
}
console.log(`${seeds.length - failed}/${seeds.length} runs kept every invariant`);
if (failed > 0) Deno.exit(1);
