/**
 * The cluster cron (`reference/cluster-bus.md` section 12), run every 100 ms with `now`: handshake
 * timeouts, (re)connecting links, Redis's ping schedule, PFAIL, and the cluster state.
 */
import type { ClusterState } from "./state.ts";
import { NODE_FAIL, NODE_HANDSHAKE, NODE_MYSELF, NODE_NOADDR, NODE_PFAIL } from "./node.ts";
import { MSG_PING } from "./bus/message.ts";
import { sendPing } from "./gossip.ts";
import { updateClusterState } from "./failure.ts";

/** The cron period the schedule below assumes. */
export const CLUSTER_CRON_PERIOD_MS = 100;
/** Handshakes never time out faster than this. */
const MIN_HANDSHAKE_TIMEOUT_MS = 1000;
/** Every this many ticks (about once a second) a random node is pinged. */
const RANDOM_PING_EVERY_TICKS = 10;
/** Nodes sampled for that ping; the one with the oldest PONG wins. */
const RANDOM_PING_SAMPLES = 5;

/** One cron tick (clusterCron). */
export function clusterTick(state: ClusterState, now: number): void {
  const timeout = state.settings.nodeTimeoutMs;
  const handshakeTimeout = Math.max(timeout, MIN_HANDSHAKE_TIMEOUT_MS);
  state.cronIterations++;

  let pfail = 0;
  for (const node of [...state.nodes.values()]) {
    if ((node.flags & (NODE_MYSELF | NODE_NOADDR)) !== 0) continue;
    if ((node.flags & NODE_PFAIL) !== 0) pfail++;
    if ((node.flags & NODE_HANDSHAKE) !== 0 && now - node.createdAt > handshakeTimeout) {
      state.deleteNode(node);
      continue;
    }
    if (node.link === null && now >= node.nextConnectAt) state.openLink(node, now);
  }
  state.pfailNodes = pfail;

  if (state.cronIterations % RANDOM_PING_EVERY_TICKS === 0) {
    let oldest = null;
    const nodes = [...state.nodes.values()];
    for (let i = 0; i < RANDOM_PING_SAMPLES && nodes.length > 0; i++) {
      const node = nodes[Math.floor(state.rng() * nodes.length)];
      if (node.link === null || node.pingSent !== 0) continue;
      if ((node.flags & (NODE_MYSELF | NODE_HANDSHAKE)) !== 0) continue;
      if (oldest === null || node.pongReceived < oldest.pongReceived) oldest = node;
    }
    if (oldest !== null) {
      const link = state.links.get(oldest.link!);
      if (link !== undefined) sendPing(state, link, MSG_PING, now);
    }
  }

  for (const node of state.nodes.values()) {
    if ((node.flags & (NODE_MYSELF | NODE_NOADDR | NODE_HANDSHAKE)) !== 0) continue;
    const link = node.link === null ? undefined : state.links.get(node.link);
    // A link that is up but silent while a ping waits: drop it, the next tick reconnects.
    if (
      link !== undefined && now - link.createdAt > timeout && node.pingSent !== 0 &&
      now - node.pingSent > timeout / 2 && now - node.dataReceived > timeout / 2
    ) {
      state.freeLink(link.id);
    }
    if (node.link !== null && node.pingSent === 0 && now - node.pongReceived > timeout / 2) {
      const current = state.links.get(node.link);
      if (current !== undefined) sendPing(state, current, MSG_PING, now);
      continue;
    }
    if (node.pingSent !== 0) {
      const delay = Math.min(now - node.pingSent, now - node.dataReceived);
      if (delay > timeout && (node.flags & (NODE_PFAIL | NODE_FAIL)) === 0) {
        state.log("debug", `*** NODE ${node.id} possibly failing`);
        node.flags |= NODE_PFAIL;
      }
    }
  }
  // Redis recomputes only after changes; every tick is as cheap here and also ends the start-up delay on time.
  updateClusterState(state, now);
}
