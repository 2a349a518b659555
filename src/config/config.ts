/**
 * Parsed configuration: one value per directive of the table, read from redis.conf text exactly as
 * Redis 7.0 reads it (loadServerConfigFromString), and changed by CONFIG SET (all-or-nothing).
 */
import { type ConfigError, type ConfigValue, type Directive, isConfigError } from "./directive.ts";
import { DEPRECATED_DIRECTIVES, DIRECTIVES, formatBound } from "./directives.ts";
import { parseMemory, parseYesNo, strerror, string2ll } from "./parse.ts";
import { globMatch } from "../store/glob.ts";
import { splitArgs } from "../resp/split_args.ts";
import meta from "../commands/redis_commands.json" with { type: "json" };
import type { Server } from "../server/server.ts";

export { parseMemory };

/**
 * A start-up configuration error, reported as Redis's FATAL CONFIG FILE ERROR block.
 * `lineNumber` is null for checks made after the whole file was read (log file, cluster + replicaof).
 */
export class ConfigFileError extends Error {
  constructor(readonly lineNumber: number | null, readonly line: string, readonly reason: string) {
    super(reason);
  }

  /** The text Redis prints on stderr before exiting with status 1. */
  report(version: string): string {
    let text = `\n*** FATAL CONFIG FILE ERROR (Redis ${version}) ***\n`;
    if (this.lineNumber !== null) {
      text += `Reading the configuration file, at line ${this.lineNumber}\n>>> '${this.line}'\n`;
    }
    return text + this.reason;
  }
}

/** A config (or included) file that cannot be opened: Redis logs it as a warning and exits 1. */
export class ConfigOpenError extends Error {}

/** How CONFIG SET reports a refusal: the full error reply text. */
export type ConfigSetResult = { ok: true } | { ok: false; error: string };

/** One name CONFIG GET / SET can find: a directive's name or one of its aliases. */
interface Entry {
  name: string;
  directive: Directive;
}

/** Redis trims config lines of these characters only (sdstrim " \t\r\n"). */
function trimConfigLine(line: string): string {
  return line.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
}

/** Holds one value per directive; reads, validates, formats and sets them. */
export class Config {
  private readonly values = new Map<string, ConfigValue>();
  private readonly defaults = new Map<string, ConfigValue>();
  private readonly byName = new Map<string, Entry>();
  /** Names and aliases in table order (what CONFIG GET patterns walk). */
  readonly entries: Entry[] = [];
  /** Absolute path of the config file given at start-up (for CONFIG REWRITE), if any. */
  configFile: string | null = null;
  /** When true, `dir` changes the working directory as soon as it is read or set (the real server). */
  chdirOnSet = false;
  /** `rename-command old new` lines, in order (new is "" to remove a command). */
  readonly renamedCommands: [string, string][] = [];
  /** `user ...` lines (accepted without effect until ACLs exist). */
  readonly users: string[][] = [];
  /** `loadmodule path args...` lines (accepted without effect: tessera loads no modules). */
  readonly modules: string[][] = [];
  /** `module.name value` lines (accepted without effect). */
  readonly moduleConfigs = new Map<string, string>();
  /** Directives already seen in this load: `save` accumulates after its first line. */
  private seenInLoad: Set<string> | null = null;
  /** Command names as renames leave them, to check rename-command lines as Redis does. */
  private commandNames: Set<string> | null = null;

  constructor(readonly table: Directive[] = DIRECTIVES) {
    for (const d of table) {
      for (const name of [d.name, ...(d.aliases ?? [])]) {
        const entry = { name, directive: d };
        this.byName.set(name, entry);
        this.entries.push(entry);
      }
      // Defaults are written as in redis.conf: several words only for multi-word directives.
      const words = d.multiArg || d.default.startsWith('"') ? splitArgs(d.default)! : [d.default];
      const parsed = this.parseValue(d, words, undefined);
      if (isConfigError(parsed)) throw new Error(`bad default for ${d.name}: ${parsed.error}`);
      this.values.set(d.name, parsed);
      this.defaults.set(d.name, parsed);
    }
  }

  /** The directive for a name or alias (case-insensitive), if known. */
  directive(name: string): Directive | undefined {
    return this.byName.get(name.toLowerCase())?.directive;
  }

  /** The current value of a directive. */
  get(name: string): ConfigValue {
    const value = this.values.get(name);
    if (value === undefined) throw new Error(`unknown directive ${name}`);
    return value;
  }

  /** A numeric directive's value. */
  num(name: string): number {
    return this.get(name) as number;
  }

  /** A string or enum directive's value. */
  str(name: string): string {
    return this.get(name) as string;
  }

  /** A boolean directive's value. */
  bool(name: string): boolean {
    return this.get(name) as boolean;
  }

  /** A directive's default value, parsed. */
  defaultValue(d: Directive): ConfigValue {
    return this.defaults.get(d.name)!;
  }

  /** A directive's value as CONFIG GET prints it. */
  format(d: Directive, value: ConfigValue = this.get(d.name)): string {
    if (d.format) return d.format(value);
    switch (d.type) {
      case "bool":
        return value ? "yes" : "no";
      case "int":
        return d.octal ? (value as number).toString(8) : String(value);
      case "memory":
        return d.percent && (value as number) < 0 ? `${-(value as number)}%` : String(value);
      default:
        return Array.isArray(value) ? value.join(" ") : String(value);
    }
  }

  /** Whether a directive holds its default value. */
  isDefault(d: Directive): boolean {
    return this.format(d) === this.format(d, this.defaultValue(d));
  }

  /** Parses argument words for a directive; `current` is the value partial updates start from. */
  parseValue(d: Directive, args: string[], current: ConfigValue | undefined): ConfigValue | ConfigError {
    let value: ConfigValue | ConfigError;
    if (d.parse) value = d.parse(args, current ?? this.values.get(d.name) ?? []);
    else if (d.type === "enum" && d.flags) value = this.parseFlags(d, args);
    else value = this.parseScalar(d, args[0] ?? "");
    if (isConfigError(value)) return value;
    const invalid = d.validate?.(value);
    if (invalid) return { error: invalid };
    return d.normalize ? d.normalize(value) : value;
  }

  private parseScalar(d: Directive, text: string): ConfigValue | ConfigError {
    switch (d.type) {
      case "bool": {
        const b = parseYesNo(text);
        return b === null ? { error: "argument must be 'yes' or 'no'" } : b;
      }
      case "int":
      case "memory":
        return this.parseNumber(d, text);
      case "enum": {
        const lower = text.toLowerCase();
        if (!d.values!.includes(lower)) return { error: enumError(d) };
        return d.synonyms?.[lower] ?? lower;
      }
      default:
        return text;
    }
  }

  private parseNumber(d: Directive, text: string): number | ConfigError {
    let n: number | null = null;
    if (d.type === "memory") {
      n = parseMemory(text);
      if (n === null && d.percent && text.length > 1 && text.endsWith("%")) {
        const pct = string2ll(text.slice(0, -1));
        if (pct !== null && pct >= 0) n = -pct;
      }
      if (n === null) {
        return { error: d.percent ? "argument must be a memory or percent value" : "argument must be a memory value" };
      }
    } else if (d.octal) {
      const m = /^[ \t\n\v\f\r]*([+-]?[0-7]+)$/.exec(text);
      if (m === null) return { error: "argument couldn't be parsed as an octal number" };
      n = parseInt(m[1], 8);
    } else {
      n = string2ll(text);
      if (n === null) return { error: "argument couldn't be parsed into an integer" };
    }
    const min = d.min ?? -Infinity;
    const max = d.max ?? Infinity;
    if (d.percent && n < 0) {
      if (n < min) return { error: `percentage argument must be less or equal to ${-min}` };
    } else if (n < min || n > max) {
      const f = d.octal ? (x: number) => x.toString(8) : formatBound;
      return { error: `argument must be between ${f(min)} and ${f(max)} inclusive` };
    }
    return n;
  }

  /** Enums of flags (shutdown-on-sigint): several words; the first value word means "none". */
  private parseFlags(d: Directive, args: string[]): string | ConfigError {
    const values = d.values!;
    const chosen = new Set<string>();
    for (const a of args) {
      const lower = a.toLowerCase();
      if (!values.includes(lower)) return { error: enumError(d) };
      if (lower !== values[0]) chosen.add(lower);
    }
    if (chosen.has("save") && chosen.has("nosave")) {
      return { error: "shutdown options SAVE and NOSAVE can't be used simultaneously" };
    }
    const words = values.filter((v) => chosen.has(v));
    return words.length === 0 ? values[0] : words.join(" ");
  }

  /**
   * Stores a value the server changed itself, without CONFIG SET's checks (REPLICAOF sets
   * `replicaof`, which CONFIG GET and CONFIG REWRITE then report, as Redis reads its master address).
   */
  record(name: string, value: ConfigValue): void {
    this.values.set(name, value);
  }

  /** Stores a value; `dir` also changes the working directory on the real server. */
  private assign(d: Directive, value: ConfigValue): string | null {
    if (d.name === "dir" && this.chdirOnSet) {
      try {
        Deno.chdir(value as string);
      } catch (err) {
        return strerror(err);
      }
    }
    this.values.set(d.name, value);
    return null;
  }

  // --- config files ---

  /**
   * Loads redis.conf-format text (the file, then stdin, then command-line directives, as Redis
   * does). Throws ConfigFileError with Redis's reason, or ConfigOpenError for an `include`.
   */
  loadText(text: string): void {
    this.seenInLoad = new Set();
    try {
      this.loadLines(text);
    } finally {
      this.seenInLoad = null;
    }
    this.checkAfterLoad();
  }

  private loadLines(text: string): void {
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = trimConfigLine(lines[i]);
      if (line === "" || line[0] === "#") continue;
      const reason = this.loadLine(line);
      if (reason !== null) throw new ConfigFileError(i + 1, line, reason);
    }
  }

  /** Applies one non-empty config line; returns Redis's reason when it is refused. */
  private loadLine(line: string): string | null {
    const args = splitArgs(line);
    if (args === null) return "Unbalanced quotes in configuration line";
    if (args.length === 0) return null;
    const name = args[0].toLowerCase();
    const d = this.directive(name);
    if (d !== undefined) {
      if (!d.multiArg && args.length !== 2) return "wrong number of arguments";
      let current = this.values.get(d.name);
      if (d.accumulate && this.seenInLoad !== null && !this.seenInLoad.has(d.name)) current = [];
      let value = this.parseValue(d, args.slice(1), current);
      if (isConfigError(value)) return value.error;
      if (d.accumulate) value = [...(current as number[]), ...(value as number[])];
      this.seenInLoad?.add(d.name);
      return this.assign(d, value);
    }
    if (DEPRECATED_DIRECTIVES[name] === args.length) return null;
    if (name === "include" && args.length === 2) {
      this.include(args[1]);
      return null;
    }
    if (name === "rename-command" && args.length === 3) return this.renameCommand(args[1], args[2]);
    if (name === "user" && args.length >= 2) {
      this.users.push(args.slice(1));
      return null;
    }
    if (name === "loadmodule" && args.length >= 2) {
      this.modules.push(args.slice(1));
      return null;
    }
    if (name.includes(".")) {
      if (args.length !== 2) return "Module config specified without value";
      this.moduleConfigs.set(name, args[1]);
      return null;
    }
    if (name === "sentinel") return args.length === 1 ? null : "sentinel directive while not in sentinel mode";
    return "Bad directive or wrong number of arguments";
  }

  /** `include path`: read now, relative to the working directory (which `dir` may have changed). */
  private include(pattern: string): void {
    let files = [pattern];
    if (/[*?[]/.test(pattern)) {
      const slash = pattern.lastIndexOf("/");
      const dir = slash === -1 ? "." : pattern.slice(0, slash) || "/";
      const base = pattern.slice(slash + 1);
      files = [];
      try {
        for (const e of Deno.readDirSync(dir)) {
          if (globMatch(base, e.name) && !(e.name.startsWith(".") && !base.startsWith("."))) {
            files.push(slash === -1 ? e.name : `${pattern.slice(0, slash + 1)}${e.name}`);
          }
        }
      } catch {
        // A pattern matching nothing is skipped, as glob(3) failing is in Redis.
      }
      files.sort();
    }
    for (const file of files) {
      let text: string;
      try {
        text = Deno.readTextFileSync(file);
      } catch (err) {
        throw new ConfigOpenError(`Fatal error, can't open config file '${file}': ${strerror(err)}`);
      }
      this.loadLines(text);
    }
  }

  /** Checks a rename against Redis 7.0's command table, as it stands after earlier renames. */
  private renameCommand(from: string, to: string): string | null {
    if (this.commandNames === null) this.commandNames = new Set(Object.keys(meta));
    const names = this.commandNames;
    if (!names.has(from.toLowerCase())) return "No such command in rename-command";
    names.delete(from.toLowerCase());
    if (to !== "") {
      if (names.has(to.toLowerCase())) return "Target command name already exists";
      names.add(to.toLowerCase());
    }
    this.renamedCommands.push([from, to]);
    return null;
  }

  /** Redis's checks once the whole configuration is read. */
  private checkAfterLoad(): void {
    const logfile = this.str("logfile");
    if (logfile !== "") {
      try {
        Deno.openSync(logfile, { append: true, create: true }).close();
      } catch (err) {
        throw new ConfigFileError(null, "", `Can't open the log file: ${strerror(err)}`);
      }
    }
    if (this.bool("cluster-enabled") && (this.get("replicaof") as string[]).length > 0) {
      throw new ConfigFileError(null, "", "replicaof directive not allowed in cluster mode");
    }
  }

  // --- CONFIG GET ---

  /**
   * Names and values matching CONFIG GET arguments: exact names (any case, printed as given) or
   * glob patterns over names and aliases (hidden directives need an exact name). Each name once.
   */
  match(patterns: string[]): [string, string][] {
    const found = new Map<string, [string, Directive]>();
    for (const pattern of patterns) {
      if (!/[[*?]/.test(pattern)) {
        const key = pattern.toLowerCase();
        if (found.has(key)) continue;
        const entry = this.byName.get(key);
        if (entry) found.set(key, [pattern, entry.directive]);
        continue;
      }
      for (const entry of this.entries) {
        if (entry.directive.hidden || found.has(entry.name)) continue;
        if (globMatch(pattern, entry.name, true)) found.set(entry.name, [entry.name, entry.directive]);
      }
    }
    return [...found.values()].map(([name, d]) => [name, this.format(d)]);
  }

  // --- CONFIG SET ---

  /**
   * CONFIG SET of name/value pairs with Redis's checks and order: all names are checked first
   * (unknown, immutable, protected, duplicate), then every value is parsed and stored, then the
   * apply hooks run; any failure restores every old value. `local` tells whether the client is
   * on a loopback address (for `enable-protected-configs local`).
   */
  setMany(pairs: [string, string][], server: Server | null, local: boolean): ConfigSetResult {
    let unknown: string | null = null;
    let failure: { arg: string; error: string } | null = null;
    const chosen: Entry[] = [];
    const protectedMode = this.str("enable-protected-configs");
    const protectedAllowed = protectedMode === "yes" || (protectedMode === "local" && local);
    for (let i = 0; i < pairs.length && unknown === null && failure === null; i++) {
      const [name] = pairs[i];
      const entry = this.byName.get(name.toLowerCase());
      if (entry === undefined) {
        unknown = name;
        break;
      }
      const d = entry.directive;
      if (!d.mutable || (d.protected && !protectedAllowed)) {
        failure = { arg: name, error: d.mutable ? "can't set protected config" : "can't set immutable config" };
        break;
      }
      if (chosen.includes(entry)) {
        failure = { arg: name, error: "duplicate parameter" };
        break;
      }
      chosen.push(entry);
    }
    if (unknown !== null) {
      return { ok: false, error: `ERR Unknown option or number of arguments for CONFIG SET - '${unknown}'` };
    }
    if (failure !== null) return setFailed(failure.arg, failure.error);

    const old = chosen.map((e) => this.values.get(e.directive.name)!);
    const oldCwd = this.chdirOnSet ? Deno.cwd() : null;
    const restore = () => {
      for (let i = chosen.length - 1; i >= 0; i--) this.values.set(chosen[i].directive.name, old[i]);
      if (oldCwd !== null) {
        try {
          Deno.chdir(oldCwd);
        } catch {
          // The old directory vanished: stay where we are, as Redis would.
        }
      }
    };
    const applies: { fn: NonNullable<Directive["apply"]>; entry: Entry }[] = [];
    for (let i = 0; i < chosen.length; i++) {
      const d = chosen[i].directive;
      const text = pairs[i][1];
      // Multi-word values are split on single spaces (sdssplitlen), so "" is no words at all.
      const args = d.multiArg ? (text === "" ? [] : text.split(" ")) : [text];
      const value = this.parseValue(d, args, this.values.get(d.name));
      let error = isConfigError(value) ? value.error : null;
      const changed = error === null &&
        (d.type === "special" || this.format(d, value as ConfigValue) !== this.format(d));
      if (error === null) error = this.assign(d, value as ConfigValue);
      if (error !== null) {
        restore();
        return setFailed(chosen[i].name, error);
      }
      if (changed && d.apply && !applies.some((a) => a.fn === d.apply)) applies.push({ fn: d.apply, entry: chosen[i] });
    }
    if (server !== null) {
      for (const { fn, entry } of applies) {
        const error = fn(server, this.get(entry.directive.name));
        if (error) {
          restore();
          for (const a of applies) a.fn(server, this.get(a.entry.directive.name));
          return setFailed(entry.name, error);
        }
      }
    }
    return { ok: true };
  }
}

function setFailed(arg: string, error: string): ConfigSetResult {
  return { ok: false, error: `ERR CONFIG SET failed (possibly related to argument '${arg}') - ${error}` };
}

function enumError(d: Directive): string {
  return `argument(s) must be one of the following: ${d.values!.join(", ")}`;
}
