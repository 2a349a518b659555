/**
 * Differential testing: send the same commands to tessera and to redis-server and compare the
 * raw reply bytes. Scripts are text (redis-cli quoting); replies that legitimately differ are
 * compared through a named normaliser, never skipped.
 */
import assert from "node:assert/strict";
import { requireTool } from "./servers.ts";
import { serverTest } from "./test.ts";
import { RespConnection } from "../../src/resp/connection.ts";
import { splitArgs } from "../../src/resp/split_args.ts";
import { utf8ToLatin1 } from "../../src/resp/latin1.ts";

/** How long one reply may take before the step counts as failed (a hang must not stall the suite). */
const REPLY_TIMEOUT_MS = 3000;

/**
 * Makes two raw replies comparable: returns them rewritten (for example both sorted, or the
 * tessera one replaced by the redis one when both are within a tolerance). Equal output = pass.
 */
export type Normaliser = (tessera: string, redis: string) => [string, string];

/** Splits a RESP2/RESP3 aggregate reply into its header and the raw text of each element. */
function splitAggregate(raw: string): { header: string; items: string[] } | null {
  const first = raw.indexOf("\r\n");
  if (first === -1 || !"*~%>".includes(raw[0]) || raw[1] === "-") return null;
  const header = raw.slice(0, first + 2);
  const count = Number(raw.slice(1, first)) * (raw[0] === "%" ? 2 : 1);
  const items: string[] = [];
  let at = first + 2;
  for (let i = 0; i < count; i++) {
    const end = skipReply(raw, at);
    items.push(raw.slice(at, end));
    at = end;
  }
  return { header, items };
}

/** Returns the offset just past the reply starting at `at`. */
function skipReply(raw: string, at: number): number {
  const lineEnd = raw.indexOf("\r\n", at);
  const type = raw[at];
  const head = raw.slice(at + 1, lineEnd);
  if ("$=!".includes(type)) {
    const len = Number(head);
    return len < 0 ? lineEnd + 2 : lineEnd + 2 + len + 2;
  }
  if ("*~>%|".includes(type)) {
    const n = Number(head);
    let next = lineEnd + 2;
    for (let i = 0; i < (n < 0 ? 0 : type === "%" || type === "|" ? 2 * n : n); i++) next = skipReply(raw, next);
    return next;
  }
  return lineEnd + 2;
}

/** Whether both replies are integers within `tolerance` of each other (negative values exact). */
function intsClose(a: string, b: string, tolerance: number): boolean {
  const m = /^:(-?\d+)\r\n$/;
  const ma = m.exec(a);
  const mb = m.exec(b);
  if (ma === null || mb === null) return false;
  const x = Number(ma[1]);
  const y = Number(mb[1]);
  if (x < 0 || y < 0) return x === y;
  return Math.abs(x - y) <= tolerance;
}

/** The named normalisers scripts may use (`~name COMMAND ...`). */
export const NORMALISERS: Record<string, Normaliser> = {
  /** Order unspecified by Redis (KEYS, SMEMBERS): compare the elements sorted. */
  sorted(t, r) {
    const sort = (raw: string) => {
      const agg = splitAggregate(raw);
      return agg === null ? raw : agg.header + agg.items.slice().sort().join("");
    };
    return [sort(t), sort(r)];
  },
  /** TTL in seconds: the clock moves between the two servers' replies; allow 1 s. */
  ttl(t, r) {
    return intsClose(t, r, 1) ? [r, r] : [t, r];
  },
  /**
   * OBJECT IDLETIME: both servers read a per-second LRU clock refreshed by their cron, so each can lag a
   * second behind, more on a loaded machine; allow 2 s.
   */
  idletime(t, r) {
    return intsClose(t, r, 2) ? [r, r] : [t, r];
  },
  /** PTTL in milliseconds: allow 250 ms of drift between the two servers. */
  pttl(t, r) {
    return intsClose(t, r, 250) ? [r, r] : [t, r];
  },
  /** EXPIRETIME after a relative EXPIRE: "now" differs by a tick between the servers; allow 1 s. */
  expiretime(t, r) {
    return intsClose(t, r, 1) ? [r, r] : [t, r];
  },
  /** PEXPIRETIME after a relative PEXPIRE: allow 250 ms. */
  pexpiretime(t, r) {
    return intsClose(t, r, 250) ? [r, r] : [t, r];
  },
  /**
   * Stream delivery, idle and seen times (XPENDING's idle, XINFO CONSUMERS' idle, XINFO STREAM
   * FULL's delivery and seen times) depend on when each server answered: mask exactly those.
   */
  xtimes(t, r) {
    const mask = (raw: string) =>
      raw
        .replace(/(\$4\r\nidle\r\n:)\d+/g, "$1<t>")
        .replace(/(\$9\r\nseen-time\r\n:)\d+/g, "$1<t>")
        .replace(/(\*4\r\n\$\d+\r\n\d+-\d+\r\n\$\d+\r\n[^\r]*\r\n:)\d+/g, "$1<t>")
        .replace(/(\*3\r\n\$\d+\r\n\d+-\d+\r\n:)\d+/g, "$1<t>");
    return [mask(t), mask(r)];
  },
  /** HELLO: the client id differs between the two servers; everything else must match. */
  hello(t, r) {
    const mask = (raw: string) => raw.replace(/(\$2\r\nid\r\n:)\d+/, "$1<id>");
    return [mask(t), mask(r)];
  },
};

/** One command of a script. */
export interface ScriptStep {
  line: number;
  /** Connection name (`a` unless the line starts with `@name`). */
  conn: string;
  args: string[];
  normaliser?: string;
  /** `!sleep MS` lines: wait instead of sending. */
  sleepMs?: number;
}

/** A named group of steps run on fresh connections after FLUSHALL. */
export interface ScriptCase {
  name: string;
  file: string;
  steps: ScriptStep[];
}

/**
 * Parses a differential script. Syntax, one item per line:
 * `# comment`; `=== case name` starts a case; `!sleep MS`; otherwise a command in redis-cli
 * quoting (`"\x00"` escapes), optionally prefixed by `@conn` and/or `~normaliser`.
 * Text is UTF-8 in the file and sent as its bytes.
 */
export function parseScript(file: string, text: string): ScriptCase[] {
  const cases: ScriptCase[] = [];
  let current: ScriptCase | null = null;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("===")) {
      current = { name: line.slice(3).trim(), file, steps: [] };
      cases.push(current);
      continue;
    }
    if (current === null) throw new Error(`${file}:${i + 1}: command before the first "=== case"`);
    if (line.startsWith("!sleep ")) {
      current.steps.push({ line: i + 1, conn: "a", args: [], sleepMs: Number(line.slice(7)) });
      continue;
    }
    const args = splitArgs(utf8ToLatin1(line));
    if (args === null) throw new Error(`${file}:${i + 1}: unbalanced quotes`);
    let conn = "a";
    let normaliser: string | undefined;
    while (args.length > 0 && (args[0].startsWith("@") || args[0].startsWith("~"))) {
      const tag = args.shift()!;
      if (tag[0] === "@") conn = tag.slice(1);
      else normaliser = tag.slice(1);
    }
    if (normaliser !== undefined && NORMALISERS[normaliser] === undefined) {
      throw new Error(`${file}:${i + 1}: unknown normaliser ${normaliser}`);
    }
    current.steps.push({ line: i + 1, conn, args, normaliser });
  }
  return cases;
}

/** Reads every `*.txt` script of a folder, sorted by name. */
export async function loadScripts(dir: URL): Promise<ScriptCase[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile && e.name.endsWith(".txt")) names.push(e.name);
  names.sort();
  const cases: ScriptCase[] = [];
  for (const name of names) cases.push(...parseScript(name, await Deno.readTextFile(new URL(name, dir))));
  return cases;
}

/** Quotes a latin1 argument for failure messages (printable as is, the rest escaped). */
export function showArgs(args: string[]): string {
  return args.map((a) => /^[\x21-\x7e]+$/.test(a) && !a.includes('"') ? a : JSON.stringify(a)).join(" ");
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error(`${what}: no reply in ${ms} ms`)), ms)),
  ]);
}

async function callRaw(conn: RespConnection, args: string[], what: string): Promise<string> {
  try {
    return await withTimeout(conn.callRaw(...args), REPLY_TIMEOUT_MS, what);
  } catch (err) {
    return `<${what} failed: ${(err as Error).message}>`;
  }
}

/** Result of one compared command. */
export interface StepResult {
  same: boolean;
  tessera: string;
  redis: string;
}

/** A pair of connection sets (tessera, redis) speaking one protocol version. */
/** Commands of context shown before a random sequence's first mismatch, and the characters kept of each. */
const TRACKED_CONTEXT_COMMANDS = 12;
const TRACKED_COMMAND_CHARS = 200;

export class DiffSession {
  private readonly pairs = new Map<string, { t: RespConnection; r: RespConnection }>();
  /** Mismatches recorded while the session ran (one line block each). */
  readonly failures: string[] = [];

  constructor(readonly tesseraPort: number, readonly redisPort: number, readonly resp: 2 | 3 = 2) {}

  /** The named connection pair, opened (and switched to RESP3 if asked) on first use. */
  async pair(name: string): Promise<{ t: RespConnection; r: RespConnection }> {
    let p = this.pairs.get(name);
    if (p === undefined) {
      p = { t: await RespConnection.connect(this.tesseraPort), r: await RespConnection.connect(this.redisPort) };
      this.pairs.set(name, p);
      if (this.resp === 3) await this.send(name, ["HELLO", "3"], "hello", "(setup)");
    }
    return p;
  }

  /** Commands sent with `sendTracked`, shown before the first mismatch of a random sequence. */
  private readonly history: string[] = [];
  private annotated = false;

  /** Sends one step of a random sequence: the first mismatch is prefixed with the commands that led to it. */
  async sendTracked(conn: string, args: string[], normaliser: string | undefined, where: string): Promise<void> {
    const before = this.failures.length;
    await this.send(conn, args, normaliser, where);
    if (this.failures.length !== before && !this.annotated) {
      this.annotated = true;
      const context = this.history.slice(-TRACKED_CONTEXT_COMMANDS).join("\n    ");
      this.failures[before] = `  (previous commands:\n    ${context})\n` + this.failures[before];
    }
    this.history.push(`@${conn} ${showArgs(args)}`.slice(0, TRACKED_COMMAND_CHARS));
  }

  /** Sends a command to both servers without comparing: for replies the caller checks itself (random picks). */
  async sendUnchecked(conn: string, args: string[]): Promise<{ tessera: string; redis: string }> {
    const p = await this.pair(conn);
    const [tessera, redis] = await Promise.all([p.t.callRaw(...args), p.r.callRaw(...args)]);
    return { tessera, redis };
  }

  /** Records a mismatch the caller found in replies of `sendUnchecked`. */
  recordMismatch(where: string, args: string[], why: string, tessera: string, redis: string): void {
    this.failures.push(
      `${where} ${showArgs(args)}: ${why}\n    tessera: ${JSON.stringify(tessera)}\n    redis:   ${
        JSON.stringify(redis)
      }`,
    );
  }

  /** Adds this session's outcome to a random test's report; `seed` names the replay. */
  report(seed: number, failed: string[], details: string[], shown = 5): void {
    if (this.failures.length === 0) return;
    failed.push(`seed ${seed} RESP${this.resp}: ${this.failures.length} mismatch(es); replay: DIFF_SEEDS=${seed}`);
    details.push(...this.failures.slice(0, shown));
  }

  /** Sends one command to both servers and compares the raw replies (through a normaliser if named). */
  async send(conn: string, args: string[], normaliser?: string, where = ""): Promise<StepResult> {
    const p = await this.pair(conn);
    const [tessera, redis] = await Promise.all([
      callRaw(p.t, args, "tessera"),
      callRaw(p.r, args, "redis"),
    ]);
    let [nt, nr] = [tessera, redis];
    if (normaliser !== undefined) [nt, nr] = NORMALISERS[normaliser](tessera, redis);
    const same = nt === nr;
    if (!same) {
      this.failures.push(
        `${where} [RESP${this.resp}] @${conn} ${showArgs(args)}${normaliser ? ` (~${normaliser})` : ""}\n` +
          `    tessera: ${JSON.stringify(tessera)}\n    redis:   ${JSON.stringify(redis)}`,
      );
      // A dead tessera connection would fail every later step: reopen it.
      if (tessera.startsWith("<tessera failed")) this.drop(conn);
    }
    return { same, tessera, redis };
  }

  /** Closes one connection pair (the next use reopens it). */
  drop(name: string): void {
    const p = this.pairs.get(name);
    if (p === undefined) return;
    p.t.close();
    p.r.close();
    this.pairs.delete(name);
  }

  /** Closes every connection. */
  close(): void {
    for (const name of [...this.pairs.keys()]) this.drop(name);
  }

  /**
   * Runs script cases, each on fresh connections after FLUSHALL; returns the names of cases
   * with a mismatch (details in `failures`).
   */
  async runCases(cases: ScriptCase[]): Promise<string[]> {
    const failed: string[] = [];
    for (const c of cases) {
      const before = this.failures.length;
      this.close();
      await this.send("a", ["FLUSHALL"], undefined, `${c.file} "${c.name}" (setup)`);
      for (const step of c.steps) {
        if (step.sleepMs !== undefined) {
          await new Promise((r) => setTimeout(r, step.sleepMs));
          continue;
        }
        await this.send(step.conn, step.args, step.normaliser, `${c.file}:${step.line} "${c.name}"`);
      }
      if (this.failures.length !== before) failed.push(`${c.file} "${c.name}"`);
    }
    this.close();
    return failed;
  }
}

/** Sends each command on one fresh connection per server; returns the raw replies of both. */
export async function rawReplies(
  tesseraPort: number,
  redisPort: number,
  commands: string[][],
): Promise<{ tessera: string[]; redis: string[] }> {
  const run = async (port: number) => {
    const conn = await RespConnection.connect(port);
    const out: string[] = [];
    try {
      for (const cmd of commands) out.push(await conn.callRaw(...cmd));
    } finally {
      conn.close();
    }
    return out;
  };
  return { tessera: await run(tesseraPort), redis: await run(redisPort) };
}

/** Replaces values that legitimately differ between servers: peer ports and the HELLO client id. */
export function normalize(raw: string): string {
  return raw.replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:PORT").replace(/\$2\r\nid\r\n:\d+\r\n/, "$$2\r\nid\r\n:ID\r\n");
}

/**
 * Defines two tests (RESP2 and RESP3) that run a differential script against a fresh tessera and a
 * fresh redis-server started with the same `args`; every case must reply byte for byte alike.
 */
export function differentialScriptTest(name: string, file: string, script: string, args: string[] = ["--save", ""]) {
  for (const resp of [2, 3] as const) {
    serverTest(`${name}, RESP${resp}`, async (t) => {
      if (!requireTool("redis-server")) return;
      const [tessera, redis] = await Promise.all([t.tessera(args), t.redis(args)]);
      const session = new DiffSession(tessera.port, redis.port, resp);
      t.defer(() => session.close());
      const failed = await session.runCases(parseScript(file, script));
      assert.deepEqual(failed, [], session.failures.join("\n"));
    });
  }
}

/** Asserts that both servers gave the same raw reply to every command (rawReplies' result). */
export function assertSameReplies(r: { tessera: string[]; redis: string[] }, commands: string[][]): void {
  for (let i = 0; i < commands.length; i++) assert.equal(r.tessera[i], r.redis[i], commands[i].join(" "));
}

/** The seeds of a seeded random differential test: `DIFF_SEEDS=1,2,3` replays chosen ones, else the defaults. */
export function diffSeeds(defaults: number[]): number[] {
  const env = Deno.env.get("DIFF_SEEDS");
  return env ? env.split(",").map((s) => Number(s.trim())) : defaults;
}

/** The runs of a random differential test: every seed in RESP2, then the first one again in RESP3. */
export function diffRuns(defaults: number[]): { seed: number; resp: 2 | 3 }[] {
  const runs: { seed: number; resp: 2 | 3 }[] = diffSeeds(defaults).map((seed) => ({ seed, resp: 2 }));
  runs.push({ seed: runs[0].seed, resp: 3 });
  return runs;
}

/**
 * A seeded random differential test: both servers are started once; for every run of `diffRuns`
 * a fresh session (after FLUSHALL) is handed to `run`, which sends the seed's sequence; mismatches
 * are reported with the seed that replays them.
 */
export function randomDifferentialTest(
  name: string,
  defaultSeeds: number[],
  run: (session: DiffSession, seed: number) => Promise<void>,
  opts: { serverArgs?: string[]; timeoutMs?: number; shownPerRun?: number } = {},
): void {
  serverTest(name, async (t) => {
    if (!requireTool("redis-server")) return;
    const args = opts.serverArgs ?? ["--save", ""];
    const [tessera, redis] = await Promise.all([t.tessera(args), t.redis(args)]);
    const failed: string[] = [];
    const details: string[] = [];
    for (const { seed, resp } of diffRuns(defaultSeeds)) {
      const session = new DiffSession(tessera.port, redis.port, resp);
      await session.send("a", ["FLUSHALL"], undefined, `seed ${seed} (setup)`);
      await run(session, seed);
      session.close();
      session.report(seed, failed, details, opts.shownPerRun);
    }
    if (failed.length > 0) assert.fail(`${failed.join("\n")}\n\n${details.join("\n")}`);
  }, opts.timeoutMs ?? 120_000);
}
