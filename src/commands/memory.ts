/** MEMORY PURGE and HELP. (DOCTOR, MALLOC-STATS, STATS and USAGE are not implemented yet.) */
import v8 from "node:v8";
import vm from "node:vm";
import type { Handler } from "./table.ts";
import { replyHelp } from "./help.ts";

const MEMORY_HELP = [
  "DOCTOR",
  "    Return memory problems reports.",
  "MALLOC-STATS",
  "    Return internal statistics report from the memory allocator.",
  "PURGE",
  "    Attempt to purge dirty pages for reclamation by the allocator.",
  "STATS",
  "    Return information about the memory usage of the server.",
  "USAGE <key> [SAMPLES <count>]",
  "    Return memory in bytes used by <key> and its value. Nested values are",
  "    sampled up to <count> times (default: 5, 0 means sample all).",
];

let collectGarbage: (() => void) | null = null;

/** V8's full garbage collection, exposed once on first use (MEMORY PURGE is rare). */
function fullGc(): void {
  if (collectGarbage === null) {
    v8.setFlagsFromString("--expose-gc");
    collectGarbage = vm.runInNewContext("gc") as () => void;
  }
  collectGarbage();
}

export const memoryCommands: Record<string, Handler> = {
  /** Redis asks jemalloc to return dirty pages; V8's equivalent is a full collection. */
  "memory|purge"(c) {
    fullGc();
    c.out.ok();
  },
  "memory|help"(c) {
    replyHelp(c, "memory", MEMORY_HELP);
  },
};
