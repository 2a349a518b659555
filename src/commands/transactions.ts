/** Transactions: MULTI EXEC DISCARD WATCH UNWATCH. */
import type { Handler } from "./table.ts";

export const transactionCommands: Record<string, Handler> = {};
