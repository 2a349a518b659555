/**
 * Redis's glob matcher (`stringmatchlen`), used by KEYS, SCAN MATCH, CONFIG GET and PUBSUB:
 * `*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\x`. Strings are latin1 (one char per byte). Bytes are
 * compared as C's signed `char`, which only matters for ranges over bytes >= 0x80.
 */

/** Recursion depth past which a pattern is refused (Redis's guard against abusive patterns). */
const MAX_NESTING = 1000;

const STAR = 42;
const QUESTION = 63;
const OPEN = 91;
const CLOSE = 93;
const CARET = 94;
const BACKSLASH = 92;
const DASH = 45;

function signedByte(c: number): number {
  return c >= 128 ? c - 256 : c;
}

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** Whether `str` matches the glob `pattern`; `nocase` folds ASCII letters. */
export function globMatch(pattern: string, str: string, nocase = false): boolean {
  const skip = { longer: false };
  return matchAt(pattern, 0, str, 0, nocase, skip, 0);
}

function matchAt(
  pat: string,
  p: number,
  str: string,
  s: number,
  nocase: boolean,
  skip: { longer: boolean },
  nesting: number,
): boolean {
  if (nesting > MAX_NESTING) return false;
  const plen = pat.length;
  const slen = str.length;
  while (p < plen && s < slen) {
    const pc = pat.charCodeAt(p);
    switch (pc) {
      case STAR: {
        while (p + 1 < plen && pat.charCodeAt(p + 1) === STAR) p++;
        if (p + 1 === plen) return true;
        while (s < slen) {
          if (matchAt(pat, p + 1, str, s, nocase, skip, nesting + 1)) return true;
          if (skip.longer) return false;
          s++;
        }
        // No match for the rest of the pattern anywhere in the rest of the string: an earlier
        // star cannot help by matching longer, so the whole search stops (Redis's skipLongerMatches).
        skip.longer = true;
        return false;
      }
      case QUESTION:
        s++;
        break;
      case OPEN: {
        p++;
        const not = p < plen && pat.charCodeAt(p) === CARET;
        if (not) p++;
        let match = false;
        const sc = str.charCodeAt(s);
        while (true) {
          if (p < plen && pat.charCodeAt(p) === BACKSLASH && plen - p >= 2) {
            p++;
            if (pat.charCodeAt(p) === sc || (nocase && lower(pat.charCodeAt(p)) === lower(sc))) match = true;
          } else if (p < plen && pat.charCodeAt(p) === CLOSE) {
            break;
          } else if (p >= plen) {
            p--;
            break;
          } else if (plen - p >= 3 && pat.charCodeAt(p + 1) === DASH) {
            let start = signedByte(pat.charCodeAt(p));
            let end = signedByte(pat.charCodeAt(p + 2));
            let c = signedByte(sc);
            if (start > end) [start, end] = [end, start];
            if (nocase) {
              start = lower(start);
              end = lower(end);
              c = lower(c);
            }
            p += 2;
            if (c >= start && c <= end) match = true;
          } else if (pat.charCodeAt(p) === sc || (nocase && lower(pat.charCodeAt(p)) === lower(sc))) {
            match = true;
          }
          p++;
        }
        if (not) match = !match;
        if (!match) return false;
        s++;
        break;
      }
      case BACKSLASH:
        if (plen - p >= 2) p++;
      // falls through
      default: {
        const c = pat.charCodeAt(p);
        const sc = str.charCodeAt(s);
        if (c !== sc && !(nocase && lower(c) === lower(sc))) return false;
        s++;
        break;
      }
    }
    p++;
    if (s === slen) {
      while (p < plen && pat.charCodeAt(p) === STAR) p++;
      break;
    }
  }
  return p === plen && s === slen;
}
