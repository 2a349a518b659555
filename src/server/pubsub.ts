/**
 * The pub/sub registry: which clients listen to which channels, patterns and shard channels, and
 * delivery of messages to them. Replies are Redis 7.0's: subscribe/unsubscribe acknowledgements and
 * messages are arrays in RESP2 and push frames (`>`) in RESP3, sent even when CLIENT REPLY hides the
 * running command's reply (Redis's CLIENT_PUSHING).
 */
import type { Client } from "./client.ts";
import type { Server } from "./server.ts";
import { globMatch } from "../store/glob.ts";
import { keyHashSlot } from "../cluster/slots.ts";

/** One client's subscriptions (Client.subscriptions, created on first use). */
export class ClientSubscriptions {
  readonly channels = new Set<string>();
  readonly patterns = new Set<string>();
  readonly shardChannels = new Set<string>();
  /** Push frames written while CLIENT REPLY OFF/SKIP drops the running command's reply; restored after it. */
  kept = "";
}

/** A server's subscribers by channel, pattern and shard channel (insertion order stands in for Redis's dicts). */
export class PubSubRegistry {
  readonly channels = new Map<string, Set<Client>>();
  readonly patterns = new Map<string, Set<Client>>();
  readonly shardChannels = new Map<string, Set<Client>>();
}

/** Commands a RESP2 client may run while subscribed (Redis's processCommand list). */
export const ALLOWED_WHEN_SUBSCRIBED: ReadonlySet<string> = new Set([
  "ping",
  "subscribe",
  "ssubscribe",
  "unsubscribe",
  "sunsubscribe",
  "psubscribe",
  "punsubscribe",
  "quit",
  "reset",
]);

/** The error a subscribed RESP2 client gets for any other command. */
export function subscribedModeError(fullname: string): string {
  return `ERR Can't execute '${fullname}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are ` +
    "allowed in this context";
}

const registries = new WeakMap<Server, PubSubRegistry>();

/** The server's registry (one per server, kept beside it so the server needs no field of its own). */
export function pubsubOf(server: Server): PubSubRegistry {
  let registry = registries.get(server);
  if (registry === undefined) {
    registry = new PubSubRegistry();
    registries.set(server, registry);
  }
  return registry;
}

/** INFO stats counts: distinct channels, distinct patterns, distinct shard channels. */
export function pubsubCounts(server: Server): { channels: number; patterns: number; shardChannels: number } {
  const registry = registries.get(server);
  if (registry === undefined) return { channels: 0, patterns: 0, shardChannels: 0 };
  return {
    channels: registry.channels.size,
    patterns: registry.patterns.size,
    shardChannels: registry.shardChannels.size,
  };
}

function subscriptionsOf(c: Client): ClientSubscriptions {
  if (c.subscriptions === null) c.subscriptions = new ClientSubscriptions();
  return c.subscriptions;
}

/** Keeps the client's counters (CLIENT LIST sub/psub/ssub, client type, subscribed mode) in step with its sets. */
function syncCounts(c: Client, subs: ClientSubscriptions): void {
  c.subCount = subs.channels.size;
  c.psubCount = subs.patterns.size;
  c.ssubCount = subs.shardChannels.size;
}

function bulk(s: string): string {
  return "$" + s.length + "\r\n" + s + "\r\n";
}

/** Writes one push frame (`head` + `body`) to a client; kept aside if CLIENT REPLY would drop it. */
function push(c: Client, head: string, body: string): void {
  if (c.replyMode !== "on" && c.server.currentClient === c) {
    subscriptionsOf(c).kept += head + body;
    return;
  }
  c.out.raw(head);
  c.out.raw(body);
}

function head3(c: Client): string {
  return c.resp === 3 ? ">3\r\n" : "*3\r\n";
}

/** `[kind, name, count]`; a null name (mass unsubscribe with nothing to leave) is the protocol's null. */
function ack(c: Client, kind: string, name: string | null, count: number): void {
  const nameReply = name !== null ? bulk(name) : c.resp === 3 ? "_\r\n" : "$-1\r\n";
  push(c, head3(c), bulk(kind) + nameReply + ":" + count + "\r\n");
}

/** Channels + patterns: the count SUBSCRIBE / PSUBSCRIBE and their unsubscribes report. */
function globalCount(subs: ClientSubscriptions): number {
  return subs.channels.size + subs.patterns.size;
}

function addTo(map: Map<string, Set<Client>>, name: string, c: Client): void {
  const set = map.get(name);
  if (set === undefined) map.set(name, new Set([c]));
  else set.add(c);
}

function removeFrom(map: Map<string, Set<Client>>, name: string, c: Client): void {
  const set = map.get(name);
  if (set === undefined) return;
  set.delete(c);
  if (set.size === 0) map.delete(name);
}

/** SUBSCRIBE / SSUBSCRIBE of one channel, with its acknowledgement. */
export function subscribeChannel(c: Client, channel: string, shard: boolean): void {
  const subs = subscriptionsOf(c);
  const mine = shard ? subs.shardChannels : subs.channels;
  if (!mine.has(channel)) {
    mine.add(channel);
    const registry = pubsubOf(c.server);
    addTo(shard ? registry.shardChannels : registry.channels, channel, c);
    syncCounts(c, subs);
  }
  if (shard) ack(c, "ssubscribe", channel, subs.shardChannels.size);
  else ack(c, "subscribe", channel, globalCount(subs));
}

/** UNSUBSCRIBE / SUNSUBSCRIBE of one channel, acknowledged when `notify`. */
export function unsubscribeChannel(c: Client, channel: string, shard: boolean, notify: boolean): void {
  const subs = subscriptionsOf(c);
  const mine = shard ? subs.shardChannels : subs.channels;
  if (mine.delete(channel)) {
    const registry = pubsubOf(c.server);
    removeFrom(shard ? registry.shardChannels : registry.channels, channel, c);
    syncCounts(c, subs);
  }
  if (!notify) return;
  if (shard) ack(c, "sunsubscribe", channel, subs.shardChannels.size);
  else ack(c, "unsubscribe", channel, globalCount(subs));
}

/** UNSUBSCRIBE / SUNSUBSCRIBE without arguments: every channel, or one null acknowledgement if none. */
export function unsubscribeAllChannels(c: Client, shard: boolean, notify: boolean): void {
  const subs = subscriptionsOf(c);
  const mine = shard ? subs.shardChannels : subs.channels;
  if (mine.size === 0) {
    if (notify) ack(c, shard ? "sunsubscribe" : "unsubscribe", null, shard ? 0 : globalCount(subs));
    return;
  }
  for (const channel of [...mine]) unsubscribeChannel(c, channel, shard, notify);
}

/** PSUBSCRIBE of one pattern, with its acknowledgement. */
export function subscribePattern(c: Client, pattern: string): void {
  const subs = subscriptionsOf(c);
  if (!subs.patterns.has(pattern)) {
    subs.patterns.add(pattern);
    addTo(pubsubOf(c.server).patterns, pattern, c);
    syncCounts(c, subs);
  }
  ack(c, "psubscribe", pattern, globalCount(subs));
}

/** PUNSUBSCRIBE of one pattern, acknowledged when `notify`. */
export function unsubscribePattern(c: Client, pattern: string, notify: boolean): void {
  const subs = subscriptionsOf(c);
  if (subs.patterns.delete(pattern)) {
    removeFrom(pubsubOf(c.server).patterns, pattern, c);
    syncCounts(c, subs);
  }
  if (notify) ack(c, "punsubscribe", pattern, globalCount(subs));
}

/** PUNSUBSCRIBE without arguments: every pattern, or one null acknowledgement if none. */
export function unsubscribeAllPatterns(c: Client, notify: boolean): void {
  const subs = subscriptionsOf(c);
  if (subs.patterns.size === 0) {
    if (notify) ack(c, "punsubscribe", null, globalCount(subs));
    return;
  }
  for (const pattern of [...subs.patterns]) unsubscribePattern(c, pattern, notify);
}

/** Drops every subscription without acknowledgements (RESET, connection close). */
export function unsubscribeAll(c: Client): void {
  const subs = c.subscriptions;
  // Falsy rather than null: in-process test clients may not carry the field at all.
  if (!subs) return;
  const registry = pubsubOf(c.server);
  for (const channel of subs.channels) removeFrom(registry.channels, channel, c);
  for (const pattern of subs.patterns) removeFrom(registry.patterns, pattern, c);
  for (const channel of subs.shardChannels) removeFrom(registry.shardChannels, channel, c);
  c.subscriptions = null;
  c.subCount = 0;
  c.psubCount = 0;
  c.ssubCount = 0;
}

/**
 * After CLIENT REPLY OFF/SKIP dropped a command's reply: puts back the push frames it wrote
 * (subscription acknowledgements, messages to itself), which Redis always sends.
 */
export function restoreKeptPushes(c: Client): void {
  const subs = c.subscriptions;
  if (!subs || subs.kept === "") return;
  c.out.raw(subs.kept);
  subs.kept = "";
}

/** Sends one frame to a receiver; a receiver other than the running client is flushed at once. */
function deliver(receiver: Client, head: string, body: string): void {
  if (receiver.closed) return;
  push(receiver, head, body);
  if (receiver !== receiver.server.currentClient) receiver.pushFlush();
}

/**
 * Delivers a message to this node's subscribers: `message` to the channel's subscribers and `pmessage`
 * to each matching pattern's (or `smessage` to a shard channel's). Returns the number of receivers,
 * which is PUBLISH's reply (Redis 7.0 counts only this node's clients).
 */
export function publishMessage(server: Server, channel: string, message: string, shard: boolean): number {
  const registry = registries.get(server);
  if (registry === undefined) return 0;
  let receivers = 0;
  const listeners = (shard ? registry.shardChannels : registry.channels).get(channel);
  if (listeners !== undefined) {
    const body = (shard ? "$8\r\nsmessage\r\n" : "$7\r\nmessage\r\n") + bulk(channel) + bulk(message);
    // A receiver closed for its output buffer limit leaves the set during the loop, which Set iteration allows.
    for (const receiver of listeners) {
      deliver(receiver, receiver.resp === 3 ? ">3\r\n" : "*3\r\n", body);
      receivers++;
    }
  }
  if (shard || registry.patterns.size === 0) return receivers;
  let tail: string | null = null;
  for (const [pattern, clients] of registry.patterns) {
    if (!globMatch(pattern, channel)) continue;
    tail ??= bulk(channel) + bulk(message);
    const body = "$8\r\npmessage\r\n" + bulk(pattern) + tail;
    for (const receiver of clients) {
      deliver(receiver, receiver.resp === 3 ? ">4\r\n" : "*4\r\n", body);
      receivers++;
    }
  }
  return receivers;
}

/** Delivers messages the cluster bus brings (PUBLISH / SPUBLISH on other nodes) to this node's subscribers. */
export function attachClusterPubSub(server: Server): void {
  if (server.cluster === null) return;
  server.cluster.onPublish = (channel, message, shard) => {
    publishMessage(server, channel, message, shard);
  };
  server.cluster.onShardSlotsLost = (slots) => removeShardChannelsInSlots(server, slots);
}

/**
 * My shard no longer serves these slots: every subscriber of their shard channels is unsubscribed
 * and told with `sunsubscribe` (Redis's removeChannelsInSlot).
 */
export function removeShardChannelsInSlots(server: Server, slots: readonly number[]): void {
  const registry = registries.get(server);
  if (registry === undefined || registry.shardChannels.size === 0) return;
  const lost = new Set(slots);
  for (const [channel, clients] of [...registry.shardChannels]) {
    if (!lost.has(keyHashSlot(channel))) continue;
    for (const c of [...clients]) {
      unsubscribeChannel(c, channel, true, true);
      c.pushFlush();
    }
  }
}
