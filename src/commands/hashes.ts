/** The hash command family (being written). */
import type { Handler } from "./table.ts";

export const hashCommands: Record<string, Handler> = {};
