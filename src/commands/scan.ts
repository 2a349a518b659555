/**
 * SCAN over the per-slot keyspace. The cursor is the next slot to visit, and every call finishes
 * the slots it starts, so a key present for the whole scan is returned at least once however
 * keys are added or removed between calls. 0 starts and ends a scan.
 */
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import { CLUSTER_SLOTS } from "../cluster/slots.ts";
import { globMatch } from "../store/glob.ts";
import { parseInt64Number } from "../store/numbers.ts";
import { ERR_NOT_INTEGER, ERR_SYNTAX } from "./errors.ts";
import { typeName } from "./keys.ts";

const ULONG_MAX = (1n << 64n) - 1n;
/** Default COUNT, as in Redis. */
const DEFAULT_COUNT = 10;
/** Visits of empty slots per requested key before a call returns (Redis's maxiterations = count*10). */
const ITERATIONS_PER_COUNT = 10;

/**
 * Parses a cursor like Redis's strtoul check: optional sign and digits, no spaces, at most
 * 2^64-1 (a `-` wraps around, as strtoul does). Returns null for an invalid cursor.
 */
export function parseCursor(text: string): bigint | null {
  if (text === "") return 0n;
  if (!/^[+-]?\d+$/.test(text)) return null;
  const negative = text[0] === "-";
  const magnitude = BigInt(negative || text[0] === "+" ? text.slice(1) : text);
  if (magnitude > ULONG_MAX) return null;
  return negative && magnitude !== 0n ? ULONG_MAX + 1n - magnitude : magnitude;
}

/** SCAN / HSCAN / SSCAN / ZSCAN options after the cursor. */
export interface ScanOptions {
  count: number;
  /** null when every element matches (no MATCH, or MATCH *). */
  pattern: string | null;
  /** SCAN's TYPE filter, null when absent. */
  type: string | null;
}

/**
 * Parses COUNT / MATCH (and TYPE, which only SCAN takes) from `argv[first]` on, as Redis's
 * scanGenericCommand does; null after replying the error.
 */
export function parseScanOptions(c: Client, argv: string[], first: number, allowType: boolean): ScanOptions | null {
  const options: ScanOptions = { count: DEFAULT_COUNT, pattern: null, type: null };
  for (let i = first; i < argv.length; i += 2) {
    const opt = argv[i].toLowerCase();
    const hasValue = i + 1 < argv.length;
    if (opt === "count" && hasValue) {
      const n = parseInt64Number(argv[i + 1]);
      if (n === null) {
        c.error(ERR_NOT_INTEGER);
        return null;
      }
      if (n < 1) {
        c.error(ERR_SYNTAX);
        return null;
      }
      options.count = n;
    } else if (opt === "match" && hasValue) {
      options.pattern = argv[i + 1] === "*" ? null : argv[i + 1];
    } else if (opt === "type" && hasValue && allowType) {
      options.type = argv[i + 1];
    } else {
      c.error(ERR_SYNTAX);
      return null;
    }
  }
  return options;
}

function scan(c: Client, argv: string[]): void {
  const cursor = parseCursor(argv[1]);
  if (cursor === null) return c.error("ERR invalid cursor");
  const options = parseScanOptions(c, argv, 2, true);
  if (options === null) return;
  const { count, pattern, type } = options;
  const db = c.db;
  const collected: string[] = [];
  let slot = cursor < BigInt(CLUSTER_SLOTS) ? db.nextNonEmptySlot(Number(cursor)) : -1;
  let iterations = count * ITERATIONS_PER_COUNT;
  while (slot !== -1 && iterations-- > 0 && collected.length < count) {
    for (const key of db.slotKeys(slot)) collected.push(key);
    slot = slot + 1 < CLUSTER_SLOTS ? db.nextNonEmptySlot(slot + 1) : -1;
  }
  const keys: string[] = [];
  const lowerType = type?.toLowerCase();
  for (const key of collected) {
    if (pattern !== null && !globMatch(pattern, key)) continue;
    if (lowerType !== undefined && typeName(db.lookupRead(key, false)) !== lowerType) continue;
    if (db.peek(key) === undefined) continue;
    keys.push(key);
  }
  c.out.array(2);
  c.out.bulk(slot === -1 ? "0" : String(slot));
  c.out.bulkArray(keys);
}

export const scanCommands: Record<string, Handler> = { scan };
