/**
 * The seeded election simulator: masters with replicas, run by tessera's cluster state machine over the
 * virtual network of `network.ts`, with a simulated dataset per node (a replication offset that grows on
 * masters while they acknowledge writes, and follows the master on replicas over a replication stream that is
 * independent of the bus). A seed draws one scenario — a master crash, a manual failover (default, FORCE,
 * TAKEOVER), a master cut off from the bus (both ways, or only its own messages lost), or a replica lost to a
 * master that must get one by migration —
 * with message loss up to 20%, and the run checks the election invariants (`ELECTION_INVARIANTS`).
 */
import { changeSlots, meet, replicate, setConfigEpoch } from "../../src/cluster/admin.ts";
import type { BusMessage } from "../../src/cluster/bus/message.ts";
import { CLUSTER_CRON_PERIOD_MS, clusterTick } from "../../src/cluster/cron.ts";
import { updateClusterState } from "../../src/cluster/failure.ts";
import { linkAccepted, linkDown, linkUp, processMessage } from "../../src/cluster/gossip.ts";
import { MF_TIMEOUT_MS, startManualFailover } from "../../src/cluster/manual_failover.ts";
import {
  CLUSTER_SLOTS,
  NODE_FAIL,
  NODE_HANDSHAKE,
  NODE_MASTER,
  NODE_PFAIL,
  randomNodeId,
} from "../../src/cluster/node.ts";
import { loadNodesConf, serializeNodesConf } from "../../src/cluster/nodes_conf.ts";
import { type ClusterSettings, ClusterState, defaultClusterSettings, type Effect } from "../../src/cluster/state.ts";
import { EventQueue } from "./event_queue.ts";
import { type DropMode, type NetworkHost, VirtualNetwork } from "./network.ts";
import { Rng } from "./rng.ts";
import { Trace } from "./trace.ts";

/** The invariants an election run checks. */
export const ELECTION_INVARIANTS = {
  setup: "(e0) masters and replicas form a cluster",
  oneWinnerPerEpoch: "(e1) at most one node wins the election of an epoch",
  oneWinnerPerMaster: "(e1b) exactly one replica of a crashed master is promoted",
  uniqueClaims: "(e2) no slot is claimed by two masters with the same configEpoch",
  bound: "(e3) the failover completes within its bound",
  converge: "(e4) the cluster converges on the new roles (state ok, one owner per slot, old master demoted)",
  noLostWrites: "(e5) no acknowledged write is lost (manual failover, fenced minority master)",
  fencedFirst: "(e6) a master cut off from the majority fences writes before its replica is elected",
  migration: "(e7) an orphaned master gets a replica by migration",
} as const;

/** What a seed makes happen. */
export type ElectionKind = "crash" | "manual" | "force" | "takeover" | "partition" | "oneway" | "migration";

/** One run's choices. Times are virtual ms. */
export interface ElectionScenario {
  seed: number;
  kind: ElectionKind;
  masters: number;
  replicasPerMaster: number;
  nodeTimeoutMs: number;
  dropRate: number;
  dropMode: DropMode;
  baseDelayMs: number;
  randomDelayMs: number;
  rankDelayMs: number;
  fencePercent: number;
  /** Whether the crashed master restarts after the failover (it must come back as a replica). */
  restartOldMaster: boolean;
}

/** Options of a run. */
export interface ElectionRunOptions {
  /** Forces the kind instead of drawing it. */
  kind?: ElectionKind;
  /** Overrides drawn fields (tests use it to switch fencing off and prove invariant e5/e6 can fail). */
  override?: Partial<ElectionScenario>;
  echo?: boolean;
  /** Test hook: changes the nodes' states (by short name) right after the action, to prove the checks fail. */
  sabotage?: (states: Map<string, ClusterState>) => void;
}

/** A failed invariant. */
export interface ElectionViolation {
  invariant: string;
  at: number;
  detail: string;
  trace: string[];
}

/** What a run reports. */
export interface ElectionResult {
  scenario: ElectionScenario;
  violations: ElectionViolation[];
  /** Virtual ms from the fault (or command) to the promotion, null when nobody was promoted. */
  failoverMs: number | null;
  /** The bound e3 checked against. */
  boundMs: number;
  /** Acknowledged writes lost at the promotion (the old master's offset minus the winner's). */
  lostWrites: number | null;
  /** Every promotion: node name and epoch. */
  promotions: { name: string; epoch: number; at: number }[];
  /** When the old master was fenced (partition runs), virtual ms; null if never. */
  fencedAt: number | null;
}

const BASE_UNIX_MS = 1_700_000_000_000;
const POLL_EVERY_MS = 100;
/** The replication stream delivers the master's offset to its replicas this often. */
const REPLICATION_TICK_MS = 5;
const SETUP_DEADLINE_MS = 40_000;
/** Slack of the failover bound beyond detection and the configured delays (cron ticks, lost messages). */
const BOUND_SLACK_MS = 1500;
/** A replica migrates only after the master has been orphaned 5 s (CLUSTER_SLAVE_MIGRATION_DELAY). */
const MIGRATION_DELAY_MS = 5000;
const TRACE_TAIL = 60;
/** CLUSTER FAILOVER is sent again this many times at most when an attempt times out. */
const MANUAL_FAILOVER_ATTEMPTS = 4;

/** Draws a scenario. */
export function drawElectionScenario(seed: number, rng: Rng, options: ElectionRunOptions = {}): ElectionScenario {
  const kinds: ElectionKind[] = ["crash", "crash", "manual", "force", "takeover", "partition", "oneway", "migration"];
  const kind = options.kind ?? rng.pick(kinds);
  const tuned = rng.chance(0.3);
  const scenario: ElectionScenario = {
    seed,
    kind,
    masters: rng.pick([3, 3, 4, 5]),
    replicasPerMaster: kind === "migration" ? 1 : rng.pick([1, 1, 2]),
    nodeTimeoutMs: rng.pick([1000, 1500, 2000]),
    dropRate: 0,
    dropMode: "retransmit",
    baseDelayMs: tuned ? rng.pick([0, 100, 200]) : 500,
    randomDelayMs: tuned ? rng.pick([0, 100, 200]) : 500,
    rankDelayMs: tuned ? rng.pick([200, 500]) : 1000,
    fencePercent: rng.pick([90, 90, 75, 100]),
    restartOldMaster: rng.chance(0.5),
  };
  // TCP retransmits lost segments (up to 20% here); a reset connection loses what was in flight, so resets stay rare.
  if (rng.chance(0.7)) scenario.dropRate = rng.pick([0, 0.05, 0.1, 0.2]);
  else {
    scenario.dropMode = "reset";
    scenario.dropRate = rng.pick([0, 0.01, 0.02]);
  }
  return { ...scenario, ...options.override };
}

/** One simulated process. */
interface Node {
  index: number;
  name: string;
  id: string;
  ip: string;
  port: number;
  cport: number;
  settings: ClusterSettings;
  state: ClusterState | null;
  incarnation: number;
  up: boolean;
  savedText: string;
  /** Writes acknowledged (master) or applied (replica): the replication offset. */
  offset: number;
  /** Virtual ms up to which writes have been counted. */
  countedTo: number;
  /** Writes paused until (manual failover), virtual ms. */
  pausedUntil: number;
}

/** Runs one seed of the election simulator. */
export function runElectionSeed(seed: number, options: ElectionRunOptions = {}): ElectionResult {
  return new ElectionSim(seed, options).run();
}

class ElectionSim implements NetworkHost {
  private readonly rng: Rng;
  private readonly rngFn: () => number;
  readonly scenario: ElectionScenario;
  private readonly queue = new EventQueue();
  private readonly trace = new Trace(3000);
  private readonly net: VirtualNetwork;
  private readonly nodes: Node[] = [];
  private readonly violations = new Map<string, ElectionViolation>();
  private readonly promotions: { name: string; epoch: number; at: number }[] = [];
  private t = 0;
  private done = false;
  private actionAt = 0;
  private victim: Node | null = null;
  private promotedAt: number | null = null;
  private lostWrites: number | null = null;
  private fencedAt: number | null = null;
  private boundMs = 0;
  private healed = false;
  private winner: Node | null = null;
  private winnerOffset = 0;

  constructor(seed: number, private readonly options: ElectionRunOptions) {
    this.rng = new Rng(seed);
    this.rngFn = this.rng.asFunction();
    this.scenario = drawElectionScenario(seed, this.rng, options);
    this.trace.echo = options.echo ?? false;
    const s = this.scenario;
    const count = s.masters * (1 + s.replicasPerMaster) + (s.kind === "migration" ? 1 : 0);
    this.net = new VirtualNetwork(this, this.rng, count, 0, 3, 0.1);
    for (let i = 0; i < count; i++) this.createNode(i);
    // Detection (PFAIL after a pending ping of up to half a timeout plus a timeout, then FAIL by gossip), the
    // election delay, slack.
    const worstRank = s.replicasPerMaster - 1;
    const delays = s.baseDelayMs + s.randomDelayMs + worstRank * s.rankDelayMs;
    this.boundMs = 2.5 * s.nodeTimeoutMs + delays + BOUND_SLACK_MS;
  }

  run(): ElectionResult {
    this.schedule(5, () => this.setup());
    this.schedule(REPLICATION_TICK_MS, () => this.replicationTick());
    let guard = 0;
    while (!this.done && guard++ < 5_000_000) {
      const event = this.queue.pop();
      if (event === undefined) break;
      this.t = event.at;
      event.run();
    }
    return {
      scenario: this.scenario,
      violations: [...this.violations.values()],
      failoverMs: this.promotedAt === null ? null : this.promotedAt - this.actionAt,
      boundMs: this.boundMs,
      lostWrites: this.lostWrites,
      promotions: this.promotions,
      fencedAt: this.fencedAt,
    };
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
    return this.nodes[node].up;
  }

  hostUp(node: number): boolean {
    return this.nodes[node].up;
  }

  incarnation(node: number): number {
    return this.nodes[node].incarnation;
  }

  accepted(node: number, peerIp: string): number {
    let link = 0;
    const me = this.nodes[node];
    this.step(me, (state, now) => link = linkAccepted(state, now, peerIp, me.ip));
    return link;
  }

  connected(node: number, link: number): void {
    const me = this.nodes[node];
    this.step(me, (state, now) => linkUp(state, link, now, me.ip));
  }

  down(node: number, link: number): void {
    this.step(this.nodes[node], (state, now) => linkDown(state, link, now));
  }

  deliver(node: number, link: number, msg: BusMessage): void {
    this.step(this.nodes[node], (state, now) => processMessage(state, link, msg, now));
  }

  badFrame(node: number, link: number, reason: string): void {
    this.note(`bad frame at ${this.nodes[node].name}: ${reason}`);
    this.step(this.nodes[node], (state) => state.freeLink(link));
  }

  // ---- nodes ----

  private createNode(i: number): void {
    const s = this.scenario;
    const id = randomNodeId(this.rngFn);
    const ip = `10.0.1.${i + 1}`;
    const replica = i >= s.masters;
    const name = replica ? `r${i}` : `m${i}`;
    const settings = defaultClusterSettings(7000 + i, {
      nodeTimeoutMs: s.nodeTimeoutMs,
      announceIp: ip,
      electionBaseDelayMs: s.baseDelayMs,
      electionRandomDelayMs: s.randomDelayMs,
      electionRankDelayMs: s.rankDelayMs,
      writeFencePercent: s.fencePercent,
    });
    const node: Node = {
      index: i,
      name,
      id,
      ip,
      port: settings.port,
      cport: settings.cport,
      settings,
      state: null,
      incarnation: 0,
      up: false,
      savedText: "",
      offset: 0,
      countedTo: 0,
      pausedUntil: 0,
    };
    this.nodes.push(node);
    this.trace.name(id, name);
    this.boot(node, null);
  }

  private now(): number {
    return BASE_UNIX_MS + this.t;
  }

  private boot(node: Node, text: string | null): void {
    const data = {
      countKeysInSlot: () => 0,
      dbSize: () => 0,
      replOffset: () => node.offset,
      masterLinkIdleMs: () => 0,
    };
    const state = text === null
      ? new ClusterState(node.id, node.settings, data, this.now(), this.rngFn)
      : loadNodesConf(text, node.settings, data, this.now(), this.rngFn);
    node.state = state;
    node.up = true;
    node.incarnation++;
    node.countedTo = this.t;
    node.pausedUntil = 0;
    state.myself.ip = node.ip;
    state.myself.port = node.port;
    state.myself.cport = node.cport;
    this.apply(node, state.drainEffects());
    this.step(node, (st, now) => updateClusterState(st, now));
    const incarnation = node.incarnation;
    const tick = () => {
      if (node.incarnation !== incarnation || !node.up) return;
      this.step(node, (st, now) => clusterTick(st, now));
      this.schedule(this.t + CLUSTER_CRON_PERIOD_MS, tick);
    };
    this.schedule(this.t + 1 + this.rng.int(CLUSTER_CRON_PERIOD_MS), tick);
  }

  private crash(node: Node): void {
    this.countWrites(node);
    node.up = false;
    node.state = null;
    this.net.crash(node.index, this.rng.chance(0.5));
    this.note(`${node.name} crashed`);
  }

  /** Counts the writes a master acknowledged since the last count: while ok, not fenced, not paused. */
  private countWrites(node: Node): void {
    const state = node.state;
    const from = node.countedTo;
    node.countedTo = this.t;
    if (state === null || !node.up || !state.isMaster(state.myself) || state.myself.numSlots === 0) return;
    if (state.state !== "ok") return;
    const fenceAt = state.writeFenceAt - BASE_UNIX_MS;
    const until = Math.min(this.t, fenceAt);
    const start = Math.max(from, node.pausedUntil);
    if (until > start) node.offset += until - start;
  }

  private step(node: Node, fn: (state: ClusterState, now: number) => void): void {
    const state = node.state;
    if (!node.up || state === null) return;
    this.countWrites(node);
    const masterBefore = state.myself.masterId;
    fn(state, this.now());
    this.apply(node, state.drainEffects(), masterBefore);
    // Invariant e2 after every step once the scenario runs (cheap unless two masters share a configEpoch).
    if (this.actionAt > 0) this.checkClaims();
  }

  private apply(node: Node, effects: Effect[], masterBefore: string | null = null): void {
    let persist = false;
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
          break;
        case "pause-writes":
          node.pausedUntil = effect.untilMs === 0 ? 0 : effect.untilMs - BASE_UNIX_MS;
          this.note(`${node.name} pauses writes ${effect.untilMs === 0 ? "off" : "on"}`);
          break;
        case "replicate":
          if (effect.masterId === null && masterBefore !== null) this.promoted(node, masterBefore);
          else if (effect.masterId !== null) {
            this.note(`${node.name} replicates from ${effect.masterId}`);
            // The old master turned replica: what it acknowledged until now is final.
            if (node === this.victim && masterBefore === null) this.noteLostWrites(node);
          }
          break;
        case "log":
          if (effect.level === "warning" || effect.level === "notice") this.note(`${node.name}: ${effect.text}`);
          break;
      }
    }
    if (persist && node.state !== null) node.savedText = serializeNodesConf(node.state);
  }

  /** A replica won (or took over): invariants e1, e3, e5, e6 at that moment. */
  private promoted(node: Node, oldMasterId: string): void {
    const epoch = node.state!.myself.configEpoch;
    this.note(`${node.name} promoted with configEpoch ${epoch}`);
    const clash = this.promotions.find((p) => p.epoch === epoch);
    if (clash !== undefined) {
      this.violate("oneWinnerPerEpoch", `${node.name} and ${clash.name} both won epoch ${epoch}`);
    }
    this.promotions.push({ name: node.name, epoch, at: this.t });
    const old = this.nodes.find((n) => n.id === oldMasterId);
    if (this.victim === null || old !== this.victim || this.promotedAt !== null) return;
    this.promotedAt = this.t;
    const kind = this.scenario.kind;
    if (kind !== "migration" && this.boundApplies() && this.t - this.actionAt > this.boundMs) {
      this.violate("bound", `promotion after ${this.t - this.actionAt} ms, bound ${this.boundMs} ms`);
    }
    this.winnerOffset = node.offset;
    this.winner = node;
    this.countWrites(old);
    this.noteLostWrites(old);
    const cutOff = kind === "partition" || kind === "oneway";
    if (cutOff && old.state !== null) {
      const fenceAt = old.state.writeFenceAt - BASE_UNIX_MS;
      if (!(fenceAt <= this.t)) {
        this.violate("fencedFirst", `${old.name} not fenced when ${node.name} was promoted`);
      } else this.fencedAt = fenceAt;
    }
    // The winner continues from the offset it had applied.
    node.countedTo = this.t;
  }

  /**
   * Writes the old master acknowledged that the winner never got: everything past the winner's offset at its
   * promotion, counted until the old master stops being a master (demoted, crashed, or the run ends).
   */
  private noteLostWrites(old: Node): void {
    if (this.winner === null) return;
    const lost = Math.max(0, old.offset - this.winnerOffset);
    this.lostWrites = lost;
    const kind = this.scenario.kind;
    const checked = kind === "manual" || kind === "partition" || kind === "oneway";
    if (checked && lost > 0) {
      this.violate("noLostWrites", `${old.name} acknowledged ${lost} writes ${this.winner.name} never got`);
    }
  }

  /** The replication stream: each live replica catches up with its live master (independent of the bus). */
  private replicationTick(): void {
    if (this.done) return;
    for (const node of this.nodes) {
      const state = node.state;
      if (!node.up || state === null || state.isMaster(state.myself) || state.myself.masterId === null) continue;
      const master = this.nodes.find((n) => n.id === state.myself.masterId);
      if (master === undefined || !master.up || master.state === null) continue;
      if (!master.state.isMaster(master.state.myself)) continue;
      this.countWrites(master);
      node.offset = master.offset;
    }
    this.schedule(this.t + REPLICATION_TICK_MS, () => this.replicationTick());
  }

  private note(text: string): void {
    this.trace.add(this.t, text);
  }

  private violate(key: keyof typeof ELECTION_INVARIANTS, detail: string): void {
    const invariant = ELECTION_INVARIANTS[key];
    this.note(`VIOLATION ${invariant}: ${detail}`);
    if (this.violations.has(invariant)) return;
    this.violations.set(invariant, {
      invariant,
      at: this.t,
      detail: this.trace.shorten(detail),
      trace: this.trace.tail(TRACE_TAIL),
    });
  }

  private admin(node: Node, what: string, fn: (state: ClusterState, now: number) => string | null | void): void {
    this.step(node, (state, now) => {
      const error = fn(state, now);
      if (typeof error === "string") this.violate("setup", `${node.name} ${what}: ${error}`);
    });
  }

  // ---- phases ----

  private setup(): void {
    const s = this.scenario;
    const first = this.nodes[0];
    for (let i = 0; i < s.masters; i++) {
      const start = Math.floor((i * CLUSTER_SLOTS) / s.masters);
      const end = Math.floor(((i + 1) * CLUSTER_SLOTS) / s.masters);
      const slots = Array.from({ length: end - start }, (_, k) => start + k);
      this.admin(this.nodes[i], "SET-CONFIG-EPOCH", (state) => setConfigEpoch(state, i + 1));
      this.admin(this.nodes[i], "ADDSLOTS", (state, now) => changeSlots(state, slots, true, now));
    }
    for (const node of this.nodes.slice(1)) {
      this.admin(node, "MEET", (state, now) => meet(state, first.ip, first.port, first.cport, now));
    }
    let replicasAssigned = false;
    const poll = () => {
      if (!replicasAssigned) {
        if (this.allKnowEachOther()) {
          replicasAssigned = true;
          this.assignReplicas();
        }
      } else if (this.convergenceProblems().length === 0) {
        this.note("setup: cluster formed");
        this.schedule(this.t + 500 + this.rng.int(1000), () => this.act());
        return;
      }
      if (this.t > SETUP_DEADLINE_MS) {
        this.violate("setup", this.convergenceProblems().slice(0, 4).join("; ") || "nodes never met");
        this.done = true;
        return;
      }
      this.schedule(this.t + POLL_EVERY_MS * 2, poll);
    };
    this.schedule(500, poll);
  }

  private allKnowEachOther(): boolean {
    for (const a of this.nodes) {
      for (const b of this.nodes) {
        const entry = a.state?.nodes.get(b.id);
        if (entry === undefined || (entry.flags & NODE_HANDSHAKE) !== 0) return false;
      }
    }
    return true;
  }

  /** Replica i of master m is node masters + m × replicas + i; migration runs add one more replica to m0. */
  private assignReplicas(): void {
    const s = this.scenario;
    for (let i = s.masters; i < this.nodes.length; i++) {
      const extra = i - s.masters >= s.masters * s.replicasPerMaster;
      const master = extra ? this.nodes[0] : this.nodes[Math.floor((i - s.masters) / s.replicasPerMaster)];
      this.admin(this.nodes[i], "REPLICATE", (state, now) => replicate(state, master.id, now));
    }
  }

  /** Whether the live nodes agree: roles, slot owners, no failure flags, state ok. */
  private convergenceProblems(): string[] {
    const problems: string[] = [];
    const live = this.nodes.filter((n) => n.up && n.state !== null);
    for (const a of live) {
      const sa = a.state!;
      if (sa.state !== "ok") problems.push(`${a.name} state ${sa.state}`);
      for (const b of live) {
        if (a === b) continue;
        const entry = sa.nodes.get(b.id);
        const me = b.state!.myself;
        if (entry === undefined) {
          problems.push(`${a.name} does not know ${b.name}`);
          continue;
        }
        if ((entry.flags & (NODE_PFAIL | NODE_FAIL | NODE_HANDSHAKE)) !== 0) {
          problems.push(`${a.name} flags ${b.name} ${entry.flags}`);
        }
        if ((entry.flags & NODE_MASTER) !== (me.flags & NODE_MASTER) || entry.masterId !== me.masterId) {
          problems.push(`${a.name} sees ${b.name} in another role`);
        }
      }
    }
    const reference = live[0]?.state ?? null;
    if (reference !== null) {
      for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
        const owner = reference.slots[slot];
        if (owner === null) {
          problems.push(`slot ${slot} unassigned`);
          break;
        }
        const ownerNode = live.find((n) => n.id === owner.id);
        if (ownerNode === undefined || !ownerNode.state!.isMaster(ownerNode.state!.myself)) {
          problems.push(`slot ${slot} owned by ${this.trace.shorten(owner.id)}, not a live master`);
          break;
        }
        if (live.some((n) => n.state!.slots[slot]?.id !== owner.id)) {
          problems.push(`views of slot ${slot} differ`);
          break;
        }
      }
    }
    return problems;
  }

  /** Invariant e2: two live masters claiming one slot have different configEpochs. */
  private checkClaims(): void {
    const claim = new Map<number, Node>();
    for (const node of this.nodes) {
      const state = node.state;
      if (!node.up || state === null || !state.isMaster(state.myself) || state.myself.numSlots === 0) continue;
      const epoch = state.myself.configEpoch;
      const other = claim.get(epoch);
      if (other !== undefined) {
        for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
          if (state.slots[slot] === state.myself && other.state!.slots[slot] === other.state!.myself) {
            this.violate("uniqueClaims", `${node.name} and ${other.name} claim slot ${slot} with epoch ${epoch}`);
            break;
          }
        }
      }
      claim.set(epoch, node);
    }
  }

  /** The scenario's fault or command, then polling until convergence. */
  private act(): void {
    const s = this.scenario;
    this.net.faults = {
      dropRate: s.dropRate,
      dropMode: s.dropMode,
      rtoMaxMs: Math.max(200, Math.floor(s.nodeTimeoutMs / 4)),
      duplicateRate: 0,
      spikeRate: 0,
      spikeMaxMs: 0,
    };
    this.actionAt = this.t;
    const master = this.nodes[this.rng.int(s.masters)];
    const replicas = this.nodes.filter((n) => n.state?.myself.masterId === master.id);
    this.victim = master;
    this.note(`action: ${s.kind} on ${master.name} (replicas ${replicas.map((r) => r.name).join(",")})`);
    switch (s.kind) {
      case "crash":
        this.crash(master);
        if (s.restartOldMaster) {
          // It comes back once a replica replaced it (before that, it would simply resume as the master).
          const restart = () => {
            if (this.done) return;
            if (this.promotedAt === null) this.schedule(this.t + 1000, restart);
            else this.boot(master, master.savedText);
          };
          this.schedule(this.t + this.boundMs + 2000, restart);
        }
        break;
      case "manual":
      case "force":
      case "takeover": {
        const replica = this.rng.pick(replicas);
        const mode = s.kind === "manual" ? "" : s.kind;
        // A vote lost with a reset connection makes the attempt time out, as in Redis: the operator retries.
        const retryEveryMs = Math.max(MF_TIMEOUT_MS, 2 * s.nodeTimeoutMs) + 500;
        const attempt = (left: number) => {
          if (this.promotedAt !== null || this.done || !replica.up) return;
          this.note(`CLUSTER FAILOVER ${mode} on ${replica.name}`);
          this.step(replica, (state, now) => {
            const error = startManualFailover(state, mode, now);
            if (error !== null) this.violate("setup", `${replica.name} CLUSTER FAILOVER ${mode}: ${error}`);
          });
          if (left > 0) this.schedule(this.t + retryEveryMs, () => attempt(left - 1));
        };
        attempt(MANUAL_FAILOVER_ATTEMPTS - 1);
        break;
      }
      case "partition":
      case "oneway": {
        // One-way: the master still hears everyone (so it never flags them PFAIL) but nobody hears it.
        if (s.kind === "oneway") this.net.mute(master.index);
        else this.net.partition(this.nodes.map((n) => (n === master ? 1 : 0)), "stall");
        this.schedule(this.t + this.boundMs + 1000, () => {
          this.healed = true;
          this.note("partition healed");
          this.net.heal();
        });
        break;
      }
      case "migration": {
        // Master m1's only replica dies for good: m0 (two replicas) must give it one.
        const orphan = this.nodes[1];
        this.victim = orphan;
        const lost = this.nodes.find((n) => n.state?.myself.masterId === orphan.id)!;
        this.crash(lost);
        break;
      }
    }
    const boundApplies = this.boundApplies();
    if (s.kind !== "migration" && boundApplies) {
      this.schedule(this.actionAt + this.boundMs + 1, () => {
        if (this.promotedAt === null && !this.done) this.violate("bound", `no promotion within ${this.boundMs} ms`);
      });
    }
    // Retries come every 2 × auth timeout: give runs without a bound time for several attempts.
    if (this.options.sabotage !== undefined) {
      const states = new Map<string, ClusterState>();
      for (const node of this.nodes) if (node.state !== null) states.set(node.name, node.state);
      this.note("sabotage");
      this.options.sabotage(states);
    }
    const deadline = this.t + this.boundMs + s.nodeTimeoutMs * 8 + MIGRATION_DELAY_MS + 20_000 +
      (boundApplies ? 0 : 90_000);
    this.checkClaims();
    const poll = () => {
      if (this.settled()) {
        this.finish();
        return;
      }
      if (this.t > deadline) {
        const problems = this.convergenceProblems();
        this.violate(
          s.kind === "migration" ? "migration" : "converge",
          problems.slice(0, 5).join("; ") || "no promotion happened",
        );
        this.done = true;
        return;
      }
      this.schedule(this.t + POLL_EVERY_MS, poll);
    };
    this.schedule(this.t + POLL_EVERY_MS, poll);
  }

  /**
   * Whether invariant e3 applies. Not with reset connections (a lost vote waits for the retry after
   * 2 × auth_timeout), and not with several replicas: two with the same offset share rank 0 and can split
   * the votes of an epoch, as in Redis, again at each retry; those runs must only converge. Nor with loss and an
   * election base delay under Redis's 500 ms: that delay is what lets the FAIL reach every master first, and a
   * master that has not heard it yet denies its vote ("its master is up") until the retry.
   */
  private boundApplies(): boolean {
    const s = this.scenario;
    const lossy = s.dropRate > 0;
    return (!lossy || (s.dropMode === "retransmit" && s.baseDelayMs >= 500)) && s.replicasPerMaster === 1;
  }

  /** Whether the scenario reached its end state. */
  private settled(): boolean {
    const s = this.scenario;
    if (this.convergenceProblems().length > 0) return false;
    const victim = this.victim!;
    if (s.kind === "migration") {
      return this.nodes.some((n) => n.up && n.state?.myself.masterId === victim.id);
    }
    // A master cut off may come back before an election succeeded (votes lost with reset connections).
    if (this.promotedAt === null) return (s.kind === "partition" || s.kind === "oneway") && this.healed;
    // The old master, when it runs, must be a replica again.
    if (victim.up && victim.state !== null && victim.state.isMaster(victim.state.myself)) return false;
    if (s.kind === "crash" && s.restartOldMaster && !victim.up) return false;
    return true;
  }

  private finish(): void {
    const s = this.scenario;
    const victim = this.victim!;
    if (victim.up && victim.state !== null && victim.state.isMaster(victim.state.myself)) {
      this.countWrites(victim);
      this.noteLostWrites(victim);
    }
    if (s.kind === "crash") {
      const winners = new Set(this.promotions.map((p) => p.name));
      if (winners.size !== 1) {
        this.violate("oneWinnerPerMaster", `promoted: ${[...winners].join(",") || "nobody"}`);
      }
    }
    this.note("converged");
    this.done = true;
  }
}
