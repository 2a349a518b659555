/** OBJECT ENCODING FREQ IDLETIME REFCOUNT HELP. */
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import { ENC_EMBSTR, ENC_RAW, type Value } from "../store/keyspace.ts";
import { accessClock, idleSeconds, lfuDecayed, refreshAccessClock } from "../store/access_clock.ts";
import { isIntEncodable } from "../store/numbers.ts";
import { replyHelp } from "./help.ts";

/** Longest string Redis stores as `embstr` (OBJ_ENCODING_EMBSTR_SIZE_LIMIT). */
const EMBSTR_SIZE_LIMIT = 44;
/** Integers 0..9999 are shared objects in Redis (OBJ_SHARED_INTEGERS). */
const SHARED_INTEGERS = 10000;
/** The refcount Redis reports for shared objects (OBJ_SHARED_REFCOUNT). */
const SHARED_REFCOUNT = 2147483647;
const POLICY_NOTE =
  "Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
/** OBJECT IDLETIME without an LRU/LFU policy (tessera keeps no access time then; Redis always does). */
const ERR_IDLE_NOT_TRACKED = "ERR Idle time is not tracked by tessera unless an LRU maxmemory-policy is selected.";

/** OBJECT ENCODING of a string, from its content and the hint of how it was written. */
export function stringEncoding(v: string, hint: number): string {
  if (hint === ENC_RAW) return "raw";
  if (hint !== ENC_EMBSTR && isIntEncodable(v)) return "int";
  return v.length <= EMBSTR_SIZE_LIMIT ? "embstr" : "raw";
}

/** Looks the key up as Redis's objectCommandLookupOrReply does (no touch); replies nil when missing. */
function lookup(c: Client, key: string): Value | undefined {
  refreshAccessClock(c.server.config);
  const v = c.db.lookupRead(key, false, false);
  if (v === undefined) c.out.nil();
  return v;
}

export const objectCommands: Record<string, Handler> = {
  "object|encoding"(c, argv) {
    const v = lookup(c, argv[2]);
    if (v === undefined) return;
    if (typeof v === "string") c.out.bulk(stringEncoding(v, c.db.encodingHint(argv[2])));
    else c.out.bulk(v.encoding ?? "unknown");
  },
  "object|refcount"(c, argv) {
    const v = lookup(c, argv[2]);
    if (v === undefined) return;
    const shared = typeof v === "string" && accessClock.sharedIntegers &&
      stringEncoding(v, c.db.encodingHint(argv[2])) === "int" && Number(v) >= 0 && Number(v) < SHARED_INTEGERS;
    c.out.int(shared ? SHARED_REFCOUNT : 1);
  },
  "object|idletime"(c, argv) {
    if (lookup(c, argv[2]) === undefined) return;
    if (accessClock.lfu) {
      return c.error(`ERR An LFU maxmemory policy is selected, idle time not tracked. ${POLICY_NOTE}`);
    }
    const access = c.db.accessOf(argv[2]);
    // Documented difference: without an LRU policy no per-key access time is kept (memory per key).
    if (access === undefined) return c.error(ERR_IDLE_NOT_TRACKED);
    c.out.int(idleSeconds(access));
  },
  "object|freq"(c, argv) {
    if (lookup(c, argv[2]) === undefined) return;
    const access = accessClock.lfu ? c.db.accessOf(argv[2]) : undefined;
    if (access === undefined) {
      return c.error(`ERR An LFU maxmemory policy is not selected, access frequency not tracked. ${POLICY_NOTE}`);
    }
    c.out.int(lfuDecayed(access));
  },
  "object|help"(c) {
    replyHelp(c, "object", [
      "ENCODING <key>",
      "    Return the kind of internal representation used in order to store the value",
      "    associated with a <key>.",
      "FREQ <key>",
      "    Return the access frequency index of the <key>. The returned integer is",
      "    proportional to the logarithm of the recent access frequency of the key.",
      "IDLETIME <key>",
      "    Return the idle time of the <key>, that is the approximated number of",
      "    seconds elapsed since the last access to the key.",
      "REFCOUNT <key>",
      "    Return the number of references of the value associated with the specified",
      "    <key>.",
    ]);
  },
};
