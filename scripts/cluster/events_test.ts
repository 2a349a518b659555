import assert from "node:assert/strict";
import { detectEvents } from "./events.ts";
import type { NodesLine } from "../../tests/helpers/cluster.ts";
import type { NodeView, Snapshot } from "./snapshot.ts";

/** A node in a synthetic snapshot: its port, role and what the others flag it with. */
interface Spec {
  port: number;
  up: boolean;
  master?: number;
  slots?: string;
  flag?: "fail" | "fail?";
  epoch?: number;
}

/** Builds a snapshot where every reachable node holds the same view of everyone (flags included). */
function snapshot(specs: Spec[]): Snapshot {
  const lines: NodesLine[] = specs.map((s) => ({
    id: `id${s.port}`,
    ip: "127.0.0.1",
    port: s.port,
    cport: s.port + 10000,
    flags: [s.master === undefined ? "master" : "slave", ...(s.flag ? [s.flag] : [])],
    master: s.master === undefined ? "-" : `id${s.master}`,
    pingSent: 0,
    pongRecv: 0,
    configEpoch: s.epoch ?? 1,
    linkState: "connected",
    slots: s.slots ? [s.slots] : [],
  }));
  const views = new Map<number, NodeView>();
  for (const s of specs) {
    views.set(s.port, {
      port: s.port,
      reachable: s.up,
      id: `id${s.port}`,
      role: !s.up ? "?" : s.master === undefined ? "master" : "replica",
      masterPort: s.master ?? 0,
      slots: s.slots ? [s.slots] : [],
      slotCount: s.slots ? 5461 : 0,
      configEpoch: s.epoch ?? 1,
      currentEpoch: 6,
      state: s.up ? (specs.some((o) => o.flag === "fail" && o.slots) ? "fail" : "ok") : "",
      knownNodes: specs.length,
      linkStatus: s.master === undefined ? "" : "up",
      nodes: s.up ? lines : [],
    });
  }
  return { at: 0, views };
}

Deno.test("watch events: a killed master, FAIL, then its replica promoted", () => {
  const healthy = snapshot([{ port: 1, up: true, slots: "0-5460" }, { port: 4, up: true, master: 1 }, {
    port: 2,
    up: true,
    slots: "5461-10922",
  }]);
  const dead = snapshot([{ port: 1, up: false, slots: "0-5460" }, { port: 4, up: true, master: 1 }, {
    port: 2,
    up: true,
    slots: "5461-10922",
  }]);
  assert.deepEqual(detectEvents(healthy, dead), ["1 is not answering"]);
  const failed = snapshot([{ port: 1, up: false, slots: "0-5460", flag: "fail" }, { port: 4, up: true, master: 1 }, {
    port: 2,
    up: true,
    slots: "5461-10922",
  }]);
  assert.deepEqual(detectEvents(dead, failed), ["1 marked FAIL by the cluster", "cluster_state fail on 4, 2"]);
  const promoted = snapshot([{ port: 1, up: false, flag: "fail" }, { port: 4, up: true, slots: "0-5460", epoch: 7 }, {
    port: 2,
    up: true,
    slots: "5461-10922",
  }]);
  assert.deepEqual(detectEvents(failed, promoted), [
    "1 failed, 4 promoted (epoch 7, 5461 slots)",
    "cluster_state ok on every reachable node",
  ]);
  const back = snapshot([{ port: 1, up: true, master: 4 }, { port: 4, up: true, slots: "0-5460", epoch: 7 }, {
    port: 2,
    up: true,
    slots: "5461-10922",
  }]);
  assert.deepEqual(detectEvents(promoted, back), ["1 is back, replica of 4", "1 FAIL flag cleared"]);
});

Deno.test("watch events: a takeover while the old master answers (manual failover)", () => {
  const before = snapshot([{ port: 1, up: true, slots: "0-5460" }, { port: 4, up: true, master: 1 }]);
  const after = snapshot([{ port: 1, up: true, master: 4 }, { port: 4, up: true, slots: "0-5460", epoch: 8 }]);
  assert.deepEqual(detectEvents(before, after), [
    "1 is now a replica of 4",
    "4 took over from 1 (epoch 8, 5461 slots)",
  ]);
  assert.deepEqual(detectEvents(after, after), [], "no change, no event");
});
