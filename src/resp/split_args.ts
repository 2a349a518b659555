/**
 * Splits a line into arguments exactly as Redis's `sdssplitargs` does: spaces separate,
 * "double quotes" understand \n \r \t \b \a \\ \" and \xHH escapes, 'single quotes' only \'.
 * A closing quote must be followed by a space or the end. Returns null on unbalanced quotes.
 * Works on latin1 strings, so bytes stay bytes.
 */
export function splitArgs(line: string): string[] | null {
  const args: string[] = [];
  let i = 0;
  // sdssplitargs reads a C string: a NUL byte ends the line.
  const nul = line.indexOf("\0");
  const n = nul === -1 ? line.length : nul;
  while (true) {
    while (i < n && isSpace(line.charCodeAt(i))) i++;
    if (i >= n) return args;
    let inDouble = false;
    let inSingle = false;
    let current = "";
    let done = false;
    while (!done) {
      if (inDouble) {
        if (i >= n) return null;
        const c = line[i];
        if (c === "\\" && line[i + 1] === "x" && isHex(line[i + 2]) && isHex(line[i + 3])) {
          current += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 3;
        } else if (c === "\\" && i + 1 < n) {
          i++;
          const e = line[i];
          current += e === "n" ? "\n" : e === "r" ? "\r" : e === "t" ? "\t" : e === "b" ? "\b" : e === "a" ? "\x07" : e;
        } else if (c === '"') {
          if (i + 1 < n && !isSpace(line.charCodeAt(i + 1))) return null;
          done = true;
        } else {
          current += c;
        }
      } else if (inSingle) {
        if (i >= n) return null;
        const c = line[i];
        if (c === "\\" && line[i + 1] === "'") {
          i++;
          current += "'";
        } else if (c === "'") {
          if (i + 1 < n && !isSpace(line.charCodeAt(i + 1))) return null;
          done = true;
        } else {
          current += c;
        }
      } else {
        if (i >= n) {
          done = true;
          break;
        }
        const c = line[i];
        if (isSeparator(c.charCodeAt(0))) done = true;
        else if (c === '"') inDouble = true;
        else if (c === "'") inSingle = true;
        else current += c;
      }
      if (i < n) i++;
    }
    args.push(current);
  }
}

function isSpace(code: number): boolean {
  // isspace(): space, \t, \n, \v, \f, \r
  return code === 32 || (code >= 9 && code <= 13);
}

function isSeparator(code: number): boolean {
  // Inside a token only space, \t, \n and \r end it (not \v or \f, which isspace() skips between tokens).
  return code === 32 || code === 9 || code === 10 || code === 13;
}

function isHex(c: string | undefined): boolean {
  return c !== undefined && /^[0-9a-fA-F]$/.test(c);
}
