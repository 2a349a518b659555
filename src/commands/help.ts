/** The reply of `<COMMAND> HELP` (Redis's addReplyHelp). */
import type { Client } from "../server/client.ts";

/** Replies the header line, `lines`, and the closing HELP entry, each as a status reply. */
export function replyHelp(c: Client, command: string, lines: readonly string[]): void {
  const out = c.out;
  out.array(lines.length + 3);
  out.simple(`${command.toUpperCase()} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`);
  for (const line of lines) out.simple(line);
  out.simple("HELP");
  out.simple("    Prints this help.");
}

/** Redis's addReplySubcommandSyntaxError: unknown subcommand or wrong argument count for it. */
export function subcommandSyntaxError(c: Client, argv: string[]): void {
  c.error(
    `ERR unknown subcommand or wrong number of arguments for '${argv[1].slice(0, 128)}'. Try ${
      argv[0].toUpperCase()
    } HELP.`,
  );
}
