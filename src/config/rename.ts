/** `rename-command` lines from the config file, applied to the command table at start-up. */
import type { CommandTable } from "../commands/table.ts";

/**
 * Renames (or, with an empty new name, removes) commands. Names were checked against Redis's
 * command table while loading; commands tessera does not serve yet are simply absent.
 */
export function applyCommandRenames(table: CommandTable, renames: [string, string][]): void {
  for (const [from, to] of renames) {
    const key = from.toLowerCase();
    const cmd = table.commands.get(key);
    if (cmd === undefined) continue;
    table.commands.delete(key);
    if (to !== "") table.commands.set(to.toLowerCase(), cmd);
  }
}
