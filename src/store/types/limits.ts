/**
 * The encoding thresholds of the container types (Redis's `*-max-listpack-*` and
 * `set-max-intset-entries`), read from the config by the server at start and after CONFIG SET.
 * Values consult them when they grow, to report the encoding Redis would have chosen.
 */
import type { Config } from "../../config/config.ts";

/** Current thresholds; module state, like Redis's `server.*_max_*` fields. */
export const typeLimits = {
  hashMaxListpackEntries: 512,
  hashMaxListpackValue: 64,
  setMaxIntsetEntries: 512,
  zsetMaxListpackEntries: 128,
  zsetMaxListpackValue: 64,
};

/** Re-reads the thresholds from the config. */
export function refreshTypeLimits(config: Config): void {
  typeLimits.hashMaxListpackEntries = config.num("hash-max-listpack-entries");
  typeLimits.hashMaxListpackValue = config.num("hash-max-listpack-value");
  typeLimits.setMaxIntsetEntries = config.num("set-max-intset-entries");
  typeLimits.zsetMaxListpackEntries = config.num("zset-max-listpack-entries");
  typeLimits.zsetMaxListpackValue = config.num("zset-max-listpack-value");
}
