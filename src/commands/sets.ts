/** The sets command family (being written). */
import type { Handler } from "./table.ts";

export const setCommands: Record<string, Handler> = {};
