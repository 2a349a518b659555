/**
 * A cluster node as this node knows it (Redis's clusterNode), and the node flags of the bus
 * protocol (`reference/cluster-bus.md` section 5).
 */

export const NODE_MASTER = 1;
export const NODE_SLAVE = 2;
export const NODE_PFAIL = 4;
export const NODE_FAIL = 8;
export const NODE_MYSELF = 16;
export const NODE_HANDSHAKE = 32;
export const NODE_NOADDR = 64;
export const NODE_MEET = 128;
export const NODE_MIGRATE_TO = 256;
export const NODE_NOFAILOVER = 512;

/** Number of hash slots. */
export const CLUSTER_SLOTS = 16384;
/** Length of a node id (40 lowercase hex chars). */
export const NODE_ID_LENGTH = 40;

/** Flag words in CLUSTER NODES order (MEET and MIGRATE_TO are never shown). */
const FLAG_WORDS: [number, string][] = [
  [NODE_MYSELF, "myself"],
  [NODE_MASTER, "master"],
  [NODE_SLAVE, "slave"],
  [NODE_PFAIL, "fail?"],
  [NODE_FAIL, "fail"],
  [NODE_HANDSHAKE, "handshake"],
  [NODE_NOADDR, "noaddr"],
  [NODE_NOFAILOVER, "nofailover"],
];

/** The flags as CLUSTER NODES prints them (`myself,master`, `noflags` when none). */
export function flagsToString(flags: number): string {
  const words: string[] = [];
  for (const [bit, word] of FLAG_WORDS) if ((flags & bit) !== 0) words.push(word);
  return words.length === 0 ? "noflags" : words.join(",");
}

/** Parses a flag word of nodes.conf; null for an unknown word (a corrupt file). */
export function flagFromWord(word: string): number | null {
  if (word === "noflags") return 0;
  for (const [bit, w] of FLAG_WORDS) if (w === word) return bit;
  return null;
}

/** Whether `id` is a valid node id: exactly 40 chars of `[a-z0-9]` (Redis's verifyClusterNodeId). */
export function isValidNodeId(id: string): boolean {
  if (id.length !== NODE_ID_LENGTH) return false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 122))) return false;
  }
  return true;
}

/** One known node. Times are unix milliseconds; 0 means never. */
export interface ClusterNode {
  id: string;
  flags: number;
  /** Creation time of this entry (handshake timeout). */
  createdAt: number;
  /** The node's configEpoch (for a replica, what it last advertised: its master's). */
  configEpoch: number;
  /** Id of its master when a replica, else null. */
  masterId: string | null;
  ip: string;
  port: number;
  cport: number;
  pport: number;
  hostname: string;
  /** Unix ms of our pending PING to it, 0 when none. */
  pingSent: number;
  pongReceived: number;
  /** Last time any message arrived from it. */
  dataReceived: number;
  failTime: number;
  /** Last time we voted for one of its replicas (master-side failover rule). */
  votedTime: number;
  /** Replication offset it last advertised on the bus, and when. */
  replOffset: number;
  replOffsetTime: number;
  /** When it became an orphan master (replica migration). */
  orphanedTime: number;
  /**
   * Send time of the last PING of ours it answered (so it heard from us at or after this): the write fence
   * counts a master as in contact while this is recent.
   */
  fenceContactAt: number;
  /** Unix ms of the last PING sent only to refresh that contact (at most one per quarter node timeout). */
  fencePingAt: number;
  /** Failure reports: reporting master id -> unix ms of the report. */
  failReports: Map<string, number>;
  /** Our outbound link to it (a link id), null when none. */
  link: number | null;
  /** Its inbound link to us, once bound, null when none. */
  inboundLink: number | null;
  /** Number of slots it serves (masters). */
  numSlots: number;
  /** The slots it serves as a bus bitmap (bit `slot & 7` of byte `slot >> 3`), kept by ClusterState.setSlotOwner. */
  slotBits: Uint8Array;
  /** Outbound connects that failed in a row, and when the next one may start (reconnect backoff). */
  connectFailures: number;
  nextConnectAt: number;
}

/** A fresh node entry (Redis's createClusterNode). */
export function newNode(id: string, flags: number, now: number): ClusterNode {
  return {
    id,
    flags,
    createdAt: now,
    configEpoch: 0,
    masterId: null,
    ip: "",
    port: 0,
    cport: 0,
    pport: 0,
    hostname: "",
    pingSent: 0,
    pongReceived: 0,
    dataReceived: 0,
    failTime: 0,
    votedTime: 0,
    replOffset: 0,
    replOffsetTime: 0,
    orphanedTime: 0,
    fenceContactAt: 0,
    fencePingAt: 0,
    failReports: new Map(),
    link: null,
    inboundLink: null,
    numSlots: 0,
    slotBits: new Uint8Array(CLUSTER_SLOTS >> 3),
    connectFailures: 0,
    nextConnectAt: 0,
  };
}

/** A random node id from an rng returning [0, 1) (Redis's getRandomHexChars). */
export function randomNodeId(rng: () => number): string {
  let s = "";
  for (let i = 0; i < NODE_ID_LENGTH; i++) s += "0123456789abcdef"[Math.floor(rng() * 16)];
  return s;
}
