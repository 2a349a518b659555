/** MONITOR line format: `1339518083.107412 [0 127.0.0.1:60866] "keys" "*"`. */
import type { Client } from "./client.ts";

/** Quotes an argument as Redis's sdscatrepr does. */
export function reprString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const code = s.charCodeAt(i);
    if (ch === "\\" || ch === '"') out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code === 7) out += "\\a";
    else if (code === 8) out += "\\b";
    else if (code >= 32 && code < 127) out += ch;
    else out += "\\x" + code.toString(16).padStart(2, "0");
  }
  return out + '"';
}

/** Formats the line MONITOR clients receive for one command. */
export function formatMonitorLine(c: Client, argv: string[]): string {
  const now = Date.now() * 1000 + Math.floor((performance.now() % 1) * 1000);
  const sec = Math.floor(now / 1e6);
  const usec = String(now % 1e6).padStart(6, "0");
  const parts = argv.map(reprString).join(" ");
  return `${sec}.${usec} [${c.db.id} ${c.addr}] ${parts}`;
}
