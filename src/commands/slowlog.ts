/** SLOWLOG GET LEN RESET HELP. */
import type { Handler } from "./table.ts";
import { replyHelp, subcommandSyntaxError } from "./help.ts";
import { string2ll } from "../config/parse.ts";

const SLOWLOG_HELP = [
  "GET [<count>]",
  "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
  "    Entries are made of:",
  "    id, timestamp, time in microseconds, arguments array, client IP and port,",
  "    client name",
  "LEN",
  "    Return the length of the slowlog.",
  "RESET",
  "    Reset the slowlog.",
];

/** Entries SLOWLOG GET returns without a count. */
const SLOWLOG_GET_DEFAULT = 10;

export const slowlogCommands: Record<string, Handler> = {
  "slowlog|get"(c, argv) {
    if (argv.length > 3) return subcommandSyntaxError(c, argv);
    const log = c.server.slowlog;
    let count = SLOWLOG_GET_DEFAULT;
    if (argv.length === 3) {
      const n = string2ll(argv[2]);
      if (n === null || n < -1) return c.error("ERR count should be greater than or equal to -1");
      count = n === -1 ? log.length : n;
    }
    const n = Math.min(count, log.length);
    c.out.array(n);
    for (let i = 0; i < n; i++) {
      const e = log[i];
      c.out.array(6);
      c.out.int(e.id);
      c.out.int(e.time);
      c.out.int(e.usec);
      c.out.bulkArray(e.argv);
      c.out.bulk(e.addr);
      c.out.bulk(e.name);
    }
  },
  "slowlog|len"(c) {
    c.out.int(c.server.slowlog.length);
  },
  "slowlog|reset"(c) {
    c.server.slowlogReset();
    c.out.ok();
  },
  "slowlog|help"(c) {
    replyHelp(c, "SLOWLOG", SLOWLOG_HELP);
  },
};
