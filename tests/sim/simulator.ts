/**
 * The seeded cluster simulator (design principle 2): many nodes of tessera's cluster state machine in
 * one process, driven like `src/cluster/shell.ts` drives one, over a virtual clock and network. A seed
 * picks the scenario and every random choice, so a failing seed replays exactly. A run forms a cluster,
 * injects faults, heals, and checks the invariants of `invariants.ts` (plus one checked continuously).
 */
import { changeSlots, meet, setConfigEpoch } from "../../src/cluster/admin.ts";
import type { BusMessage } from "../../src/cluster/bus/message.ts";
import { MSG_TYPE_NAMES } from "../../src/cluster/bus/message.ts";
import { CLUSTER_CRON_PERIOD_MS, clusterTick } from "../../src/cluster/cron.ts";
import { updateClusterState } from "../../src/cluster/failure.ts";
import { linkAccepted, linkDown, linkUp, processMessage } from "../../src/cluster/gossip.ts";
import { CLUSTER_SLOTS, NODE_FAIL, randomNodeId } from "../../src/cluster/node.ts";
import { loadNodesConf, serializeNodesConf } from "../../src/cluster/nodes_conf.ts";
import {
  type ClusterDataView,
  type ClusterSettings,
  ClusterState,
  defaultClusterSettings,
  type Effect,
} from "../../src/cluster/state.ts";
import { EventQueue } from "./event_queue.ts";
import {
  checkEpochs,
  checkSlots,
  checkStateOk,
  checkStoppedMarkedFail,
  checkViews,
  type ClusterFacts,
  type LiveNode,
} from "./invariants.ts";
import { HEALTHY, type NetworkHost, type NetworkStats, type PartitionMode, VirtualNetwork } from "./network.ts";
import { Rng } from "./rng.ts";
import { drawScenario, quorumOf, type Scenario, type ScenarioOptions } from "./scenario.ts";
import { Trace } from "./trace.ts";

/** Names of the invariants, as reports print them. */
export const INVARIANTS = {
  setup: "(0) the cluster forms without faults",
  views: "(1) views converge",
  slots: "(2) every slot has exactly one owner, the one it was created with",
  epochs: "(3) masters' configEpochs are unique",
  failDetected: "(4) a stopped node is marked FAIL by every live node in time",
  stateOk: "(4b) cluster_state is ok again when coverage allows",
  noFalseFail: "(5) a node reachable by a majority is never marked FAIL",
  minorityFenced: "(6) a master cut off in a minority goes to cluster_state fail (stops writes) in time",
  codec: "(c) every encoded message decodes",
  reload: "(r) nodes.conf reloads after a crash",
  admin: "(a) admin commands succeed",
  unexpected: "(u) no role change or key deletion without failover or resharding",
} as const;

/** An invariant that failed: its first occurrence, with the trace tail at that moment. */
export interface Violation {
  invariant: string;
  /** Virtual ms since the run started. */
  at: number;
  detail: string;
  trace: string[];
}

/** What a run reports. */
export interface RunResult {
  seed: number;
  scenario: Scenario;
  violations: Violation[];
  /** Invariants checked and held (with a note when one did not apply). */
  held: string[];
  setupConvergedAt: number | null;
  /** When the faults ended, and when the cluster had converged again (null: never). */
  healStartedAt: number | null;
  healConvergedAt: number | null;
  virtualMs: number;
  events: number;
  network: NetworkStats;
  /** A digest of the trace and final states: equal for two runs of one seed. */
  fingerprint: string;
}

/** How a run reports as it goes. */
export interface RunOptions extends ScenarioOptions {
  /** Print every trace line as it happens. */
  echo?: boolean;
  /** Also trace every delivered message and every log line (very verbose). */
  verbose?: boolean;
  /** Trace lines kept with each violation. */
  traceTail?: number;
  /** Test hook: changes the running nodes' states (by short name) once when a phase starts, to prove the checks fail. */
  sabotage?: { phase: "faults" | "heal"; run: (states: Map<string, ClusterState>, now: number) => void };
}

/** Virtual time 0 is this unix ms (gossip carries seconds; a realistic epoch avoids zero-time corner cases). */
const BASE_UNIX_MS = 1_700_000_000_000;
const POLL_EVERY_MS = 250;
/** Slack for invariant 6 after 1.5 node timeouts: cron ticks and message latency. */
const MINORITY_FENCE_MARGIN_MS = 500;
const TRACE_CAPACITY = 2000;
const DEFAULT_TRACE_TAIL = 40;

/** No keys anywhere: the cluster logic asks and gets zeros. */
const EMPTY_DATA: ClusterDataView = { countKeysInSlot: () => 0, dbSize: () => 0, replOffset: () => 0 };

/** Log lines worth keeping below notice level. */
const INTERESTING_LOG = /possibly failing|collision|not reachable|mismatching|Address updated|UPDATE/;

/** One simulated node: its process (state), its files, and whether it runs. */
interface SimNode {
  index: number;
  name: string;
  id: string;
  ip: string;
  port: number;
  cport: number;
  settings: ClusterSettings;
  skewMs: number;
  state: ClusterState | null;
  incarnation: number;
  processUp: boolean;
  hostUp: boolean;
  /** nodes.conf as last written, and as last written with fsync (what survives a host crash). */
  savedText: string;
  durableText: string;
  stoppedForGood: boolean;
  everCrashed: boolean;
  upSince: number;
  downSince: number;
}

/** Runs one seed and returns what held and what failed. */
export function runSeed(seed: number, options: RunOptions = {}): RunResult {
  return new Simulation(seed, options).run();
}

class Simulation implements NetworkHost {
  private readonly rng: Rng;
  private readonly rngFn: () => number;
  private readonly scenario: Scenario;
  private readonly queue = new EventQueue();
  private readonly trace = new Trace(TRACE_CAPACITY);
  private readonly net: VirtualNetwork;
  private readonly nodes: SimNode[] = [];
  private readonly indexById = new Map<string, number>();
  private readonly names = new Map<string, string>();
  private readonly violations = new Map<string, Violation>();
  /** Masters each node was ever cut from by a partition (invariant 5). */
  private readonly cutFrom: Set<number>[];
  /** (observer, node) pairs already reported by invariant 5. */
  private readonly falseFailReported = new Set<string>();
  private expectedOwners: string[] = [];
  private t = 0;
  private events = 0;
  private done = false;
  private setupConvergedAt: number | null = null;
  private healConvergedAt: number | null = null;
  private healStart = Infinity;
  private partitionEpisode = 0;
  /** Minority nodes checked by invariant 6 (0: it did not apply). */
  private fenceChecks = 0;
  private readonly checkedStopped = new Set<string>();

  constructor(private readonly seed: number, private readonly options: RunOptions) {
    this.rng = new Rng(seed);
    this.rngFn = this.rng.asFunction();
    this.scenario = drawScenario(seed, this.rng, options);
    this.trace.echo = options.echo ?? false;
    const s = this.scenario;
    this.net = new VirtualNetwork(this, this.rng, s.masters, s.latencyMinMs, s.latencyMaxMs, s.codecFraction);
    this.cutFrom = Array.from({ length: s.masters }, () => new Set<number>());
  }

  run(): RunResult {
    this.createNodes();
    this.scheduleSetup();
    while (!this.done) {
      const event = this.queue.pop();
      if (event === undefined) break;
      this.t = event.at;
      this.events++;
      event.run();
    }
    return this.result();
  }

  // ---- NetworkHost ----

  time(): number {
    return this.t;
  }

  schedule(at: number, run: () => void): void {
    this.queue.push(at, run);
  }

  nodeAt(host: string, port: number): number {
    for (const node of this.nodes) if (node.ip === host && node.cport === port) return node.index;
    return -1;
  }

  ipOf(node: number): string {
    return this.nodes[node].ip;
  }

  processUp(node: number): boolean {
    return this.nodes[node].processUp;
  }

  hostUp(node: number): boolean {
    return this.nodes[node].hostUp;
  }

  incarnation(node: number): number {
    return this.nodes[node].incarnation;
  }

  accepted(node: number, peerIp: string): number {
    let link = 0;
    const me = this.nodes[node];
    this.step(node, (state, now) => link = linkAccepted(state, now, peerIp, me.ip));
    return link;
  }

  connected(node: number, link: number): void {
    const me = this.nodes[node];
    this.step(node, (state, now) => linkUp(state, link, now, me.ip));
  }

  down(node: number, link: number): void {
    this.step(node, (state, now) => linkDown(state, link, now));
  }

  deliver(node: number, link: number, msg: BusMessage): void {
    if (this.options.verbose) {
      const from = this.names.get(msg.sender) ?? msg.sender.slice(0, 8);
      const l = this.nodes[node].state?.links.get(link);
      const side = l === undefined ? "unknown link" : `${l.outbound ? "out" : "in"} ${l.node?.id ?? "unbound"}`;
      this.note(`${from} -> ${this.nodes[node].name} link ${link} (${side}): ${MSG_TYPE_NAMES[msg.type] ?? msg.type}`);
    }
    this.step(node, (state, now) => processMessage(state, link, msg, now));
  }

  badFrame(node: number, link: number, reason: string): void {
    this.violate("codec", `${this.nodes[node].name} link ${link}: ${reason}`);
    this.step(node, (state) => state.freeLink(link));
  }

  // ---- nodes ----

  private createNodes(): void {
    const s = this.scenario;
    for (let i = 0; i < s.masters; i++) {
      const id = randomNodeId(this.rngFn);
      const ip = `10.0.0.${i + 1}`;
      const name = `n${i}`;
      const settings = defaultClusterSettings(7000 + i, {
        nodeTimeoutMs: s.nodeTimeoutMs,
        announceIp: s.announceIp ? ip : "",
        announceHostname: s.hostnames ? `node-${i}.sim` : "",
      });
      const skewMs = s.clockSkewMs === 0 ? 0 : this.rng.range(-s.clockSkewMs, s.clockSkewMs);
      this.nodes.push({
        index: i,
        name,
        id,
        ip,
        port: settings.port,
        cport: settings.cport,
        settings,
        skewMs,
        state: null,
        incarnation: 0,
        processUp: false,
        hostUp: true,
        savedText: "",
        durableText: "",
        stoppedForGood: false,
        everCrashed: false,
        upSince: 0,
        downSince: 0,
      });
      this.indexById.set(id, i);
      this.names.set(id, name);
      this.trace.name(id, name);
    }
    for (const node of this.nodes) this.boot(node, null);
  }

  /** Starts a node's process: fresh (text null) or from its nodes.conf, as ClusterShell.open + start do. */
  private boot(node: SimNode, text: string | null): void {
    const now = this.nodeNow(node);
    let state: ClusterState;
    if (text === null) {
      state = new ClusterState(node.id, node.settings, EMPTY_DATA, now, this.rngFn);
    } else {
      try {
        state = loadNodesConf(text, node.settings, EMPTY_DATA, now, this.rngFn);
      } catch (err) {
        this.violate("reload", `${node.name}: ${(err as Error).message}\n${text}`);
        return;
      }
      if (state.myself.id !== node.id) this.violate("reload", `${node.name} reloaded as ${state.myself.id}`);
    }
    node.incarnation++;
    node.processUp = true;
    node.hostUp = true;
    node.state = state;
    node.upSince = this.t;
    this.refreshMyself(node, state);
    if (text === null) node.savedText = node.durableText = serializeNodesConf(state);
    this.apply(node, state.drainEffects());
    this.step(node.index, (st, n) => updateClusterState(st, n));
    const incarnation = node.incarnation;
    const tick = () => {
      if (node.incarnation !== incarnation || !node.processUp) return;
      this.step(node.index, (st, n) => clusterTick(st, n));
      this.schedule(this.t + CLUSTER_CRON_PERIOD_MS, tick);
    };
    this.schedule(this.t + 1 + this.rng.int(CLUSTER_CRON_PERIOD_MS), tick);
  }

  private nodeNow(node: SimNode): number {
    return BASE_UNIX_MS + this.t + node.skewMs;
  }

  /** The shell re-reads its config before every step (ClusterShell.refreshMyself). */
  private refreshMyself(node: SimNode, state: ClusterState): void {
    state.settings = node.settings;
    const me = state.myself;
    me.port = node.settings.port;
    me.cport = node.settings.cport;
    me.pport = node.settings.pport;
    me.hostname = node.settings.announceHostname;
    if (node.settings.announceIp !== "") me.ip = node.settings.announceIp;
  }

  /** Runs one state-machine step on a running node and carries out its effects (ClusterShell.run). */
  private step(index: number, fn: (state: ClusterState, now: number) => void): void {
    const node = this.nodes[index];
    const state = node.state;
    if (!node.processUp || state === null) return;
    this.refreshMyself(node, state);
    fn(state, this.nodeNow(node));
    this.apply(node, state.drainEffects());
    this.checkNoFalseFail(node, state);
  }

  private apply(node: SimNode, effects: Effect[]): void {
    let persist = false;
    let fsync = false;
    for (const effect of effects) {
      switch (effect.kind) {
        case "connect":
          this.net.connect(node.index, effect.link, effect.host, effect.port);
          break;
        case "send":
          this.net.send(node.index, effect.link, effect.msg);
          break;
        case "close":
          this.net.close(node.index, effect.link);
          break;
        case "persist":
          persist = true;
          if (effect.fsync) fsync = true;
          break;
        case "delete-slot-keys":
          this.violate("unexpected", `${node.name} deletes keys of slots ${effect.slots.slice(0, 5).join(",")}`);
          break;
        case "replicate":
          this.violate("unexpected", `${node.name} replicates from ${effect.masterId ?? "nobody"}`);
          break;
        case "log":
          if (
            this.options.verbose || effect.level === "notice" || effect.level === "warning" ||
            INTERESTING_LOG.test(effect.text)
          ) {
            this.note(`${node.name} ${effect.level}: ${effect.text}`);
          }
          break;
      }
    }
    if (persist && node.state !== null) {
      node.savedText = serializeNodesConf(node.state);
      if (fsync) node.durableText = node.savedText;
    }
  }

  private note(text: string): void {
    this.trace.add(this.t, text);
  }

  private violate(key: keyof typeof INVARIANTS, detail: string): void {
    const invariant = INVARIANTS[key];
    this.note(`VIOLATION ${invariant}: ${detail.split("\n")[0]}`);
    if (this.violations.has(invariant)) return;
    this.violations.set(invariant, {
      invariant,
      at: this.t,
      detail: this.trace.shorten(detail),
      trace: this.trace.tail(this.options.traceTail ?? DEFAULT_TRACE_TAIL),
    });
  }

  // ---- invariant 5, checked after every step ----

  private isProtected(index: number): boolean {
    return !this.nodes[index].everCrashed && this.cutFrom[index].size < quorumOf(this.scenario.masters);
  }

  private checkNoFalseFail(observer: SimNode, state: ClusterState): void {
    for (const entry of state.nodes.values()) {
      if ((entry.flags & NODE_FAIL) === 0) continue;
      const index = this.indexById.get(entry.id);
      if (index === undefined || index === observer.index || !this.isProtected(index)) continue;
      const key = `${observer.index}:${index}`;
      if (this.falseFailReported.has(key)) continue;
      this.falseFailReported.add(key);
      const cut = [...this.cutFrom[index]].map((i) => this.nodes[i].name).join(",") || "none";
      this.violate(
        "noFalseFail",
        `${observer.name} flags ${this.nodes[index].name} FAIL; it never crashed and was only ever cut from [${cut}]`,
      );
    }
  }

  // ---- phases ----

  /** Creates the cluster as redis-cli would: epochs, slots, MEETs; then waits for it to form. */
  private scheduleSetup(): void {
    const s = this.scenario;
    const n = s.masters;
    const owners: string[] = new Array(CLUSTER_SLOTS);
    const ranges: number[][] = [];
    for (let i = 0; i < n; i++) {
      const start = Math.floor((i * CLUSTER_SLOTS) / n);
      const end = Math.floor(((i + 1) * CLUSTER_SLOTS) / n);
      const slots: number[] = [];
      for (let slot = start; slot < end; slot++) {
        slots.push(slot);
        owners[slot] = this.nodes[i].id;
      }
      ranges.push(slots);
    }
    this.expectedOwners = owners;
    const addSlots = (i: number) => this.admin(i, "ADDSLOTS", (state, now) => changeSlots(state, ranges[i], true, now));
    this.schedule(5, () => {
      this.note(`setup: ${n} masters, epochs ${s.epochs}, meet ${s.meetTopology}`);
      for (let i = 0; i < n; i++) {
        if (s.epochs === "distinct") this.admin(i, "SET-CONFIG-EPOCH", (state) => setConfigEpoch(state, i + 1));
        if (s.slotsBeforeMeet) addSlots(i);
      }
    });
    let lastMeet = 10;
    for (let i = 1; i < n; i++) {
      const target = s.meetTopology === "star" ? 0 : s.meetTopology === "chain" ? i - 1 : this.rng.int(i);
      const at = 10 + this.rng.int(s.meetSpreadMs + 1);
      lastMeet = Math.max(lastMeet, at);
      const peer = this.nodes[target];
      this.schedule(at, () => this.step(i, (state, now) => meet(state, peer.ip, peer.port, peer.cport, now)));
    }
    if (!s.slotsBeforeMeet) {
      for (let i = 0; i < n; i++) this.schedule(lastMeet + this.rng.int(2000), () => addSlots(i));
    }
    const deadline = s.setupDeadlineMs;
    const poll = () => {
      const problems = this.convergenceProblems(false);
      if (problems.length === 0) {
        this.setupConvergedAt = this.t;
        this.note(`setup: cluster formed`);
        this.startFaults();
        return;
      }
      if (this.t >= deadline) {
        this.violate("setup", problems.map(([, list]) => list.join("; ")).join(" | "));
        this.done = true;
        return;
      }
      this.schedule(this.t + POLL_EVERY_MS, poll);
    };
    this.schedule(500, poll);
  }

  private admin(index: number, what: string, fn: (state: ClusterState, now: number) => string | null | void): void {
    this.step(index, (state, now) => {
      const error = fn(state, now);
      if (typeof error === "string") this.violate("admin", `${this.nodes[index].name} ${what}: ${error}`);
    });
  }

  /** The fault period: network faults on, partition and crash episodes at random times, then the heal. */
  private startFaults(): void {
    const s = this.scenario;
    const start = this.t;
    const end = start + s.faultMs;
    this.net.faults = {
      dropRate: s.dropRate,
      dropMode: s.dropMode,
      rtoMaxMs: s.rtoMaxMs,
      duplicateRate: s.duplicateRate,
      spikeRate: s.spikeRate,
      spikeMaxMs: s.spikeMaxMs,
    };
    this.note(`faults on until ${(end / 1000).toFixed(3)}s`);
    this.runSabotage("faults");
    for (let k = 0; k < s.partitions; k++) {
      const at = start + this.rng.int(s.faultMs);
      const duration = this.rng.range(s.nodeTimeoutMs / 2, 4 * s.nodeTimeoutMs);
      const groups = this.drawGroups();
      const mode: PartitionMode = this.rng.chance(0.5) ? "stall" : "reset";
      this.schedule(at, () => {
        const episode = ++this.partitionEpisode;
        this.partition(groups, mode);
        // Invariant 6: PFAIL comes at most 1.5 node timeouts after the cut (a ping goes out every half
        // timeout, PFAIL one timeout later), then a minority's state is fail at the next cron tick.
        const fenceBy = at + 1.5 * s.nodeTimeoutMs + MINORITY_FENCE_MARGIN_MS;
        if (fenceBy < Math.min(at + duration, end)) {
          this.schedule(fenceBy, () => {
            if (this.partitionEpisode === episode && !this.done) this.checkMinorityFenced(groups);
          });
        }
        if (at + duration < end) {
          this.schedule(at + duration, () => {
            if (this.partitionEpisode === episode && !this.done) this.healPartition();
          });
        }
      });
    }
    for (let k = 0; k < s.crashes; k++) {
      const at = start + this.rng.int(s.faultMs);
      const downFor = this.rng.range(s.nodeTimeoutMs / 4, 3 * s.nodeTimeoutMs);
      const hostCrash = this.rng.chance(0.4);
      this.schedule(at, () => {
        const candidates = this.nodes.filter((n) => n.processUp && !n.stoppedForGood);
        if (candidates.length === 0) return;
        const node = this.rng.pick(candidates);
        this.crash(node, hostCrash);
        if (at + downFor < end) this.schedule(at + downFor, () => this.restart(node));
      });
    }
    const stopped = this.rng.shuffle(this.nodes.map((n) => n.index)).slice(0, s.stopped);
    for (const index of stopped) {
      const atHeal = this.rng.chance(0.3);
      const at = atHeal ? end : start + this.rng.int(s.faultMs);
      const hostCrash = this.rng.chance(0.4);
      this.schedule(at, () => {
        const node = this.nodes[index];
        node.stoppedForGood = true;
        if (node.processUp) this.crash(node, hostCrash);
        this.note(`${node.name} is stopped for good`);
      });
    }
    this.schedule(end, () => this.heal());
  }

  private runSabotage(phase: "faults" | "heal"): void {
    const sabotage = this.options.sabotage;
    if (sabotage === undefined || sabotage.phase !== phase) return;
    const states = new Map<string, ClusterState>();
    for (const node of this.nodes) if (node.state !== null) states.set(node.name, node.state);
    this.note(`sabotage at ${phase}`);
    sabotage.run(states, BASE_UNIX_MS + this.t);
  }

  /** Partition groups: a minority cut off, a random split, or three groups. */
  private drawGroups(): number[] {
    const n = this.scenario.masters;
    const kind = this.rng.pick(["minority", "split", "three"] as const);
    if (kind === "minority") {
      const size = this.rng.range(1, Math.max(1, Math.floor((n - 1) / 2)));
      const cut = new Set(this.rng.shuffle(this.nodes.map((x) => x.index)).slice(0, size));
      return this.nodes.map((x) => (cut.has(x.index) ? 1 : 0));
    }
    const groups = this.nodes.map(() => this.rng.int(kind === "split" ? 2 : 3));
    return groups;
  }

  private partition(groups: number[], mode: PartitionMode): void {
    this.net.partition(groups, mode);
    for (let a = 0; a < groups.length; a++) {
      for (let b = 0; b < groups.length; b++) if (groups[a] !== groups[b]) this.cutFrom[a].add(b);
    }
    const parts = new Map<number, string[]>();
    groups.forEach((g, i) => parts.set(g, [...(parts.get(g) ?? []), this.nodes[i].name]));
    this.note(`partition (${mode}): ${[...parts.values()].map((p) => `[${p.join(",")}]`).join(" ")}`);
  }

  /** Invariant 6: every running master in a group with fewer than a quorum of masters has cluster_state fail. */
  private checkMinorityFenced(groups: number[]): void {
    const quorum = quorumOf(this.scenario.masters);
    for (const node of this.nodes) {
      if (node.state === null) continue;
      const groupSize = groups.filter((g) => g === groups[node.index]).length;
      if (groupSize >= quorum) continue;
      this.fenceChecks++;
      if (node.state.state !== "fail") {
        this.violate("minorityFenced", `${node.name} is in a minority of ${groupSize} but its cluster_state is ok`);
      }
    }
  }

  private healPartition(): void {
    this.net.heal();
    this.note("partition healed");
  }

  private crash(node: SimNode, hostCrash: boolean): void {
    if (!node.processUp) return;
    node.processUp = false;
    node.state = null;
    node.everCrashed = true;
    node.downSince = this.t;
    let lost = "";
    if (hostCrash) {
      node.hostUp = false;
      if (node.savedText !== node.durableText) {
        const durable = new Set(node.durableText.split("\n"));
        const changed = node.savedText.split("\n").filter((line) => !durable.has(line));
        lost = `; its nodes.conf falls back to the last fsync'd save, losing: ${changed.join(" | ")}`;
      }
      node.savedText = node.durableText;
    }
    this.net.crash(node.index, hostCrash);
    this.note(`${node.name} ${hostCrash ? "host" : "process"} crashed${lost}`);
  }

  private restart(node: SimNode): void {
    if (node.processUp || node.stoppedForGood || this.done) return;
    this.note(`${node.name} restarts`);
    this.boot(node, node.savedText);
  }

  /** End of the fault period: network healthy, partition gone, crashed nodes back (except the stopped ones). */
  private heal(): void {
    this.healStart = this.t;
    this.net.faults = HEALTHY;
    this.net.heal();
    this.note("heal: faults off, partition healed, crashed nodes restart");
    for (const node of this.nodes) if (!node.processUp && !node.stoppedForGood) this.restart(node);
    this.runSabotage("heal");
    const deadline = this.t + this.scenario.healDeadlineMs;
    // Converged means the checks pass at every poll for settleMs: failure detection started during the
    // faults may still flag a node after a first clean poll, and the cluster must then recover again.
    let convergedSince: number | null = null;
    const poll = () => {
      this.checkFailBound();
      const problems = this.convergenceProblems(true);
      if (problems.length === 0) {
        if (convergedSince === null) {
          convergedSince = this.t;
          this.note("converged");
        }
        if (this.t - convergedSince >= this.scenario.settleMs) {
          this.healConvergedAt = convergedSince;
          this.note("still converged: done");
          this.done = true;
          return;
        }
      } else {
        if (convergedSince !== null) this.note(`convergence lost: ${problems[0][1][0]}`);
        convergedSince = null;
        if (this.t >= deadline) {
          for (const [key, list] of problems) this.violate(key, `not converged after the heal: ${list.join("; ")}`);
          this.done = true;
          return;
        }
      }
      this.schedule(this.t + POLL_EVERY_MS, poll);
    };
    this.schedule(this.t + POLL_EVERY_MS, poll);
  }

  /** Invariant 4's bound: each live node flags each stopped node FAIL within failBoundMs of when it could. */
  private checkFailBound(): void {
    const bound = this.scenario.failBoundMs;
    for (const stopped of this.nodes) {
      if (!stopped.stoppedForGood) continue;
      for (const observer of this.nodes) {
        if (!observer.processUp || observer.state === null) continue;
        const key = `${observer.index}:${stopped.index}`;
        if (this.checkedStopped.has(key)) continue;
        const entry = observer.state.nodes.get(stopped.id);
        if (entry !== undefined && (entry.flags & NODE_FAIL) !== 0) {
          this.checkedStopped.add(key);
          continue;
        }
        const from = Math.max(stopped.downSince, this.healStart, observer.upSince);
        if (this.t - from > bound) {
          this.checkedStopped.add(key);
          this.violate(
            "failDetected",
            `${observer.name} has not flagged stopped ${stopped.name} FAIL ${this.t - from} ms after it could ` +
              `(bound ${bound} ms; flags ${entry?.flags ?? "unknown"})`,
          );
        }
      }
    }
  }

  private facts(): ClusterFacts {
    const live: LiveNode[] = [];
    for (const node of this.nodes) {
      if (node.processUp && node.state !== null) {
        live.push({ name: node.name, id: node.id, ip: node.ip, port: node.port, cport: node.cport, state: node.state });
      }
    }
    return { live, names: this.names, expectedOwners: this.expectedOwners };
  }

  /** The convergence checks that fail now, by invariant. */
  private convergenceProblems(afterFaults: boolean): [keyof typeof INVARIANTS, string[]][] {
    const facts = this.facts();
    const stoppedIds = this.nodes.filter((n) => n.stoppedForGood).map((n) => n.id);
    const out: [keyof typeof INVARIANTS, string[]][] = [
      ["views", checkViews(facts)],
      ["slots", checkSlots(facts)],
      ["epochs", checkEpochs(facts)],
    ];
    if (afterFaults && stoppedIds.length > 0) out.push(["failDetected", checkStoppedMarkedFail(facts, stoppedIds)]);
    // With require-full-coverage a stopped master's slots are uncovered, so the state stays fail.
    if (stoppedIds.length === 0) out.push(["stateOk", checkStateOk(facts)]);
    return out.filter(([, list]) => list.length > 0);
  }

  private result(): RunResult {
    const violations = [...this.violations.values()];
    const failed = new Set(violations.map((v) => v.invariant));
    const held: string[] = [];
    const hasStopped = this.scenario.stopped > 0;
    for (const [key, name] of Object.entries(INVARIANTS)) {
      if (failed.has(name)) continue;
      if (key === "failDetected" && !hasStopped) held.push(`${name}: not applicable (no node stopped)`);
      else if (key === "stateOk" && hasStopped) held.push(`${name}: not applicable (a master is stopped)`);
      else if (key === "minorityFenced" && this.fenceChecks === 0) {
        held.push(`${name}: not applicable (no minority partition lasted long enough)`);
      } else held.push(name);
    }
    const digest = this.trace.tail(TRACE_CAPACITY).join("\n") + "\n" +
      this.nodes.map((n) => `${n.name} ${n.state?.currentEpoch ?? "-"} ${n.state?.myself.configEpoch ?? "-"}`).join(
        ",",
      ) + `\n${this.events} ${this.t}`;
    return {
      seed: this.seed,
      scenario: this.scenario,
      violations,
      held,
      setupConvergedAt: this.setupConvergedAt,
      healStartedAt: Number.isFinite(this.healStart) ? this.healStart : null,
      healConvergedAt: this.healConvergedAt,
      virtualMs: this.t,
      events: this.events,
      network: { ...this.net.stats },
      fingerprint: fnv1a(digest),
    };
  }
}

/** A short hash of a text (FNV-1a, 32 bits, hex). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}
