/**
 * `deno task sim`: runs the cluster simulator over many seeds and prints every failing seed with the
 * invariant, the details and a trace tail; `--seed S` replays one seed with its whole trace.
 *
 *   deno task sim [--seeds N] [--start S0] [--nodes M] [--profile quick|full]
 *   deno task sim --seed S [--nodes M] [--profile quick|full] [--verbose]
 */
import { runSeed } from "./simulator.ts";
import { describeScenario, type Profile, type ScenarioOptions } from "./scenario.ts";
import { failureReport, runSummary } from "./report.ts";

/** Parsed command line. */
interface Args {
  seeds: number;
  start: number;
  seed: number | null;
  nodes: number | undefined;
  profile: Profile;
  verbose: boolean;
  lossy: boolean;
  tail: number;
}

const USAGE = "usage: deno task sim [--seeds N] [--start S0] [--nodes M] [--profile quick|full] [--lossy] " +
  "[--seed S [--verbose]] [--tail LINES]";

function parseArgs(argv: string[]): Args {
  const args: Args = {
    seeds: 100,
    start: 1,
    seed: null,
    nodes: undefined,
    profile: "full",
    verbose: false,
    lossy: false,
    tail: 40,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer`);
      return n;
    };
    switch (flag) {
      case "--seeds":
        args.seeds = value();
        break;
      case "--start":
        args.start = value();
        break;
      case "--seed":
        args.seed = value();
        break;
      case "--nodes":
        args.nodes = value();
        if (args.nodes < 3 || args.nodes > 200) throw new Error("--nodes must be between 3 and 200");
        break;
      case "--profile": {
        const p = argv[++i];
        if (p !== "quick" && p !== "full") throw new Error("--profile is quick or full");
        args.profile = p;
        break;
      }
      case "--verbose":
        args.verbose = true;
        break;
      case "--lossy":
        args.lossy = true;
        break;
      case "--tail":
        args.tail = value();
        break;
      case "--help":
      case "-h":
        console.log(USAGE);
        Deno.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${flag}\n${USAGE}`);
    }
  }
  return args;
}

function main(): number {
  let args: Args;
  try {
    args = parseArgs(Deno.args);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const scenario: ScenarioOptions = { profile: args.profile, masters: args.nodes, lossy: args.lossy };
  if (args.seed !== null) {
    const result = runSeed(args.seed, { ...scenario, echo: true, verbose: args.verbose });
    console.log(`scenario: ${describeScenario(result.scenario)}`);
    console.log(runSummary(result));
    for (const held of result.held) console.log(`  held: ${held}`);
    if (result.violations.length > 0) console.log(failureReport(result, scenario));
    return result.violations.length === 0 ? 0 : 1;
  }
  const failing: number[] = [];
  const started = performance.now();
  for (let seed = args.start; seed < args.start + args.seeds; seed++) {
    const result = runSeed(seed, { ...scenario, traceTail: args.tail });
    if (result.violations.length > 0) {
      failing.push(seed);
      console.log(failureReport(result, scenario));
    }
  }
  const elapsed = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`${args.seeds - failing.length} passed, ${failing.length} failed (${elapsed}s)`);
  if (failing.length > 0) console.log(`failing seeds: ${failing.join(" ")}`);
  return failing.length === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(main());
