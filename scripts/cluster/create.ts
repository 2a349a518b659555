/**
 * Creating a cluster with plain commands, as `redis-cli --cluster create` does: a config epoch per node, the slots
 * split evenly over the masters (ADDSLOTSRANGE), CLUSTER MEET, waiting for gossip to converge, CLUSTER REPLICATE,
 * then waiting for `cluster_state:ok` everywhere. Every step is skipped when already done, so a second run (or a run
 * after a failover changed the roles) changes nothing. Works on tessera and redis-server nodes alike.
 */
import { RespError } from "../../src/resp/reply_parser.ts";
import { type ClusterLayout, layoutPorts, slotRanges } from "./layout.ts";
import { callOk, callWithin, DEFAULT_CALL_TIMEOUT_MS } from "./rpc.ts";
import { countSlots, type NodeView, type Snapshot, takeSnapshot } from "./snapshot.ts";
import { CLUSTER_SLOTS } from "../../src/cluster/slots.ts";

/** How often the waits look again. */
const POLL_MS = 100;

/** How a create runs. */
export interface CreateOptions {
  /** The address the nodes are met at. */
  host: string;
  /** Bound for the whole create. */
  timeoutMs: number;
  /** Receives one line per step and per change while waiting. */
  progress: (line: string) => void;
}

/** Thrown when a node does not implement CLUSTER REPLICATE (tessera before its replication stage). */
export class ReplicateUnsupportedError extends Error {}

/** Creates the cluster of `layout` or finishes an interrupted create; returns whether anything was changed. */
export async function createCluster(layout: ClusterLayout, opts: CreateOptions): Promise<{ changed: boolean }> {
  const deadline = Date.now() + opts.timeoutMs;
  const ports = layoutPorts(layout);
  const snap = await takeSnapshot(ports, DEFAULT_CALL_TIMEOUT_MS);
  for (const view of snap.views.values()) {
    if (!view.reachable) throw new Error(`node ${view.port} does not answer: ${view.error}`);
  }
  let changed = false;

  const assigned = Math.max(...[...snap.views.values()].map(assignedSlots));
  if (assigned !== 0 && assigned !== CLUSTER_SLOTS) {
    throw new Error(
      `only ${assigned} of ${CLUSTER_SLOTS} slots are assigned: reset the nodes (clean) and create again`,
    );
  }
  if (assigned === 0) {
    opts.progress(`>>> Assigning ${CLUSTER_SLOTS} slots to ${layout.masterPorts.length} masters`);
    // Distinct config epochs up front, as redis-cli does, so no collision has to be resolved later.
    for (const [i, port] of ports.entries()) {
      const view = snap.views.get(port)!;
      if (view.knownNodes <= 1 && view.configEpoch === 0) await callOk(port, "CLUSTER", "SET-CONFIG-EPOCH", `${i + 1}`);
    }
    const ranges = slotRanges(layout.masterPorts.length);
    for (const [i, port] of layout.masterPorts.entries()) {
      const [first, last] = ranges[i];
      await callOk(port, "CLUSTER", "ADDSLOTSRANGE", `${first}`, `${last}`);
      opts.progress(`    ${opts.host}:${port} master, slots ${first}-${last} (${last - first + 1})`);
    }
    changed = true;
  }

  if ([...snap.views.values()].some((view) => !knowsAll(view, ports))) {
    opts.progress(`>>> Joining ${ports.length} nodes (CLUSTER MEET ${opts.host} ${ports[0]})`);
    for (const port of ports.slice(1)) await callOk(port, "CLUSTER", "MEET", opts.host, `${ports[0]}`);
    changed = true;
  }
  await waitFor("gossip to converge", deadline, opts.progress, ports, (s) => {
    const joined = [...s.views.values()].filter((v) => knowsAll(v, ports)).length;
    const agreed = slotViewsAgree(s);
    return {
      done: joined === ports.length && agreed,
      status: `${joined}/${ports.length} nodes know all ${ports.length}` +
        (agreed ? ", slot maps agree" : ", slot maps differ"),
    };
  });

  const toReplicate = await replicate(layout, deadline, opts);
  changed ||= toReplicate.length > 0;
  await waitFor("cluster_state:ok", deadline, opts.progress, ports, (s) => {
    const views = [...s.views.values()];
    const ok = views.filter((v) => v.state === "ok").length;
    const linked = toReplicate.filter(([replica, master]) => replicaLinked(s, replica, master)).length;
    const status = `cluster_state:ok on ${ok}/${views.length} nodes` +
      (toReplicate.length > 0 ? `, ${linked}/${toReplicate.length} replicas attached and synced` : "");
    return { done: ok === views.length && linked === toReplicate.length, status };
  });
  return { changed };
}

/** Sends CLUSTER REPLICATE to every replica port still an empty master; returns the [replica, master] pairs. */
async function replicate(layout: ClusterLayout, deadline: number, opts: CreateOptions): Promise<[number, number][]> {
  const snap = await takeSnapshot(layoutPorts(layout), DEFAULT_CALL_TIMEOUT_MS);
  const pairs: [number, number][] = [];
  for (const [replica, master] of layout.replicaOf) {
    const view = snap.views.get(replica)!;
    const masterView = snap.views.get(master)!;
    // A replica already, or a promoted master owning slots: the cluster has moved on, leave it.
    if (view.role !== "master" || view.slotCount > 0 || masterView.role !== "master") continue;
    pairs.push([replica, master]);
  }
  if (pairs.length > 0) opts.progress(`>>> Attaching ${pairs.length} replicas (CLUSTER REPLICATE)`);
  for (const [replica, master] of pairs) {
    const masterId = snap.views.get(master)!.id;
    for (;;) {
      const reply = await callWithin(replica, DEFAULT_CALL_TIMEOUT_MS, "CLUSTER", "REPLICATE", masterId);
      if (!(reply instanceof RespError)) break;
      if (/unknown subcommand/i.test(reply.message)) {
        throw new ReplicateUnsupportedError(
          `node ${replica} does not support CLUSTER REPLICATE yet (${reply.message}); the masters are set up`,
        );
      }
      // "Unknown node": gossip has not told the replica about its master yet.
      if (Date.now() > deadline) throw new Error(`CLUSTER REPLICATE on ${replica}: ${reply.message}`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    opts.progress(`    ${opts.host}:${replica} replica of ${opts.host}:${master}`);
  }
  return pairs;
}

/** Polls snapshots until `check` says done; prints its status line whenever it changes. */
async function waitFor(
  what: string,
  deadline: number,
  progress: (line: string) => void,
  ports: number[],
  check: (s: Snapshot) => { done: boolean; status: string },
): Promise<void> {
  progress(`>>> Waiting for ${what}`);
  let last = "";
  for (;;) {
    const result = check(await takeSnapshot(ports, DEFAULT_CALL_TIMEOUT_MS));
    if (result.status !== last) progress(`    ${result.status}`);
    last = result.status;
    if (result.done) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${result.status}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Slots assigned to any master in this node's view. */
function assignedSlots(view: NodeView): number {
  return view.nodes.reduce((n, line) => n + countSlots(line.slots.filter((t) => !t.startsWith("["))), 0);
}

/** Whether the node knows every port of the cluster, past the handshake. */
function knowsAll(view: NodeView, ports: number[]): boolean {
  return ports.every((port) =>
    view.nodes.some((l) => l.port === port && !l.flags.includes("handshake") && !l.flags.includes("noaddr"))
  );
}

/** Whether every node gives every node the same slots. */
function slotViewsAgree(s: Snapshot): boolean {
  const maps = [...s.views.values()].map((v) =>
    v.nodes.map((l) => `${l.id}:${l.slots.filter((t) => !t.startsWith("[")).join(",")}`).sort().join(" ")
  );
  return maps.every((m) => m === maps[0]);
}

/** Whether every node sees `replica` as a replica of `master`, and the replica's link is up. */
function replicaLinked(s: Snapshot, replica: number, master: number): boolean {
  const masterId = s.views.get(master)?.id;
  const replicaView = s.views.get(replica);
  if (masterId === undefined || replicaView?.linkStatus !== "up") return false;
  return [...s.views.values()].every((v) =>
    v.nodes.some((l) => l.port === replica && l.flags.includes("slave") && l.master === masterId)
  );
}
