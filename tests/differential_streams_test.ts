/**
 * Differential tests of the stream commands against redis-server: the scripted cases of
 * tests/differential/streams.txt (RESP2 and RESP3), and seeded random XADD / XDEL / XTRIM / XRANGE /
 * group sequences whose replies, XINFO STREAM and DEBUG DIGEST-VALUE must match byte for byte.
 * `DIFF_SEEDS=7,8 deno test -A tests/differential_streams_test.ts` replays seeds.
 */
import { differentialScriptTest, diffRuns, DiffSession } from "./helpers/diff.ts";
import { requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import { Rng } from "./differential/random_commands.ts";
import assert from "node:assert/strict";

const SCRIPT = new URL("./differential/streams.txt", import.meta.url);
differentialScriptTest(
  "streams differential script",
  "streams.txt",
  await Deno.readTextFile(SCRIPT),
  ["--save", "", "--enable-debug-command", "yes"],
);

const SERVER_ARGS = ["--save", "", "--enable-debug-command", "yes", "--stream-node-max-entries", "5"];
const DEFAULT_SEEDS = [21, 22, 23];
const COMMANDS_PER_SEED = 800;
const KEYS = ["x0", "x1", "{x}a"];
const FIELDS = ["f", "g", "field", "1", "-7", "", "\x00\xff", "long-" + "v".repeat(40)];

type Step = { conn: string; args: string[] };

/** Random stream commands over a few keys; IDs grow through small explicit steps. */
export function randomStreamCommands(seed: number, count: number): Step[] {
  const r = new Rng(seed);
  const steps: Step[] = [];
  let ms = 1;
  const id = () => {
    const pick = r.int(0, 9);
    if (pick < 5) return `${ms}-${r.int(0, 20)}`;
    if (pick < 7) return `${ms + r.int(-2, 2)}-*`;
    if (pick < 9) return String(ms + r.int(-1, 3));
    // The largest ID exhausts a stream for good: rare.
    return r.chance(0.02) ? "18446744073709551615-18446744073709551615" : r.pick(["0-0", "0-1", "bad"]);
  };
  const anyId = () =>
    r.pick(["-", "+", `${r.int(0, ms + 1)}`, `${r.int(0, ms + 1)}-${r.int(0, 20)}`, `(${r.int(0, ms)}`]);
  const fields = () => {
    const out: string[] = [];
    for (let i = r.int(1, 3); i > 0; i--) out.push(r.pick(FIELDS), r.pick(FIELDS));
    return out;
  };
  const key = () => r.pick(KEYS);
  for (let i = 0; i < count; i++) {
    const w = r.int(0, 99);
    const a = (args: string[]) => steps.push({ conn: "a", args });
    if (w < 34) {
      if (r.chance(0.3)) ms += r.int(1, 3);
      const trim: string[] = [];
      if (r.chance(0.15)) {
        trim.push(r.pick(["MAXLEN", "MINID"]), r.pick(["~", "=", ""]).trim());
        trim.push(trim[0] === "MAXLEN" ? String(r.int(0, 12)) : `${r.int(0, ms)}`);
        if (trim[1] === "") trim.splice(1, 1);
      }
      a(["XADD", key(), ...trim, id(), ...fields()]);
    } else if (w < 40) a(["XDEL", key(), `${r.int(0, ms)}-${r.int(0, 20)}`, `${r.int(0, ms)}-${r.int(0, 20)}`]);
    else if (w < 46) {
      const strategy = r.pick(["MAXLEN", "MINID"]);
      const approx = r.pick(["~", "=", ""]);
      const arg = strategy === "MAXLEN" ? String(r.int(0, 15)) : `${r.int(0, ms)}-${r.int(0, 5)}`;
      a(["XTRIM", key(), strategy, ...(approx ? [approx] : []), arg]);
    } else if (w < 56) {
      a([
        r.pick(["XRANGE", "XREVRANGE"]),
        key(),
        anyId(),
        anyId(),
        ...(r.chance(0.3) ? ["COUNT", String(r.int(0, 4))] : []),
      ]);
    } else if (w < 60) a(["XLEN", key()]);
    else if (w < 64) a(["XINFO", "STREAM", key()]);
    else if (w < 67) {
      a([
        "XGROUP",
        "CREATE",
        key(),
        r.pick(["g", "h"]),
        r.pick(["0", "$", `${r.int(0, ms)}`]),
        ...(r.chance(0.5) ? ["MKSTREAM"] : []),
      ]);
    } else if (w < 75) {
      a([
        "XREADGROUP",
        "GROUP",
        r.pick(["g", "h"]),
        r.pick(["alice", "bob"]),
        ...(r.chance(0.3) ? ["COUNT", "2"] : []),
        ...(r.chance(0.1) ? ["NOACK"] : []),
        "STREAMS",
        key(),
        r.chance(0.7) ? ">" : "0",
      ]);
    } else if (w < 79) {
      a(["XACK", key(), r.pick(["g", "h"]), `${r.int(0, ms)}-${r.int(0, 20)}`, anyId().replace("(", "")]);
    } else if (w < 82) a(["XPENDING", key(), r.pick(["g", "h"])]);
    else if (w < 85) {
      a([
        "XCLAIM",
        key(),
        r.pick(["g", "h"]),
        r.pick(["alice", "carol"]),
        "0",
        `${r.int(0, ms)}-${r.int(0, 20)}`,
        "JUSTID",
      ]);
    } else if (w < 88) {
      a([
        "XAUTOCLAIM",
        key(),
        r.pick(["g", "h"]),
        r.pick(["bob", "carol"]),
        "0",
        "0",
        "COUNT",
        String(r.int(1, 4)),
        "JUSTID",
      ]);
    } else if (w < 92) a(["XINFO", "GROUPS", key()]);
    else if (w < 94) a(["XREAD", "COUNT", String(r.int(1, 3)), "STREAMS", key(), key(), anyId().replace("(", ""), "$"]);
    else if (w < 96) a(["XSETID", key(), `${ms + r.int(-1, 1)}-${r.int(0, 30)}`]);
    else if (w < 98) a(["DEBUG", "DIGEST-VALUE", key()]);
    else if (r.chance(0.5)) a(["DEL", key()]);
    else {a([
        "CONFIG",
        "SET",
        r.pick(["stream-node-max-bytes", "stream-node-max-entries"]),
        r.pick(["0", "1", "3", "60", "200", "4096"]),
      ]);}
  }
  return steps;
}

serverTest("streams differential: random command sequences", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(SERVER_ARGS), t.redis(SERVER_ARGS)]);
  const failed: string[] = [];
  const details: string[] = [];
  for (const { seed, resp } of diffRuns(DEFAULT_SEEDS)) {
    const session = new DiffSession(tessera.port, redis.port, resp);
    await session.send("a", ["FLUSHALL"], undefined, `seed ${seed} (setup)`);
    const steps = randomStreamCommands(seed, COMMANDS_PER_SEED);
    for (let i = 0; i < steps.length; i++) {
      await session.sendTracked(steps[i].conn, steps[i].args, undefined, `seed ${seed} RESP${resp} #${i}`);
    }
    for (const k of KEYS) {
      await session.send("a", ["XRANGE", k, "-", "+"], undefined, `seed ${seed} final`);
      await session.send("a", ["XINFO", "STREAM", k], undefined, `seed ${seed} final`);
      await session.send("a", ["DEBUG", "DIGEST-VALUE", k], undefined, `seed ${seed} final`);
    }
    session.close();
    if (session.failures.length > 0) {
      failed.push(`seed ${seed} RESP${resp}: ${session.failures.length} mismatch(es); replay with DIFF_SEEDS=${seed}`);
      details.push(...session.failures.slice(0, 5));
    }
  }
  assert.deepEqual(failed, [], details.join("\n"));
}, 120_000);
