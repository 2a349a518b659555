/**
 * The simulator's virtual network: TCP connections between simulated nodes as two ordered pipes, with
 * latency, delay spikes, drops, duplicates, partitions (stalled or reset) and crashed peers. It mirrors
 * what `src/cluster/shell.ts` sees from real sockets: a connect succeeds or fails, bytes on one
 * connection arrive in order, a close is seen by the other end as EOF. Nothing here reads cluster state.
 */
import type { BusMessage } from "../../src/cluster/bus/message.ts";
import { BusFrameReader, decodeMessage, encodeMessage, FrameError } from "../../src/cluster/bus/codec.ts";
import type { Rng } from "./rng.ts";

/**
 * What a lost packet does to a TCP stream: `retransmit` delays it (and what follows) by a retransmission
 * timeout, `reset` cuts the connection; `lossy` loses just that message on a live connection, which TCP never
 * does and Redis does not tolerate (a lost PONG stays pending while the peer's own PINGs keep the link alive).
 */
export type DropMode = "retransmit" | "reset" | "lossy";
/** A partition either stalls traffic across it (packets vanish, connects hang) or resets connections across it. */
export type PartitionMode = "stall" | "reset";

/** The network's fault knobs; all zero when the network is healthy. */
export interface NetworkFaults {
  dropRate: number;
  dropMode: DropMode;
  /** Longest delay a retransmission adds. */
  rtoMaxMs: number;
  duplicateRate: number;
  spikeRate: number;
  spikeMaxMs: number;
}

/** Linux's minimum retransmission timeout; a retransmitted segment is late by this much or more. */
const MIN_RTO_MS = 200;

/** A network without faults. */
export const HEALTHY: NetworkFaults = {
  dropRate: 0,
  dropMode: "retransmit",
  rtoMaxMs: MIN_RTO_MS,
  duplicateRate: 0,
  spikeRate: 0,
  spikeMaxMs: 0,
};

/** Linux's SYN retransmissions: a connect to a silent host retries at these offsets, then fails (ETIMEDOUT). */
const SYN_RETRY_OFFSETS_MS = [1000, 3000, 7000, 15000, 31000, 63000];
const SYN_GIVE_UP_MS = 127000;
/** A reset reaches the local end this long after it happens. */
const RESET_NOTICE_MS = 1;

/** What the network needs from the simulator: time, scheduling, and the nodes' side of each socket event. */
export interface NetworkHost {
  /** Virtual time, ms. */
  time(): number;
  schedule(at: number, run: () => void): void;
  /** The node listening on a bus address, or -1. */
  nodeAt(host: string, port: number): number;
  ipOf(node: number): string;
  processUp(node: number): boolean;
  hostUp(node: number): boolean;
  incarnation(node: number): number;
  /** A connection arrived: returns the acceptor's link id (linkAccepted). */
  accepted(node: number, peerIp: string): number;
  /** The node's outbound connect succeeded (linkUp). */
  connected(node: number, link: number): void;
  /** The node's link failed or was closed by the peer (linkDown). */
  down(node: number, link: number): void;
  /** A message arrived on a link (processMessage). */
  deliver(node: number, link: number, msg: BusMessage): void;
  /** A frame that could not be decoded arrived: the shell drops the link (and the simulator reports it). */
  badFrame(node: number, link: number, reason: string): void;
}

/** One end of a connection. */
interface Endpoint {
  node: number;
  incarnation: number;
  link: number;
  open: boolean;
  /** Frames of encoded messages are cut by the real framer (created on first use). */
  reader: BusFrameReader | null;
}

/** Something travelling in one direction of a connection. */
interface Item {
  arrival: number;
  kind: "data" | "fin" | "rst";
  msg: BusMessage | null;
  bytes: Uint8Array | null;
}

/** One direction of a connection: items arrive in order. */
interface Pipe {
  items: Item[];
  lastArrival: number;
}

/** A TCP connection: side 0 dialed, side 1 accepted. */
interface Conn {
  id: number;
  ends: [Endpoint, Endpoint | null];
  status: "connecting" | "open" | "dead";
  /** Messages written before the connect completed (the shell's socket queue). */
  queued: BusMessage[];
  /** pipes[s] carries what side s sends. */
  pipes: [Pipe, Pipe];
  startedAt: number;
}

/** Where a node's link id lives. */
interface EndRef {
  conn: Conn;
  side: 0 | 1;
}

/** Counters of what the network did (for the run summary). */
export interface NetworkStats {
  delivered: number;
  encoded: number;
  dropped: number;
  duplicated: number;
  resets: number;
  connects: number;
  failedConnects: number;
}

/** The virtual network of one run. */
export class VirtualNetwork {
  faults: NetworkFaults = HEALTHY;
  /** Partition group of each node; nodes in different groups cannot talk. */
  private groups: number[];
  private partitionMode: PartitionMode = "stall";
  /** Nodes whose outgoing traffic stalls (one-way outages). */
  private readonly muted = new Set<number>();
  /** Links of each node's current process: link id -> end. */
  private endsOf: Map<number, EndRef>[];
  private readonly conns = new Set<Conn>();
  private nextConnId = 1;
  readonly stats: NetworkStats = {
    delivered: 0,
    encoded: 0,
    dropped: 0,
    duplicated: 0,
    resets: 0,
    connects: 0,
    failedConnects: 0,
  };

  constructor(
    private readonly host: NetworkHost,
    private readonly rng: Rng,
    nodeCount: number,
    private readonly latencyMinMs: number,
    private readonly latencyMaxMs: number,
    /** Fraction of messages sent as bytes through the real codec and framer. */
    private readonly codecFraction: number,
  ) {
    this.groups = new Array(nodeCount).fill(0);
    this.endsOf = Array.from({ length: nodeCount }, () => new Map());
  }

  /** Whether two nodes are on different sides of the current partition. */
  isCut(a: number, b: number): boolean {
    return this.groups[a] !== this.groups[b];
  }

  /** The current partition groups (a copy). */
  currentGroups(): number[] {
    return [...this.groups];
  }

  /** A one-way latency draw, with an occasional spike while faults are on. */
  private latency(): number {
    let ms = this.rng.range(this.latencyMinMs, this.latencyMaxMs);
    if (this.faults.spikeRate > 0 && this.rng.chance(this.faults.spikeRate)) {
      ms += this.rng.range(1, Math.max(1, this.faults.spikeMaxMs));
    }
    return ms;
  }

  /** A node's `connect` effect: dial `host:port` for its link. */
  connect(node: number, link: number, host: string, port: number): void {
    const now = this.host.time();
    const conn: Conn = {
      id: this.nextConnId++,
      ends: [this.endpoint(node, link), null],
      status: "connecting",
      queued: [],
      pipes: [{ items: [], lastArrival: 0 }, { items: [], lastArrival: 0 }],
      startedAt: now,
    };
    this.conns.add(conn);
    this.endsOf[node].set(link, { conn, side: 0 });
    this.stats.connects++;
    // SYN there, SYN-ACK back.
    this.host.schedule(now + this.latency() + this.latency(), () => this.attempt(conn, host, port, 0));
  }

  private endpoint(node: number, link: number): Endpoint {
    return { node, incarnation: this.host.incarnation(node), link, open: true, reader: null };
  }

  /** One try of a connect: succeeds, fails, or (silent peer) retries like TCP's SYN retransmission. */
  private attempt(conn: Conn, host: string, port: number, retry: number): void {
    const dialer = conn.ends[0];
    if (!dialer.open || conn.status !== "connecting") return;
    const target = this.host.nodeAt(host, port);
    if (target < 0) return this.failConnect(conn);
    const cut = this.isCut(dialer.node, target);
    if (cut && this.partitionMode === "reset") return this.failConnect(conn);
    if (cut || !this.host.hostUp(target)) {
      const now = this.host.time();
      if (retry >= SYN_RETRY_OFFSETS_MS.length) {
        this.host.schedule(conn.startedAt + SYN_GIVE_UP_MS, () => {
          if (dialer.open && conn.status === "connecting") this.failConnect(conn);
        });
        return;
      }
      const at = Math.max(now + 1, conn.startedAt + SYN_RETRY_OFFSETS_MS[retry]);
      this.host.schedule(at, () => this.attempt(conn, host, port, retry + 1));
      return;
    }
    // The host answers: refused when no process listens.
    if (!this.host.processUp(target)) return this.failConnect(conn);
    const acceptorLink = this.host.accepted(target, this.host.ipOf(dialer.node));
    const acceptor = this.endpoint(target, acceptorLink);
    conn.ends[1] = acceptor;
    this.endsOf[target].set(acceptorLink, { conn, side: 1 });
    conn.status = "open";
    // The shell writes what was queued first, then the PING or MEET of linkUp.
    const queued = conn.queued;
    conn.queued = [];
    for (const msg of queued) this.transmit(conn, 0, msg);
    if (dialer.open) this.host.connected(dialer.node, dialer.link);
  }

  private failConnect(conn: Conn): void {
    const dialer = conn.ends[0];
    conn.status = "dead";
    this.conns.delete(conn);
    this.stats.failedConnects++;
    if (!dialer.open) return;
    dialer.open = false;
    this.forget(dialer);
    this.host.down(dialer.node, dialer.link);
  }

  private forget(end: Endpoint): void {
    const refs = this.endsOf[end.node];
    const ref = refs.get(end.link);
    if (ref !== undefined && ref.conn.ends[ref.side] === end) refs.delete(end.link);
  }

  /** A node's `send` effect. */
  send(node: number, link: number, msg: BusMessage): void {
    const ref = this.endsOf[node].get(link);
    if (ref === undefined || !ref.conn.ends[ref.side]!.open) return;
    if (ref.conn.status === "connecting") ref.conn.queued.push(msg);
    else if (ref.conn.status === "open") this.transmit(ref.conn, ref.side, msg);
  }

  /** Puts a message on the wire from one side, with the faults in force. */
  private transmit(conn: Conn, side: 0 | 1, msg: BusMessage): void {
    const faults = this.faults;
    let lateMs = 0;
    if (faults.dropRate > 0 && this.rng.chance(faults.dropRate)) {
      this.stats.dropped++;
      if (faults.dropMode === "retransmit") {
        lateMs = this.rng.range(MIN_RTO_MS, Math.max(MIN_RTO_MS, faults.rtoMaxMs));
      } else {
        if (faults.dropMode === "reset") this.reset(conn);
        return;
      }
    }
    const useCodec = this.codecFraction > 0 && (this.codecFraction >= 1 || this.rng.chance(this.codecFraction));
    // Encoded at once, as the shell does: later changes to the object cannot leak into the wire.
    const bytes = useCodec ? encodeMessage(msg) : null;
    if (useCodec) this.stats.encoded++;
    const copies = faults.duplicateRate > 0 && this.rng.chance(faults.duplicateRate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      this.enqueue(conn, side, { arrival: 0, kind: "data", msg: useCodec ? null : msg, bytes }, lateMs);
    }
  }

  /** Puts an item in a pipe behind what is already there (`lateMs`: a retransmission's extra delay). */
  private enqueue(conn: Conn, side: 0 | 1, item: Item, lateMs = 0): void {
    const pipe = conn.pipes[side];
    const now = this.host.time();
    item.arrival = Math.max(pipe.lastArrival, now + this.latency() + lateMs);
    pipe.lastArrival = item.arrival;
    pipe.items.push(item);
    this.host.schedule(item.arrival, () => this.pump(conn, side));
  }

  /** Delivers what is due at the head of a pipe; stops at a partition (the rest waits for the heal). */
  private pump(conn: Conn, side: 0 | 1): void {
    const pipe = conn.pipes[side];
    const now = this.host.time();
    const from = conn.ends[side]!;
    const to = conn.ends[side === 0 ? 1 : 0]!;
    while (pipe.items.length > 0 && pipe.items[0].arrival <= now) {
      if (this.isCut(from.node, to.node) || this.muted.has(from.node)) return;
      const item = pipe.items.shift()!;
      this.arrive(conn, side, to, item);
    }
  }

  /** An item reaches an end. */
  private arrive(conn: Conn, side: 0 | 1, to: Endpoint, item: Item): void {
    const alive = this.host.processUp(to.node) && this.host.incarnation(to.node) === to.incarnation;
    if (!alive) {
      // A restarted host answers data for a connection it no longer has with a reset.
      if (item.kind === "data" && this.host.hostUp(to.node) && conn.ends[side]!.open) {
        this.enqueue(conn, side === 0 ? 1 : 0, { arrival: 0, kind: "rst", msg: null, bytes: null });
      }
      return;
    }
    if (!to.open) return;
    if (item.kind !== "data") {
      to.open = false;
      this.forget(to);
      this.maybeRetire(conn);
      this.host.down(to.node, to.link);
      return;
    }
    if (item.msg !== null) {
      this.stats.delivered++;
      this.host.deliver(to.node, to.link, item.msg);
      return;
    }
    this.receiveBytes(to, item.bytes!);
  }

  /** Feeds bytes through the real framer in random chunks and decodes every whole frame. */
  private receiveBytes(to: Endpoint, bytes: Uint8Array): void {
    const reader = to.reader ??= new BusFrameReader();
    let at = 0;
    while (at < bytes.length) {
      const take = this.rng.chance(0.5) ? bytes.length - at : 1 + this.rng.int(bytes.length - at);
      reader.push(bytes.subarray(at, at + take));
      at += take;
    }
    for (;;) {
      if (!to.open) return;
      const frame = reader.next();
      if (frame === null) return;
      if (frame instanceof FrameError) return this.host.badFrame(to.node, to.link, frame.reason);
      const decoded = decodeMessage(frame);
      if (!decoded.ok) {
        if (decoded.ignore) continue;
        return this.host.badFrame(to.node, to.link, decoded.reason);
      }
      this.stats.delivered++;
      this.host.deliver(to.node, to.link, decoded.msg);
    }
  }

  /** A node's `close` effect: its end is gone; the peer reads EOF after the data already sent. */
  close(node: number, link: number): void {
    const ref = this.endsOf[node].get(link);
    if (ref === undefined) return;
    const end = ref.conn.ends[ref.side]!;
    if (!end.open) return;
    end.open = false;
    this.forget(end);
    const conn = ref.conn;
    if (conn.status === "open") {
      const peer = conn.ends[ref.side === 0 ? 1 : 0]!;
      if (peer.open) this.enqueue(conn, ref.side, { arrival: 0, kind: "fin", msg: null, bytes: null });
    }
    this.maybeRetire(conn);
  }

  private maybeRetire(conn: Conn): void {
    if (conn.ends.every((e) => e === null || !e.open)) {
      conn.status = "dead";
      this.conns.delete(conn);
    }
  }

  /** Resets a connection: data in flight is lost and each open end sees the link go down. */
  reset(conn: Conn): void {
    if (conn.status === "dead") return;
    this.stats.resets++;
    conn.status = "dead";
    this.conns.delete(conn);
    conn.pipes[0].items = [];
    conn.pipes[1].items = [];
    const at = this.host.time() + RESET_NOTICE_MS;
    for (const end of conn.ends) {
      if (end === null || !end.open) continue;
      this.host.schedule(at, () => {
        if (!end.open) return;
        end.open = false;
        this.forget(end);
        if (this.host.processUp(end.node) && this.host.incarnation(end.node) === end.incarnation) {
          this.host.down(end.node, end.link);
        }
      });
    }
  }

  /**
   * A node's process (or whole host) died: its ends close. A process crash lets its kernel reset the
   * connections; a host crash leaves the peers' connections hanging.
   */
  crash(node: number, hostCrash: boolean): void {
    for (const { conn, side } of this.endsOf[node].values()) {
      const end = conn.ends[side]!;
      end.open = false;
      const peer = conn.ends[side === 0 ? 1 : 0];
      if (!hostCrash && conn.status === "open" && peer !== null && peer.open) {
        this.enqueue(conn, side, { arrival: 0, kind: "rst", msg: null, bytes: null });
      }
      this.maybeRetire(conn);
    }
    this.endsOf[node] = new Map();
  }

  /** Splits the nodes into groups; in `reset` mode connections across the cut are reset now. */
  partition(groups: number[], mode: PartitionMode): void {
    this.groups = [...groups];
    this.partitionMode = mode;
    if (mode !== "reset") return;
    for (const conn of [...this.conns]) {
      const [a, b] = conn.ends;
      if (b !== null && this.isCut(a.node, b.node)) this.reset(conn);
    }
  }

  /** A one-way outage: everything this node sends stalls (until `heal`), while it still receives. */
  mute(node: number): void {
    this.muted.add(node);
  }

  /** Removes the partition: stalled traffic flows again, in order, with fresh latencies. */
  heal(): void {
    this.groups.fill(0);
    this.muted.clear();
    const now = this.host.time();
    for (const conn of this.conns) {
      for (const side of [0, 1] as const) {
        const pipe = conn.pipes[side];
        if (pipe.items.length === 0 || pipe.items[0].arrival > now) continue;
        let last = now;
        for (const item of pipe.items) {
          item.arrival = Math.max(last, item.arrival <= now ? now + this.latency() : item.arrival);
          last = item.arrival;
          this.host.schedule(item.arrival, () => this.pump(conn, side));
        }
        pipe.lastArrival = last;
      }
    }
  }
}
