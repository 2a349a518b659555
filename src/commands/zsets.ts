/** The zsets command family (being written). */
import type { Handler } from "./table.ts";

export const zsetCommands: Record<string, Handler> = {};
