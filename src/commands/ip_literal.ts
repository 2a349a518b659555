/**
 * IP address literals as Redis's CLUSTER MEET reads them: glibc's inet_pton (strict IPv4 dotted quads, IPv6 with
 * `::` and IPv4 tails, no host names, brackets or zones) and inet_ntop's canonical text.
 */

/** Parses a dotted-quad IPv4 literal as inet_pton does: four decimal parts 0..255 without leading zeros. */
function parseIpv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    bytes.push(n);
  }
  return bytes;
}

/**
 * Parses an IPv6 literal as glibc's inet_pton does, into its eight 16-bit words: groups of 1–4 hex digits, at most
 * one `::` standing for at least one zero group, an optional dotted IPv4 tail; no brackets, no zone.
 */
function parseIpv6(text: string): number[] | null {
  const gap = text.indexOf("::");
  if (gap !== -1 && text.indexOf("::", gap + 1) !== -1) return null;
  const split = (part: string) => part === "" ? [] : part.split(":");
  const head = gap === -1 ? split(text) : split(text.slice(0, gap));
  const tail = gap === -1 ? [] : split(text.slice(gap + 2));
  const groups = gap === -1 ? head : tail;
  let ipv4: number[] | null = null;
  const last = groups[groups.length - 1];
  if (last !== undefined && last.includes(".")) {
    ipv4 = parseIpv4(last);
    if (ipv4 === null) return null;
    groups.pop();
  }
  const toWords = (list: string[]) => {
    const words: number[] = [];
    for (const g of list) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      words.push(parseInt(g, 16));
    }
    return words;
  };
  const headWords = toWords(head);
  const tailWords = gap === -1 ? [] : toWords(tail);
  if (headWords === null || tailWords === null) return null;
  if (ipv4 !== null) (gap === -1 ? headWords : tailWords).push((ipv4[0] << 8) | ipv4[1], (ipv4[2] << 8) | ipv4[3]);
  const given = headWords.length + tailWords.length;
  if (gap === -1) return given === 8 ? headWords : null;
  if (given > 7) return null;
  return [...headWords, ...new Array(8 - given).fill(0), ...tailWords];
}

/** Formats eight IPv6 words as glibc's inet_ntop does (longest zero run of 2+ as `::`, IPv4 tails kept). */
function formatIpv6(words: readonly number[]): string {
  let bestStart = -1, bestLength = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  if (bestLength < 2) bestStart = -1;
  let text = "";
  for (let i = 0; i < 8; i++) {
    if (bestStart !== -1 && i >= bestStart && i < bestStart + bestLength) {
      if (i === bestStart) text += ":";
      continue;
    }
    if (i !== 0) text += ":";
    // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) addresses end in dotted form.
    if (i === 6 && bestStart === 0 && (bestLength === 6 || (bestLength === 5 && words[5] === 0xffff))) {
      text += `${words[6] >> 8}.${words[6] & 0xff}.${words[7] >> 8}.${words[7] & 0xff}`;
      break;
    }
    text += words[i].toString(16);
  }
  if (bestStart !== -1 && bestStart + bestLength === 8) text += ":";
  return text;
}

/**
 * The canonical text of an IPv4 or IPv6 literal, as Redis's clusterStartHandshake normalises a MEET address
 * (inet_pton then inet_ntop); null when it is neither.
 */
export function normalizeIpLiteral(text: string): string | null {
  const ipv4 = parseIpv4(text);
  if (ipv4 !== null) return ipv4.join(".");
  const ipv6 = parseIpv6(text);
  return ipv6 === null ? null : formatIpv6(ipv6);
}
