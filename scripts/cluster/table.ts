/** The node table shown by `status` and `watch`: one line per node. */
import { flagsSeenByOthers, type Snapshot } from "./snapshot.ts";

/** Widest slot text shown before it is cut short. */
const SLOTS_WIDTH = 24;

function pad(text: string, width: number): string {
  return text.length >= width ? text + " " : text.padEnd(width);
}

/**
 * One header line and one line per node: port, process, role, slots, config epoch, cluster_state, the replica's
 * master link, and how the other nodes flag it. `pidOf` gives the pid from the node's pid file (null: not running).
 */
export function renderTable(snapshot: Snapshot, pidOf: (port: number) => number | null): string[] {
  const widths = [7, 24, 18, SLOTS_WIDTH + 2, 7, 7, 6];
  const header = ["PORT", "PROCESS", "ROLE", "SLOTS", "EPOCH", "STATE", "LINK"];
  const lines = [header.map((h, i) => pad(h, widths[i])).join("") + "SEEN BY OTHERS"];
  for (const view of snapshot.views.values()) {
    const pid = pidOf(view.port);
    const process = pid === null
      ? view.reachable ? "running (no pid file)" : "stopped"
      : view.reachable
      ? `running, pid ${pid}`
      : `pid ${pid}, not answering`;
    let slots = view.slots.length === 0 ? "-" : `${view.slots.join(",")} (${view.slotCount})`;
    if (slots.length > SLOTS_WIDTH) slots = `${slots.slice(0, SLOTS_WIDTH - 3)}...`;
    const role = !view.reachable ? "-" : view.role === "replica" ? `replica of ${view.masterPort || "?"}` : "master";
    const cells = [
      String(view.port),
      process,
      role,
      view.reachable ? slots : "-",
      view.reachable ? String(view.configEpoch) : "-",
      view.reachable ? view.state : "-",
      view.role === "replica" ? view.linkStatus || "?" : "-",
    ];
    lines.push(cells.map((c, i) => pad(c, widths[i])).join("") + flagsSeenByOthers(snapshot, view.port));
  }
  return lines;
}

/** A one-line summary: how many nodes answer, masters, replicas, and whether every answering node says ok. */
export function summarize(snapshot: Snapshot): string {
  const views = [...snapshot.views.values()];
  const up = views.filter((v) => v.reachable);
  const masters = up.filter((v) => v.role === "master" && v.slotCount > 0).length;
  const replicas = up.filter((v) => v.role === "replica").length;
  const ok = up.length > 0 && up.every((v) => v.state === "ok");
  const epoch = Math.max(0, ...up.map((v) => v.currentEpoch));
  return `${up.length}/${views.length} nodes answering, ${masters} masters with slots, ${replicas} replicas, ` +
    `cluster_state ${ok ? "ok" : "not ok"}, current epoch ${epoch}`;
}
