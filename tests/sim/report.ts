/**
 * How the simulator reports a run: the failure report (seed, scenario, each violated invariant with its
 * trace tail, and the command that replays it) and a one-line summary.
 */
import type { RunResult } from "./simulator.ts";
import { describeScenario, type ScenarioOptions } from "./scenario.ts";

/** The command that replays a seed with the same options. */
export function replayCommand(seed: number, options: ScenarioOptions): string {
  return `deno task sim --seed ${seed} --profile ${options.profile ?? "full"}` +
    (options.masters === undefined ? "" : ` --nodes ${options.masters}`) + (options.lossy ? " --lossy" : "");
}

/** The report of a failing run: seed, scenario, each violated invariant with its details and trace tail. */
export function failureReport(result: RunResult, options: ScenarioOptions): string {
  const lines = [`FAIL seed ${result.seed}: ${describeScenario(result.scenario)}`];
  for (const v of result.violations) {
    lines.push(`  invariant ${v.invariant} at ${(v.at / 1000).toFixed(3)}s`);
    lines.push(`    ${v.detail.split("\n").join("\n    ")}`);
    lines.push(`    trace tail:`);
    for (const line of v.trace) lines.push(`      ${line}`);
  }
  if (result.scenario.dropMode === "lossy") {
    lines.push("  note: lossy mode loses messages on live connections, which TCP never does; Redis does not recover");
    lines.push("        from a lost PONG while the peer's PINGs keep the link up, so (1) failures here are expected.");
  }
  lines.push(`  replay: ${replayCommand(result.seed, options)}`);
  return lines.join("\n");
}

/** One line about a run: outcome, convergence times, and what the network did. */
export function runSummary(result: RunResult): string {
  const secs = (ms: number | null) => ms === null ? "-" : `${(ms / 1000).toFixed(1)}s`;
  const n = result.network;
  return `seed ${result.seed}: ${result.violations.length === 0 ? "ok" : "FAIL"} ` +
    `(formed ${secs(result.setupConvergedAt)}, converged ${secs(result.healConvergedAt)}, ` +
    `virtual ${secs(result.virtualMs)}, ${result.events} events, ${n.delivered} delivered, ${n.encoded} encoded, ` +
    `${n.dropped} dropped, ${n.duplicated} duplicated, ${n.resets} resets)`;
}
