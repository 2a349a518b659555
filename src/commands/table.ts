/**
 * The command table. Metadata (arity, flags, key specs, ACL categories, docs) is Redis 7.0's own,
 * recorded by scripts/gen_command_meta.ts into redis_commands.json; each family module supplies
 * handlers by name (`"get"`, `"config|get"`). Only commands with a handler exist for clients.
 */
import { TESSERA_SUBCOMMANDS } from "./tessera_meta.ts";
import type { Client } from "../server/client.ts";
import { type Tagged, taggedField, taggedStrings } from "../resp/tagged.ts";
import meta from "./redis_commands.json" with { type: "json" };

/** Runs a command; replies go to `c.out`. `argv[0]` is the command name as the client sent it. */
export type Handler = (c: Client, argv: string[]) => void;

/** Flag bits checked on the hot path. */
export const CMD_WRITE = 1 << 0;
export const CMD_READONLY = 1 << 1;
export const CMD_DENYOOM = 1 << 2;
export const CMD_ADMIN = 1 << 3;
export const CMD_PUBSUB = 1 << 4;
export const CMD_NOSCRIPT = 1 << 5;
export const CMD_BLOCKING = 1 << 6;
export const CMD_LOADING = 1 << 7;
export const CMD_STALE = 1 << 8;
export const CMD_SKIP_MONITOR = 1 << 9;
export const CMD_SKIP_SLOWLOG = 1 << 10;
export const CMD_FAST = 1 << 11;
export const CMD_NO_AUTH = 1 << 12;
export const CMD_NO_MULTI = 1 << 13;
export const CMD_MOVABLE_KEYS = 1 << 14;
export const CMD_ALLOW_BUSY = 1 << 15;
/**
 * tessera's own flag: commands Redis flags `fast` or documents as O(1). They are timed per read
 * batch instead of one by one (see src/server/batch_timer.ts).
 */
export const CMD_BATCH_TIMED = 1 << 16;

const FLAG_BITS: Record<string, number> = {
  write: CMD_WRITE,
  readonly: CMD_READONLY,
  denyoom: CMD_DENYOOM,
  admin: CMD_ADMIN,
  pubsub: CMD_PUBSUB,
  noscript: CMD_NOSCRIPT,
  blocking: CMD_BLOCKING,
  loading: CMD_LOADING,
  stale: CMD_STALE,
  skip_monitor: CMD_SKIP_MONITOR,
  skip_slowlog: CMD_SKIP_SLOWLOG,
  fast: CMD_FAST,
  no_auth: CMD_NO_AUTH,
  no_multi: CMD_NO_MULTI,
  movablekeys: CMD_MOVABLE_KEYS,
  allow_busy: CMD_ALLOW_BUSY,
};

/** How a key spec finds the first key and the rest (Redis 7.0 key specifications). */
export interface KeySpec {
  flags: string[];
  begin: { type: "index"; index: number } | { type: "keyword"; keyword: string; startFrom: number } | {
    type: "unknown";
  };
  find: { type: "range"; lastKey: number; keyStep: number; limit: number } | {
    type: "keynum";
    keyNumIdx: number;
    firstKey: number;
    keyStep: number;
  } | { type: "unknown" };
}

/** Per-command statistics (INFO commandstats). */
export interface CommandStats {
  calls: number;
  usec: number;
  rejectedCalls: number;
  failedCalls: number;
}

/** One command or subcommand. */
export interface Command {
  /** Lowercase name (`get`, or `get` of `config|get` for subcommands). */
  name: string;
  /** `get`, `config|get`: used in error messages and stats. */
  fullname: string;
  arity: number;
  flags: number;
  firstKey: number;
  lastKey: number;
  step: number;
  keySpecs: KeySpec[];
  /** The argv index of the only key when the command always has exactly one there (GET, SET...), else -1. */
  singleKeyIndex: number;
  handler: Handler;
  subcommands: Map<string, Command> | null;
  parent: Command | null;
  /** Redis's COMMAND INFO entry, without subcommands we do not implement. */
  info: Tagged;
  docs: Tagged;
  stats: CommandStats;
}

/** Distinct spellings of command names remembered by the lookup cache. */
const MAX_SPELLINGS = 4096;

type MetaEntry = { info: Tagged; docs: Tagged };
const META = meta as unknown as Record<string, MetaEntry>;

function parseKeySpec(spec: Tagged): KeySpec {
  const flags = taggedStrings(taggedField(spec, "flags"));
  const bs = taggedField(spec, "begin_search");
  const bsType = taggedField(bs!, "type");
  const bsSpec = taggedField(bs!, "spec")!;
  const fk = taggedField(spec, "find_keys");
  const fkType = taggedField(fk!, "type");
  const fkSpec = taggedField(fk!, "spec")!;
  const begin: KeySpec["begin"] = bsType === "index"
    ? { type: "index", index: taggedField(bsSpec, "index") as number }
    : bsType === "keyword"
    ? {
      type: "keyword",
      keyword: taggedField(bsSpec, "keyword") as string,
      startFrom: taggedField(bsSpec, "startfrom") as number,
    }
    : { type: "unknown" };
  const find: KeySpec["find"] = fkType === "range"
    ? {
      type: "range",
      lastKey: taggedField(fkSpec, "lastkey") as number,
      keyStep: taggedField(fkSpec, "keystep") as number,
      limit: taggedField(fkSpec, "limit") as number,
    }
    : fkType === "keynum"
    ? {
      type: "keynum",
      keyNumIdx: taggedField(fkSpec, "keynumidx") as number,
      firstKey: taggedField(fkSpec, "firstkey") as number,
      keyStep: taggedField(fkSpec, "keystep") as number,
    }
    : { type: "unknown" };
  return { flags, begin, find };
}

function buildCommand(info: Tagged[], docs: Tagged, handlers: Map<string, Handler>, parent: Command | null): Command {
  const fullname = info[0] as string;
  const name = parent ? fullname.slice(parent.name.length + 1) : fullname;
  let flags = 0;
  for (const f of taggedStrings(info[2])) flags |= FLAG_BITS[f] ?? 0;
  if ((flags & CMD_FAST) !== 0 || taggedField(docs, "complexity") === "O(1)") flags |= CMD_BATCH_TIMED;
  const keySpecsTagged = info[8] as { "~": Tagged[] } | Tagged[];
  const specs = Array.isArray(keySpecsTagged) ? keySpecsTagged : keySpecsTagged["~"];
  const cmd: Command = {
    name,
    fullname,
    arity: info[1] as number,
    flags,
    firstKey: info[3] as number,
    lastKey: info[4] as number,
    step: info[5] as number,
    keySpecs: specs.map(parseKeySpec),
    singleKeyIndex: -1,
    handler: handlers.get(fullname) ?? containerHandler,
    subcommands: null,
    parent,
    info,
    docs,
    stats: { calls: 0, usec: 0, rejectedCalls: 0, failedCalls: 0 },
  };
  cmd.singleKeyIndex = singleKeyIndexOf(cmd.keySpecs);
  const subsTagged = info[9] as { "~": Tagged[] } | Tagged[];
  const subs = Array.isArray(subsTagged) ? subsTagged : subsTagged["~"];
  if (subs.length > 0) {
    cmd.subcommands = new Map();
    const kept: Tagged[] = [];
    const subDocs = taggedField(docs, "subcommands");
    for (const sub of subs as Tagged[][]) {
      if (!handlers.has(sub[0] as string)) continue;
      const subCmd = buildCommand(sub, taggedField(subDocs ?? null, sub[0] as string) ?? null, handlers, cmd);
      cmd.subcommands.set(subCmd.name, subCmd);
      kept.push(sub);
    }
    cmd.info = [...info.slice(0, 9), Array.isArray(subsTagged) ? kept : { "~": kept }];
    if (docs !== null) cmd.docs = filterDocSubcommands(docs, new Set(cmd.subcommands.keys()), fullname);
  }
  return cmd;
}

/** A Redis metadata entry with tessera's own subcommands of that command appended (info and docs). */
function withTesseraSubcommands(name: string, entry: MetaEntry): MetaEntry {
  const extra = TESSERA_SUBCOMMANDS[name];
  if (extra === undefined) return entry;
  const info = (entry.info as Tagged[]).slice();
  const subs = info[9] as { "~": Tagged[] } | Tagged[];
  const list = [...(Array.isArray(subs) ? subs : subs["~"]), ...extra.map(([subInfo]) => subInfo)];
  info[9] = Array.isArray(subs) ? list : { "~": list };
  const docs = entry.docs as { "%": Tagged[] };
  const flat = docs["%"].slice();
  const at = flat.indexOf("subcommands");
  const subDocs = flat[at + 1] as { "%": Tagged[] };
  flat[at + 1] = { "%": [...subDocs["%"], ...extra.flatMap(([subInfo, subDoc]) => [subInfo[0], subDoc])] };
  return { info, docs: { "%": flat } };
}

/** Drops docs of subcommands that tessera does not implement. */
function filterDocSubcommands(docs: Tagged, keep: Set<string>, parent: string): Tagged {
  if (docs === null || typeof docs !== "object" || !("%" in docs)) return docs;
  const flat = docs["%"].slice();
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i] !== "subcommands") continue;
    const subs = flat[i + 1] as { "%": Tagged[] };
    const kept: Tagged[] = [];
    for (let j = 0; j < subs["%"].length; j += 2) {
      const subName = (subs["%"][j] as string).slice(parent.length + 1);
      if (keep.has(subName)) kept.push(subs["%"][j], subs["%"][j + 1]);
    }
    flat[i + 1] = { "%": kept };
  }
  return { "%": flat };
}

/** Container commands reached without a subcommand have Redis's arity -2, so this never runs. */
function containerHandler(c: Client, argv: string[]): void {
  c.out.error(`ERR unknown subcommand '${argv[1]}'. Try ${argv[0].toUpperCase()} HELP.`);
}

/** The commands tessera serves, looked up by lowercase name. */
export class CommandTable {
  readonly commands = new Map<string, Command>();

  /** Builds the table from handler maps; every handler must name a Redis 7.0 command. */
  constructor(families: Record<string, Handler>[]) {
    const handlers = new Map<string, Handler>();
    for (const family of families) {
      for (const [name, handler] of Object.entries(family)) handlers.set(name, handler);
    }
    const containers = new Set<string>();
    for (const name of handlers.keys()) {
      const top = name.split("|")[0];
      if (META[top] === undefined) throw new Error(`no Redis metadata for command ${name}`);
      if (name.includes("|")) containers.add(top);
    }
    for (const name of new Set([...handlers.keys()].map((n) => n.split("|")[0]))) {
      const entry = withTesseraSubcommands(name, META[name]);
      const cmd = buildCommand(entry.info as Tagged[], entry.docs, handlers, null);
      this.commands.set(name, cmd);
    }
  }

  /** Names as clients spelled them (any case) -> command; bounded, filled on first use. */
  private readonly spellings = new Map<string, Command>();

  /** Finds a top-level command by the name a client sent (any case). */
  lookup(name: string): Command | undefined {
    const hit = this.spellings.get(name);
    if (hit !== undefined) return hit;
    const cmd = this.commands.get(name.toLowerCase());
    if (cmd !== undefined && this.spellings.size < MAX_SPELLINGS) this.spellings.set(name, cmd);
    return cmd;
  }
}

/** MIGRATE's keys as Redis's migrateGetKeys finds them: argv[3], or everything after KEYS (options skipped). */
function migrateKeyPositions(argv: string[]): number[] {
  const skip: Record<string, number> = { copy: 0, replace: 0, auth: 1, auth2: 2 };
  for (let i = 6; i < argv.length; i++) {
    const word = argv[i].toLowerCase();
    if (word === "keys") {
      if (argv[3].length > 0) return [];
      return Array.from({ length: argv.length - i - 1 }, (_, k) => i + 1 + k);
    }
    i += skip[word] ?? 0;
  }
  return argv.length > 3 ? [3] : [];
}

/** A fixed position when the key specs name exactly one key at a fixed index (routing's fast path). */
function singleKeyIndexOf(specs: KeySpec[]): number {
  if (specs.length !== 1) return -1;
  const { begin, find } = specs[0];
  if (begin.type !== "index" || find.type !== "range" || find.lastKey !== 0) return -1;
  return begin.index;
}

/**
 * Returns the argument positions of the keys of a command, following its key specs
 * (Redis 7.0's getKeysUsingKeySpecs). Positions index `argv`.
 */
export function commandKeyPositions(cmd: Command, argv: string[]): number[] {
  if (cmd.fullname === "migrate") return migrateKeyPositions(argv);
  const positions: number[] = [];
  const argc = argv.length;
  for (const spec of cmd.keySpecs) {
    let first: number;
    if (spec.begin.type === "index") {
      first = spec.begin.index;
    } else if (spec.begin.type === "keyword") {
      const { keyword, startFrom } = spec.begin;
      const kw = keyword.toLowerCase();
      first = 0;
      if (startFrom >= 0) {
        for (let i = startFrom; i < argc; i++) {
          if (argv[i].toLowerCase() === kw) {
            first = i + 1;
            break;
          }
        }
      } else {
        for (let i = argc + startFrom; i > 0; i--) {
          if (argv[i].toLowerCase() === kw) {
            first = i + 1;
            break;
          }
        }
      }
      if (first === 0) continue;
    } else {
      continue;
    }
    if (first >= argc) continue;
    let last: number;
    let step: number;
    if (spec.find.type === "range") {
      step = spec.find.keyStep;
      if (spec.find.lastKey >= 0) last = first + spec.find.lastKey;
      else if (spec.find.limit <= 1) last = argc + spec.find.lastKey;
      else last = first + Math.floor((argc - first) / spec.find.limit) - 1;
    } else if (spec.find.type === "keynum") {
      const numIdx = first + spec.find.keyNumIdx;
      if (numIdx >= argc) continue;
      const n = Number(argv[numIdx]);
      if (!Number.isInteger(n) || n < 0) continue;
      first = numIdx - spec.find.keyNumIdx + spec.find.firstKey;
      step = spec.find.keyStep;
      last = first + (n - 1) * step;
    } else {
      continue;
    }
    for (let i = first; i <= last && i < argc; i += step) positions.push(i);
  }
  return positions;
}
