/**
 * Directives with their own syntax (Redis's createSpecialConfig): save, client-output-buffer-limit,
 * bind, replicaof, oom-score-adj-values, notify-keyspace-events, latency-tracking-info-percentiles, dir.
 * Each exports the parse / format / rewrite functions the directive table plugs in.
 */
import type { ConfigError, ConfigValue } from "./directive.ts";
import { formatMemoryForRewrite, formatPercentile, parseMemory, strtollStrict } from "./parse.ts";
import { reprString } from "../server/monitor.ts";

type RewriteLines = { line: string; force: boolean }[] | null;

// --- save ---

/** `save 3600 1 300 100` (or `save ""`): pairs of seconds >= 1 and changes >= 0. */
export function parseSave(args: string[]): number[] | ConfigError {
  if (args.length === 1 && args[0] === "") args = [];
  if (args.length % 2 !== 0) return { error: "Invalid save parameters" };
  const out: number[] = [];
  for (let j = 0; j < args.length; j++) {
    const n = strtollStrict(args[j]);
    if (n === null || (j % 2 === 0 && n < 1) || (j % 2 === 1 && n < 0)) return { error: "Invalid save parameters" };
    out.push(n);
  }
  return out;
}

/** CONFIG GET save: `3600 1 300 100`. */
export function formatSave(value: ConfigValue): string {
  return (value as number[]).join(" ");
}

/** Redis always writes save lines, `save ""` when there are none (so defaults do not come back). */
export function rewriteSave(value: ConfigValue): RewriteLines {
  const v = value as number[];
  if (v.length === 0) return [{ line: 'save ""', force: true }];
  const lines = [];
  for (let j = 0; j < v.length; j += 2) lines.push({ line: `save ${v[j]} ${v[j + 1]}`, force: true });
  return lines;
}

// --- client-output-buffer-limit ---

/** Client classes in Redis's order; `replica` and `slave` name the same class. */
const OBUF_CLASSES = ["normal", "slave", "pubsub"];
/** Redis's clientBufferLimitsDefaults: hard, soft, seconds per class. */
const OBUF_DEFAULTS = [0, 0, 0, 268435456, 67108864, 60, 33554432, 8388608, 60];

function obufClass(name: string): number {
  const lower = name.toLowerCase();
  if (lower === "replica") return 1;
  return OBUF_CLASSES.indexOf(lower);
}

/** `<class> <hard> <soft> <seconds>` groups; classes not named keep their current limits. */
export function parseClientOutputBufferLimit(args: string[], current: ConfigValue): number[] | ConfigError {
  if (args.length % 4 !== 0) return { error: "Wrong number of arguments in buffer limit configuration." };
  const next = (current as number[]).slice();
  for (let j = 0; j < args.length; j += 4) {
    const cls = obufClass(args[j]);
    if (cls === -1) return { error: "Invalid client class specified in buffer limit configuration." };
    const hard = parseMemory(args[j + 1]);
    const soft = parseMemory(args[j + 2]);
    const seconds = strtollStrict(args[j + 3]);
    if (hard === null || soft === null || seconds === null || seconds < 0) {
      return { error: "Error in hard, soft or soft_seconds setting in buffer limit configuration." };
    }
    next[cls * 3] = hard;
    next[cls * 3 + 1] = soft;
    next[cls * 3 + 2] = seconds;
  }
  return next;
}

/** CONFIG GET: `normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60`. */
export function formatClientOutputBufferLimit(value: ConfigValue): string {
  const v = value as number[];
  return OBUF_CLASSES.map((c, i) => `${c} ${v[i * 3]} ${v[i * 3 + 1]} ${v[i * 3 + 2]}`).join(" ");
}

/** One line per class (`replica` for the slave class), forced when it differs from Redis's default. */
export function rewriteClientOutputBufferLimit(value: ConfigValue): RewriteLines {
  const v = value as number[];
  return OBUF_CLASSES.map((c, i) => ({
    line: `client-output-buffer-limit ${c === "slave" ? "replica" : c} ${formatMemoryForRewrite(v[i * 3])} ${
      formatMemoryForRewrite(v[i * 3 + 1])
    } ${v[i * 3 + 2]}`,
    force: v[i * 3] !== OBUF_DEFAULTS[i * 3] || v[i * 3 + 1] !== OBUF_DEFAULTS[i * 3 + 1] ||
      v[i * 3 + 2] !== OBUF_DEFAULTS[i * 3 + 2],
  }));
}

// --- bind ---

/** Redis's CONFIG_BINDADDR_MAX. */
const BINDADDR_MAX = 16;

/** `bind addr...`; a single empty word means no address. */
export function parseBind(args: string[]): string[] | ConfigError {
  if (args.length > BINDADDR_MAX) return { error: "Too many bind addresses specified." };
  if (args.length === 1 && args[0] === "") return [];
  return args.slice();
}

/** The default bind is not written; otherwise `bind a b` or `bind ""`. */
export function rewriteBind(value: ConfigValue, isDefault: boolean): RewriteLines {
  if (isDefault) return null;
  const v = value as string[];
  return [{ line: `bind ${v.length > 0 ? v.join(" ") : '""'}`, force: true }];
}

// --- replicaof ---

/** `replicaof <host> <port>` or `replicaof no one`; stored as [] or [host, port]. */
export function parseReplicaOf(args: string[]): string[] | ConfigError {
  if (args.length !== 2) return { error: "wrong number of arguments" };
  if (args[0].toLowerCase() === "no" && args[1].toLowerCase() === "one") return [];
  const port = strtollStrict(args[1]);
  if (port === null || port < 0 || port > 65535) return { error: "Invalid master port" };
  return [args[0], String(port)];
}

/** A master writes no replicaof line (existing ones are dropped). */
export function rewriteReplicaOf(value: ConfigValue): RewriteLines {
  const v = value as string[];
  return v.length === 0 ? null : [{ line: `replicaof ${v[0]} ${v[1]}`, force: true }];
}

// --- oom-score-adj-values ---

/** Three scores between -2000 and 2000 (master, replica, background child). */
export function parseOomScoreAdjValues(args: string[]): number[] | ConfigError {
  if (args.length !== 3) return { error: "wrong number of arguments" };
  const out: number[] = [];
  for (const a of args) {
    const n = strtollStrict(a);
    if (n === null || n < -2000 || n > 2000) {
      return { error: "Invalid oom-score-adj-values, elements must be between -2000 and 2000." };
    }
    out.push(n);
  }
  return out;
}

// --- notify-keyspace-events ---

/** Redis's NOTIFY_* bits, by their class character. */
const NOTIFY_BITS: Record<string, number> = {
  K: 1 << 0,
  E: 1 << 1,
  g: 1 << 2,
  $: 1 << 3,
  l: 1 << 4,
  s: 1 << 5,
  h: 1 << 6,
  z: 1 << 7,
  x: 1 << 8,
  e: 1 << 9,
  t: 1 << 10,
  m: 1 << 11,
  d: 1 << 12,
  n: 1 << 13,
};
/** `A`: every class except key-miss and new-key events. */
export const NOTIFY_ALL = NOTIFY_BITS.g | NOTIFY_BITS.$ | NOTIFY_BITS.l | NOTIFY_BITS.s | NOTIFY_BITS.h |
  NOTIFY_BITS.z | NOTIFY_BITS.x | NOTIFY_BITS.e | NOTIFY_BITS.t | NOTIFY_BITS.d;

/** Event classes as a bit set (Redis's keyspaceEventsStringToFlags). */
export function parseNotifyKeyspaceEvents(args: string[]): number | ConfigError {
  if (args.length !== 1) return { error: "wrong number of arguments" };
  let flags = 0;
  for (const ch of args[0]) {
    if (ch === "A") flags |= NOTIFY_ALL;
    else if (NOTIFY_BITS[ch] !== undefined) flags |= NOTIFY_BITS[ch];
    else return { error: "Invalid event class character. Use 'Ag$lshzxeKEtmdn'." };
  }
  return flags;
}

/** The canonical class string (keyspaceEventsFlagsToString): `AKE`, `Kx`... */
export function formatNotifyKeyspaceEvents(value: ConfigValue): string {
  const flags = value as number;
  let s = "";
  if ((flags & NOTIFY_ALL) === NOTIFY_ALL) s += "A";
  else for (const ch of "g$lshzxetdn") if (flags & NOTIFY_BITS[ch]) s += ch;
  for (const ch of "KEm") if (flags & NOTIFY_BITS[ch]) s += ch;
  return s;
}

/** `notify-keyspace-events "AKE"`, forced when any class is on. */
export function rewriteNotifyKeyspaceEvents(value: ConfigValue): RewriteLines {
  return [{
    line: `notify-keyspace-events ${reprString(formatNotifyKeyspaceEvents(value))}`,
    force: (value as number) !== 0,
  }];
}

// --- latency-tracking-info-percentiles ---

/** Percentiles between 0 and 100; a single empty word means none. */
export function parseLatencyPercentiles(args: string[]): number[] | ConfigError {
  if (args.length === 1 && args[0] === "") return [];
  const out: number[] = [];
  for (const a of args) {
    // string2d: a full-string strtod without leading spaces.
    const d = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(a) ? Number(a) : NaN;
    if (Number.isNaN(d)) return { error: "Invalid latency-tracking-info-percentiles parameters" };
    if (d > 100 || d < 0) {
      return { error: "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]" };
    }
    out.push(d);
  }
  return out;
}

/** CONFIG GET: `50 99 99.9`. */
export function formatLatencyPercentiles(value: ConfigValue): string {
  return (value as number[]).map(formatPercentile).join(" ");
}

/** Always written, `""` when empty so the defaults do not come back. */
export function rewriteLatencyPercentiles(value: ConfigValue): RewriteLines {
  const v = value as number[];
  const words = v.length === 0 ? '""' : v.map(formatPercentile).join(" ");
  return [{ line: `latency-tracking-info-percentiles ${words}`, force: true }];
}

// --- dir ---

/** CONFIG GET dir and REWRITE print the working directory, as Redis's getcwd does. */
export function currentDir(): string {
  try {
    return Deno.cwd();
  } catch {
    return "";
  }
}

/** `dir "/abs/path"`, always written. */
export function rewriteDir(): RewriteLines {
  return [{ line: `dir ${reprString(currentDir())}`, force: true }];
}
