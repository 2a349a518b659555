/** Connection commands: PING ECHO QUIT RESET HELLO AUTH SELECT. */
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import { discardTransaction } from "./transactions.ts";
import { string2ll } from "../config/parse.ts";
import { REDIS_VERSION } from "../version.ts";

/** Redis's `shared.syntaxerr`. */
export const SYNTAX_ERROR = "ERR syntax error";
/** Argument text MONITOR and SLOWLOG show instead of a secret (redactClientCommandArgument). */
const REDACTED = "(redacted)";
const WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled.";
const INT_MAX = 2147483647;

/**
 * Extra state RESET clears, registered by other families (pub/sub unsubscribes, tracking):
 * Redis's clearClientConnectionState calls them in one place.
 */
export const connectionResetHooks: ((c: Client) => void)[] = [];

/** Whether the default user needs a password (`requirepass` set): Redis's auth_required. */
export function authRequired(c: Client): boolean {
  return c.server.config.str("requirepass") !== "";
}

/** Sets the client's authentication state (and the parser's tighter unauthenticated limits). */
function setAuthenticated(c: Client, authenticated: boolean): void {
  c.authenticated = authenticated;
  c.parser.authRequired = !authenticated && authRequired(c);
}

/**
 * Checks a user / password pair against the default user (the only user until ACL exists).
 * Without requirepass the default user is `nopass` and any password is accepted.
 */
function checkCredentials(c: Client, user: string, pass: string): boolean {
  if (user !== "default") return false;
  const required = c.server.config.str("requirepass");
  return required === "" || pass === required;
}

/** Replaces argv[i] with `(redacted)` so MONITOR and SLOWLOG do not show secrets. */
function redact(argv: string[], i: number): void {
  argv[i] = REDACTED;
}

/** CLIENT SETNAME / HELLO SETNAME rule: printable ASCII without spaces. */
export function validClientName(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const ch = name.charCodeAt(i);
    if (ch < 33 || ch > 126) return false;
  }
  return true;
}

/** Sets the connection name, or replies Redis's error and returns false. */
export function setClientName(c: Client, name: string): boolean {
  if (!validClientName(name)) {
    c.error("ERR Client names cannot contain spaces, newlines or special characters.");
    return false;
  }
  c.name = name;
  return true;
}

/** Parses a Redis `int` argument (getIntFromObjectOrReply), or null. */
function parseInt32(text: string): number | null {
  const n = string2ll(text);
  return n === null || n > INT_MAX || n < -INT_MAX - 1 ? null : n;
}

export const connectionCommands: Record<string, Handler> = {
  ping(c, argv) {
    if (argv.length > 2) return c.error("ERR wrong number of arguments for 'ping' command");
    // RESP2 clients in subscribe mode get a pong array (Redis's pingCommand).
    if (c.resp === 2 && c.subCount + c.psubCount + c.ssubCount > 0) {
      c.out.array(2);
      c.out.bulk("pong");
      c.out.bulk(argv.length === 2 ? argv[1] : "");
      return;
    }
    if (argv.length === 2) c.out.bulk(argv[1]);
    else c.out.raw("+PONG\r\n");
  },
  echo(c, argv) {
    c.out.bulk(argv[1]);
  },
  quit(c) {
    c.out.ok();
    c.closeAfterReply = true;
  },
  reset(c) {
    if (c.monitor) {
      c.monitor = false;
      c.server.monitors.delete(c);
    }
    c.db = c.server.dbs[0];
    c.setResp(2);
    c.user = "default";
    setAuthenticated(c, !authRequired(c));
    discardTransaction(c);
    for (const hook of connectionResetHooks) hook(c);
    c.name = "";
    c.replyMode = "on";
    c.out.raw("+RESET\r\n");
  },
  hello(c, argv) {
    let ver = 0;
    let next = 1;
    if (argv.length >= 2) {
      const v = string2ll(argv[next++]);
      if (v === null) return c.error("ERR Protocol version is not an integer or out of range");
      if (v < 2 || v > 3) return c.error("NOPROTO unsupported protocol version");
      ver = v;
    }
    let user: string | null = null;
    let pass: string | null = null;
    let name: string | null = null;
    for (let j = next; j < argv.length; j++) {
      const more = argv.length - 1 - j;
      const opt = argv[j].toLowerCase();
      if (opt === "auth" && more >= 2) {
        user = argv[j + 1];
        pass = argv[j + 2];
        redact(argv, j + 1);
        redact(argv, j + 2);
        j += 2;
      } else if (opt === "setname" && more >= 1) {
        name = argv[++j];
      } else {
        return c.error(`ERR Syntax error in HELLO option '${argv[j]}'`);
      }
    }
    if (user !== null && pass !== null) {
      if (!checkCredentials(c, user, pass)) return c.error(WRONGPASS);
      c.user = user;
      setAuthenticated(c, true);
    }
    if (!c.authenticated) {
      return c.error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH " +
          "<user> <pass> option can be used to authenticate the client and select the RESP protocol version at the " +
          "same time",
      );
    }
    if (name !== null && !setClientName(c, name)) return;
    if (ver !== 0) c.setResp(ver as 2 | 3);
    const out = c.out;
    out.map(7);
    out.bulk("server");
    out.bulk("redis");
    out.bulk("version");
    out.bulk(REDIS_VERSION);
    out.bulk("proto");
    out.int(c.resp);
    out.bulk("id");
    out.int(c.id);
    out.bulk("mode");
    out.bulk(c.server.config.bool("cluster-enabled") ? "cluster" : "standalone");
    out.bulk("role");
    out.bulk(c.server.role());
    out.bulk("modules");
    out.array(0);
  },
  auth(c, argv) {
    if (argv.length > 3) return c.error(SYNTAX_ERROR);
    let user = "default";
    let pass: string;
    if (argv.length === 2) {
      // AUTH <password> only makes sense when the default user has a password.
      if (!authRequired(c)) {
        return c.error(
          "ERR AUTH <password> called without any password configured for the default user. " +
            "Are you sure your configuration is correct?",
        );
      }
      pass = argv[1];
      redact(argv, 1);
    } else {
      user = argv[1];
      pass = argv[2];
      redact(argv, 1);
      redact(argv, 2);
    }
    if (!checkCredentials(c, user, pass)) return c.error(WRONGPASS);
    c.user = user;
    setAuthenticated(c, true);
    c.out.ok();
  },
  select(c, argv) {
    const id = parseInt32(argv[1]);
    if (id === null) return c.error("ERR value is not an integer or out of range");
    if (c.server.config.bool("cluster-enabled") && id !== 0) {
      return c.error("ERR SELECT is not allowed in cluster mode");
    }
    if (id < 0 || id >= c.server.dbs.length) return c.error("ERR DB index is out of range");
    c.db = c.server.dbs[id];
    c.out.ok();
  },
};
