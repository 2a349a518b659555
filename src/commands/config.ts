/** CONFIG GET SET REWRITE RESETSTAT. */
import type { Handler } from "./table.ts";

export const configCommands: Record<string, Handler> = {};
