/**
 * Test helpers: free ports, starting tessera (main.ts) and redis-server as real processes,
 * and the rule that tests needing Debian's redis tools fail in CI when the tools are missing.
 */
import { RespConnection } from "../../src/resp/connection.ts";

const MAIN_TS = new URL("../../main.ts", import.meta.url).pathname;

/** A port nobody listens on right now (asked from the OS, then released). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Whether a program is on PATH. */
export function hasCommand(name: string): boolean {
  try {
    const r = new Deno.Command("sh", { args: ["-c", `command -v ${name}`], stdout: "null", stderr: "null" })
      .outputSync();
    return r.success;
  } catch {
    return false;
  }
}

/**
 * Returns whether the Debian redis tool is available. In CI (`CI=true`) a missing tool is a
 * failure, with the reason; elsewhere the caller skips.
 */
export function requireTool(name: "redis-cli" | "redis-server" | "redis-benchmark"): boolean {
  if (hasCommand(name)) return true;
  if (Deno.env.get("CI") === "true") {
    throw new Error(`${name} is not installed: install Debian's redis-tools and redis-server (.ci/run does)`);
  }
  console.warn(`skipping: ${name} is not installed (apt-get install -y redis-tools redis-server)`);
  return false;
}

/** A running server process. */
export interface ServerProcess {
  port: number;
  pid: number;
  child: Deno.ChildProcess;
  /** Everything the process printed so far (stdout + stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after a grace period; resolves with the exit status. */
  stop(): Promise<Deno.CommandStatus>;
}

async function waitForPort(port: number, child: Deno.ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.status.then(() => exited = true);
  while (Date.now() < deadline) {
    if (exited) throw new Error(`server on port ${port} exited during start-up`);
    try {
      const conn = await RespConnection.connect(port);
      conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`server on port ${port} did not start within ${timeoutMs} ms`);
}

/** Starts a server process; `ownDir` is a temporary directory of its own, removed once it has stopped. */
function spawn(cmd: string, args: string[], port: number, cwd?: string, ownDir?: string): ServerProcess {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null", cwd }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk);
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let stopped: Promise<Deno.CommandStatus> | null = null;
  return {
    port,
    pid: child.pid,
    child,
    output: () => text,
    stop() {
      if (stopped) return stopped;
      stopped = (async () => {
        try {
          Deno.kill(child.pid, "SIGTERM");
        } catch {
          // already gone
        }
        const timer = setTimeout(() => {
          try {
            Deno.kill(child.pid, "SIGKILL");
          } catch {
            // already gone
          }
        }, 3000);
        const status = await child.status;
        clearTimeout(timer);
        await pumps;
        if (ownDir !== undefined) await Deno.remove(ownDir, { recursive: true }).catch(() => {});
        return status;
      })();
      return stopped;
    },
  };
}

/** Adds `--port N` after the config file argument (if any), which redis-server wants first. */
function withPort(args: string[], port: number | null): string[] {
  if (port === null) return args;
  const hasFile = args.length > 0 && !args[0].startsWith("--");
  return hasFile ? [args[0], "--port", String(port), ...args.slice(1)] : ["--port", String(port), ...args];
}

/**
 * Starts tessera (`deno run main.ts`) with extra redis-server style arguments; waits until it accepts. Without a
 * config file, `--dir` or `cwd` it gets a fresh temporary `--dir`, so a dump.rdb it writes cannot reach another test.
 */
export async function startTessera(
  args: string[] = [],
  opts: { cwd?: string; port?: number } = {},
): Promise<ServerProcess> {
  const port = opts.port ?? freePort();
  const hasConfigFile = args.length > 0 && !args[0].startsWith("--");
  let ownDir: string | undefined;
  if (!hasConfigFile && opts.cwd === undefined && !args.includes("--dir")) {
    ownDir = await Deno.makeTempDir({ prefix: "tessera-node-" });
    args = [...args, "--dir", ownDir];
  }
  const hasPort = args.includes("--port");
  const proc = spawn(
    Deno.execPath(),
    ["run", "--allow-all", MAIN_TS, ...withPort(args, hasPort ? null : port)],
    port,
    opts.cwd,
    ownDir,
  );
  try {
    await waitForPort(port, proc.child, 15000);
  } catch (err) {
    await proc.stop();
    throw new Error(`${(err as Error).message}\n${proc.output()}`);
  }
  return proc;
}

/**
 * Starts Debian's redis-server (no persistence, in a fresh temporary dir) on `opts.port` or a free port;
 * waits until it accepts.
 */
export async function startRedis(args: string[] = [], opts: { port?: number } = {}): Promise<ServerProcess> {
  const port = opts.port ?? freePort();
  const dir = await Deno.makeTempDir({ prefix: "tessera-redis-" });
  const proc = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      ...args,
    ],
    port,
    undefined,
    dir,
  );
  await waitForPort(port, proc.child, 10000);
  return proc;
}

/** Runs redis-cli with arguments; returns stdout (trimmed of the final newline). */
export async function redisCli(port: number, args: string[], stdin?: string): Promise<string> {
  const cmd = new Deno.Command("redis-cli", {
    args: ["-p", String(port), ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  return new TextDecoder().decode(out.stdout).replace(/\n$/, "");
}

/** Connects a raw RESP client to a port. */
export function connect(port: number): Promise<RespConnection> {
  return RespConnection.connect(port);
}
