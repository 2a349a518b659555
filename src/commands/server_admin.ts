/** Server commands: INFO TIME LASTSAVE MONITOR SLOWLOG LATENCY SHUTDOWN DEBUG COMMAND. */
import type { Handler } from "./table.ts";

export const serverCommands: Record<string, Handler> = {};
