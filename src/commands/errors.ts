/** Error replies shared by command families, worded as Redis's `shared.*` objects. */

export const ERR_NOT_INTEGER = "ERR value is not an integer or out of range";
export const ERR_SYNTAX = "ERR syntax error";
export const ERR_WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";
export const ERR_NO_SUCH_KEY = "ERR no such key";
export const ERR_SAME_OBJECT = "ERR source and destination objects are the same";
export const ERR_DB_RANGE = "ERR DB index is out of range";
export const ERR_NOT_FLOAT = "ERR value is not a valid float";
export const ERR_STRING_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

/** `ERR invalid expire time in '<command>' command`. */
export function errInvalidExpire(command: string): string {
  return `ERR invalid expire time in '${command}' command`;
}

/** INCRBY / HINCRBY when the int64 sum would overflow. */
export const ERR_INCR_OVERFLOW = "ERR increment or decrement would overflow";
