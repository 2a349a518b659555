/** REPLICAOF / SLAVEOF, REPLCONF, PSYNC / SYNC, WAIT, ROLE. */
import type { Handler } from "./table.ts";

/** Handlers by command name. */
export const replicationCommands: Record<string, Handler> = {};
