/**
 * LZF as Redis uses it for RDB strings (liblzf 3.6 as configured by Redis: HLOG 16, VERY_FAST).
 * The compressor makes the same choices as Redis's lzf_compress, so compressed strings are
 * byte-identical; the decompressor checks every reference and length.
 */

/** Literal runs hold at most 32 bytes, back-references reach 8 KB back and copy up to 264 bytes. */
const MAX_LIT = 32;
const MAX_OFF = 1 << 13;
const MAX_REF = (1 << 8) + (1 << 3);
const HLOG = 16;
const HSIZE = 1 << HLOG;

/** Hash slots: position + 1 of the last occurrence of a 3-byte prefix (0: none). Reused per call. */
const htab = new Int32Array(HSIZE);

function idx(h: number): number {
  return ((h >>> (3 * 8 - HLOG)) - Math.imul(h, 5)) & (HSIZE - 1);
}

/**
 * Compresses `input` into at most `maxOut` bytes; returns the compressed bytes, or null when they
 * would not fit (Redis then stores the string uncompressed).
 */
export function lzfCompress(input: Uint8Array, maxOut: number): Uint8Array | null {
  const inLen = input.length;
  if (inLen === 0) return null;
  const out = new Uint8Array(maxOut + 1);
  const outEnd = maxOut;
  htab.fill(0);
  let ip = 0;
  let op = 0;
  let lit = 0;
  op++; // room for the first literal run's control byte
  let hval = (input[0] << 8) | input[1];
  while (ip < inLen - 2) {
    hval = ((hval << 8) | input[ip + 2]) >>> 0;
    const slot = idx(hval);
    const ref = htab[slot] - 1;
    htab[slot] = ip + 1;
    const off = ip - ref - 1;
    if (
      ref > 0 && off >= 0 && off < MAX_OFF &&
      input[ref + 2] === input[ip + 2] && input[ref] === input[ip] && input[ref + 1] === input[ip + 1]
    ) {
      let len = 2;
      let maxLen = inLen - ip - len;
      if (maxLen > MAX_REF) maxLen = MAX_REF;
      if (op + 3 + 1 >= outEnd && op - (lit === 0 ? 1 : 0) + 3 + 1 >= outEnd) return null;
      out[op - lit - 1] = lit - 1; // close the literal run
      if (lit === 0) op--; // an empty run is dropped
      // liblzf first compares 16 bytes unrolled without checking maxLen, then one more byte unchecked:
      // a match may end past maxLen (never past the input); the same lengths give the same bytes.
      let mismatch = false;
      if (maxLen > 16) {
        for (let k = 0; k < 16; k++) {
          len++;
          if (input[ref + len] !== input[ip + len]) {
            mismatch = true;
            break;
          }
        }
      }
      if (!mismatch) {
        do len++; while (len < maxLen && input[ref + len] === input[ip + len]);
      }
      len -= 2;
      ip++;
      if (len < 7) {
        out[op++] = (off >> 8) + (len << 5);
      } else {
        out[op++] = (off >> 8) + (7 << 5);
        out[op++] = len - 7;
      }
      out[op++] = off & 0xff;
      lit = 0;
      op++;
      ip += len + 1;
      if (ip >= inLen - 2) break;
      // VERY_FAST: hash the two positions before the new one.
      ip -= 2;
      hval = (input[ip] << 8) | input[ip + 1];
      hval = ((hval << 8) | input[ip + 2]) >>> 0;
      htab[idx(hval)] = ip + 1;
      ip++;
      hval = ((hval << 8) | input[ip + 2]) >>> 0;
      htab[idx(hval)] = ip + 1;
      ip++;
    } else {
      if (op >= outEnd) return null;
      lit++;
      out[op++] = input[ip++];
      if (lit === MAX_LIT) {
        out[op - lit - 1] = lit - 1;
        lit = 0;
        op++;
      }
    }
  }
  if (op + 3 > outEnd) return null;
  while (ip < inLen) {
    lit++;
    out[op++] = input[ip++];
    if (lit === MAX_LIT) {
      out[op - lit - 1] = lit - 1;
      lit = 0;
      op++;
    }
  }
  out[op - lit - 1] = lit - 1;
  if (lit === 0) op--;
  return out.subarray(0, op);
}

/**
 * Decompresses `input` into exactly `outLen` bytes; returns null when the data is corrupt or does
 * not produce exactly that many bytes.
 */
export function lzfDecompress(input: Uint8Array, outLen: number): Uint8Array | null {
  const out = new Uint8Array(outLen);
  let ip = 0;
  let op = 0;
  const inLen = input.length;
  while (ip < inLen) {
    const ctrl = input[ip++];
    if (ctrl < 32) {
      const len = ctrl + 1;
      if (op + len > outLen || ip + len > inLen) return null;
      out.set(input.subarray(ip, ip + len), op);
      op += len;
      ip += len;
      continue;
    }
    let len = ctrl >> 5;
    if (len === 7) {
      if (ip >= inLen) return null;
      len += input[ip++];
    }
    if (ip >= inLen) return null;
    const ref = op - ((ctrl & 0x1f) << 8) - input[ip++] - 1;
    len += 2;
    if (ref < 0 || op + len > outLen) return null;
    // Byte by byte: the source may overlap what is being written (runs).
    for (let k = 0; k < len; k++) out[op + k] = out[ref + k];
    op += len;
  }
  return op === outLen ? out : null;
}
