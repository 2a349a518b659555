/** SAVE, BGSAVE (LASTSAVE is in server_admin.ts): RDB snapshots on disk. */
import type { Handler } from "./table.ts";
import { persistenceState, saveRdbSync, startBgsave } from "../persistence/rdb_file.ts";
import { ERR_SYNTAX } from "./errors.ts";

const ERR_BGSAVE_IN_PROGRESS = "ERR Background save already in progress";

/** Handlers by command name. */
export const persistenceCommands: Record<string, Handler> = {
  save(c) {
    if (persistenceState.bgsaveInProgress) return c.error(ERR_BGSAVE_IN_PROGRESS);
    if (saveRdbSync(c.server)) c.out.ok();
    else c.error("ERR");
  },
  bgsave(c, argv) {
    // SCHEDULE only matters while another child runs; tessera never has one.
    if (argv.length > 1 && !(argv.length === 2 && argv[1].toLowerCase() === "schedule")) return c.error(ERR_SYNTAX);
    if (persistenceState.bgsaveInProgress) return c.error(ERR_BGSAVE_IN_PROGRESS);
    if (startBgsave(c.server).started) c.out.simple("Background saving started");
    else c.error("ERR");
  },
};
