/** Server commands: TIME LASTSAVE MONITOR SHUTDOWN. */
import type { Handler } from "./table.ts";
import { SYNTAX_ERROR } from "./connection.ts";

export const serverCommands: Record<string, Handler> = {
  time(c) {
    const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    c.out.array(2);
    c.out.bulk(String(Math.floor(micros / 1e6)));
    c.out.bulk(String(micros % 1e6));
  },
  lastsave(c) {
    c.out.int(c.server.lastSave);
  },
  monitor(c) {
    // Already a monitor (or a replica): ignored without a reply, as Redis does.
    if (c.monitor) return;
    c.monitor = true;
    c.server.monitors.add(c);
    c.out.ok();
  },
  shutdown(c, argv) {
    const flags = { save: false, nosave: false, now: false, force: false };
    let abort = false;
    for (let i = 1; i < argv.length; i++) {
      const opt = argv[i].toLowerCase();
      if (opt === "nosave") flags.nosave = true;
      else if (opt === "save") flags.save = true;
      else if (opt === "now") flags.now = true;
      else if (opt === "force") flags.force = true;
      else if (opt === "abort") abort = true;
      else return c.error(SYNTAX_ERROR);
    }
    const anyFlag = flags.save || flags.nosave || flags.now || flags.force;
    if ((abort && anyFlag) || (flags.nosave && flags.save)) return c.error(SYNTAX_ERROR);
    // Shutdown completes synchronously here, so there is never one in progress to abort.
    if (abort) return c.error("ERR No shutdown in progress.");
    const error = c.server.shutdownCommand(flags);
    if (error !== null) c.error(error);
  },
};
