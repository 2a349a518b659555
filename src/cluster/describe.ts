/**
 * The cluster's text formats and introspection replies, byte-identical to Redis 7.0.15
 * (`reference/cluster-text-formats.md` sections 1, 3–6): CLUSTER NODES lines, CLUSTER SLOTS, CLUSTER SHARDS,
 * CLUSTER INFO and CLUSTER LINKS. Pure functions of the `ClusterState`; the command layer sends the results.
 */
import { MSG_TYPE_COUNT, MSG_TYPE_NAMES } from "./bus/message.ts";
import {
  CLUSTER_SLOTS,
  type ClusterNode,
  flagsToString,
  NODE_FAIL,
  NODE_HANDSHAKE,
  NODE_MASTER,
  NODE_MYSELF,
  NODE_PFAIL,
  NODE_SLAVE,
} from "./node.ts";
import { ownedRuns, slotRangesByNode, slotRangesOf } from "./slot_table.ts";
import type { ClusterState, Link } from "./state.ts";
import type { ReplyWriter } from "../resp/writer.ts";

/** Options of `nodeDescription`. */
export interface NodeDescriptionOptions {
  /** The node's owned slot runs as flat start/end pairs, when the caller computed them for all nodes at once. */
  ranges?: readonly number[];
}

/** The master a replica follows, when it is known. */
function knownMaster(state: ClusterState, node: ClusterNode): ClusterNode | null {
  if ((node.flags & NODE_SLAVE) === 0 || node.masterId === null) return null;
  return state.nodes.get(node.masterId) ?? null;
}

/**
 * One CLUSTER NODES line for `node`, without the trailing "\n" (Redis's clusterGenNodeDescription).
 * A replica shows its master's configEpoch; myself also lists its open slots after the owned ranges.
 */
export function nodeDescription(state: ClusterState, node: ClusterNode, opts: NodeDescriptionOptions = {}): string {
  let line = node.id + " " + node.ip + ":" + node.port + "@" + node.cport;
  if (node.hostname !== "") line += "," + node.hostname;
  line += " " + flagsToString(node.flags) + " " + (node.masterId ?? "-");
  const epoch = knownMaster(state, node)?.configEpoch ?? node.configEpoch;
  const connected = node.link !== null || (node.flags & NODE_MYSELF) !== 0;
  line += " " + node.pingSent + " " + node.pongReceived + " " + epoch + " " +
    (connected ? "connected" : "disconnected");
  const ranges = opts.ranges ?? slotRangesOf(state, node);
  for (let i = 0; i < ranges.length; i += 2) {
    line += ranges[i] === ranges[i + 1] ? " " + ranges[i] : " " + ranges[i] + "-" + ranges[i + 1];
  }
  if ((node.flags & NODE_MYSELF) !== 0) line += openSlotsText(state);
  return line;
}

/** ` [slot->-id]` for each migrating slot and ` [slot-<-id]` for each importing one, in slot order. */
function openSlotsText(state: ClusterState): string {
  let text = "";
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
    const target = state.migratingTo[slot];
    if (target !== null) {
      text += " [" + slot + "->-" + target.id + "]";
      continue;
    }
    const source = state.importingFrom[slot];
    if (source !== null) text += " [" + slot + "-<-" + source.id + "]";
  }
  return text;
}

/**
 * The CLUSTER NODES body: one line per node in table order, each ending with "\n".
 * Handshake nodes are listed only when asked (CLUSTER NODES lists them, nodes.conf does not).
 */
export function clusterNodesText(state: ClusterState, opts: { includeHandshake: boolean }): string {
  const ranges = slotRangesByNode(state);
  let text = "";
  for (const node of state.nodes.values()) {
    if (!opts.includeHandshake && (node.flags & NODE_HANDSHAKE) !== 0) continue;
    text += nodeDescription(state, node, { ranges: ranges.get(node) ?? [] }) + "\n";
  }
  return text;
}

/** The endpoint clients are told to use, per `cluster-preferred-endpoint-type` (null = unknown endpoint). */
function preferredEndpoint(state: ClusterState, node: ClusterNode): string | null {
  switch (state.settings.preferredEndpointType) {
    case "ip":
      return node.ip;
    case "hostname":
      return node.hostname !== "" ? node.hostname : "?";
    case "unknown-endpoint":
      return null;
  }
}

/** A node's replication offset: our own for myself, the last one it advertised on the bus for others. */
function replicationOffset(state: ClusterState, node: ClusterNode): number {
  return (node.flags & NODE_MYSELF) !== 0 ? state.data.replOffset() : node.replOffset;
}

/** One node of a CLUSTER SLOTS entry: `[endpoint, port, id, {extra networking metadata}]`. */
function writeSlotsNode(out: ReplyWriter, state: ClusterState, node: ClusterNode): void {
  out.array(4);
  const endpoint = preferredEndpoint(state, node);
  if (endpoint === null) out.nil();
  else out.bulk(endpoint);
  out.int(node.port);
  out.bulk(node.id);
  const type = state.settings.preferredEndpointType;
  const withIp = type !== "ip";
  const withHostname = type !== "hostname" && node.hostname !== "";
  out.map((withIp ? 1 : 0) + (withHostname ? 1 : 0));
  if (withIp) {
    out.bulk("ip");
    out.bulk(node.ip);
  }
  if (withHostname) {
    out.bulk("hostname");
    out.bulk(node.hostname);
  }
}

/** Whether CLUSTER SLOTS lists a replica: not failed, and it has completed a sync (offset non-zero). */
function isReplicaAvailable(state: ClusterState, node: ClusterNode): boolean {
  return (node.flags & NODE_FAIL) === 0 && replicationOffset(state, node) !== 0;
}

/**
 * Writes the CLUSTER SLOTS reply: one entry per contiguous run of slots with the same owner, in slot order,
 * with the owner then its available replicas (Redis's clusterReplyMultiBulkSlots).
 */
export function writeClusterSlots(out: ReplyWriter, state: ClusterState): void {
  const runs = ownedRuns(state);
  out.array(runs.length);
  for (const run of runs) {
    const replicas = state.replicasOf(run.owner).filter((r) => isReplicaAvailable(state, r));
    out.array(3 + replicas.length);
    out.int(run.start);
    out.int(run.end);
    writeSlotsNode(out, state, run.owner);
    for (const replica of replicas) writeSlotsNode(out, state, replica);
  }
}

/** One node map of CLUSTER SHARDS (Redis's addNodeDetailsToShardReply; no TLS, so no `tls-port`). */
function writeShardNode(out: ReplyWriter, state: ClusterState, node: ClusterNode): void {
  const isReplica = (node.flags & NODE_SLAVE) !== 0;
  const offset = replicationOffset(state, node);
  const pairs = 6 + (node.port !== 0 ? 1 : 0) + (node.hostname !== "" ? 1 : 0);
  out.map(pairs);
  out.bulk("id");
  out.bulk(node.id);
  if (node.port !== 0) {
    out.bulk("port");
    out.int(node.port);
  }
  out.bulk("ip");
  out.bulk(node.ip);
  out.bulk("endpoint");
  out.bulk(preferredEndpoint(state, node) ?? "");
  if (node.hostname !== "") {
    out.bulk("hostname");
    out.bulk(node.hostname);
  }
  out.bulk("role");
  out.bulk(isReplica ? "replica" : "master");
  out.bulk("replication-offset");
  out.int(offset);
  out.bulk("health");
  out.bulk((node.flags & NODE_FAIL) !== 0 ? "fail" : isReplica && offset === 0 ? "loading" : "online");
}

/**
 * Writes the CLUSTER SHARDS reply: one map per master in table order (also masters without slots), with its
 * slot runs as a flat start/end list and its nodes (the master, then all its replicas).
 */
export function writeClusterShards(out: ReplyWriter, state: ClusterState): void {
  const ranges = slotRangesByNode(state);
  const masters = [...state.nodes.values()].filter((n) => (n.flags & NODE_MASTER) !== 0);
  out.array(masters.length);
  for (const master of masters) {
    out.map(2);
    out.bulk("slots");
    const list = ranges.get(master) ?? [];
    out.array(list.length);
    for (const slot of list) out.int(slot);
    out.bulk("nodes");
    const replicas = state.replicasOf(master);
    out.array(1 + replicas.length);
    writeShardNode(out, state, master);
    for (const replica of replicas) writeShardNode(out, state, replica);
  }
}

/**
 * The CLUSTER INFO text, lines ending with "\r\n", in Redis 7.0's order. `cluster_size` is `state.size`, the
 * value clusterUpdateState caches (as Redis prints it, it may lag the slot table until the next update).
 */
export function clusterInfoText(state: ClusterState): string {
  let assigned = 0, ok = 0, pfail = 0, fail = 0;
  for (const owner of state.slots) {
    if (owner === null) continue;
    assigned++;
    if ((owner.flags & NODE_FAIL) !== 0) fail++;
    else if ((owner.flags & NODE_PFAIL) !== 0) pfail++;
    else ok++;
  }
  const myself = state.myself;
  const myEpoch = knownMaster(state, myself)?.configEpoch ?? myself.configEpoch;
  const lines = [
    "cluster_state:" + state.state,
    "cluster_slots_assigned:" + assigned,
    "cluster_slots_ok:" + ok,
    "cluster_slots_pfail:" + pfail,
    "cluster_slots_fail:" + fail,
    "cluster_known_nodes:" + state.nodes.size,
    "cluster_size:" + state.size,
    "cluster_current_epoch:" + state.currentEpoch,
    "cluster_my_epoch:" + myEpoch,
    ...statsLines(state.statsSent, "sent"),
    ...statsLines(state.statsReceived, "received"),
    "total_cluster_links_buffer_limit_exceeded:0",
  ];
  return lines.join("\r\n") + "\r\n";
}

/** `cluster_stats_messages_<type>_<dir>` for each non-zero type in type order, then the total. */
function statsLines(counts: readonly number[], direction: "sent" | "received"): string[] {
  const lines: string[] = [];
  let total = 0;
  for (let type = 0; type < MSG_TYPE_COUNT; type++) {
    const count = counts[type] ?? 0;
    if (count === 0) continue;
    total += count;
    lines.push("cluster_stats_messages_" + MSG_TYPE_NAMES[type] + "_" + direction + ":" + count);
  }
  lines.push("cluster_stats_messages_" + direction + ":" + total);
  return lines;
}

/** A link, with the send-buffer sizes the shell may keep on it. */
type LinkWithBuffer = Link & { sendBufferAllocated?: number; sendBufferUsed?: number };

/** One CLUSTER LINKS map (Redis's addReplyClusterLinkDescription). */
function writeLink(out: ReplyWriter, link: LinkWithBuffer, peer: ClusterNode): void {
  const used = link.sendBufferUsed ?? 0;
  // Redis lists installed handlers: read once connected (inbound links are), write only while data is queued.
  const readable = link.outbound ? link.connected : true;
  const events = (readable ? "r" : "") + (used > 0 ? "w" : "");
  out.map(6);
  out.bulk("direction");
  out.bulk(link.outbound ? "to" : "from");
  out.bulk("node");
  out.bulk(peer.id);
  out.bulk("create-time");
  out.int(link.createdAt);
  out.bulk("events");
  out.bulk(events);
  out.bulk("send-buffer-allocated");
  out.int(link.sendBufferAllocated ?? 0);
  out.bulk("send-buffer-used");
  out.int(used);
}

/**
 * Writes the CLUSTER LINKS reply: for every node in table order, its outbound link then its inbound link,
 * when they exist in `state.links`.
 */
export function writeClusterLinks(out: ReplyWriter, state: ClusterState): void {
  const described: [LinkWithBuffer, ClusterNode][] = [];
  for (const node of state.nodes.values()) {
    for (const id of [node.link, node.inboundLink]) {
      const link = id === null ? undefined : state.links.get(id);
      if (link !== undefined) described.push([link, node]);
    }
  }
  out.array(described.length);
  for (const [link, node] of described) writeLink(out, link, node);
}
