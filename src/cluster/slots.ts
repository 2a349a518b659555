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

/** CRC16/XMODEM over the latin1 chars (= raw bytes) of `s` between `start` and `end`. */
export function crc16(s: string, start = 0, end = s.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ s.charCodeAt(i)) & 0xff];
  }
  return crc;
}

/** The slot of a key, following Redis's hash-tag rule: only the first `{...}` counts, if non-empty. */
export function keyHashSlot(key: string): number {
  const open = key.indexOf("{");
  if (open !== -1) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) return crc16(key, open + 1, close) & 0x3fff;
  }
  return crc16(key) & 0x3fff;
}
