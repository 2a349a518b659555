/** Every command family's handlers, combined into the command table by the server. */
import type { Handler } from "./table.ts";
import { connectionCommands } from "./connection.ts";
import { stringCommands } from "./strings.ts";
import { keyCommands } from "./keys.ts";
import { transactionCommands } from "./transactions.ts";
import { configCommands } from "./config.ts";
import { serverCommands } from "./server_admin.ts";

/** All handler maps, one per family module. */
export const ALL_COMMANDS: Record<string, Handler>[] = [
  connectionCommands,
  stringCommands,
  keyCommands,
  transactionCommands,
  configCommands,
  serverCommands,
];
