/** String commands. */
import type { Handler } from "./table.ts";

export const stringCommands: Record<string, Handler> = {
  get(c, argv) {
    const v = c.db.get(argv[1]);
    if (v === undefined) c.out.nil();
    else if (typeof v === "string") c.out.bulk(v);
    else c.error("WRONGTYPE Operation against a key holding the wrong kind of value");
  },
  set(c, argv) {
    c.db.set(argv[1], argv[2]);
    c.server.dirty++;
    c.out.ok();
  },
};
