/**
 * Atomic slot migration commands (tessera only, after Valkey 9's shape): CLUSTER MIGRATESLOTS on the source,
 * CLUSTER SYNCSLOTS between source and target, CLUSTER GETSLOTMIGRATIONS and CLUSTER CANCELSLOTMIGRATIONS.
 */
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import { ERR_CLUSTER_DISABLED, parseSlot } from "./cluster.ts";
import { ERR_SYNTAX } from "./errors.ts";
import { formatRanges, type SlotMigrations, type SlotRange } from "../cluster/slot_migration.ts";

const ERR_INVALID_SLOT = "ERR Invalid or out of range slot";

/** `<start> <end> ...` pairs, parsed as CLUSTER's other slot arguments; null when malformed or reversed. */
function parseSlotRanges(args: string[]): SlotRange[] | null {
  if (args.length === 0 || args.length % 2 !== 0) return null;
  const ranges: SlotRange[] = [];
  for (let i = 0; i < args.length; i += 2) {
    const start = parseSlot(args[i]);
    const end = parseSlot(args[i + 1]);
    if (start === null || end === null || start > end) return null;
    ranges.push({ start, end });
  }
  return ranges;
}

function migrations(c: Client): SlotMigrations | null {
  if (c.server.slotMigrations === null) c.error(ERR_CLUSTER_DISABLED);
  return c.server.slotMigrations;
}

/** Handlers by command name. */
export const clusterMigrationCommands: Record<string, Handler> = {
  /** CLUSTER MIGRATESLOTS SLOTSRANGE <start> <end> [<start> <end> ...] NODE <node-id> */
  "cluster|migrateslots"(c, argv) {
    const m = migrations(c);
    if (m === null) return;
    const nodeAt = argv.findIndex((a, i) => i > 2 && a.toLowerCase() === "node");
    if (argv[2].toLowerCase() !== "slotsrange" || nodeAt === -1 || nodeAt !== argv.length - 2) {
      return c.error(ERR_SYNTAX);
    }
    const ranges = parseSlotRanges(argv.slice(3, nodeAt));
    if (ranges === null) return c.error(ERR_INVALID_SLOT);
    const error = m.startExport(argv[nodeAt + 1], ranges);
    if (error !== null) return c.error(error);
    c.out.ok();
  },

  /** CLUSTER SYNCSLOTS START <job-id> <source-id> <start> <end> ... | FINISH <job-id> (sent by a source). */
  "cluster|syncslots"(c, argv) {
    const m = migrations(c);
    if (m === null) return;
    const op = argv[2].toLowerCase();
    if (op === "start" && argv.length >= 7) {
      const ranges = parseSlotRanges(argv.slice(5));
      if (ranges === null) return c.error(ERR_INVALID_SLOT);
      const error = m.startImport(c, argv[3], argv[4], ranges);
      return error === null ? c.out.ok() : c.error(error);
    }
    if (op === "finish" && argv.length === 4) {
      const result = m.finishImport(c, argv[3]);
      return typeof result === "number" ? c.out.int(result) : c.error(result);
    }
    c.error(ERR_SYNTAX);
  },

  "cluster|getslotmigrations"(c) {
    const m = migrations(c);
    if (m === null) return;
    const jobs = m.jobs();
    c.out.array(jobs.length);
    for (const job of jobs) {
      c.out.map(8);
      c.out.bulk("id");
      c.out.bulk(job.id);
      c.out.bulk("operation");
      c.out.bulk(job.operation);
      c.out.bulk("slot_ranges");
      c.out.bulk(formatRanges(job.ranges));
      c.out.bulk("node");
      c.out.bulk(job.node);
      c.out.bulk("state");
      c.out.bulk(job.state);
      c.out.bulk("message");
      c.out.bulk(job.message);
      c.out.bulk("keys");
      c.out.int(job.keys);
      c.out.bulk("duration_ms");
      c.out.int(job.updatedAt - job.createdAt);
    }
  },

  "cluster|cancelslotmigrations"(c) {
    const m = migrations(c);
    if (m === null) return;
    m.cancelExports();
    c.out.ok();
  },
};
