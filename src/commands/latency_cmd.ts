/** LATENCY LATEST HISTORY RESET DOCTOR GRAPH HISTOGRAM HELP (Redis latency.c replies). */
import type { Handler } from "./table.ts";
import type { Command } from "./table.ts";
import type { Client } from "../server/client.ts";
import { bucketMicros, HISTOGRAM_BUCKETS, type LatencySample, type TrackedStats } from "../server/latency.ts";
import { replyHelp } from "./help.ts";

const LATENCY_HELP = [
  "DOCTOR",
  "    Return a human readable latency analysis report.",
  "GRAPH <event>",
  "    Return an ASCII latency graph for the <event> class.",
  "HISTORY <event>",
  "    Return time-latency samples for the <event> class.",
  "LATEST",
  "    Return the latest latency samples for all events.",
  "RESET [<event> ...]",
  "    Reset latency data of one or more <event> classes.",
  "    (default: reset all data for all event classes)",
  "HISTOGRAM [COMMAND ...]",
  "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
  "    If no commands are specified then all histograms are replied.",
];

const DOCTOR_DISABLED = "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. " +
  'You may use "CONFIG SET latency-monitor-threshold <milliseconds>." in order to enable it. If we weren\'t in a ' +
  "deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";
const DOCTOR_NOTHING = "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the " +
  "slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n";
/** Width of LATENCY GRAPH's separator line. */
const GRAPH_COLUMNS = 80;

/** The `calls` / `histogram_usec` map of one command (Redis's fillCommandCDF). */
function writeCdf(c: Client, stats: TrackedStats): void {
  const h = stats.histogram;
  let total = 0;
  for (let k = 0; k < HISTOGRAM_BUCKETS; k++) total += h[k];
  const buckets: [number, number][] = [];
  let cum = 0;
  for (let k = 0; k < HISTOGRAM_BUCKETS && cum < total; k++) {
    if (h[k] === 0) continue;
    cum += h[k];
    buckets.push([bucketMicros(k), cum]);
  }
  c.out.map(2);
  c.out.bulk("calls");
  c.out.int(total);
  c.out.bulk("histogram_usec");
  c.out.map(buckets.length);
  for (const [usec, count] of buckets) {
    c.out.int(usec);
    c.out.int(count);
  }
}

function hasHistogram(cmd: Command): boolean {
  const h = (cmd.stats as TrackedStats).histogram;
  return h !== undefined && h.some((n) => n > 0);
}

/** The doctor's analysis of one event (Redis's analyzeLatencyForEvent). */
function analyze(samples: LatencySample[]): { avg: number; mad: number; period: number } {
  const n = samples.length;
  let sum = 0;
  let minTime = Infinity;
  let maxTime = 0;
  for (const s of samples) {
    sum += s.latency;
    if (s.time < minTime) minTime = s.time;
    if (s.time > maxTime) maxTime = s.time;
  }
  const avg = sum / n;
  let dev = 0;
  for (const s of samples) dev += Math.abs(s.latency - avg);
  const period = n > 1 ? (maxTime - minTime) / (n - 1) : 1;
  return { avg, mad: dev / n, period };
}

function doctorReport(c: Client): string {
  const s = c.server;
  if (s.config.num("latency-monitor-threshold") === 0) return DOCTOR_DISABLED;
  if (s.latency.events.size === 0) return DOCTOR_NOTHING;
  let report =
    "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n";
  let i = 1;
  let commandEvents = false;
  for (const [name, ev] of s.latency.events) {
    const samples = s.latency.history(name);
    const a = analyze(samples);
    report += `${i++}. ${name}: ${samples.length} latency spikes (average ${Math.floor(a.avg)}ms, mean deviation ` +
      `${Math.floor(a.mad)}ms, period ${a.period.toFixed(2)} sec). Worst all time event ${ev.max}ms.\n`;
    if (name === "command" || name === "fast-command") commandEvents = true;
  }
  report += "\nI have a few advices for you:\n\n";
  if (commandEvents) {
    const slowlog = s.config.num("slowlog-log-slower-than");
    const thresholdUs = s.config.num("latency-monitor-threshold") * 1000;
    if (slowlog < 0 || slowlog > thresholdUs) {
      report += "- Your current Slow Log configuration only logs events that are slower than your configured " +
        `latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than ${thresholdUs}'.\n`;
    }
    report += "- Check your Slow Log to understand what are the commands you are running which are too slow to " +
      "execute. Please check https://redis.io/commands/slowlog for more information.\n";
    report += "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking " +
      "operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment " +
      "those objects into multiple smaller objects.\n";
  }
  return report;
}

export const latencyCommands: Record<string, Handler> = {
  "latency|latest"(c) {
    const events = c.server.latency.events;
    c.out.array(events.size);
    for (const [name, ev] of events) {
      const last = c.server.latency.latest(name)!;
      c.out.array(4);
      c.out.bulk(name);
      c.out.int(last.time);
      c.out.int(last.latency);
      c.out.int(ev.max);
    }
  },
  "latency|history"(c, argv) {
    const samples = c.server.latency.history(argv[2]);
    c.out.array(samples.length);
    for (const s of samples) {
      c.out.array(2);
      c.out.int(s.time);
      c.out.int(s.latency);
    }
  },
  "latency|reset"(c, argv) {
    c.out.int(c.server.latency.reset(argv.slice(2)));
  },
  "latency|doctor"(c) {
    c.out.verbatim(doctorReport(c));
  },
  "latency|graph"(c, argv) {
    const event = argv[2];
    const samples = c.server.latency.history(event);
    if (samples.length === 0) return c.error(`ERR No samples available for event '${event}'`);
    const ev = c.server.latency.events.get(event)!;
    let high = 0;
    let low = Infinity;
    for (const s of samples) {
      high = Math.max(high, s.latency);
      low = Math.min(low, s.latency);
    }
    const graph = `${event} - high ${high} ms, low ${low} ms (all time high ${ev.max} ms)\n` +
      "-".repeat(GRAPH_COLUMNS) + "\n" + sparkline(samples, high, low);
    c.out.verbatim(graph);
  },
  "latency|histogram"(c, argv) {
    const found: Command[] = [];
    const consider = (cmd: Command) => {
      if (cmd.subcommands === null) {
        if (hasHistogram(cmd)) found.push(cmd);
      } else {
        if (hasHistogram(cmd)) found.push(cmd);
        for (const sub of cmd.subcommands.values()) if (hasHistogram(sub)) found.push(sub);
      }
    };
    if (argv.length === 2) {
      for (const cmd of c.server.commands.commands.values()) consider(cmd);
    } else {
      for (let j = 2; j < argv.length; j++) {
        const name = argv[j];
        const bar = name.indexOf("|");
        const cmd = bar === -1
          ? c.server.commands.lookup(name)
          : c.server.commands.lookup(name.slice(0, bar))?.subcommands?.get(name.slice(bar + 1).toLowerCase());
        if (cmd !== undefined) consider(cmd);
      }
    }
    c.out.map(found.length);
    for (const cmd of found) {
      c.out.bulk(cmd.fullname);
      writeCdf(c, cmd.stats as TrackedStats);
    }
  },
  "latency|help"(c) {
    replyHelp(c, "LATENCY", LATENCY_HELP);
  },
};

/**
 * Redis's latency graph body: a 4-row sparkline of the samples (`_`, `o`, `#`, `|` by height),
 * then the age of each sample below it, written vertically.
 */
function sparkline(samples: LatencySample[], high: number, low: number): string {
  const rows = 4;
  const lines: string[][] = Array.from({ length: rows }, () => []);
  const now = Math.floor(Date.now() / 1000);
  const labels: string[] = [];
  for (const s of samples) {
    const range = high - low;
    const level = range === 0 ? 0 : Math.round(((s.latency - low) / range) * (rows * 2 - 1));
    for (let r = 0; r < rows; r++) {
      const rowFromBottom = rows - 1 - r;
      const step = level - rowFromBottom * 2;
      lines[r].push(step >= 1 ? "|" : step === 0 ? "_" : " ");
    }
    const age = now - s.time;
    labels.push(age < 60 ? `${age}s` : age < 3600 ? `${Math.floor(age / 60)}m` : `${Math.floor(age / 3600)}h`);
  }
  let out = lines.map((l) => l.join("")).join("\n") + "\n";
  const width = Math.max(...labels.map((l) => l.length));
  for (let i = 0; i < width; i++) out += labels.map((l) => l[i] ?? " ").join("") + "\n";
  return out;
}
