/** `deno task cluster watch`: the node table redrawn every interval, with the events seen since it started. */
import { detectEvents } from "./events.ts";
import { type Snapshot, takeSnapshot } from "./snapshot.ts";
import { renderTable, summarize } from "./table.ts";

/** Events kept on screen. */
const EVENTS_SHOWN = 12;
/** ANSI: cursor home, clear screen. */
const CLEAR = "\x1b[H\x1b[2J";

/** How the live view runs. */
export interface WatchOptions {
  ports: number[];
  pidOf: (port: number) => number | null;
  intervalMs: number;
  /** Stop after this many frames (for scripts and tests); forever when undefined. */
  frames?: number;
  /** Redraw in place (a terminal) instead of printing frame after frame. */
  redraw: boolean;
  /** Becomes true on Ctrl-C. */
  stopped: () => boolean;
  write: (text: string) => void;
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

/** Runs the live view until `stopped()` or `frames` frames. */
export async function watch(opts: WatchOptions): Promise<void> {
  const events: string[] = [];
  let prev: Snapshot | null = null;
  for (let frame = 0; opts.frames === undefined || frame < opts.frames; frame++) {
    if (opts.stopped()) return;
    const started = Date.now();
    // A node that stopped answering must not hold up the refresh: bound each call by the interval.
    const snap = await takeSnapshot(opts.ports, Math.max(200, opts.intervalMs));
    if (prev !== null) { for (const e of detectEvents(prev, snap)) events.push(`${clock(snap.at)}  ${e}`); }
    prev = snap;
    const text = [
      `${clock(snap.at)}  ${summarize(snap)}`,
      "",
      ...renderTable(snap, opts.pidOf),
      "",
      "events:",
      ...(events.length === 0 ? ["  (none yet)"] : events.slice(-EVENTS_SHOWN).map((e) => `  ${e}`)),
      "",
      opts.frames === undefined ? "Ctrl-C to quit" : "",
    ].join("\n");
    opts.write(opts.redraw ? CLEAR + text + "\n" : text + "\n");
    const wait = opts.intervalMs - (Date.now() - started);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}
