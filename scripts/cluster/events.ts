/** The events a live view reports between two snapshots: nodes going down and up, FAIL flags, failovers, state. */
import { flagsSeenByOthers, type NodeView, type Snapshot } from "./snapshot.ts";

function describeRole(view: NodeView): string {
  return view.role === "replica" ? `replica of ${view.masterPort || "?"}` : `master (${view.slotCount} slots)`;
}

/** "ok" when every reachable node says cluster_state:ok, else the ports that do not. */
function stateSummary(s: Snapshot): string {
  const failing = [...s.views.values()].filter((v) => v.reachable && v.state !== "ok").map((v) => v.port);
  return failing.length === 0 ? "ok" : `fail on ${failing.join(", ")}`;
}

/** What changed from `prev` to `next`, one line per event (failovers read "30001 failed, 30004 promoted"). */
export function detectEvents(prev: Snapshot, next: Snapshot): string[] {
  const events: string[] = [];
  for (const [port, now] of next.views) {
    const before = prev.views.get(port);
    if (before === undefined) continue;
    if (before.reachable && !now.reachable) events.push(`${port} is not answering`);
    if (!before.reachable && now.reachable) events.push(`${port} is back, ${describeRole(now)}`);
    const [flagBefore, flagNow] = [flagsSeenByOthers(prev, port), flagsSeenByOthers(next, port)];
    if (flagNow === "fail" && flagBefore !== "fail") events.push(`${port} marked FAIL by the cluster`);
    if (flagBefore === "fail" && flagNow === "ok") events.push(`${port} FAIL flag cleared`);
    if (!before.reachable || !now.reachable) continue;
    if (before.role === "replica" && now.role === "master") {
      const old = before.masterPort;
      const oldView = next.views.get(old);
      const oldFailed = oldView === undefined || !oldView.reachable || flagsSeenByOthers(next, old) === "fail";
      events.push(
        oldFailed
          ? `${old} failed, ${port} promoted (epoch ${now.configEpoch}, ${now.slotCount} slots)`
          : `${port} took over from ${old} (epoch ${now.configEpoch}, ${now.slotCount} slots)`,
      );
    } else if (before.role === "master" && now.role === "replica") {
      events.push(`${port} is now a replica of ${now.masterPort || "?"}`);
    } else if (now.role === "replica" && before.masterPort !== now.masterPort) {
      events.push(`${port} now replicates ${now.masterPort || "?"} (was ${before.masterPort || "?"})`);
    }
    if (before.linkStatus !== now.linkStatus && now.role === "replica" && before.role === "replica") {
      events.push(`${port} master link ${now.linkStatus || "?"}`);
    }
  }
  const [stateBefore, stateNow] = [stateSummary(prev), stateSummary(next)];
  if (stateBefore !== stateNow) {
    events.push(`cluster_state ${stateNow === "ok" ? "ok on every reachable node" : stateNow}`);
  }
  return events;
}
