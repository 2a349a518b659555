/** Once a second (Redis's replicationCron): master duties, and a replica's ACK and link timeout. */
import { masterCron } from "./master_side.ts";
import type { Replication } from "./replication.ts";
import { logger } from "../log.ts";

/** Runs the per-second replication work; `tick` counts seconds. */
export function replicationCron(repl: Replication, now: number, tick: number): void {
  const link = repl.link;
  if (link !== null && link.state === "connected" && link.client !== null) {
    if (now - link.client.lastInteraction > repl.server.config.num("repl-timeout") * 1000) {
      logger.warning("MASTER timeout: no data nor PING received...");
      link.client.close();
    } else {
      link.sendAck();
    }
  }
  masterCron(repl, now, tick);
}
