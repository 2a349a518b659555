/**
 * A JSON form of RESP3 values that keeps every type distinction, so a stored reply can be
 * written back byte for byte in RESP3 and downgraded to RESP2:
 * bulk string = JSON string, simple string = {"+": s}, integer = number, array = array,
 * set = {"~": [...]}, map = {"%": [k1, v1, k2, v2, ...]}, null = null.
 */
import type { ReplyWriter } from "./writer.ts";

/** A tagged RESP value. */
export type Tagged =
  | string
  | number
  | null
  | Tagged[]
  | { "+": string }
  | { "~": Tagged[] }
  | { "%": Tagged[] };

/** Writes a tagged value with the writer's protocol (maps and sets flatten in RESP2). */
export function writeTagged(w: ReplyWriter, v: Tagged): void {
  if (v === null) return w.nil();
  if (typeof v === "string") return w.bulk(v);
  if (typeof v === "number") return w.int(v);
  if (Array.isArray(v)) {
    w.array(v.length);
    for (const item of v) writeTagged(w, item);
    return;
  }
  if ("+" in v) return w.simple(v["+"]);
  if ("~" in v) {
    w.set(v["~"].length);
    for (const item of v["~"]) writeTagged(w, item);
    return;
  }
  const flat = v["%"];
  w.map(flat.length / 2);
  for (const item of flat) writeTagged(w, item);
}

/** Reads a field of a tagged map by name. */
export function taggedField(map: Tagged, name: string): Tagged | undefined {
  if (map === null || typeof map !== "object" || !("%" in map)) return undefined;
  const flat = map["%"];
  for (let i = 0; i < flat.length; i += 2) if (flat[i] === name) return flat[i + 1];
  return undefined;
}

/** The plain strings of a tagged array or set of simple/bulk strings. */
export function taggedStrings(v: Tagged | undefined): string[] {
  if (v === null || v === undefined || typeof v !== "object") return [];
  const items = Array.isArray(v) ? v : "~" in v ? v["~"] : [];
  return items.map((item) => typeof item === "string" ? item : (item as { "+": string })["+"]);
}
