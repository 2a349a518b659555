/** The lists command family (being written). */
import type { Handler } from "./table.ts";

export const listCommands: Record<string, Handler> = {};
