/** INFO `# Replication` and ROLE, with Redis 7.0's fields in its order (genRedisInfoString, roleCommand). */
import type { Server } from "../server/server.ts";
import { peerIp } from "./master_side.ts";
import type { ReplyWriter } from "../resp/writer.ts";

/** The lines of INFO's replication section. */
export function replicationInfoLines(server: Server): string[] {
  const repl = server.repl;
  const link = repl.link;
  const now = Date.now();
  const lines: string[] = [];
  if (link === null) {
    lines.push("role:master");
  } else {
    const up = link.state === "connected";
    const lastIo = link.client === null ? -1 : Math.floor((now - link.client.lastInteraction) / 1000);
    lines.push(
      "role:slave",
      `master_host:${link.host}`,
      `master_port:${link.port}`,
      `master_link_status:${up ? "up" : "down"}`,
      `master_last_io_seconds_ago:${up ? lastIo : -1}`,
      `master_sync_in_progress:${link.state === "sync" ? 1 : 0}`,
      `slave_read_repl_offset:${link.readOffset()}`,
      `slave_repl_offset:${repl.offset}`,
    );
    if (link.state === "sync") {
      const total = link.syncTotalBytes;
      const read = link.syncReadBytes;
      lines.push(
        `master_sync_total_bytes:${total}`,
        `master_sync_read_bytes:${read}`,
        `master_sync_left_bytes:${total - read}`,
        // Redis divides by the size even when it is unknown (-1 for `$EOF:` transfers), so the figure goes negative.
        `master_sync_perc:${(total !== 0 ? read * 100 / total : 0).toFixed(2)}`,
        `master_sync_last_io_seconds_ago:${Math.floor((now - link.syncLastIo) / 1000)}`,
      );
    }
    if (!up) {
      lines.push(
        `master_link_down_since_seconds:${link.downSince === 0 ? -1 : Math.floor((now - link.downSince) / 1000)}`,
      );
    }
    lines.push(
      `slave_priority:${server.config.num("replica-priority")}`,
      `slave_read_only:${server.config.bool("replica-read-only") ? 1 : 0}`,
      `replica_announced:${server.config.bool("replica-announced") ? 1 : 0}`,
    );
  }
  lines.push(`connected_slaves:${repl.replicas.size}`);
  let i = 0;
  for (const peer of repl.replicas) {
    const state = peer.state === "online" ? "online" : peer.state === "send_bulk" ? "send_bulk" : "wait_bgsave";
    const lag = peer.state === "online" ? Math.floor((now - peer.ackTime) / 1000) : 0;
    lines.push(
      `slave${i++}:ip=${peerIp(peer)},port=${peer.listeningPort},state=${state},offset=${peer.ackOffset},lag=${lag}`,
    );
  }
  const backlog = repl.backlog;
  lines.push(
    "master_failover_state:no-failover",
    `master_replid:${repl.replId}`,
    `master_replid2:${repl.replId2}`,
    `master_repl_offset:${repl.offset}`,
    `second_repl_offset:${repl.secondOffset}`,
    `repl_backlog_active:${backlog === null ? 0 : 1}`,
    `repl_backlog_size:${backlog?.size ?? server.config.num("repl-backlog-size")}`,
    `repl_backlog_first_byte_offset:${backlog?.offset ?? 0}`,
    `repl_backlog_histlen:${backlog?.histlen ?? 0}`,
  );
  return lines;
}

/** The ROLE reply. */
export function writeRole(server: Server, out: ReplyWriter): void {
  const repl = server.repl;
  const link = repl.link;
  if (link === null) {
    const online = [...repl.replicas].filter((p) => p.state === "online");
    out.array(3);
    out.bulk("master");
    out.int(repl.offset);
    out.array(online.length);
    for (const peer of online) out.bulkArray([peerIp(peer), String(peer.listeningPort), String(peer.ackOffset)]);
    return;
  }
  out.array(5);
  out.bulk("slave");
  out.bulk(link.host);
  out.int(link.port);
  out.bulk(link.state);
  out.int(link.state === "connected" ? repl.offset : -1);
}
