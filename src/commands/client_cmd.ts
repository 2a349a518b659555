/** CLIENT subcommands: ID SETNAME GETNAME LIST INFO KILL PAUSE UNPAUSE REPLY NO-EVICT HELP. */
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import { clientInfoString } from "../server/client_info.ts";
import { setClientName, SYNTAX_ERROR } from "./connection.ts";
import { string2ll } from "../config/parse.ts";
import { replyHelp, subcommandSyntaxError } from "./help.ts";
import { unblockClient } from "../store/blocking.ts";

const CLIENT_HELP = [
  "CACHING (YES|NO)",
  "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
  "GETREDIR",
  "    Return the client ID we are redirecting to when tracking is enabled.",
  "GETNAME",
  "    Return the name of the current connection.",
  "ID",
  "    Return the ID of the current connection.",
  "INFO",
  "    Return information about the current client connection.",
  "KILL <ip:port>",
  "    Kill connection made from <ip:port>.",
  "KILL <option> <value> [<option> <value> [...]]",
  "    Kill connections. Options are:",
  "    * ADDR (<ip:port>|<unixsocket>:0)",
  "      Kill connections made from the specified address",
  "    * LADDR (<ip:port>|<unixsocket>:0)",
  "      Kill connections made to specified local address",
  "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
  "      Kill connections by type.",
  "    * USER <username>",
  "      Kill connections authenticated by <username>.",
  "    * SKIPME (YES|NO)",
  "      Skip killing current connection (default: yes).",
  "LIST [options ...]",
  "    Return information about client connections. Options:",
  "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
  "      Return clients of specified type.",
  "UNPAUSE",
  "    Stop the current client pause, resuming traffic.",
  "PAUSE <timeout> [WRITE|ALL]",
  "    Suspend all, or just write, clients for <timeout> milliseconds.",
  "REPLY (ON|OFF|SKIP)",
  "    Control the replies sent to the current connection.",
  "SETNAME <name>",
  "    Assign the name <name> to the current connection.",
  "UNBLOCK <clientid> [TIMEOUT|ERROR]",
  "    Unblock the specified blocked client.",
  "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
  "         [OPTIN] [OPTOUT] [NOLOOP]",
  "    Control server assisted client side caching.",
  "TRACKINGINFO",
  "    Report tracking status for the current connection.",
  "NO-EVICT (ON|OFF)",
  "    Protect current client connection from eviction.",
];

type ClientType = ReturnType<Client["type"]>;

/** Redis's getClientTypeByName: `slave` is an alias of `replica`. */
function clientTypeByName(name: string): ClientType | null {
  const lower = name.toLowerCase();
  if (lower === "normal" || lower === "master" || lower === "pubsub" || lower === "replica") return lower;
  if (lower === "slave") return "replica";
  return null;
}

/** The size of the running command's arguments (CLIENT LIST `argv-mem` of the caller). */
function argvBytes(argv: string[]): number {
  let n = 0;
  for (const a of argv) n += a.length;
  return n;
}

/** One client's line; the caller's own line counts its running command. */
function infoLine(self: Client, c: Client, argv: string[]): string {
  return clientInfoString(c, c === self ? argvBytes(argv) : 0);
}

/** Filters for CLIENT KILL's new form. */
interface KillFilter {
  id: number | null;
  type: ClientType | null;
  addr: string | null;
  laddr: string | null;
  user: string | null;
  skipMe: boolean;
}

/** Parses CLIENT KILL's `<option> <value>` pairs, or replies an error and returns null. */
function parseKillFilter(c: Client, argv: string[]): KillFilter | null {
  const f: KillFilter = { id: null, type: null, addr: null, laddr: null, user: null, skipMe: true };
  if (argv.length % 2 !== 0) {
    c.error(SYNTAX_ERROR);
    return null;
  }
  for (let i = 2; i < argv.length; i += 2) {
    const opt = argv[i].toLowerCase();
    const value = argv[i + 1];
    if (opt === "id") {
      const id = string2ll(value);
      if (id === null || id <= 0) {
        c.error("ERR client-id should be greater than 0");
        return null;
      }
      f.id = id;
    } else if (opt === "type") {
      f.type = clientTypeByName(value);
      if (f.type === null) {
        c.error(`ERR Unknown client type '${value}'`);
        return null;
      }
    } else if (opt === "addr") {
      f.addr = value;
    } else if (opt === "laddr") {
      f.laddr = value;
    } else if (opt === "user") {
      if (value !== "default") {
        c.error(`ERR No such user '${value}'`);
        return null;
      }
      f.user = value;
    } else if (opt === "skipme") {
      const lower = value.toLowerCase();
      if (lower === "yes") f.skipMe = true;
      else if (lower === "no") f.skipMe = false;
      else {
        c.error(SYNTAX_ERROR);
        return null;
      }
    } else {
      c.error(SYNTAX_ERROR);
      return null;
    }
  }
  return f;
}

function matchesKill(f: KillFilter, self: Client, c: Client): boolean {
  if (f.addr !== null && c.addr !== f.addr) return false;
  if (f.laddr !== null && c.laddr !== f.laddr) return false;
  if (f.type !== null && c.type() !== f.type) return false;
  if (f.id !== null && c.id !== f.id) return false;
  if (f.user !== null && c.user !== f.user) return false;
  if (c === self && f.skipMe) return false;
  return true;
}

/** Kills a client: the caller itself is closed after its reply, others at once. */
function killClient(self: Client, c: Client): void {
  if (c === self) self.closeAfterReply = true;
  else c.close();
}

export const clientCommands: Record<string, Handler> = {
  "client|id"(c) {
    c.out.int(c.id);
  },
  "client|setname"(c, argv) {
    if (setClientName(c, argv[2])) c.out.ok();
  },
  "client|getname"(c) {
    if (c.name === "") c.out.nil();
    else c.out.bulk(c.name);
  },
  "client|info"(c, argv) {
    c.out.verbatim(clientInfoString(c, argvBytes(argv)) + "\n");
  },
  "client|list"(c, argv) {
    let type: ClientType | null = null;
    let text = "";
    if (argv.length === 4 && argv[2].toLowerCase() === "type") {
      type = clientTypeByName(argv[3]);
      if (type === null) return c.error(`ERR Unknown client type '${argv[3]}'`);
    } else if (argv.length > 3 && argv[2].toLowerCase() === "id") {
      const ids: number[] = [];
      for (let j = 3; j < argv.length; j++) {
        const id = string2ll(argv[j]);
        if (id === null) return c.error("ERR Invalid client ID");
        ids.push(id);
      }
      for (const id of ids) {
        const other = c.server.clients.get(id);
        if (other !== undefined) text += infoLine(c, other, argv) + "\n";
      }
      return c.out.verbatim(text);
    } else if (argv.length !== 2) {
      return c.error(SYNTAX_ERROR);
    }
    for (const other of c.server.clients.values()) {
      if (type !== null && other.type() !== type) continue;
      text += infoLine(c, other, argv) + "\n";
    }
    c.out.verbatim(text);
  },
  "client|kill"(c, argv) {
    if (argv.length === 3) {
      // Old form: CLIENT KILL ip:port.
      for (const other of c.server.clients.values()) {
        if (other.addr !== argv[2]) continue;
        c.out.ok();
        killClient(c, other);
        return;
      }
      return c.error("ERR No such client");
    }
    const filter = parseKillFilter(c, argv);
    if (filter === null) return;
    let killed = 0;
    for (const other of [...c.server.clients.values()]) {
      if (!matchesKill(filter, c, other)) continue;
      killClient(c, other);
      killed++;
    }
    c.out.int(killed);
  },
  "client|pause"(c, argv) {
    let writesOnly = false;
    if (argv.length === 4) {
      const mode = argv[3].toLowerCase();
      if (mode === "write") writesOnly = true;
      else if (mode !== "all") return c.error("ERR CLIENT PAUSE mode must be WRITE or ALL");
    } else if (argv.length > 4) {
      return c.error("ERR unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP.");
    }
    const ms = string2ll(argv[2]);
    if (ms === null) return c.error("ERR timeout is not an integer or out of range");
    if (ms < 0) return c.error("ERR timeout is negative");
    c.server.pauseClients(Date.now() + ms, writesOnly);
    c.out.ok();
  },
  "client|unpause"(c) {
    c.server.unpauseClients();
    c.out.ok();
  },
  "client|reply"(c, argv) {
    const mode = argv[2].toLowerCase();
    if (mode === "on") {
      c.replyMode = "on";
      c.out.ok();
    } else if (mode === "off") {
      c.replyMode = "off";
    } else if (mode === "skip") {
      if (c.replyMode !== "off") c.replyMode = "skip";
    } else {
      c.error(SYNTAX_ERROR);
    }
  },
  "client|no-evict"(c, argv) {
    const mode = argv[2].toLowerCase();
    if (mode === "on") c.noEvict = true;
    else if (mode === "off") c.noEvict = false;
    else return c.error(SYNTAX_ERROR);
    c.out.ok();
  },
  "client|unblock"(c, argv) {
    if (argv.length > 4) return subcommandSyntaxError(c, argv);
    const id = string2ll(argv[2]);
    if (id === null) return c.error("ERR value is not an integer or out of range");
    let reply: "timeout" | "error" = "timeout";
    if (argv.length === 4) {
      const reason = argv[3].toLowerCase();
      if (reason === "error") reply = "error";
      else if (reason !== "timeout") return c.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
    }
    const target = c.server.clients.get(id);
    c.out.int(target !== undefined && unblockClient(target, reply) ? 1 : 0);
  },
  "client|help"(c) {
    replyHelp(c, "CLIENT", CLIENT_HELP);
  },
};
