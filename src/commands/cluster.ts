/**
 * CLUSTER (MYID NODES SLOTS SHARDS INFO LINKS KEYSLOT COUNTKEYSINSLOT GETKEYSINSLOT ADDSLOTS ADDSLOTSRANGE
 * DELSLOTS DELSLOTSRANGE FLUSHSLOTS SETSLOT MEET FORGET RESET SET-CONFIG-EPOCH BUMPEPOCH SAVECONFIG
 * COUNT-FAILURE-REPORTS REPLICAS SLAVES REPLICATE FAILOVER HELP), ASKING, READONLY and READWRITE, with Redis 7.0.15's replies and
 * errors (`reference/cluster-text-formats.md` sections 7 and 9). Argument parsing lives here; the state changes
 * are `cluster/admin.ts`'s, run through the shell so their effects (persist, log, messages) are carried out.
 */
import type { Handler } from "./table.ts";
import type { Client } from "../server/client.ts";
import { CLUSTER_PORT_INCR, type ClusterShell } from "../cluster/shell.ts";
import type { ClusterState } from "../cluster/state.ts";
import { CLUSTER_SLOTS, type ClusterNode, NODE_SLAVE } from "../cluster/node.ts";
import { keyHashSlot } from "../cluster/slots.ts";
import {
  bumpEpoch,
  changeSlots,
  flushSlots,
  forgetNode,
  meet,
  replicate,
  resetCluster,
  setConfigEpoch,
  slotConflict,
} from "../cluster/admin.ts";
import { countFailureReports } from "../cluster/failure.ts";
import { ERR_SETSLOT_REPLICA, setSlot, type SetSlotAction } from "../cluster/setslot.ts";
import { startManualFailover } from "../cluster/manual_failover.ts";
import {
  clusterInfoText,
  clusterNodesText,
  nodeDescription,
  writeClusterLinks,
  writeClusterShards,
  writeClusterSlots,
} from "../cluster/describe.ts";
import { parseInt64 } from "../store/numbers.ts";
import { cString } from "../resp/latin1.ts";
import { normalizeIpLiteral } from "./ip_literal.ts";
import { ERR_NOT_INTEGER, ERR_SYNTAX } from "./errors.ts";
import { replyHelp, subcommandSyntaxError } from "./help.ts";
import { connectionResetHooks } from "./connection.ts";

/** Every cluster command's answer when `cluster-enabled` is no. */
export const ERR_CLUSTER_DISABLED = "ERR This instance has cluster support disabled";
const ERR_INVALID_SLOT = "ERR Invalid or out of range slot";
/** Highest TCP port number MEET accepts. */
const MAX_TCP_PORT = 65535;

/** Redis 7.0.15's CLUSTER HELP lines, verbatim (replyHelp adds the first line and HELP). */
const HELP = [
  "ADDSLOTS <slot> [<slot> ...]",
  "    Assign slots to current node.",
  "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
  "    Assign slots which are between <start-slot> and <end-slot> to current node.",
  "BUMPEPOCH",
  "    Advance the cluster config epoch.",
  "COUNT-FAILURE-REPORTS <node-id>",
  "    Return number of failure reports for <node-id>.",
  "COUNTKEYSINSLOT <slot>",
  "    Return the number of keys in <slot>.",
  "DELSLOTS <slot> [<slot> ...]",
  "    Delete slots information from current node.",
  "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
  "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
  "FAILOVER [FORCE|TAKEOVER]",
  "    Promote current replica node to being a master.",
  "FORGET <node-id>",
  "    Remove a node from the cluster.",
  "GETKEYSINSLOT <slot> <count>",
  "    Return key names stored by current node in a slot.",
  "FLUSHSLOTS",
  "    Delete current node own slots information.",
  "INFO",
  "    Return information about the cluster.",
  "KEYSLOT <key>",
  "    Return the hash slot for <key>.",
  "MEET <ip> <port> [<bus-port>]",
  "    Connect nodes into a working cluster.",
  "MYID",
  "    Return the node id.",
  "NODES",
  "    Return cluster configuration seen by node. Output format:",
  "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
  "REPLICATE <node-id>",
  "    Configure current node as replica to <node-id>.",
  "RESET [HARD|SOFT]",
  "    Reset current node (default: soft).",
  "SET-CONFIG-EPOCH <epoch>",
  "    Set config epoch of current node.",
  "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
  "    Set slot state.",
  "REPLICAS <node-id>",
  "    Return <node-id> replicas.",
  "SAVECONFIG",
  "    Force saving cluster configuration on disk.",
  "SLOTS",
  "    Return information about slots range mappings. Each range is made of:",
  "    start, end, master and replicas IP addresses, ports and ids",
  "SHARDS",
  "    Return information about slot range mappings and the nodes associated with them.",
  "LINKS",
  "    Return information about all network links between this node and its peers.",
  "    Output format is an array where each array element is a map containing attributes of a link",
];

/** A CLUSTER handler that runs only in cluster mode, with the shell at hand. */
type ClusterHandler = (c: Client, argv: string[], shell: ClusterShell) => void;

/** Answers Redis's disabled error when the node is not in cluster mode, else runs `run`. */
function clusterOnly(run: ClusterHandler): Handler {
  return (c, argv) => {
    const shell = c.server.cluster;
    if (!shell) return c.error(ERR_CLUSTER_DISABLED);
    run(c, argv, shell);
  };
}

/** Runs a state operation as one shell step (its effects carried out, bus messages after the reply); returns its result. */
function step<T>(shell: ClusterShell, op: (now: number) => T): T {
  const box: { done: boolean; value?: T } = { done: false };
  shell.run((now) => {
    box.value = op(now);
    box.done = true;
  }, true);
  if (!box.done) throw new Error("the cluster is shutting down");
  return box.value as T;
}

/** Redis's getSlotOrReply without the reply: an int64 text in 0..16383, else null. */
export function parseSlot(text: string): number | null {
  const v = parseInt64(text);
  return typeof v === "number" && v >= 0 && v < CLUSTER_SLOTS ? v : null;
}

/** The node with exactly this id, or null after replying `Unknown node <id>`. */
function nodeOrReply(c: Client, state: ClusterState, id: string): ClusterNode | null {
  const node = state.nodes.get(id);
  if (node !== undefined) return node;
  c.error(`ERR Unknown node ${cString(id)}`);
  return null;
}

/** Replies OK, or the error an admin operation returned. */
function replyDone(c: Client, error: string | null): void {
  if (error === null) c.out.ok();
  else c.error(error);
}

/** ADDSLOTS / DELSLOTS: every argument is parsed before any slot is checked. */
function slotsCommand(add: boolean): Handler {
  return clusterOnly((c, argv, shell) => {
    const slots: number[] = [];
    for (let i = 2; i < argv.length; i++) {
      const slot = parseSlot(argv[i]);
      if (slot === null) return c.error(ERR_INVALID_SLOT);
      slots.push(slot);
    }
    replyDone(c, step(shell, (now) => changeSlots(shell.state, slots, add, now)));
  });
}

/** ADDSLOTSRANGE / DELSLOTSRANGE: start/end pairs, each checked in turn. */
function slotRangesCommand(add: boolean): Handler {
  const fullname = add ? "cluster|addslotsrange" : "cluster|delslotsrange";
  return clusterOnly((c, argv, shell) => {
    if (argv.length % 2 === 1) return c.error(`ERR wrong number of arguments for '${fullname}' command`);
    const slots: number[] = [];
    for (let i = 2; i < argv.length; i += 2) {
      const start = parseSlot(argv[i]);
      const end = start === null ? null : parseSlot(argv[i + 1]);
      let error: string | null = null;
      if (start === null || end === null) error = ERR_INVALID_SLOT;
      else if (start > end) error = `ERR start slot number ${start} is greater than end slot number ${end}`;
      if (error !== null) return c.error(slotConflict(shell.state, slots, add) ?? error);
      for (let slot = start!; slot <= end!; slot++) slots.push(slot);
    }
    replyDone(c, step(shell, (now) => changeSlots(shell.state, slots, add, now)));
  });
}

/** SETSLOT's actions with the argument count each takes (Redis matches action and count together). */
const SETSLOT_ARGC: Record<string, number> = { migrating: 5, importing: 5, node: 5, stable: 4 };

/** CLUSTER SETSLOT slot IMPORTING id | MIGRATING id | STABLE | NODE id: Redis's checks in its order. */
const clusterSetSlot = clusterOnly((c, argv, shell) => {
  const state = shell.state;
  if ((state.myself.flags & NODE_SLAVE) !== 0) return c.error(ERR_SETSLOT_REPLICA);
  const slot = parseSlot(argv[2]);
  if (slot === null) return c.error(ERR_INVALID_SLOT);
  const action = argv[3].toLowerCase();
  if (!Object.hasOwn(SETSLOT_ARGC, action) || SETSLOT_ARGC[action] !== argv.length) {
    return c.error("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP");
  }
  const nodeId = argv.length === 5 ? argv[4] : "";
  replyDone(c, step(shell, (now) => setSlot(state, slot, action as SetSlotAction, nodeId, now)));
});

/** Whether a parsed port is a usable TCP port (1..65535). */
function validPort(port: number | bigint): boolean {
  return typeof port === "number" && port > 0 && port <= MAX_TCP_PORT;
}

/** CLUSTER MEET ip port [cport]: OK once the handshake is queued (or already running). */
const clusterMeet = clusterOnly((c, argv, shell) => {
  if (argv.length > 5) return subcommandSyntaxError(c, argv);
  const port = parseInt64(argv[3]);
  if (port === null) return c.error(`ERR Invalid TCP base port specified: ${cString(argv[3])}`);
  let cport: number | bigint;
  if (argv.length === 5) {
    const parsed = parseInt64(argv[4]);
    if (parsed === null) return c.error(`ERR Invalid TCP bus port specified: ${cString(argv[4])}`);
    cport = parsed;
  } else {
    cport = typeof port === "number" ? port + CLUSTER_PORT_INCR : port;
  }
  const ip = cString(argv[2]);
  const normalized = normalizeIpLiteral(ip);
  if (normalized === null || !validPort(port) || !validPort(cport)) {
    return c.error(`ERR Invalid node address specified: ${ip}:${cString(argv[3])}`);
  }
  step(shell, (now) => meet(shell.state, normalized, Number(port), Number(cport), now));
  c.out.ok();
});

/** CLUSTER COUNTKEYSINSLOT slot. */
const clusterCountKeysInSlot = clusterOnly((c, argv) => {
  const slot = parseInt64(argv[2]);
  if (slot === null) return c.error(ERR_NOT_INTEGER);
  if (typeof slot !== "number" || slot < 0 || slot >= CLUSTER_SLOTS) return c.error("ERR Invalid slot");
  c.out.int(c.server.dbs[0].slotSize(slot));
});

/** CLUSTER GETKEYSINSLOT slot count: newest keys first, as Redis's per-slot key list (new keys at its head). */
const clusterGetKeysInSlot = clusterOnly((c, argv) => {
  const slot = parseInt64(argv[2]);
  if (slot === null) return c.error(ERR_NOT_INTEGER);
  const count = parseInt64(argv[3]);
  if (count === null) return c.error(ERR_NOT_INTEGER);
  if (typeof slot !== "number" || slot < 0 || slot >= CLUSTER_SLOTS || count < 0) {
    return c.error("ERR Invalid slot or number of keys");
  }
  const db = c.server.dbs[0];
  const size = db.slotSize(slot);
  const n = count < size ? Number(count) : size;
  const keys = n === 0 ? [] : Array.from(db.slotKeys(slot));
  c.out.array(n);
  for (let i = 0; i < n; i++) c.out.bulk(keys[keys.length - 1 - i]);
});

/** CLUSTER RESET [HARD|SOFT]. */
const clusterReset = clusterOnly((c, argv, shell) => {
  if (argv.length > 3) return subcommandSyntaxError(c, argv);
  let hard = false;
  if (argv.length === 3) {
    const mode = argv[2].toLowerCase();
    if (mode === "hard") hard = true;
    else if (mode !== "soft") return c.error(ERR_SYNTAX);
  }
  replyDone(c, step(shell, (now) => resetCluster(shell.state, hard, now)));
});

/** CLUSTER SET-CONFIG-EPOCH epoch. */
const clusterSetConfigEpoch = clusterOnly((c, argv, shell) => {
  const epoch = parseInt64(argv[2]);
  if (epoch === null) return c.error(ERR_NOT_INTEGER);
  if (epoch < 0) return c.error(`ERR Invalid config epoch specified: ${epoch}`);
  replyDone(c, step(shell, () => setConfigEpoch(shell.state, Number(epoch))));
});

/** CLUSTER SAVECONFIG: writes nodes.conf now, fsynced. */
const clusterSaveConfig = clusterOnly((c, _argv, shell) => {
  const error = shell.save(true);
  if (error === null) c.out.ok();
  else c.error(`ERR error saving the cluster node config: ${error}`);
});

/** CLUSTER REPLICAS / SLAVES id: the replicas' CLUSTER NODES lines, without the final newline. */
const clusterReplicas = clusterOnly((c, argv, shell) => {
  const state = shell.state;
  const node = nodeOrReply(c, state, argv[2]);
  if (node === null) return;
  if ((node.flags & NODE_SLAVE) !== 0) return c.error("ERR The specified node is not a master");
  const replicas = state.replicasOf(node);
  c.out.array(replicas.length);
  for (const replica of replicas) c.out.bulk(nodeDescription(state, replica));
});

/** CLUSTER REPLICATE id: become a replica of that master (Redis's checks, in its order). */
const clusterReplicate = clusterOnly((c, argv, shell) => {
  if (nodeOrReply(c, shell.state, argv[2]) === null) return;
  replyDone(c, step(shell, (now) => replicate(shell.state, argv[2], now)));
});

/** CLUSTER FAILOVER [FORCE|TAKEOVER]: start a manual failover on this replica. */
const clusterFailover = clusterOnly((c, argv, shell) => {
  if (argv.length > 3) return subcommandSyntaxError(c, argv);
  let mode: "" | "force" | "takeover" = "";
  if (argv.length === 3) {
    const option = argv[2].toLowerCase();
    if (option !== "force" && option !== "takeover") return c.error(ERR_SYNTAX);
    mode = option;
  }
  replyDone(c, step(shell, (now) => startManualFailover(shell.state, mode, now)));
});

/** READONLY, READWRITE and ASKING, also answered only in cluster mode. */
function clientFlagCommand(apply: (c: Client) => void): Handler {
  return (c) => {
    if (!c.server.cluster) return c.error(ERR_CLUSTER_DISABLED);
    apply(c);
    c.out.ok();
  };
}

// RESET drops READONLY and ASKING with the rest of the connection state (Redis's clearClientConnectionState).
connectionResetHooks.push((c) => {
  c.readonly = false;
  c.asking = false;
});

export const clusterCommands: Record<string, Handler> = {
  "cluster|help": clusterOnly((c) => replyHelp(c, "cluster", HELP)),
  "cluster|myid": clusterOnly((c, _argv, shell) => c.out.bulk(shell.state.myself.id)),
  "cluster|nodes": clusterOnly((c, _argv, shell) =>
    c.out.verbatim(clusterNodesText(shell.state, { includeHandshake: true }))
  ),
  "cluster|info": clusterOnly((c, _argv, shell) => c.out.verbatim(clusterInfoText(shell.state))),
  "cluster|slots": clusterOnly((c, _argv, shell) => writeClusterSlots(c.out, shell.state)),
  "cluster|shards": clusterOnly((c, _argv, shell) => writeClusterShards(c.out, shell.state)),
  "cluster|links": clusterOnly((c, _argv, shell) => writeClusterLinks(c.out, shell.state)),
  "cluster|keyslot": clusterOnly((c, argv) => c.out.int(keyHashSlot(argv[2]))),
  "cluster|countkeysinslot": clusterCountKeysInSlot,
  "cluster|getkeysinslot": clusterGetKeysInSlot,
  "cluster|addslots": slotsCommand(true),
  "cluster|delslots": slotsCommand(false),
  "cluster|addslotsrange": slotRangesCommand(true),
  "cluster|delslotsrange": slotRangesCommand(false),
  "cluster|flushslots": clusterOnly((c, _argv, shell) =>
    replyDone(c, step(shell, (now) => flushSlots(shell.state, now)))
  ),
  "cluster|setslot": clusterSetSlot,
  "cluster|meet": clusterMeet,
  // forgetNode answers an unknown id itself: one forgotten through gossip in the last minute is not an error.
  "cluster|forget": clusterOnly((c, argv, shell) => {
    replyDone(c, step(shell, (now) => forgetNode(shell.state, argv[2], now)));
  }),
  "cluster|reset": clusterReset,
  "cluster|set-config-epoch": clusterSetConfigEpoch,
  "cluster|bumpepoch": clusterOnly((c, _argv, shell) => c.out.simple(step(shell, () => bumpEpoch(shell.state)))),
  "cluster|saveconfig": clusterSaveConfig,
  "cluster|count-failure-reports": clusterOnly((c, argv, shell) => {
    const node = nodeOrReply(c, shell.state, argv[2]);
    if (node !== null) c.out.int(step(shell, (now) => countFailureReports(shell.state, node, now)));
  }),
  "cluster|replicas": clusterReplicas,
  "cluster|replicate": clusterReplicate,
  "cluster|failover": clusterFailover,
  "cluster|slaves": clusterReplicas,
  readonly: clientFlagCommand((c) => c.readonly = true),
  readwrite: clientFlagCommand((c) => c.readonly = false),
  asking: clientFlagCommand((c) => c.asking = true),
};
