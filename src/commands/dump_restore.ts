/** DUMP and RESTORE (Redis 7.0's DUMP payload: RDB value + version + CRC64). */
import type { Handler } from "./table.ts";

/** Handlers by command name. */
export const dumpRestoreCommands: Record<string, Handler> = {};
