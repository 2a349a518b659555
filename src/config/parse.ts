/** Redis's config value parsers and printers: memtoull, string2ll, yes/no, memory units for REWRITE. */

const KB = 1024;
const MB = 1024 * 1024;
const GB = 1024 * 1024 * 1024;

/** Multipliers of Redis's memtoull units (case-insensitive); `k` is 1000, `kb` is 1024. */
const MEMORY_UNITS: Record<string, number> = { "": 1, b: 1, k: 1e3, kb: KB, m: 1e6, mb: MB, g: 1e9, gb: GB };

/**
 * Parses a memory size as Redis's memtoull does: digits then an optional unit (`1k`=1000,
 * `1kb`=1024, ... `gb`); no sign, no spaces; an empty number counts as 0. Null when invalid.
 */
export function parseMemory(text: string): number | null {
  const m = /^([0-9]*)([a-zA-Z]*)$/.exec(text);
  if (m === null) return null;
  const mul = MEMORY_UNITS[m[2].toLowerCase()];
  if (mul === undefined) return null;
  return (m[1] === "" ? 0 : Number(m[1])) * mul;
}

const LLONG_MIN = -(2n ** 63n);
const LLONG_MAX = 2n ** 63n - 1n;

/** Parses a signed 64-bit integer exactly as Redis's string2ll (no `+`, no leading zeros, no spaces). */
export function string2ll(text: string): number | null {
  if (!/^(0|-?[1-9][0-9]*)$/.test(text)) return null;
  if (text.length > 18) {
    const big = BigInt(text);
    if (big < LLONG_MIN || big > LLONG_MAX) return null;
  }
  return Number(text);
}

/** Parses a number the way C's strtoll(..., 10) with a full-string check does (leading spaces and `+` allowed). */
export function strtollStrict(text: string): number | null {
  const m = /^[ \t\n\v\f\r]*([+-]?[0-9]+)$/.exec(text);
  return m === null ? null : Number(m[1]);
}

/** Redis's yesnotoi: `yes` -> true, `no` -> false (any case), else null. */
export function parseYesNo(text: string): boolean | null {
  const lower = text.toLowerCase();
  return lower === "yes" ? true : lower === "no" ? false : null;
}

/** Formats bytes as CONFIG REWRITE does: `gb`, `mb` or `kb` when it divides evenly. */
export function formatMemoryForRewrite(bytes: number): string {
  if (bytes !== 0 && bytes % GB === 0) return `${bytes / GB}gb`;
  if (bytes !== 0 && bytes % MB === 0) return `${bytes / MB}mb`;
  if (bytes !== 0 && bytes % KB === 0) return `${bytes / KB}kb`;
  return String(bytes);
}

/** C's `%f` followed by Redis's trimDoubleString: six decimals, trailing zeros and dot removed. */
export function formatPercentile(d: number): string {
  const s = d.toFixed(6);
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

/** Turns an error message from Deno into C's strerror text (`No such file or directory`). */
export function strerror(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/ \(os error \d+\).*$/s, "");
}
