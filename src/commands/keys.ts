/** Key commands. */
import type { Handler } from "./table.ts";

export const keyCommands: Record<string, Handler> = {};
