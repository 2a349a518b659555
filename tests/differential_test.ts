/**
 * Differential test: one tessera and one redis-server (standalone, same arguments) receive the
 * same commands; every raw reply must match byte for byte, or through a named normaliser.
 * Scripts: tests/differential/*.txt (RESP2 and RESP3 passes). Random: seeded sequences from
 * tests/differential/random_commands.ts; `DIFF_SEEDS=7,8 deno task test tests/differential_test.ts`
 * replays seeds. `DIFF_SELF=1` compares two redis-servers (checks the scripts are deterministic);
 * `DIFF_REPORT=file` writes every mismatch to a file.
 */
import assert from "node:assert/strict";
import { requireTool, type ServerProcess } from "./helpers/servers.ts";
import { serverTest, type ServerTestContext } from "./helpers/test.ts";
import { diffSeeds, DiffSession, loadScripts, showArgs } from "./helpers/diff.ts";
import { randomCommands } from "./differential/random_commands.ts";

/** Arguments both servers get (persistence off; redis's helper adds --dir and --appendonly no). */
const SERVER_ARGS = ["--save", ""];
const SCRIPTS_DIR = new URL("./differential/", import.meta.url);
/** Fixed seeds keep the suite deterministic; DIFF_SEEDS replays or explores others. */
const DEFAULT_SEEDS = [1, 2, 3, 4];
/** Top-level commands per seed (a transaction counts as one). */
const COMMANDS_PER_SEED = 500;
/** Mismatch details printed per failing run (the rest are counted). */
const MAX_SHOWN_FAILURES = 60;
/** Commands shown before the first mismatch of a random run. */
const RANDOM_CONTEXT = 12;

async function startPair(t: ServerTestContext): Promise<{ tessera: ServerProcess; redis: ServerProcess }> {
  const self = Deno.env.get("DIFF_SELF") === "1";
  const [tessera, redis] = await Promise.all([
    self ? t.redis(SERVER_ARGS) : t.tessera(SERVER_ARGS),
    t.redis(SERVER_ARGS),
  ]);
  return { tessera, redis };
}

/**
 * The failure message: failing cases, then the first mismatches. `DIFF_REPORT=file` appends
 * every mismatch to that file as well.
 */
function report(title: string, failedCases: string[], failures: string[]): string {
  const file = Deno.env.get("DIFF_REPORT");
  if (file) {
    Deno.writeTextFileSync(file, `## ${title}\n${failedCases.join("\n")}\n\n${failures.join("\n")}\n\n`, {
      append: true,
    });
  }
  const shown = failures.slice(0, MAX_SHOWN_FAILURES).join("\n");
  const more = failures.length > MAX_SHOWN_FAILURES ? `\n... and ${failures.length - MAX_SHOWN_FAILURES} more` : "";
  return `${title}: ${failedCases.length} failing case(s):\n  ${failedCases.join("\n  ")}\n\n${shown}${more}`;
}

for (const resp of [2, 3] as const) {
  serverTest(`differential: scripted cases, RESP${resp}`, async (t) => {
    if (!requireTool("redis-server")) return;
    const cases = await loadScripts(SCRIPTS_DIR);
    assert.ok(cases.length > 0, "no differential scripts found");
    const { tessera, redis } = await startPair(t);
    const session = new DiffSession(tessera.port, redis.port, resp);
    t.defer(() => session.close());
    const failed = await session.runCases(cases);
    if (failed.length > 0) assert.fail(report(`RESP${resp} scripts`, failed, session.failures));
  }, 120_000);
}

serverTest("differential: random command sequences", async (t) => {
  if (!requireTool("redis-server")) return;
  const { tessera, redis } = await startPair(t);
  const failed: string[] = [];
  const details: string[] = [];
  const runs = diffSeeds(DEFAULT_SEEDS).map((seed) => ({ seed, resp: 2 as 2 | 3 }));
  // The first seed once more under RESP3.
  runs.push({ seed: runs[0].seed, resp: 3 });
  for (const { seed, resp } of runs) {
    const session = new DiffSession(tessera.port, redis.port, resp);
    await session.send("a", ["FLUSHALL"], undefined, `seed ${seed} (setup)`);
    const history: string[] = [];
    let firstFailureShown = false;
    const steps = randomCommands(seed, COMMANDS_PER_SEED);
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      const before = session.failures.length;
      await session.send(step.conn, step.args, step.normaliser, `seed ${seed} RESP${resp} #${i}`);
      if (session.failures.length !== before && !firstFailureShown) {
        firstFailureShown = true;
        session.failures[before] = `  (previous commands:\n    ${history.slice(-RANDOM_CONTEXT).join("\n    ")})\n` +
          session.failures[before];
      }
      history.push(`@${step.conn} ${showArgs(step.args)}`);
    }
    session.close();
    if (session.failures.length > 0) {
      failed.push(
        `seed ${seed} RESP${resp}: ${session.failures.length} mismatch(es); replay: DIFF_SEEDS=${seed} deno task test tests/differential_test.ts`,
      );
      details.push(...session.failures.slice(0, 5));
    }
  }
  if (failed.length > 0) assert.fail(report("random sequences", failed, details));
}, 120_000);
