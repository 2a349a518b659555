/**
 * What every node of a cluster says about itself and the others at one moment (CLUSTER NODES, CLUSTER INFO,
 * INFO replication), asked in parallel with a short deadline so a dead or stopped node shows as unreachable.
 */
import { type NodesLine, parseClusterNodes } from "../../tests/helpers/cluster.ts";
import { RespError } from "../../src/resp/reply_parser.ts";
import { callWithin, parseInfoFields } from "./rpc.ts";

/** One node's answers, or why there were none. */
export interface NodeView {
  port: number;
  reachable: boolean;
  /** Why the node did not answer (connection refused, timeout). */
  error?: string;
  id: string;
  role: "master" | "replica" | "?";
  /** The port of its master, for a replica (0 when the master is not in its view). */
  masterPort: number;
  /** Slot tokens of its own line (`0-5460`, `7`), importing/migrating markers left out. */
  slots: string[];
  slotCount: number;
  configEpoch: number;
  currentEpoch: number;
  /** cluster_state from CLUSTER INFO (`ok` / `fail`). */
  state: string;
  knownNodes: number;
  /** master_link_status from INFO replication (replicas only; "" when not reported). */
  linkStatus: string;
  /** Its whole CLUSTER NODES view. */
  nodes: NodesLine[];
}

/** Every node's view at one moment. */
export interface Snapshot {
  at: number;
  views: Map<number, NodeView>;
}

/** Number of slots in tokens like `0-5460` and `7`. */
export function countSlots(tokens: string[]): number {
  let n = 0;
  for (const token of tokens) {
    const dash = token.indexOf("-");
    n += dash < 0 ? 1 : Number(token.slice(dash + 1)) - Number(token.slice(0, dash)) + 1;
  }
  return n;
}

function unreachable(port: number, error: string): NodeView {
  return {
    port,
    reachable: false,
    error,
    id: "",
    role: "?",
    masterPort: 0,
    slots: [],
    slotCount: 0,
    configEpoch: 0,
    currentEpoch: 0,
    state: "",
    knownNodes: 0,
    linkStatus: "",
    nodes: [],
  };
}

/** Asks one node for its view; never rejects. */
export async function viewOf(port: number, timeoutMs: number): Promise<NodeView> {
  try {
    const [nodesText, infoText, replText] = await Promise.all([
      callWithin(port, timeoutMs, "CLUSTER", "NODES"),
      callWithin(port, timeoutMs, "CLUSTER", "INFO"),
      callWithin(port, timeoutMs, "INFO", "replication"),
    ]);
    if (nodesText instanceof RespError) return unreachable(port, nodesText.message);
    if (infoText instanceof RespError) return unreachable(port, infoText.message);
    const nodes = parseClusterNodes(String(nodesText));
    const me = nodes.find((l) => l.flags.includes("myself"));
    if (me === undefined) return unreachable(port, "no myself line in CLUSTER NODES");
    const info = parseInfoFields(String(infoText));
    const repl = replText instanceof RespError ? {} : parseInfoFields(String(replText));
    const replica = me.flags.includes("slave");
    const slots = me.slots.filter((s) => !s.startsWith("["));
    return {
      port,
      reachable: true,
      id: me.id,
      role: replica ? "replica" : "master",
      masterPort: replica ? nodes.find((l) => l.id === me.master)?.port ?? 0 : 0,
      slots,
      slotCount: countSlots(slots),
      configEpoch: me.configEpoch,
      currentEpoch: Number(info.cluster_current_epoch ?? 0),
      state: info.cluster_state ?? "",
      knownNodes: Number(info.cluster_known_nodes ?? 0),
      linkStatus: replica ? repl.master_link_status ?? "" : "",
      nodes,
    };
  } catch (err) {
    return unreachable(port, (err as Error).message);
  }
}

/** Every node's view, asked in parallel. */
export async function takeSnapshot(ports: number[], timeoutMs: number): Promise<Snapshot> {
  const views = await Promise.all(ports.map((port) => viewOf(port, timeoutMs)));
  return { at: Date.now(), views: new Map(views.map((v) => [v.port, v])) };
}

/**
 * How the other reachable nodes flag `port`: `fail` if any says FAIL, else `fail?` if any says PFAIL,
 * else `ok` (or `?` if no other node answered).
 */
export function flagsSeenByOthers(snapshot: Snapshot, port: number): "fail" | "fail?" | "ok" | "?" {
  let seen = false;
  let pfail = false;
  for (const view of snapshot.views.values()) {
    if (!view.reachable || view.port === port) continue;
    const line = view.nodes.find((l) => l.port === port);
    if (line === undefined) continue;
    seen = true;
    if (line.flags.includes("fail")) return "fail";
    if (line.flags.includes("fail?")) pfail = true;
  }
  return pfail ? "fail?" : seen ? "ok" : "?";
}
