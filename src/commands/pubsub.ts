/**
 * Pub/sub commands: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH SSUBSCRIBE SUNSUBSCRIBE
 * SPUBLISH and PUBSUB introspection, with Redis 7.0's replies. The registry and delivery live in
 * src/server/pubsub.ts.
 */
import { forcePropagation } from "../replication/propagate.ts";
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import { connectionResetHooks } from "./connection.ts";
import { replyHelp, subcommandSyntaxError } from "./help.ts";
import { globMatch } from "../store/glob.ts";
import {
  publishMessage,
  pubsubOf,
  subscribeChannel,
  subscribePattern,
  unsubscribeAll,
  unsubscribeAllChannels,
  unsubscribeAllPatterns,
  unsubscribeChannel,
  unsubscribePattern,
} from "../server/pubsub.ts";

const HELP = [
  "CHANNELS [<pattern>]",
  "    Return the currently active channels matching a <pattern> (default: '*').",
  "NUMPAT",
  "    Return number of subscriptions to patterns.",
  "NUMSUB [<channel> ...]",
  "    Return the number of subscribers for the specified channels, excluding",
  "    pattern subscriptions(default: no channels).",
  "SHARDCHANNELS [<pattern>]",
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  "SHARDNUMSUB [<shardchannel> ...]",
  "    Return the number of subscribers for the specified shard level channel(s)",
];

// RESET leaves every subscription silently, as Redis's clearClientConnectionState does.
connectionResetHooks.push(unsubscribeAll);

/** PUBLISH / SPUBLISH: local delivery, then the cluster bus; the reply counts local receivers only. */
function publish(c: Client, argv: string[], shard: boolean): void {
  const receivers = publishMessage(c.server, argv[1], argv[2], shard);
  // The bus carries it across a cluster; outside one, replicas get it in the stream.
  if (c.server.cluster !== null) c.server.cluster.publish(argv[1], argv[2], shard);
  else forcePropagation();
  c.out.int(receivers);
}

/** PUBSUB CHANNELS / SHARDCHANNELS [pattern]: active channels, optionally filtered by a glob. */
function channelList(c: Client, argv: string[], channels: Map<string, Set<Client>>): void {
  if (argv.length > 3) return subcommandSyntaxError(c, argv);
  const pattern = argv.length === 3 ? argv[2] : null;
  const names: string[] = [];
  for (const name of channels.keys()) if (pattern === null || globMatch(pattern, name)) names.push(name);
  c.out.bulkArray(names);
}

/** PUBSUB NUMSUB / SHARDNUMSUB: a flat channel, count list (an array in RESP3 too, as in Redis 7.0). */
function numsub(c: Client, argv: string[], channels: Map<string, Set<Client>>): void {
  c.out.array((argv.length - 2) * 2);
  for (let i = 2; i < argv.length; i++) {
    c.out.bulk(argv[i]);
    c.out.int(channels.get(argv[i])?.size ?? 0);
  }
}

export const pubsubCommands: Record<string, Handler> = {
  subscribe(c, argv) {
    for (let i = 1; i < argv.length; i++) subscribeChannel(c, argv[i], false);
  },
  unsubscribe(c, argv) {
    if (argv.length === 1) return unsubscribeAllChannels(c, false, true);
    for (let i = 1; i < argv.length; i++) unsubscribeChannel(c, argv[i], false, true);
  },
  psubscribe(c, argv) {
    for (let i = 1; i < argv.length; i++) subscribePattern(c, argv[i]);
  },
  punsubscribe(c, argv) {
    if (argv.length === 1) return unsubscribeAllPatterns(c, true);
    for (let i = 1; i < argv.length; i++) unsubscribePattern(c, argv[i], true);
  },
  ssubscribe(c, argv) {
    // Inside EXEC Redis denies blocking commands; unlike (P)SUBSCRIBE, SSUBSCRIBE has no MULTI exception.
    if (c.multi !== null) return c.error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
    for (let i = 1; i < argv.length; i++) subscribeChannel(c, argv[i], true);
  },
  sunsubscribe(c, argv) {
    if (argv.length === 1) return unsubscribeAllChannels(c, true, true);
    for (let i = 1; i < argv.length; i++) unsubscribeChannel(c, argv[i], true, true);
  },
  publish(c, argv) {
    publish(c, argv, false);
  },
  spublish(c, argv) {
    publish(c, argv, true);
  },
  "pubsub|channels"(c, argv) {
    channelList(c, argv, pubsubOf(c.server).channels);
  },
  "pubsub|shardchannels"(c, argv) {
    channelList(c, argv, pubsubOf(c.server).shardChannels);
  },
  "pubsub|numsub"(c, argv) {
    numsub(c, argv, pubsubOf(c.server).channels);
  },
  "pubsub|shardnumsub"(c, argv) {
    numsub(c, argv, pubsubOf(c.server).shardChannels);
  },
  "pubsub|numpat"(c) {
    c.out.int(pubsubOf(c.server).patterns.size);
  },
  "pubsub|help"(c) {
    replyHelp(c, "pubsub", HELP);
  },
};
