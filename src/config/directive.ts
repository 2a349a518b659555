/** The shape of one config directive in the table. */
import type { Server } from "../server/server.ts";

/** How a directive's text is parsed and printed. */
export type DirectiveType = "bool" | "int" | "memory" | "string" | "enum" | "special";

/** A parsed directive value. */
export type ConfigValue = string | number | boolean | string[];

/** One row of the directive table. */
export interface Directive {
  /** Canonical lowercase name, as CONFIG GET prints it. */
  name: string;
  /** Other accepted names (e.g. `slaveof` for `replicaof`). */
  aliases?: string[];
  type: DirectiveType;
  /** The default, written as in redis.conf. */
  default: string;
  /** Whether CONFIG SET may change it at run time. */
  mutable: boolean;
  /** Bounds for int and memory types. */
  min?: number;
  max?: number;
  /** Accepted words for enum types (lowercase). */
  values?: string[];
  /** Enum directives whose value is a set of words (e.g. `appendfsync` is one, `notify` flags are many). */
  multi?: boolean;
  /** For `special`: parses the argument words; returns an error text to refuse. */
  parse?: (args: string[]) => ConfigValue | { error: string };
  /** For `special`: formats the value for CONFIG GET and REWRITE. */
  format?: (value: ConfigValue) => string;
  /** Runs after the value changes (at start-up too); returns an error text to refuse the change. */
  apply?: (server: Server, value: ConfigValue) => string | void;
  /** Accepted and stored, but without effect yet (listed in docs/compatibility.md). */
  noEffect?: boolean;
}
