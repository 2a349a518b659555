/**
 * The node processes of `deno task cluster`: each runs detached (it outlives the script) in its own folder
 * `<dir>/<port>/` holding nodes.conf, `node.log` (stdout and stderr) and `node.pid`.
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { clusterArgs } from "../../tests/helpers/cluster.ts";
import { callWithin, parseInfoFields } from "./rpc.ts";

const PROJECT_DIR = fileURLToPath(new URL("../..", import.meta.url));
const MAIN_TS = join(PROJECT_DIR, "main.ts");
/** How often a start or stop checks on the process. */
const POLL_MS = 50;
/** Lines of a node's log shown when it fails to start. */
const LOG_TAIL_LINES = 20;

/** Where one node keeps its files. */
export interface NodeFiles {
  dir: string;
  pidFile: string;
  logFile: string;
}

/** The folder and files of the node on `port` under the cluster folder `baseDir`. */
export function nodeFiles(baseDir: string, port: number): NodeFiles {
  const dir = resolve(baseDir, String(port));
  return { dir, pidFile: join(dir, "node.pid"), logFile: join(dir, "node.log") };
}

/** Whether `pid` is a live process (a zombie counts as dead: nobody may reap a detached node killed with -9). */
export function isAlive(pid: number): boolean {
  if (Deno.build.os === "linux") {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      return state !== "Z" && state !== "X";
    } catch {
      return false;
    }
  }
  return new Deno.Command("kill", { args: ["-0", String(pid)], stdout: "null", stderr: "null" }).outputSync().success;
}

/** Whether `pid` runs tessera's main.ts (a pid file can outlive its process and the pid be reused). */
function runsMainTs(pid: number): boolean {
  if (Deno.build.os !== "linux") return true;
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes(MAIN_TS);
  } catch {
    return false;
  }
}

/** The pid of the node's running process, or null when it is not running. */
export function runningPid(files: NodeFiles): number | null {
  let pid: number;
  try {
    pid = Number(Deno.readTextFileSync(files.pidFile).trim());
  } catch {
    return null;
  }
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) && runsMainTs(pid) ? pid : null;
}

/** The last lines of a node's log, for error messages. */
export function logTail(files: NodeFiles, lines = LOG_TAIL_LINES): string {
  try {
    return Deno.readTextFileSync(files.logFile).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** How a node is started. */
export interface StartOptions {
  baseDir: string;
  port: number;
  nodeTimeoutMs: number;
  /** More `--directive value` arguments for the node. */
  extraArgs: string[];
}

/**
 * Starts the node detached unless it is running already; returns its pid and whether it was started now.
 * stdout and stderr are appended to its log by `sh` (Deno.Command cannot redirect to a file), which then
 * execs deno, so the pid is the node's own.
 */
export async function startNode(opts: StartOptions): Promise<{ pid: number; started: boolean }> {
  const files = nodeFiles(opts.baseDir, opts.port);
  const running = runningPid(files);
  if (running !== null) return { pid: running, started: false };
  await Deno.mkdir(files.dir, { recursive: true });
  const node = [
    Deno.execPath(),
    "run",
    "--allow-all",
    MAIN_TS,
    ...clusterArgs(opts.port, files.dir, opts.nodeTimeoutMs, opts.extraArgs),
  ];
  const child = new Deno.Command("sh", {
    args: ["-c", 'exec "$@" >>"$0" 2>&1', files.logFile, ...node],
    cwd: PROJECT_DIR,
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  child.unref();
  // Reap it if it dies while this script still runs; afterwards init inherits it.
  child.status.catch(() => {});
  await Deno.writeTextFile(files.pidFile, `${child.pid}\n`);
  return { pid: child.pid, started: true };
}

/**
 * Waits until the node answers as itself (INFO process_id is its pid: another server already on the port must not pass
 * for it); throws with its log's end if it exits or takes longer than `timeoutMs`.
 */
export async function waitReady(baseDir: string, port: number, pid: number, timeoutMs: number): Promise<void> {
  const files = nodeFiles(baseDir, port);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      throw new Error(`node ${port} (pid ${pid}) exited during start-up; ${files.logFile}:\n${logTail(files)}`);
    }
    try {
      const info = await callWithin(port, 1000, "INFO", "server");
      if (parseInfoFields(String(info)).process_id === String(pid)) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, POLL_MS * 2));
  }
  throw new Error(
    `node ${port} (pid ${pid}) did not answer within ${timeoutMs} ms; ${files.logFile}:\n${logTail(files)}`,
  );
}

/**
 * SIGTERM, then SIGKILL if the node has not exited after `graceMs`; removes the pid file.
 * Returns the pid it stopped, or null if the node was not running.
 */
export async function stopNode(
  baseDir: string,
  port: number,
  graceMs: number,
): Promise<{ pid: number; killed: boolean } | null> {
  const files = nodeFiles(baseDir, port);
  const pid = runningPid(files);
  let result: { pid: number; killed: boolean } | null = null;
  if (pid !== null) {
    result = { pid, killed: false };
    signal(pid, "SIGCONT"); // a stopped process would not act on SIGTERM
    signal(pid, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, POLL_MS));
    if (isAlive(pid)) {
      signal(pid, "SIGKILL");
      result.killed = true;
      while (isAlive(pid)) await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
  await Deno.remove(files.pidFile).catch(() => {});
  return result;
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // already gone
  }
}
