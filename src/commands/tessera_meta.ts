/**
 * Command metadata for what tessera adds beyond Redis 7.0 (in the shape of redis_commands.json, so COMMAND INFO /
 * DOCS / LIST describe them like the others): the atomic slot migration subcommands of CLUSTER.
 */
import type { Tagged } from "../resp/tagged.ts";

const ADMIN_FLAGS = { "~": [{ "+": "admin" }, { "+": "stale" }, { "+": "no_async_loading" }] };
const ADMIN_ACL = { "~": [{ "+": "@admin" }, { "+": "@slow" }, { "+": "@dangerous" }] };
const NONE = { "~": [] };

function sub(name: string, arity: number, summary: string, flags: Tagged = ADMIN_FLAGS): [Tagged[], Tagged] {
  const info: Tagged[] = [name, arity, flags, 0, 0, 0, ADMIN_ACL, NONE, NONE, NONE];
  const docs: Tagged = { "%": ["summary", summary, "since", "tessera", "group", "cluster", "complexity", "O(N)"] };
  return [info, docs];
}

/** Extra subcommands by parent command: their COMMAND INFO entry and docs. */
export const TESSERA_SUBCOMMANDS: Record<string, [Tagged[], Tagged][]> = {
  cluster: [
    sub(
      "cluster|migrateslots",
      -5,
      "Moves slot ranges to another master as one operation: snapshot, streamed writes, a brief pause, handoff",
    ),
    sub("cluster|syncslots", -3, "Used between nodes by an atomic slot migration"),
    sub("cluster|getslotmigrations", 2, "Lists the atomic slot migrations of this node", {
      "~": [{ "+": "stale" }, { "+": "loading" }],
    }),
    sub("cluster|cancelslotmigrations", 2, "Cancels the atomic slot migrations this node is exporting"),
  ],
};
