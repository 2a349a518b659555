/**
 * Records the command table of a running redis-server 7.0 (COMMAND and COMMAND DOCS, as RESP3)
 * into src/commands/redis_commands.json. Redis is the specification: tessera's arity, flags,
 * key positions, ACL categories and docs come from it. Run: deno run -A scripts/gen_command_meta.ts [port]
 */
import { RespConnection } from "../src/resp/connection.ts";
import type { Tagged } from "../src/resp/tagged.ts";

const port = Number(Deno.args[0] ?? 6379);
const conn = await RespConnection.connect(port);
await conn.call("HELLO", "3");

/** Converts one raw RESP3 reply into the tagged JSON form. */
function toTagged(raw: string): Tagged {
  let pos = 0;
  const line = (): string => {
    const end = raw.indexOf("\r\n", pos);
    const s = raw.slice(pos, end);
    pos = end + 2;
    return s;
  };
  const read = (): Tagged => {
    const head = line();
    const type = head[0];
    const rest = head.slice(1);
    switch (type) {
      case "+":
        return { "+": rest };
      case ":":
        return Number(rest);
      case "_":
        return null;
      case "$": {
        const n = Number(rest);
        if (n < 0) return null;
        const s = raw.slice(pos, pos + n);
        pos += n + 2;
        return s;
      }
      case "*":
      case "~":
      case "%": {
        const n = Number(rest) * (type === "%" ? 2 : 1);
        const items: Tagged[] = [];
        for (let i = 0; i < n; i++) items.push(read());
        return type === "*" ? items : type === "~" ? { "~": items } : { "%": items };
      }
      default:
        throw new Error(`unexpected RESP3 type ${type}`);
    }
  };
  return read();
}

const info = toTagged(await conn.callRaw("COMMAND")) as Tagged[];
const docs = toTagged(await conn.callRaw("COMMAND", "DOCS")) as { "%": Tagged[] };
const docsByName = new Map<string, Tagged>();
for (let i = 0; i < docs["%"].length; i += 2) docsByName.set(docs["%"][i] as string, docs["%"][i + 1]);

const table: Record<string, { info: Tagged; docs: Tagged }> = {};
for (const entry of info.sort((a, b) => String((a as Tagged[])[0]).localeCompare(String((b as Tagged[])[0])))) {
  const name = (entry as Tagged[])[0] as string;
  table[name] = { info: entry, docs: docsByName.get(name) ?? null };
}
const out = new URL("../src/commands/redis_commands.json", import.meta.url);
await Deno.writeTextFile(out, JSON.stringify(table) + "\n");
console.log(`wrote ${Object.keys(table).length} commands to ${out.pathname}`);
conn.close();
