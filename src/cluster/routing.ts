/**
 * Cluster routing of client commands (Redis's getNodeByQuery and clusterRedirectClient,
 * `reference/cluster-text-formats.md` section 8): serve locally, or answer MOVED / ASK /
 * CROSSSLOT / TRYAGAIN / CLUSTERDOWN with Redis's exact texts.
 */
import type { ClusterState } from "./state.ts";
import type { ClusterNode } from "./node.ts";
import { NODE_SLAVE } from "./node.ts";
import { keyHashSlot } from "./slots.ts";
import { isWriteFenced } from "./write_fence.ts";
import { CMD_WRITE, type Command, commandKeyPositions } from "../commands/table.ts";

/** One command as routing sees it: the command and its arguments. */
export interface RoutedCommand {
  cmd: Command;
  argv: string[];
}

/** The client state routing reads: ASKING (one-shot) and READONLY. */
export interface RoutingClient {
  asking: boolean;
  readonly: boolean;
}

/** Sharded pub/sub commands: served while the cluster is down (by default) and by replicas of the owner. */
const PUBSUB_SHARD_COMMANDS = new Set(["ssubscribe", "sunsubscribe", "spublish"]);

/** Commands that carry the ASKING flag themselves (Redis's CMD_ASKING). */
const ASKING_COMMANDS = new Set(["restore-asking"]);

/** The endpoint a redirect names, per `cluster-preferred-endpoint-type`. */
function endpoint(state: ClusterState, node: ClusterNode): string {
  switch (state.settings.preferredEndpointType) {
    case "hostname":
      return node.hostname !== "" ? node.hostname : "?";
    case "unknown-endpoint":
      return "";
    default:
      return node.ip;
  }
}

/** Routing's scan of one request's keys; one instance is reused (the hot path allocates nothing). */
class KeyScan {
  owner: ClusterNode | null = null;
  slot = 0;
  firstKey: string | null = null;
  multipleKeys = false;
  migrating = false;
  importing = false;
  missingKeys = 0;
  existingKeys = 0;
  /** A sharded pub/sub command: its channels are served by the source until the slot moves, never counted. */
  pubsubShard = false;
  isWrite = false;
  askingCommand = false;
  /** Set when a key's slot has no owner or keys span slots: the error to send. */
  error: string | null = null;

  reset(): void {
    this.owner = null;
    this.slot = 0;
    this.firstKey = null;
    this.multipleKeys = false;
    this.migrating = false;
    this.importing = false;
    this.missingKeys = 0;
    this.existingKeys = 0;
    this.pubsubShard = false;
    this.isWrite = false;
    this.askingCommand = false;
    this.error = null;
  }

  /** Adds a command's keys; false once an error is known. */
  addCommand(state: ClusterState, cmd: Command, argv: string[], keyPresent: (key: string) => boolean): boolean {
    if ((cmd.flags & CMD_WRITE) !== 0) this.isWrite = true;
    if (ASKING_COMMANDS.has(cmd.fullname)) this.askingCommand = true;
    const single = cmd.singleKeyIndex;
    if (single >= 0) return single < argv.length ? this.addKey(state, argv[single], keyPresent) : true;
    for (const position of commandKeyPositions(cmd, argv)) {
      if (!this.addKey(state, argv[position], keyPresent)) return false;
    }
    return true;
  }

  private addKey(state: ClusterState, key: string, keyPresent: (key: string) => boolean): boolean {
    const keySlot = keyHashSlot(key);
    if (this.firstKey === null) {
      this.firstKey = key;
      this.slot = keySlot;
      const owner = this.owner = state.slots[keySlot];
      if (owner === null) {
        this.error = "CLUSTERDOWN Hash slot not served";
        return false;
      }
      if (owner === state.myself && state.migratingTo[keySlot] !== null) this.migrating = true;
      else if (state.importingFrom[keySlot] !== null) this.importing = true;
    } else if (key !== this.firstKey) {
      if (keySlot !== this.slot) {
        this.error = "CROSSSLOT Keys in request don't hash to the same slot";
        return false;
      }
      this.multipleKeys = true;
    }
    if ((this.migrating || this.importing) && !this.pubsubShard) {
      if (keyPresent(key)) this.existingKeys++;
      else this.missingKeys++;
    }
    return true;
  }
}

const scan = new KeyScan();

/**
 * Where a command must run: `queued` holds EXEC's transaction (null otherwise). Returns null to
 * serve it here, or the error reply (with its code: `MOVED ...`, `CLUSTERDOWN ...`) to send instead.
 */
export function routeCommand(
  state: ClusterState,
  client: RoutingClient,
  cmd: Command,
  argv: string[],
  queued: RoutedCommand[] | null,
  keyPresent: (key: string) => boolean,
): string | null {
  scan.reset();
  const pubsubShard = scan.pubsubShard = queued === null && PUBSUB_SHARD_COMMANDS.has(cmd.fullname);
  if (queued !== null) {
    for (const q of queued) if (!scan.addCommand(state, q.cmd, q.argv, keyPresent)) break;
  } else {
    scan.addCommand(state, cmd, argv, keyPresent);
  }
  if (scan.error !== null) return scan.error;
  const owner = scan.owner;
  if (owner === null) return null;
  const me = state.myself;
  const slot = scan.slot;

  if (state.state !== "ok") {
    if (pubsubShard) {
      if (!state.settings.allowPubsubshardWhenDown) return "CLUSTERDOWN The cluster is down";
    } else if (!state.settings.allowReadsWhenDown) {
      return "CLUSTERDOWN The cluster is down";
    } else if (scan.isWrite) {
      return "CLUSTERDOWN The cluster is down and only accepts read commands";
    }
  }
  if (queued === null && cmd.fullname === "migrate" && (scan.migrating || scan.importing)) return fenced(state);
  // Some keys still here and some gone: neither node has them all (a request whose keys are all gone is asked on).
  if (scan.migrating && scan.missingKeys > 0) {
    if (scan.existingKeys > 0) return "TRYAGAIN Multiple keys request during rehashing of slot";
    const target = state.migratingTo[slot]!;
    return `ASK ${slot} ${endpoint(state, target)}:${target.port}`;
  }
  if (scan.importing && (client.asking || scan.askingCommand)) {
    if (scan.multipleKeys && scan.missingKeys > 0) return "TRYAGAIN Multiple keys request during rehashing of slot";
    return fenced(state);
  }
  if (
    (client.readonly || pubsubShard) && !scan.isWrite && (me.flags & NODE_SLAVE) !== 0 && me.masterId === owner.id
  ) return null;
  if (owner !== me) return `MOVED ${slot} ${endpoint(state, owner)}:${owner.port}`;
  return fenced(state);
}

/**
 * A write this master would serve is refused while the write fence is up (tessera's minority fencing,
 * `write_fence.ts`): null to serve it. The clock is read only for writes, and only once a deadline exists.
 */
function fenced(state: ClusterState): string | null {
  if (!scan.isWrite || state.writeFenceAt === Infinity || !isWriteFenced(state, Date.now())) return null;
  return state.settings.allowReadsWhenDown
    ? "CLUSTERDOWN The cluster is down and only accepts read commands"
    : "CLUSTERDOWN The cluster is down";
}
