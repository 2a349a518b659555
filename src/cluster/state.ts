/**
 * The cluster state machine (design principle 1): the node table, slot ownership, epochs and the
 * bus logic, with no sockets, files, clocks or randomness of its own. The shell (`shell.ts`) and
 * the simulator (`tests/sim/`) feed it events — a message on a link, a link going up or down, a
 * tick with `now`, an admin command — and carry out the effects it queues (`drainEffects`).
 */
import { type BusMessage, emptyMessage, MSG_TYPE_COUNT, MSGFLAG0_PAUSED } from "./bus/message.ts";
import {
  CLUSTER_SLOTS,
  type ClusterNode,
  newNode,
  NODE_HANDSHAKE,
  NODE_MASTER,
  NODE_MIGRATE_TO,
  NODE_MYSELF,
  NODE_SLAVE,
} from "./node.ts";

/** Log levels of the `log` effect, as the server's logger names them. */
export type ClusterLogLevel = "debug" | "verbose" | "notice" | "warning";

/** What the state machine asks its shell to do. */
export type Effect =
  /** Open an outbound TCP link to a node's bus port; answer with `linkUp` or `linkDown`. */
  | { kind: "connect"; link: number; host: string; port: number }
  /** Send a message on a link. */
  | { kind: "send"; link: number; msg: BusMessage }
  /** Close a link (no `linkDown` event follows). */
  | { kind: "close"; link: number }
  /** Save nodes.conf (with fsync when asked): before the step ends, or in the background, waited for by nothing. */
  | { kind: "persist"; fsync: boolean; background: boolean }
  /** Delete every key of these slots (they moved to another node). */
  | { kind: "delete-slot-keys"; slots: number[] }
  /** Replicate from this master (null: stop replicating and become a master). */
  | { kind: "replicate"; masterId: string | null }
  /** Pause client writes until this unix ms, 0 to resume (a master in a manual failover). */
  | { kind: "pause-writes"; untilMs: number }
  /** My shard stopped serving these slots: their shard channels' subscribers are unsubscribed. */
  | { kind: "shard-slots-lost"; slots: number[] }
  /** Deliver a PUBLISH (or SPUBLISH, `shard`) that arrived on the bus to local subscribers. */
  | { kind: "deliver-publish"; channel: string; message: string; shard: boolean }
  | { kind: "log"; level: ClusterLogLevel; text: string };

/** A bus link as the state machine tracks it. */
export interface Link {
  id: number;
  /** The node at the other end: for outbound links the node we connected to; for inbound ones once bound. */
  node: ClusterNode | null;
  outbound: boolean;
  createdAt: number;
  /** Outbound links: connected (the first PING/MEET has been sent). */
  connected: boolean;
  /** Socket addresses: the peer's ip, and our own local ip on this connection ("" until known). */
  peerIp: string;
  localIp: string;
}

/** The node's view of the data it serves, asked by the cluster logic (keys per slot, replication offset). */
export interface ClusterDataView {
  /** Number of keys in a slot of db 0. */
  countKeysInSlot(slot: number): number;
  /** Number of keys in db 0. */
  dbSize(): number;
  /** Replication offset advertised in message headers. */
  replOffset(): number;
  /**
   * Ms since the replication link last heard from the master, or since it went down (Redis's data age
   * input: `lastinteraction` / `repl_down_since`); absent or 0 when unknown. Read by replicas' elections.
   */
  masterLinkIdleMs?(now: number): number;
}

/** Settings from the config the cluster logic reads (refreshed by the shell after CONFIG SET). */
export interface ClusterSettings {
  nodeTimeoutMs: number;
  requireFullCoverage: boolean;
  allowReadsWhenDown: boolean;
  allowPubsubshardWhenDown: boolean;
  allowReplicaMigration: boolean;
  migrationBarrier: number;
  replicaValidityFactor: number;
  replicaNoFailover: boolean;
  announceIp: string;
  announceHostname: string;
  preferredEndpointType: "ip" | "hostname" | "unknown-endpoint";
  /** Ports this node announces: client port, plaintext port (TLS only, else 0), bus port. */
  port: number;
  pport: number;
  cport: number;
  /** `repl-ping-replica-period` in ms (part of the replica validity bound). */
  replPingReplicaPeriodMs: number;
  /** Tessera: the election delay is base + random(0..random-1) + rank × rank delay (Redis: 500, 500, 1000). */
  electionBaseDelayMs: number;
  electionRandomDelayMs: number;
  electionRankDelayMs: number;
  /** Tessera: a master fences writes after this % of node_timeout without a majority of masters (0: off). */
  writeFencePercent: number;
}

/**
 * Redis 7.0's default cluster settings for a node on client port `port` (bus port + 10000), with
 * `overrides`; the simulator and tests start from these, the server reads its config (shell.ts).
 */
export function defaultClusterSettings(port: number, overrides: Partial<ClusterSettings> = {}): ClusterSettings {
  return {
    nodeTimeoutMs: 15000,
    requireFullCoverage: true,
    allowReadsWhenDown: false,
    allowPubsubshardWhenDown: true,
    allowReplicaMigration: true,
    migrationBarrier: 1,
    replicaValidityFactor: 10,
    replicaNoFailover: false,
    announceIp: "",
    announceHostname: "",
    preferredEndpointType: "ip",
    port,
    pport: 0,
    cport: port + 10000,
    replPingReplicaPeriodMs: 10_000,
    electionBaseDelayMs: 500,
    electionRandomDelayMs: 500,
    electionRankDelayMs: 1000,
    writeFencePercent: 90,
    ...overrides,
  };
}

/** The whole cluster state of one node. */
export class ClusterState {
  readonly myself: ClusterNode;
  /** Every known node by id, myself and handshake nodes included (insertion order = table order). */
  readonly nodes = new Map<string, ClusterNode>();
  /** Owner of each slot, null when unassigned. */
  readonly slots: (ClusterNode | null)[] = new Array(CLUSTER_SLOTS).fill(null);
  /** Open slots (resharding issue): the migration target / import source, null when none. */
  readonly migratingTo: (ClusterNode | null)[] = new Array(CLUSTER_SLOTS).fill(null);
  readonly importingFrom: (ClusterNode | null)[] = new Array(CLUSTER_SLOTS).fill(null);
  /** Slots whose owner stopped claiming them (Redis's owner_not_claiming_slot bitmap). */
  readonly ownerNotClaiming = new Uint8Array(CLUSTER_SLOTS >> 3);
  currentEpoch = 0;
  lastVoteEpoch = 0;
  /** Cluster state as CLUSTER INFO and routing see it. */
  state: "ok" | "fail" = "fail";
  /** Masters with at least one slot (CLUSTER INFO cluster_size), as of the last state update; Redis starts at 1. */
  size = 1;
  /** Messages sent / received per type (index = type number). */
  readonly statsSent: number[] = new Array(MSG_TYPE_COUNT).fill(0);
  readonly statsReceived: number[] = new Array(MSG_TYPE_COUNT).fill(0);
  /** Incoming messages dropped as invalid (bad frame or length, unknown sender outside a handshake). */
  droppedMessages = 0;
  /** Links by id. */
  readonly links = new Map<number, Link>();
  /** Ids forgotten with CLUSTER FORGET: id -> unix ms until which gossip about it is ignored. */
  readonly blacklist = new Map<string, number>();
  /** Of those, the ids a peer's forgotten-node extension made me forget (not a CLUSTER FORGET sent to me). */
  readonly forgottenByPeers = new Set<string>();
  settings: ClusterSettings;
  readonly data: ClusterDataView;
  private effects: Effect[] = [];
  private nextLinkId = 1;

  /** Randomness, injected: the shell passes Math.random, the simulator a seeded generator. */
  readonly rng: () => number;
  /** Cron iterations so far (every 10th pings a random node). */
  cronIterations = 0;
  /** PFAIL nodes counted by the last cron (how many PFAIL entries gossip carries). */
  pfailNodes = 0;
  /** First state evaluation, and last time this master was in a minority (clusterUpdateState's statics). */
  firstStateCheckAt = 0;
  amongMinorityAt = 0;

  // Replica-side election (Redis's failover_auth_* fields), see election.ts.
  /** When the current election may start (or started); 0 when none was scheduled. */
  failoverAuthTime = 0;
  failoverAuthCount = 0;
  failoverAuthSent = false;
  failoverAuthRank = 0;
  failoverAuthEpoch = 0;
  /** Why the last attempt could not proceed (a CANT_FAILOVER_* code), and when it was logged. */
  cantFailoverReason = 0;
  cantFailoverLoggedAt = 0;

  // Manual failover (Redis's mf_* fields), see manual_failover.ts.
  /** Deadline of the manual failover in progress, 0 when none. */
  mfEnd = 0;
  /** Replica: the election may start (offsets agree, or FORCE). */
  mfCanStart = false;
  /** Master: the replica doing the manual failover. */
  mfReplica: ClusterNode | null = null;
  /** Replica: the paused master's offset, -1 until a PAUSED header arrives. */
  mfMasterOffset = -1;

  /** The master id last handed to the `replicate` effect ("" for none yet, null after promotion). */
  replicatingFrom: string | null | "" = "";
  /** Tessera write fence: unix ms from which writes are refused (Infinity: not fenced), see write_fence.ts. */
  writeFenceAt = Infinity;
  /** Whether the last cron tick found writes fenced (the transitions are logged). */
  writeFenceUp = false;

  constructor(myId: string, settings: ClusterSettings, data: ClusterDataView, now: number, rng: () => number) {
    this.settings = settings;
    this.data = data;
    this.rng = rng;
    this.myself = newNode(myId, NODE_MYSELF | NODE_MASTER, now);
    this.nodes.set(myId, this.myself);
  }

  /** Returns and clears the effects queued since the last call. */
  drainEffects(): Effect[] {
    if (this.lostSlots.length > 0) {
      this.effects.push({ kind: "shard-slots-lost", slots: this.lostSlots });
      this.lostSlots = [];
    }
    const out = this.effects;
    this.effects = [];
    return out;
  }

  /** Slots my shard (I, or my master) stopped serving since the last drain (Redis's removeChannelsInSlot). */
  private lostSlots: number[] = [];

  /** Queues an effect. */
  emit(effect: Effect): void {
    this.effects.push(effect);
  }

  /** A new link id. */
  allocateLinkId(): number {
    return this.nextLinkId++;
  }

  /** The master whose slots and configEpoch this node advertises: itself, or its master. */
  myMaster(): ClusterNode | null {
    const m = this.myself.masterId;
    return m === null ? null : this.nodes.get(m) ?? null;
  }

  /** Gives a slot to a node (or unassigns it with null), keeping every node's `numSlots` right. */
  setSlotOwner(slot: number, node: ClusterNode | null): void {
    const old = this.slots[slot];
    if (old === node) return;
    if (old !== null && (old === this.myself || old.id === this.myself.masterId)) this.lostSlots.push(slot);
    const byte = slot >> 3, bit = 1 << (slot & 7);
    if (old !== null) {
      old.numSlots--;
      old.slotBits[byte] &= ~bit;
    }
    if (node !== null) {
      node.numSlots++;
      node.slotBits[byte] |= bit;
    }
    this.slots[slot] = node;
    this.ownerNotClaiming[slot >> 3] &= ~(1 << (slot & 7));
  }

  /** The replicas of a master, in table order. */
  replicasOf(master: ClusterNode): ClusterNode[] {
    const out: ClusterNode[] = [];
    for (const n of this.nodes.values()) if (n.masterId === master.id && n !== master) out.push(n);
    return out;
  }

  /** Whether a node is a master (flag MASTER). */
  isMaster(node: ClusterNode): boolean {
    return (node.flags & NODE_MASTER) !== 0;
  }

  /** Adds a node to the table. */
  addNode(node: ClusterNode): void {
    this.nodes.set(node.id, node);
  }

  /**
   * Removes a node (Redis's clusterDelNode): its slots become unassigned, open slots toward it are
   * closed, its failure reports about others are dropped, its links are closed.
   */
  deleteNode(node: ClusterNode): void {
    if (node === this.myself) return;
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
      if (this.importingFrom[slot] === node) this.importingFrom[slot] = null;
      if (this.migratingTo[slot] === node) this.migratingTo[slot] = null;
      if (this.slots[slot] === node) this.setSlotOwner(slot, null);
    }
    for (const other of this.nodes.values()) {
      other.failReports.delete(node.id);
      if (other.masterId === node.id && other !== this.myself) other.masterId = null;
    }
    if (node.link !== null) this.freeLink(node.link);
    if (node.inboundLink !== null) this.freeLink(node.inboundLink);
    this.nodes.delete(node.id);
  }

  /** Gives a node a new id (end of a handshake, CLUSTER RESET HARD), keeping its table position semantics. */
  renameNode(node: ClusterNode, newId: string): void {
    this.nodes.delete(node.id);
    this.log("debug", `Renaming node ${node.id} into ${newId}`);
    node.id = newId;
    this.nodes.set(newId, node);
  }

  /** Closes a link and detaches it from its node; `notify` false when the shell already saw it close. */
  freeLink(linkId: number, notify = true): void {
    const link = this.links.get(linkId);
    if (link === undefined) return;
    this.links.delete(linkId);
    const node = link.node;
    if (node !== null) {
      if (node.link === linkId) node.link = null;
      if (node.inboundLink === linkId) node.inboundLink = null;
    }
    if (notify) this.emit({ kind: "close", link: linkId });
  }

  /** A new outbound link to a node; the shell connects it and answers linkUp / linkDown. */
  openLink(node: ClusterNode, now: number): Link {
    const link: Link = {
      id: this.allocateLinkId(),
      node,
      outbound: true,
      createdAt: now,
      connected: false,
      peerIp: node.ip,
      localIp: "",
    };
    this.links.set(link.id, link);
    node.link = link.id;
    this.emit({ kind: "connect", link: link.id, host: node.ip, port: node.cport });
    return link;
  }

  /** Binds an inbound link to the node that sent on it; an older inbound link of that node is closed. */
  bindInboundLink(node: ClusterNode, link: Link): void {
    if (node.inboundLink === link.id) return;
    if (node.inboundLink !== null) this.freeLink(node.inboundLink);
    node.inboundLink = link.id;
    link.node = node;
  }

  /**
   * Turns a node into a master (clusterSetNodeAsMaster): detached from its master; a promoted peer gets
   * MIGRATE_TO (it had replica siblings), myself does not.
   */
  setNodeAsMaster(node: ClusterNode): void {
    if (this.isMaster(node)) return;
    if (node.masterId !== null) {
      this.detachReplica(node);
      if (node !== this.myself) node.flags |= NODE_MIGRATE_TO;
    }
    node.masterId = null;
    node.flags = (node.flags & ~NODE_SLAVE) | NODE_MASTER;
    this.persist(true);
  }

  /** Removes a replica from its master's list (clusterNodeRemoveSlave): a master left without replicas loses MIGRATE_TO. */
  detachReplica(replica: ClusterNode): void {
    const master = replica.masterId === null ? undefined : this.nodes.get(replica.masterId);
    replica.masterId = null;
    if (master !== undefined && this.replicasOf(master).length === 0) master.flags &= ~NODE_MIGRATE_TO;
  }

  /** Attaches a replica to a master (clusterNodeAddSlave): a master with replicas is a migration target. */
  attachReplica(replica: ClusterNode, master: ClusterNode): void {
    if (replica.masterId === master.id) return;
    if (replica.masterId !== null) this.detachReplica(replica);
    replica.masterId = master.id;
    master.flags |= NODE_MIGRATE_TO;
  }

  /** A copy of a node's slot bitmap (a message keeps it until it is encoded, after later changes). */
  slotBitmap(node: ClusterNode): Uint8Array {
    return node.slotBits.slice();
  }

  /** A message of a type with this node's header (clusterBuildMessageHdr). */
  buildMessage(type: number): BusMessage {
    const me = this.myself;
    const master = (me.flags & NODE_SLAVE) !== 0 ? this.myMaster() ?? me : me;
    const msg = emptyMessage(type);
    msg.sender = me.id;
    msg.myip = this.settings.announceIp;
    msg.port = this.settings.port;
    msg.pport = this.settings.pport;
    msg.cport = this.settings.cport;
    msg.myslots = this.slotBitmap(master);
    msg.configEpoch = master.configEpoch;
    msg.slaveof = (me.flags & NODE_SLAVE) !== 0 ? me.masterId : null;
    msg.flags = me.flags;
    msg.state = this.state === "ok" ? 0 : 1;
    msg.currentEpoch = this.currentEpoch;
    msg.offset = this.data.replOffset();
    // A master in a manual failover tells its replica it is paused (and at which offset) in every header.
    if ((me.flags & NODE_MASTER) !== 0 && this.mfEnd !== 0) msg.mflags |= MSGFLAG0_PAUSED;
    return msg;
  }

  /** Sends a message on a link and counts it. */
  send(linkId: number, msg: BusMessage): void {
    if (!this.links.has(linkId)) return;
    if (msg.type < MSG_TYPE_COUNT) this.statsSent[msg.type]++;
    this.emit({ kind: "send", link: linkId, msg });
  }

  /** Sends a message to every node with an outbound link, except myself and handshake nodes. */
  broadcast(msg: BusMessage): void {
    for (const node of this.nodes.values()) {
      if (node === this.myself || (node.flags & NODE_HANDSHAKE) !== 0 || node.link === null) continue;
      this.send(node.link, msg);
    }
  }

  /** Asks the shell to save nodes.conf before the step ends (coalesced by the shell; fsync when any request asks). */
  persist(fsync = false): void {
    this.emit({ kind: "persist", fsync, background: false });
  }

  /**
   * Asks the shell to save nodes.conf soon, off the request path: no reply or message waits for it. For changes
   * gossip would teach this node again after a crash (learned epochs, slot owners, FAIL) and for SETSLOT.
   */
  persistSoon(fsync = false): void {
    this.emit({ kind: "persist", fsync, background: true });
  }

  /** A log line. */
  log(level: ClusterLogLevel, text: string): void {
    this.emit({ kind: "log", level, text });
  }

  /** Masters serving at least one slot (the size failure quorums are counted against). */
  countSizedMasters(): number {
    let size = 0;
    for (const n of this.nodes.values()) if (this.isMaster(n) && n.numSlots > 0) size++;
    return size;
  }
}
