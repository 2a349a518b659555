/** The shape of one config directive in the table. */
import type { Server } from "../server/server.ts";

/** How a directive's text is parsed and printed. */
export type DirectiveType = "bool" | "int" | "memory" | "string" | "enum" | "special";

/** A parsed directive value (special directives keep structured values, e.g. save pairs as numbers). */
export type ConfigValue = string | number | boolean | string[] | number[];

/** A refusal: the reason Redis prints after `CONFIG SET failed ... - ` or in the FATAL CONFIG block. */
export interface ConfigError {
  error: string;
}

/** One row of the directive table. */
export interface Directive {
  /** Canonical lowercase name, as CONFIG GET prints it. */
  name: string;
  /** Other accepted names (e.g. `slaveof` for `replicaof`). */
  aliases?: string[];
  type: DirectiveType;
  /** The default, written as in redis.conf (parsed like a config file line). */
  default: string;
  /** Whether CONFIG SET may change it at run time (Redis's IMMUTABLE_CONFIG when false). */
  mutable: boolean;
  /** PROTECTED_CONFIG: CONFIG SET only when `enable-protected-configs` allows it. */
  protected?: boolean;
  /** HIDDEN_CONFIG: CONFIG GET patterns skip it; an exact name still finds it. */
  hidden?: boolean;
  /** MULTI_ARG_CONFIG: takes any number of words (CONFIG SET splits its value on single spaces). */
  multiArg?: boolean;
  /** Bounds for int and memory types. */
  min?: number;
  max?: number;
  /** Unsigned C type: a negative number is out of bounds rather than unparsable. */
  unsigned?: boolean;
  /** Memory directives that also accept `N%` (stored as -N, as Redis does). */
  percent?: boolean;
  /** Int directives written in octal (unixsocketperm). */
  octal?: boolean;
  /** Accepted words for enum types (lowercase), in Redis's order. */
  values?: string[];
  /** Enum words that mean the same as another (Redis prints the first: `relative` reads back as `yes`). */
  synonyms?: Record<string, string>;
  /** Enum of flags (shutdown-on-sigint): several words, stored in `values` order; `values[0]` means none. */
  flags?: boolean;
  /** Strings where Redis stores "" as NULL (then CONFIG REWRITE drops the directive's lines). */
  emptyIsNull?: boolean;
  /** In a config file, later lines add to the earlier ones instead of replacing them (`save`). */
  accumulate?: boolean;
  /** Extra validation after parsing (Redis's is_valid_fn); returns an error text to refuse. */
  validate?: (value: ConfigValue) => string | void;
  /** Adjusts an accepted value (hz is capped to 1..500 as Redis does). */
  normalize?: (value: ConfigValue) => ConfigValue;
  /** For `special`: parses the argument words (given the current value for partial updates). */
  parse?: (args: string[], current: ConfigValue) => ConfigValue | ConfigError;
  /** For `special`: formats the value for CONFIG GET. */
  format?: (value: ConfigValue) => string;
  /**
   * For `special`: the lines CONFIG REWRITE writes (each with `force`: write it even if the file
   * lacks it); null means "drop this directive's lines" (Redis's rewriteConfigMarkAsProcessed).
   */
  rewrite?: (value: ConfigValue, isDefault: boolean) => { line: string; force: boolean }[] | null;
  /**
   * Runs after CONFIG SET changed the value (Redis's apply function); returns an error text to make
   * CONFIG SET fail and roll back. At start-up the server reads the values directly instead.
   */
  apply?: (server: Server, value: ConfigValue) => string | void;
  /** Accepted and stored, but without effect yet (listed in docs/compatibility.md). */
  noEffect?: boolean;
}

/** Whether a parse result is a refusal. */
export function isConfigError(v: ConfigValue | ConfigError): v is ConfigError {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
