/** Connection commands: PING ECHO QUIT SELECT. */
import type { Handler } from "./table.ts";

export const connectionCommands: Record<string, Handler> = {
  ping(c, argv) {
    if (argv.length > 2) return c.error("ERR wrong number of arguments for 'ping' command");
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
};
