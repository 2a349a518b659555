/**
 * Minority write fencing (tessera only, `cluster-write-fence-percent`). A master cut off from the majority
 * keeps acknowledging writes in Redis until node_timeout passes, and loses them all when its replica is
 * promoted on the other side. Here a master with slots refuses writes once it has not been in contact with a
 * majority of the sized masters (itself included) for `percent`% of node_timeout.
 *
 * Contact with a master X means: X answered a PING of ours sent at time s (we record s, so X heard from us
 * at or after s). To elect my replica, a majority must flag me FAIL, which needs PFAIL from a majority of
 * masters: each of them heard nothing from me for node_timeout. One of them is in my contact majority, so
 * no election can start before s + node_timeout (+ the election's base delay) while I fence from
 * s + percent% × node_timeout: with percent <= 100 I always stop writing first.
 */
import type { ClusterState } from "./state.ts";
import { type ClusterNode, NODE_HANDSHAKE } from "./node.ts";

/**
 * Recomputes `state.writeFenceAt`: the unix ms from which writes are refused given the contacts known
 * now (Infinity when fencing is off or does not apply). Contacts only move it later, so between calls the
 * deadline stays exact; routing compares it with the clock.
 */
export function updateWriteFence(state: ClusterState): void {
  const me = state.myself;
  const percent = state.settings.writeFencePercent;
  if (percent <= 0 || !state.isMaster(me) || me.numSlots === 0) {
    state.writeFenceAt = Infinity;
    return;
  }
  const windowMs = (state.settings.nodeTimeoutMs * percent) / 100;
  const contacts: number[] = [];
  let size = 0;
  for (const node of state.nodes.values()) {
    if (!state.isMaster(node) || node.numSlots === 0 || (node.flags & NODE_HANDSHAKE) !== 0) continue;
    size++;
    if (node !== me) contacts.push(node.fenceContactAt);
  }
  // I count for myself; I need quorum - 1 others, and the (quorum-1)-th most recent contact expires last.
  const othersNeeded = Math.floor(size / 2);
  if (othersNeeded === 0) {
    state.writeFenceAt = Infinity;
    return;
  }
  contacts.sort((a, b) => b - a);
  const pivot = contacts[othersNeeded - 1] ?? 0;
  state.writeFenceAt = pivot === 0 ? 0 : pivot + windowMs;
}

/** Whether writes are fenced at `now` (routing's check; cheap). */
export function isWriteFenced(state: ClusterState, now: number): boolean {
  return now >= state.writeFenceAt;
}

/** Logs when the fence rises or falls (once a tick, from the cron), with how stale the contacts are. */
export function logWriteFenceChange(state: ClusterState, now: number): void {
  const up = isWriteFenced(state, now);
  if (up === state.writeFenceUp) return;
  state.writeFenceUp = up;
  if (!up) return state.log("warning", "Write fence down: a majority of masters answers again, writes accepted");
  const ages: string[] = [];
  for (const node of state.nodes.values()) {
    if (node === state.myself || !state.isMaster(node) || node.numSlots === 0) continue;
    ages.push(node.fenceContactAt === 0 ? "never" : `${now - node.fenceContactAt} ms`);
  }
  state.log(
    "warning",
    `Write fence up: no PING answered by a majority of masters for ${state.settings.writeFencePercent}% of the node timeout (last answers: ${
      ages.join(", ")
    }); writes refused`,
  );
}

/** Fence pings are never sent more often than every quarter node timeout. */
const FENCE_REFRESH_FRACTION = 4;
/**
 * A contact is refreshed once it is this close to the fence: room for a slow answer (two bus round trips and a
 * cron tick). With long node timeouts Redis's own ping schedule refreshes contacts well before, so no extra
 * PING is sent (idle gossip stays Redis's); with short ones (1-2 s) these PINGs keep a busy master unfenced.
 */
const FENCE_REFRESH_MARGIN_MS = 600;

/**
 * Whether `node` (another sized master) should get a PING now to keep my fence contact with it fresh; records the
 * PING as sent (one per quarter node timeout at most, however the answers go).
 */
export function fenceNeedsPing(state: ClusterState, node: ClusterNode, now: number): boolean {
  if (state.settings.writeFencePercent <= 0 || node.link === null || node.pingSent !== 0) return false;
  const me = state.myself;
  if (!state.isMaster(me) || me.numSlots === 0 || !state.isMaster(node) || node.numSlots === 0) return false;
  const timeout = state.settings.nodeTimeoutMs;
  const windowMs = (timeout * state.settings.writeFencePercent) / 100;
  const refreshMs = Math.max(timeout / FENCE_REFRESH_FRACTION, windowMs - FENCE_REFRESH_MARGIN_MS);
  if (now - node.fenceContactAt <= refreshMs || now - node.fencePingAt < refreshMs) return false;
  node.fencePingAt = now;
  return true;
}
