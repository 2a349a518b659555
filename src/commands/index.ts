/** Every command family's handlers, combined into the command table by the server. */
import type { Handler } from "./table.ts";
import { connectionCommands } from "./connection.ts";
import { stringCommands } from "./strings.ts";
import { bitmapCommands } from "./bitmaps.ts";
import { keyCommands } from "./keys.ts";
import { expireCommands } from "./expire.ts";
import { scanCommands } from "./scan.ts";
import { objectCommands } from "./object.ts";
import { transactionCommands } from "./transactions.ts";
import { configCommands } from "./config.ts";
import { serverCommands } from "./server_admin.ts";
import { clientCommands } from "./client_cmd.ts";
import { infoCommands } from "./info.ts";
import { debugCommands } from "./debug.ts";
import { commandCommands } from "./command_cmd.ts";
import { slowlogCommands } from "./slowlog.ts";
import { latencyCommands } from "./latency_cmd.ts";
import { memoryCommands } from "./memory.ts";
import { hashCommands } from "./hashes.ts";
import { listCommands } from "./lists.ts";
import { setCommands } from "./sets.ts";
import { zsetCommands } from "./zsets.ts";
import { clusterCommands } from "./cluster.ts";
import { hyperloglogCommands } from "./hyperloglog.ts";
import { pubsubCommands } from "./pubsub.ts";
import { sortCommands } from "./sort.ts";
import { geoCommands } from "./geo.ts";
import { dumpRestoreCommands } from "./dump_restore.ts";
import { migrateCommands } from "./migrate.ts";
import { persistenceCommands } from "./persistence.ts";
import { replicationCommands } from "./replication.ts";
import { clusterMigrationCommands } from "./cluster_migration.ts";
import { streamCommands } from "./streams.ts";

/** All handler maps, one per family module. */
export const ALL_COMMANDS: Record<string, Handler>[] = [
  connectionCommands,
  stringCommands,
  bitmapCommands,
  keyCommands,
  expireCommands,
  scanCommands,
  objectCommands,
  transactionCommands,
  configCommands,
  serverCommands,
  clientCommands,
  infoCommands,
  debugCommands,
  commandCommands,
  slowlogCommands,
  latencyCommands,
  memoryCommands,
  clusterCommands,
  hashCommands,
  listCommands,
  setCommands,
  zsetCommands,
  hyperloglogCommands,
  pubsubCommands,
  sortCommands,
  geoCommands,
  dumpRestoreCommands,
  migrateCommands,
  persistenceCommands,
  replicationCommands,
  clusterMigrationCommands,
  streamCommands,
];
