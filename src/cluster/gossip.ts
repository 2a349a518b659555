/**
 * The bus protocol's message handling (`reference/cluster-bus.md` sections 7, 10 and 11): building
 * PING / PONG / MEET with gossip, the MEET handshake, processing every message type, and links
 * going up and down. Everything takes `now`; randomness comes from `state.rng`.
 */
import type { ClusterState, Link } from "./state.ts";
import {
  type ClusterNode,
  isValidNodeId,
  newNode,
  NODE_FAIL,
  NODE_HANDSHAKE,
  NODE_MASTER,
  NODE_MEET,
  NODE_MIGRATE_TO,
  NODE_MYSELF,
  NODE_NOADDR,
  NODE_NOFAILOVER,
  NODE_PFAIL,
  NODE_SLAVE,
  randomNodeId,
} from "./node.ts";
import {
  type BusMessage,
  type GossipEntry,
  MSG_FAIL,
  MSG_FAILOVER_AUTH_ACK,
  MSG_FAILOVER_AUTH_REQUEST,
  MSG_MEET,
  MSG_MFSTART,
  MSG_PING,
  MSG_PONG,
  MSG_PUBLISH,
  MSG_PUBLISHSHARD,
  MSG_TYPE_COUNT,
  MSG_UPDATE,
  MSGFLAG0_PAUSED,
  slotBit,
} from "./bus/message.ts";
import { handleAuthAck, handleAuthRequest } from "./election.ts";
import { handleMfStart, noteMasterPausedOffset } from "./manual_failover.ts";
import { updateWriteFence } from "./write_fence.ts";
import {
  addFailureReport,
  clearNodeFailureIfNeeded,
  countFailureReports,
  deleteFailureReport,
  markNodeAsFailingIfNeeded,
  updateClusterState,
} from "./failure.ts";
import { handleConfigEpochCollision, isSlotUnclaimed, updateSlotsConfigWith } from "./epochs.ts";
import { CLUSTER_SLOTS } from "./node.ts";

/** Reconnect backoff after failed connects: doubling from the cron period up to one second. */
const RECONNECT_BASE_DELAY_MS = 100;
const RECONNECT_MAX_DELAY_MS = 1000;
const RECONNECT_TIMEOUT_DIVISOR = 20;
/** A forgotten-node extension cannot blacklist an id for longer than CLUSTER FORGET itself does. */
const FORGET_TTL_CAP_SEC = 60;
/** Gossip about a node newer than this many ms in our future is ignored (clock skew guard). */
const GOSSIP_FUTURE_TOLERANCE_MS = 500;

function isHandshake(node: ClusterNode): boolean {
  return (node.flags & NODE_HANDSHAKE) !== 0;
}

/** One gossip entry about a node. */
function gossipEntry(node: ClusterNode): GossipEntry {
  return {
    nodeId: node.id,
    pingSentSec: Math.floor(node.pingSent / 1000),
    pongReceivedSec: Math.floor(node.pongReceived / 1000),
    ip: node.ip,
    port: node.port,
    cport: node.cport,
    flags: node.flags,
    pport: node.pport,
  };
}

/** A random node of the table (dictGetRandomKey). */
function randomNode(state: ClusterState): ClusterNode {
  const index = Math.floor(state.rng() * state.nodes.size);
  let i = 0;
  for (const node of state.nodes.values()) if (i++ === index) return node;
  return state.myself;
}

/**
 * Sends a PING, PONG or MEET on a link with Redis's gossip selection (clusterSendPing): about a
 * tenth of the table (at least 3) picked at random, then every PFAIL node.
 */
export function sendPing(state: ClusterState, link: Link, type: number, now: number): void {
  let freshNodes = state.nodes.size - 2;
  let wanted = Math.floor(state.nodes.size / 10);
  if (wanted < 3) wanted = 3;
  if (wanted > freshNodes) wanted = freshNodes;
  if (link.node !== null && type === MSG_PING) link.node.pingSent = now;

  const msg = state.buildMessage(type);
  const chosen = new Set<ClusterNode>();
  let iterations = wanted * 3;
  while (freshNodes > 0 && chosen.size < wanted && iterations-- > 0) {
    const node = randomNode(state);
    if (node === state.myself) continue;
    if ((node.flags & NODE_PFAIL) !== 0) continue;
    if ((node.flags & (NODE_HANDSHAKE | NODE_NOADDR)) !== 0 || (node.link === null && node.numSlots === 0)) {
      freshNodes--;
      continue;
    }
    if (chosen.has(node)) continue;
    chosen.add(node);
    msg.gossip.push(gossipEntry(node));
    freshNodes--;
  }
  let pfailWanted = state.pfailNodes;
  for (const node of state.nodes.values()) {
    if (pfailWanted <= 0) break;
    if ((node.flags & (NODE_HANDSHAKE | NODE_NOADDR)) !== 0 || (node.flags & NODE_PFAIL) === 0) continue;
    msg.gossip.push(gossipEntry(node));
    pfailWanted--;
  }
  if (state.settings.announceHostname !== "") msg.hostname = state.settings.announceHostname;
  // Nodes forgotten with CLUSTER FORGET travel as extensions while their blacklist entry lasts.
  for (const [id, until] of state.blacklist) {
    if (until > now) msg.forgotten.push({ nodeId: id, ttlSec: Math.ceil((until - now) / 1000) });
  }
  state.send(link.id, msg);
}

/** Whether a handshake with this address is already running (clusterHandshakeInProgress). */
function handshakeInProgress(state: ClusterState, ip: string, port: number, cport: number): boolean {
  for (const n of state.nodes.values()) {
    if (isHandshake(n) && n.ip === ip && n.port === port && n.cport === cport) return true;
  }
  return false;
}

/** Starts a MEET handshake with an address (clusterStartHandshake); the cron connects next tick. */
export function startHandshake(state: ClusterState, ip: string, port: number, cport: number, now: number): void {
  if (handshakeInProgress(state, ip, port, cport)) return;
  const node = newNode(randomNodeId(state.rng), NODE_HANDSHAKE | NODE_MEET, now);
  node.ip = ip;
  node.port = port;
  node.cport = cport;
  state.addNode(node);
}

/** The shell accepted an inbound bus connection: returns its link id. */
export function linkAccepted(state: ClusterState, now: number, peerIp: string, localIp: string): number {
  const link: Link = {
    id: state.allocateLinkId(),
    node: null,
    outbound: false,
    createdAt: now,
    connected: true,
    peerIp,
    localIp,
  };
  state.links.set(link.id, link);
  return link.id;
}

/** An outbound link connected: the first PING (or MEET) goes out at once (clusterLinkConnectHandler). */
export function linkUp(state: ClusterState, linkId: number, now: number, localIp: string): void {
  const link = state.links.get(linkId);
  if (link === undefined || link.node === null) return;
  link.connected = true;
  link.localIp = localIp;
  const node = link.node;
  node.connectFailures = 0;
  node.nextConnectAt = 0;
  const oldPingSent = node.pingSent;
  sendPing(state, link, (node.flags & NODE_MEET) !== 0 ? MSG_MEET : MSG_PING, now);
  // A ping pending from before the reconnect keeps its time, so failure detection is not delayed.
  if (oldPingSent !== 0) node.pingSent = oldPingSent;
  node.flags &= ~NODE_MEET;
  state.log("debug", `Connecting with Node ${node.id} at ${node.ip}:${node.cport}`);
}

/** A link closed or failed to connect (the shell already closed the socket). */
export function linkDown(state: ClusterState, linkId: number, now: number): void {
  const link = state.links.get(linkId);
  if (link === undefined) return;
  const node = link.node;
  if (link.outbound && !link.connected && node !== null) {
    // A connect that failed before any PING went out still starts the failure clock.
    if (node.pingSent === 0) node.pingSent = now;
    // Back off: 100 ms, 200 ms, ... up to a twentieth of the node timeout (at most a second), so a peer
    // back from a short outage is reached again well before its pending ping could make it PFAIL.
    node.connectFailures++;
    const cap = Math.max(
      RECONNECT_BASE_DELAY_MS,
      Math.min(RECONNECT_MAX_DELAY_MS, state.settings.nodeTimeoutMs / RECONNECT_TIMEOUT_DIVISOR),
    );
    const delay = Math.min(cap, RECONNECT_BASE_DELAY_MS * 2 ** (node.connectFailures - 1));
    node.nextConnectAt = now + delay;
  }
  state.freeLink(linkId, false);
}

/** Who sent a message (getNodeFromLinkAndMsg); binds an anonymous inbound link to a known sender. */
function senderOf(state: ClusterState, link: Link, msg: BusMessage): ClusterNode | null {
  if (link.node !== null && !isHandshake(link.node)) return link.node;
  const node = state.nodes.get(msg.sender) ?? null;
  if (node !== null && !link.outbound && link.node === null) state.bindInboundLink(node, link);
  return node;
}

/**
 * Updates a node's address from a message when it changed (nodeUpdateAddressIfNeeded); the
 * outbound link is dropped so the next cron reconnects to the new address.
 */
function updateAddressIfNeeded(state: ClusterState, node: ClusterNode, link: Link, msg: BusMessage): boolean {
  if (node === state.myself) return false;
  const ip = msg.myip !== "" ? msg.myip : link.peerIp;
  if (ip === "" || (node.ip === ip && node.port === msg.port && node.cport === msg.cport && node.pport === msg.pport)) {
    return false;
  }
  node.ip = ip;
  node.port = msg.port;
  node.pport = msg.pport;
  node.cport = msg.cport;
  if (node.link !== null) state.freeLink(node.link);
  node.flags &= ~NODE_NOADDR;
  state.log("warning", `Address updated for node ${node.id}, now ${ip}:${msg.port}`);
  if (node.id === state.myself.masterId) state.emit({ kind: "replicate", masterId: node.id });
  return true;
}

/** Processes one message that arrived on a link (clusterProcessPacket). */
export function processMessage(state: ClusterState, linkId: number, msg: BusMessage, now: number): void {
  const link = state.links.get(linkId);
  if (link === undefined) return;
  const type = msg.type;
  if (type >= MSG_TYPE_COUNT) {
    // Redis 7.0 never sends these; a peer that does is not speaking our protocol.
    state.droppedMessages++;
    state.log("warning", `Dropping message of unknown type ${type} from ${msg.sender}, closing the link`);
    state.freeLink(linkId);
    return;
  }
  state.statsReceived[type]++;
  const sender = senderOf(state, link, msg);
  if (sender !== null) sender.dataReceived = now;
  if (sender !== null && !isHandshake(sender)) {
    // Epochs must survive a power loss (Redis saves them with fsync).
    if (msg.currentEpoch > state.currentEpoch) {
      state.currentEpoch = msg.currentEpoch;
      state.persistSoon(true);
    }
    if (msg.configEpoch > sender.configEpoch) {
      sender.configEpoch = msg.configEpoch;
      state.persistSoon(true);
    }
    sender.replOffset = msg.offset;
    sender.replOffsetTime = now;
    // A replica in a manual failover learns the offset its paused master stopped at.
    if (
      state.mfEnd !== 0 && (state.myself.flags & NODE_SLAVE) !== 0 && state.myself.masterId === sender.id &&
      (msg.mflags & MSGFLAG0_PAUSED) !== 0
    ) {
      noteMasterPausedOffset(state, msg.offset);
    }
  }

  if (type === MSG_PING || type === MSG_MEET) {
    if ((type === MSG_MEET || state.myself.ip === "") && state.settings.announceIp === "" && link.localIp !== "") {
      if (state.myself.ip !== link.localIp) {
        state.myself.ip = link.localIp;
        state.log("warning", `IP address for this node updated to ${link.localIp}`);
        state.persist();
      }
    }
    if (sender === null && type === MSG_MEET) {
      const node = newNode(randomNodeId(state.rng), NODE_HANDSHAKE, now);
      node.ip = msg.myip !== "" ? msg.myip : link.peerIp;
      node.port = msg.port;
      node.pport = msg.pport;
      node.cport = msg.cport;
      state.addNode(node);
      processGossipSection(state, msg, null, now);
    }
    sendPing(state, link, MSG_PONG, now);
  }

  if (type === MSG_PING || type === MSG_PONG || type === MSG_MEET) {
    processPingFamily(state, link, sender, msg, now);
    return;
  }
  if (sender === null) {
    // Only the handshake (PING/PONG/MEET) may come from a node we do not know.
    state.droppedMessages++;
    state.log("verbose", `Dropping message of type ${type} from unknown node ${msg.sender}, closing the link`);
    state.freeLink(linkId);
    return;
  }
  if (type === MSG_FAIL) {
    const failing = state.nodes.get(msg.failing);
    if (failing !== undefined && (failing.flags & (NODE_FAIL | NODE_MYSELF)) === 0) {
      state.log("notice", `FAIL message received from ${sender.id} about ${failing.id}`);
      failing.flags = (failing.flags & ~NODE_PFAIL) | NODE_FAIL;
      failing.failTime = now;
      updateClusterState(state, now);
      state.persist();
    }
  } else if (type === MSG_UPDATE && msg.update !== null) {
    const node = state.nodes.get(msg.update.nodeId);
    if (node === undefined || node.configEpoch >= msg.update.configEpoch) return;
    if ((node.flags & NODE_SLAVE) !== 0) state.setNodeAsMaster(node);
    node.configEpoch = msg.update.configEpoch;
    updateSlotsConfigWith(state, node, msg.update.configEpoch, msg.update.slots, now, true);
  } else if (type === MSG_FAILOVER_AUTH_REQUEST) {
    handleAuthRequest(state, sender, msg, now);
  } else if (type === MSG_FAILOVER_AUTH_ACK) {
    handleAuthAck(state, sender, msg, now);
  } else if (type === MSG_MFSTART) {
    handleMfStart(state, sender, link, now);
  } else if (type === MSG_PUBLISH || type === MSG_PUBLISHSHARD) {
    state.emit({
      kind: "deliver-publish",
      channel: msg.channel,
      message: msg.message,
      shard: type === MSG_PUBLISHSHARD,
    });
  }
}

/**
 * Sends a PUBLISH to every node (clusterPropagatePublish), or an SPUBLISH only to the other nodes
 * of my shard: my master (or me) and its replicas.
 */
export function propagatePublish(state: ClusterState, channel: string, message: string, shard: boolean): void {
  const msg = state.buildMessage(shard ? MSG_PUBLISHSHARD : MSG_PUBLISH);
  msg.channel = channel;
  msg.message = message;
  if (!shard) {
    state.broadcast(msg);
    return;
  }
  const master = state.isMaster(state.myself) ? state.myself : state.myMaster();
  if (master === null) return;
  for (const node of [master, ...state.replicasOf(master)]) {
    if (node === state.myself || node.link === null || (node.flags & NODE_HANDSHAKE) !== 0) continue;
    state.send(node.link, msg);
  }
}

/** PING / PONG / MEET: handshake completion, pong bookkeeping, role, slots, epochs, gossip. */
function processPingFamily(
  state: ClusterState,
  link: Link,
  sender: ClusterNode | null,
  msg: BusMessage,
  now: number,
): void {
  const type = msg.type;
  if (link.outbound && link.node !== null) {
    const linkNode = link.node;
    if (isHandshake(linkNode)) {
      if (sender !== null) {
        // We already know this node under its real id: refresh its address and drop the handshake node.
        state.log("verbose", `Handshake: we already know node ${sender.id}, updating the address if needed.`);
        if (updateAddressIfNeeded(state, sender, link, msg)) state.persist();
        state.deleteNode(linkNode);
        return;
      }
      if (!isValidNodeId(msg.sender)) return;
      state.renameNode(linkNode, msg.sender);
      state.log("debug", `Handshake with node ${linkNode.id} completed.`);
      linkNode.flags &= ~NODE_HANDSHAKE;
      linkNode.flags |= msg.flags & (NODE_MASTER | NODE_SLAVE);
      state.persist();
    } else if (linkNode.id !== msg.sender) {
      state.log(
        "verbose",
        `PONG contains mismatching sender ID. About node ${linkNode.id} added ${
          Math.floor((now - linkNode.createdAt) / 1000)
        } ms ago, having flags ${linkNode.flags}`,
      );
      linkNode.flags |= NODE_NOADDR;
      linkNode.ip = "";
      linkNode.port = 0;
      linkNode.pport = 0;
      linkNode.cport = 0;
      state.freeLink(link.id);
      state.persist();
      return;
    }
  }

  if (sender !== null) {
    sender.flags = (sender.flags & ~NODE_NOFAILOVER) | (msg.flags & NODE_NOFAILOVER);
  }
  if (sender !== null && type === MSG_PING && !isHandshake(sender) && updateAddressIfNeeded(state, sender, link, msg)) {
    state.persist();
    updateClusterState(state, now);
  }

  // Only PONGs on our own outbound link answer our PINGs.
  if (link.outbound && type === MSG_PONG && link.node !== null) {
    const node = link.node;
    node.pongReceived = now;
    // It answered a PING sent at pingSent, so it heard from us since then (the write fence's contact).
    if (node.pingSent !== 0 && node.pingSent > node.fenceContactAt) {
      node.fenceContactAt = node.pingSent;
      updateWriteFence(state);
    }
    node.pingSent = 0;
    if ((node.flags & NODE_PFAIL) !== 0) {
      node.flags &= ~NODE_PFAIL;
      updateClusterState(state, now);
    } else if ((node.flags & NODE_FAIL) !== 0) {
      clearNodeFailureIfNeeded(state, node, now);
      updateClusterState(state, now);
    }
  }

  if (sender === null) return;

  // Role.
  if (msg.slaveof === null) {
    if (!state.isMaster(sender)) state.setNodeAsMaster(sender);
  } else {
    if (state.isMaster(sender)) {
      for (let slot = 0; slot < CLUSTER_SLOTS; slot++) if (state.slots[slot] === sender) state.setSlotOwner(slot, null);
      sender.flags = (sender.flags & ~(NODE_MASTER | NODE_MIGRATE_TO)) | NODE_SLAVE;
      state.persist();
      updateClusterState(state, now);
    }
    const master = state.nodes.get(msg.slaveof);
    if (master !== undefined && sender.masterId !== master.id) {
      state.attachReplica(sender, master);
      state.persist();
    }
  }

  // Slots: compare the claim with what we know of the sender's master.
  const senderMaster = state.isMaster(sender)
    ? sender
    : (sender.masterId !== null ? state.nodes.get(sender.masterId) ?? null : null);
  // Redis's memcmp of the two bitmaps, a byte at a time.
  let dirtySlots = false;
  if (senderMaster !== null) {
    const known = senderMaster.slotBits;
    const claimed = msg.myslots;
    for (let i = 0; i < known.length; i++) {
      if (claimed[i] !== known[i]) {
        dirtySlots = true;
        break;
      }
    }
  }
  if (state.isMaster(sender) && dirtySlots) {
    updateSlotsConfigWith(state, sender, msg.configEpoch, msg.myslots, now);
  }
  // The sender claims slots we know a newer owner of: tell it (UPDATE), once per message.
  if (dirtySlots) {
    const claimed = msg.myslots;
    const ownedBySender = sender.slotBits;
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
      // A byte whose claims are all slots the sender owns is skipped whole (the first test below).
      if ((slot & 7) === 0 && (claimed[slot >> 3] & ~ownedBySender[slot >> 3]) === 0) {
        slot += 7;
        continue;
      }
      if (!slotBit(claimed, slot)) continue;
      const owner = state.slots[slot];
      if (owner === sender || isSlotUnclaimed(state, slot) || owner === null) continue;
      if (owner.configEpoch > msg.configEpoch) {
        state.log(
          "verbose",
          `Node ${sender.id} has old slots configuration, sending an UPDATE message about ${owner.id}`,
        );
        if (sender.link !== null) {
          const update = state.buildMessage(MSG_UPDATE);
          update.update = { configEpoch: owner.configEpoch, nodeId: owner.id, slots: state.slotBitmap(owner) };
          state.send(sender.link, update);
        }
        break;
      }
    }
  }

  if (state.isMaster(sender) && state.isMaster(state.myself) && msg.configEpoch === state.myself.configEpoch) {
    handleConfigEpochCollision(state, sender);
  }
  processGossipSection(state, msg, sender, now);
  for (const forgotten of msg.forgotten) forgetByGossip(state, forgotten.nodeId, forgotten.ttlSec, now);
  const hostname = msg.hostname ?? "";
  if (sender.hostname !== hostname) {
    sender.hostname = hostname;
    state.persist();
  }
}

/** The gossip section (clusterProcessGossipSection): failure reports, pong times, new nodes. */
function processGossipSection(state: ClusterState, msg: BusMessage, sender: ClusterNode | null, now: number): void {
  for (const entry of msg.gossip) {
    const node = state.nodes.get(entry.nodeId);
    const flags = entry.flags;
    if (node !== undefined) {
      if (sender !== null && state.isMaster(sender) && node !== state.myself) {
        if ((flags & (NODE_FAIL | NODE_PFAIL)) !== 0) {
          if (addFailureReport(node, sender, now)) {
            state.log("verbose", `Node ${sender.id} reported node ${node.id} as not reachable.`);
          }
          markNodeAsFailingIfNeeded(state, node, now);
        } else if (deleteFailureReport(state, node, sender, now)) {
          state.log("verbose", `Node ${sender.id} reported node ${node.id} is back online.`);
        }
      }
      if (
        (flags & (NODE_FAIL | NODE_PFAIL)) === 0 && node.pingSent === 0 && countFailureReports(state, node, now) === 0
      ) {
        const pongTime = entry.pongReceivedSec * 1000;
        if (pongTime <= now + GOSSIP_FUTURE_TOLERANCE_MS && pongTime > node.pongReceived) node.pongReceived = pongTime;
      }
      if (
        (node.flags & (NODE_FAIL | NODE_PFAIL)) !== 0 && (flags & NODE_NOADDR) === 0 &&
        (flags & (NODE_FAIL | NODE_PFAIL)) === 0 &&
        (node.ip !== entry.ip || node.port !== entry.port || node.cport !== entry.cport)
      ) {
        if (node.link !== null) state.freeLink(node.link);
        node.ip = entry.ip;
        node.port = entry.port;
        node.pport = entry.pport;
        node.cport = entry.cport;
        node.flags &= ~NODE_NOADDR;
      }
    } else if (
      sender !== null && (flags & NODE_NOADDR) === 0 && isValidNodeId(entry.nodeId) &&
      !isBlacklisted(state, entry.nodeId, now)
    ) {
      const created = newNode(entry.nodeId, flags & ~NODE_MYSELF, now);
      created.ip = entry.ip;
      created.port = entry.port;
      created.pport = entry.pport;
      created.cport = entry.cport;
      state.addNode(created);
    }
  }
}

/** A peer forgot a node (CLUSTER FORGET): forget it too, unless it is myself or my master. */
export function forgetByGossip(state: ClusterState, id: string, ttlSec: number, now: number): void {
  const node = state.nodes.get(id);
  if (node === undefined || node === state.myself || state.myself.masterId === id) return;
  state.log("notice", `Forgetting node ${id} as a peer asked (CLUSTER FORGET)`);
  state.blacklist.set(id, now + Math.min(ttlSec, FORGET_TTL_CAP_SEC) * 1000);
  state.forgottenByPeers.add(id);
  state.deleteNode(node);
  updateClusterState(state, now);
  state.persist();
}

/** Whether gossip about an id is ignored (CLUSTER FORGET's 60 s blacklist); expired entries are dropped. */
export function isBlacklisted(state: ClusterState, id: string, now: number): boolean {
  const until = state.blacklist.get(id);
  if (until === undefined) return false;
  if (until < now) {
    state.blacklist.delete(id);
    state.forgottenByPeers.delete(id);
    return false;
  }
  return true;
}

/** Broadcasts a PONG to every connected node (after taking over slots). */
export function broadcastPong(state: ClusterState, now: number): void {
  for (const node of state.nodes.values()) {
    if (node === state.myself || isHandshake(node) || node.link === null) continue;
    const link = state.links.get(node.link);
    if (link !== undefined && link.connected) sendPing(state, link, MSG_PONG, now);
  }
}
