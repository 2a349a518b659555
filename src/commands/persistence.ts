/** SAVE, BGSAVE, LASTSAVE: RDB snapshots on disk. */
import type { Handler } from "./table.ts";

/** Handlers by command name. */
export const persistenceCommands: Record<string, Handler> = {};
