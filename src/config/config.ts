/** Parsed configuration: the values of every directive in the table, and how they are read and set. */
import type { ConfigValue, Directive } from "./directive.ts";
import { DIRECTIVES } from "./directives.ts";
import { splitArgs } from "../resp/split_args.ts";

/** A start-up configuration error, reported as Redis's FATAL CONFIG FILE ERROR block. */
export class ConfigFileError extends Error {
  constructor(readonly lineNumber: number, readonly line: string, readonly reason: string) {
    super(reason);
  }
}

/** Parses a memory size the way Redis's memtoull does: `1k`=1000, `1kb`=1024, up to `gb`. */
export function parseMemory(text: string): number | null {
  const m = /^(-?\d+)(k|kb|m|mb|g|gb|b)?$/i.exec(text);
  if (m === null) return null;
  const unit = (m[2] ?? "b").toLowerCase();
  const mul: Record<string, number> = { b: 1, k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };
  const n = Number(m[1]) * mul[unit];
  return Number.isSafeInteger(n) ? n : null;
}

/** Holds one value per directive; reads, validates and formats them. */
export class Config {
  private readonly values = new Map<string, ConfigValue>();
  private readonly directives = new Map<string, Directive>();
  /** Absolute path of the config file given at start-up (for CONFIG REWRITE), if any. */
  configFile: string | null = null;

  constructor(readonly table: Directive[] = DIRECTIVES) {
    for (const d of table) {
      this.directives.set(d.name, d);
      for (const alias of d.aliases ?? []) this.directives.set(alias, d);
      const parsed = this.parseValue(d, splitArgs(d.default) ?? [d.default], true);
      if (typeof parsed === "object" && parsed !== null && "error" in parsed) {
        throw new Error(`bad default for ${d.name}: ${parsed.error}`);
      }
      this.values.set(d.name, parsed as ConfigValue);
    }
  }

  /** The directive for a name or alias (case-insensitive), if known. */
  directive(name: string): Directive | undefined {
    return this.directives.get(name.toLowerCase());
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

  /** A directive's value as CONFIG GET prints it. */
  format(d: Directive): string {
    const value = this.get(d.name);
    if (d.format) return d.format(value);
    if (d.type === "bool") return value ? "yes" : "no";
    if (Array.isArray(value)) return value.join(" ");
    return String(value);
  }

  /** Parses argument words for a directive; returns the value or an error text. */
  parseValue(d: Directive, args: string[], isDefault = false): ConfigValue | { error: string } {
    if (d.parse) return d.parse(args);
    if (d.type === "special") return args.join(" ");
    if (args.length !== 1 && !(isDefault && args.length === 0)) {
      return { error: "wrong number of arguments" };
    }
    const text = args[0] ?? "";
    switch (d.type) {
      case "bool": {
        const lower = text.toLowerCase();
        if (lower === "yes") return true;
        if (lower === "no") return false;
        return { error: "argument must be 'yes' or 'no'" };
      }
      case "int":
      case "memory": {
        const n = d.type === "memory" ? parseMemory(text) : /^-?\d+$/.test(text) ? Number(text) : null;
        if (n === null || !Number.isSafeInteger(n)) {
          return { error: d.type === "memory" ? "argument must be a memory value" : "argument couldn't be parsed into an integer" };
        }
        if ((d.min !== undefined && n < d.min) || (d.max !== undefined && n > d.max)) {
          return { error: `argument must be between ${d.min} and ${d.max} inclusive` };
        }
        return n;
      }
      case "enum": {
        const lower = text.toLowerCase();
        if (!d.values!.includes(lower)) return { error: `argument(s) must be one of the following: ${d.values!.join(", ")}` };
        return lower;
      }
      default:
        return text;
    }
  }

  /** Sets a value without applying it; returns an error text on refusal. */
  setParsed(d: Directive, value: ConfigValue): void {
    this.values.set(d.name, value);
  }

  /** Loads redis.conf-format text (the file followed by command-line directives, as Redis does). */
  loadText(text: string): void {
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === "" || line.startsWith("#")) continue;
      const args = splitArgs(line);
      if (args === null) throw new ConfigFileError(i + 1, line, "Unbalanced quotes in configuration line");
      if (args.length === 0) continue;
      const d = this.directive(args[0]);
      if (d === undefined || args.length < 2 && d.type !== "special" && d.type !== "string") {
        throw new ConfigFileError(i + 1, line, "Bad directive or wrong number of arguments");
      }
      const parsed = this.parseValue(d, args.slice(1));
      if (typeof parsed === "object" && parsed !== null && "error" in parsed) {
        throw new ConfigFileError(i + 1, line, parsed.error);
      }
      this.values.set(d.name, parsed);
    }
  }
}
