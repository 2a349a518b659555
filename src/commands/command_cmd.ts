/**
 * COMMAND and its subcommands: COUNT INFO DOCS LIST GETKEYS GETKEYSANDFLAGS HELP, answered from
 * Redis 7.0's own metadata for the commands tessera implements.
 */
import type { Handler } from "./table.ts";
import { CMD_MOVABLE_KEYS, type Command, commandKeyPositions } from "./table.ts";
import type { Client } from "../server/client.ts";
import { type Tagged, taggedStrings, writeTagged } from "../resp/tagged.ts";
import { replyHelp } from "./help.ts";
import { SYNTAX_ERROR } from "./connection.ts";

const COMMAND_HELP = [
  "(no subcommand)",
  "    Return details about all Redis commands.",
  "COUNT",
  "    Return the total number of commands in this Redis server.",
  "LIST",
  "    Return a list of all commands in this Redis server.",
  "INFO [<command-name> ...]",
  "    Return details about multiple Redis commands.",
  "    If no command names are given, documentation details for all",
  "    commands are returned.",
  "DOCS [<command-name> ...]",
  "    Return documentation details about multiple Redis commands.",
  "    If no command names are given, documentation details for all",
  "    commands are returned.",
  "GETKEYS <full-command>",
  "    Return the keys from a full Redis command.",
  "GETKEYSANDFLAGS <full-command>",
  "    Return the keys and the access flags from a full Redis command.",
];

/** Index of the flags and ACL categories in a COMMAND INFO entry. */
const INFO_FLAGS = 2;
const INFO_ACL_CATEGORIES = 6;

/** Finds `name` or `container|sub` (Redis's lookupCommandBySds). */
function lookupByFullName(c: Client, name: string): Command | undefined {
  const bar = name.indexOf("|");
  if (bar === -1) return c.server.commands.lookup(name);
  const parent = c.server.commands.lookup(name.slice(0, bar));
  return parent?.subcommands?.get(name.slice(bar + 1).toLowerCase());
}

/** Resolves argv as dispatch would: a container's subcommand when given (Redis's lookupCommand). */
function lookupForArgv(c: Client, args: string[]): Command | undefined {
  const cmd = c.server.commands.lookup(args[0]);
  if (cmd === undefined || cmd.subcommands === null || args.length === 1) return cmd;
  return cmd.subcommands.get(args[1].toLowerCase());
}

function hasFlag(cmd: Command, flag: string): boolean {
  return taggedStrings((cmd.info as Tagged[])[INFO_FLAGS]).includes(flag);
}

/** Whether a command can have keys at all (key specs, or keys found by a custom procedure). */
function commandHasKeys(cmd: Command): boolean {
  return cmd.keySpecs.length > 0 || (cmd.flags & CMD_MOVABLE_KEYS) !== 0;
}

/**
 * The actual key flags of commands whose specs say `variable_flags` (Redis's setGetKeys and
 * bitfieldGetKeys): SET without GET only overwrites; BITFIELD without SET/INCRBY only reads.
 */
function variableKeyFlags(cmd: Command, args: string[], flags: string[]): string[] {
  if (!flags.includes("variable_flags")) return flags;
  const words = args.slice(2).map((a) => a.toLowerCase());
  if (cmd.fullname === "set") return words.includes("get") ? ["RW", "access", "update"] : ["OW", "update"];
  if (cmd.fullname === "bitfield") {
    return words.includes("set") || words.includes("incrby") ? ["RW", "access", "update"] : ["RO", "access"];
  }
  return flags;
}

/** Keys of a full command with the flags of the key spec that found each. */
function keysWithFlags(cmd: Command, args: string[]): { pos: number; flags: string[] }[] {
  const out: { pos: number; flags: string[] }[] = [];
  for (const spec of cmd.keySpecs) {
    const flags = variableKeyFlags(cmd, args, spec.flags);
    for (const pos of commandKeyPositions({ ...cmd, keySpecs: [spec] }, args)) out.push({ pos, flags });
  }
  return out;
}

function getKeys(c: Client, argv: string[], withFlags: boolean): void {
  const args = argv.slice(2);
  const cmd = lookupForArgv(c, args);
  if (cmd === undefined) return c.error("ERR Invalid command specified");
  if (!commandHasKeys(cmd)) return c.error("ERR The command has no key arguments");
  if ((cmd.arity > 0 && cmd.arity !== args.length) || args.length < -cmd.arity) {
    return c.error("ERR Invalid number of arguments specified for command");
  }
  const keys = keysWithFlags(cmd, args);
  if (keys.length === 0) {
    if (hasFlag(cmd, "no_mandatory_keys")) return c.out.array(0);
    return c.error("ERR Invalid arguments specified for command");
  }
  c.out.array(keys.length);
  for (const k of keys) {
    if (!withFlags) {
      c.out.bulk(args[k.pos]);
      continue;
    }
    c.out.array(2);
    c.out.bulk(args[k.pos]);
    c.out.set(k.flags.length);
    for (const f of k.flags) c.out.simple(f);
  }
}

/** Redis's stringmatchlen subset for COMMAND LIST FILTERBY PATTERN: `*`, `?`, `[...]`, `\`, no case. */
export function globMatch(pattern: string, text: string): boolean {
  const p = pattern.toLowerCase();
  const s = text.toLowerCase();
  const match = (pi: number, si: number): boolean => {
    while (pi < p.length) {
      const ch = p[pi];
      if (ch === "*") {
        while (p[pi + 1] === "*") pi++;
        if (pi + 1 === p.length) return true;
        for (let k = si; k <= s.length; k++) if (match(pi + 1, k)) return true;
        return false;
      }
      if (si >= s.length) return false;
      if (ch === "?") {
        pi++;
        si++;
        continue;
      }
      if (ch === "[") {
        let j = pi + 1;
        const not = p[j] === "^";
        if (not) j++;
        let matched = false;
        while (j < p.length && p[j] !== "]") {
          if (p[j] === "\\" && j + 1 < p.length) {
            j++;
            if (p[j] === s[si]) matched = true;
          } else if (p[j + 1] === "-" && j + 2 < p.length && p[j + 2] !== "]") {
            let lo = p[j];
            let hi = p[j + 2];
            if (lo > hi) [lo, hi] = [hi, lo];
            if (s[si] >= lo && s[si] <= hi) matched = true;
            j += 2;
          } else if (p[j] === s[si]) {
            matched = true;
          }
          j++;
        }
        if (not) matched = !matched;
        if (!matched) return false;
        pi = j + 1;
        si++;
        continue;
      }
      const lit = ch === "\\" && pi + 1 < p.length ? p[++pi] : ch;
      if (lit !== s[si]) return false;
      pi++;
      si++;
    }
    return si === s.length;
  };
  return match(0, 0);
}

/** Names for COMMAND LIST: every command and subcommand. */
function allNames(c: Client): string[] {
  const names: string[] = [];
  for (const cmd of c.server.commands.commands.values()) {
    names.push(cmd.fullname);
    if (cmd.subcommands !== null) { for (const sub of cmd.subcommands.values()) names.push(sub.fullname); }
  }
  return names;
}

function aclCategories(cmd: Command): string[] {
  return taggedStrings((cmd.info as Tagged[])[INFO_ACL_CATEGORIES])
    .map((cat) => cat.replace(/^@/, "").toLowerCase());
}

export const commandCommands: Record<string, Handler> = {
  command(c) {
    const cmds = c.server.commands.commands;
    c.out.array(cmds.size);
    for (const cmd of cmds.values()) writeTagged(c.out, cmd.info);
  },
  "command|count"(c) {
    c.out.int(c.server.commands.commands.size);
  },
  "command|info"(c, argv) {
    if (argv.length === 2) return commandCommands.command(c, argv);
    c.out.array(argv.length - 2);
    for (let j = 2; j < argv.length; j++) {
      const cmd = lookupByFullName(c, argv[j]);
      if (cmd === undefined) c.out.nil();
      else writeTagged(c.out, cmd.info);
    }
  },
  "command|docs"(c, argv) {
    const found: Command[] = [];
    if (argv.length === 2) {
      for (const cmd of c.server.commands.commands.values()) found.push(cmd);
    } else {
      for (let j = 2; j < argv.length; j++) {
        const cmd = lookupByFullName(c, argv[j]);
        if (cmd !== undefined) found.push(cmd);
      }
    }
    c.out.map(found.length);
    for (const cmd of found) {
      c.out.bulk(cmd.fullname);
      writeTagged(c.out, cmd.docs);
    }
  },
  "command|list"(c, argv) {
    if (argv.length === 2) return c.out.bulkArray(allNames(c));
    if (argv.length !== 5 || argv[2].toLowerCase() !== "filterby") return c.error(SYNTAX_ERROR);
    const kind = argv[3].toLowerCase();
    const value = argv[4];
    const names: string[] = [];
    if (kind === "module") {
      // No modules: nothing matches.
    } else if (kind === "aclcat") {
      const cat = value.toLowerCase();
      for (const cmd of c.server.commands.commands.values()) {
        if (aclCategories(cmd).includes(cat)) names.push(cmd.fullname);
        if (cmd.subcommands !== null) {
          for (const sub of cmd.subcommands.values()) if (aclCategories(sub).includes(cat)) names.push(sub.fullname);
        }
      }
    } else if (kind === "pattern") {
      for (const name of allNames(c)) if (globMatch(value, name)) names.push(name);
    } else {
      return c.error(SYNTAX_ERROR);
    }
    c.out.bulkArray(names);
  },
  "command|getkeys"(c, argv) {
    getKeys(c, argv, false);
  },
  "command|getkeysandflags"(c, argv) {
    getKeys(c, argv, true);
  },
  "command|help"(c) {
    replyHelp(c, "COMMAND", COMMAND_HELP);
  },
};
