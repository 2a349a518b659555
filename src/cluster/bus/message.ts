/**
 * Cluster bus messages as decoded values (Redis 7.0's clusterMsg, `reference/cluster-bus.md`
 * sections 4 and 6). The codec turns them into bytes and back; the state machine only sees these.
 */

export const MSG_PING = 0;
export const MSG_PONG = 1;
export const MSG_MEET = 2;
export const MSG_FAIL = 3;
export const MSG_PUBLISH = 4;
export const MSG_FAILOVER_AUTH_REQUEST = 5;
export const MSG_FAILOVER_AUTH_ACK = 6;
export const MSG_UPDATE = 7;
export const MSG_MFSTART = 8;
export const MSG_MODULE = 9;
export const MSG_PUBLISHSHARD = 10;
/** Number of known message types (types >= this are unknown: accepted, counted nowhere, ignored). */
export const MSG_TYPE_COUNT = 11;

/** Stats names of the message types, by type number (CLUSTER INFO `cluster_stats_messages_<name>_sent`). */
export const MSG_TYPE_NAMES = [
  "ping",
  "pong",
  "meet",
  "fail",
  "publish",
  "auth-req",
  "auth-ack",
  "update",
  "mfstart",
  "module",
  "publishshard",
];

/** mflags[0] bits. */
export const MSGFLAG0_PAUSED = 1;
export const MSGFLAG0_FORCEACK = 2;
export const MSGFLAG0_EXT_DATA = 4;

/** Bytes of the fixed header, of one gossip entry, and of the slot bitmap. */
export const HEADER_BYTES = 2256;
export const GOSSIP_ENTRY_BYTES = 104;
export const SLOT_BITMAP_BYTES = 2048;

/** One gossip entry: what the sender knows of another node. */
export interface GossipEntry {
  nodeId: string;
  /** The sender's ping_sent / pong_received for that node, in **seconds**. */
  pingSentSec: number;
  pongReceivedSec: number;
  ip: string;
  port: number;
  cport: number;
  flags: number;
  pport: number;
}

/** A forgotten-node ping extension (Redis 7.2's type 2): drop this node and ignore it for `ttlSec` seconds. */
export interface ForgottenNode {
  nodeId: string;
  ttlSec: number;
}

/** The UPDATE body: a node's configEpoch and slots. */
export interface UpdateBody {
  configEpoch: number;
  nodeId: string;
  slots: Uint8Array;
}

/** A decoded bus message: the header fields plus the body of its type. */
export interface BusMessage {
  type: number;
  /** Sender's announced client port, bus port and plaintext port. */
  port: number;
  cport: number;
  pport: number;
  currentEpoch: number;
  /** Sender's configEpoch, or its master's when the sender is a replica. */
  configEpoch: number;
  /** Replication offset. */
  offset: number;
  sender: string;
  /** 2048-byte bitmap, slot s is bit (s & 7) of byte (s >> 3). */
  myslots: Uint8Array;
  /** The sender's master id, null when the field is all zeros. */
  slaveof: string | null;
  /** cluster-announce-ip, "" when not set. */
  myip: string;
  flags: number;
  /** 0 = ok, 1 = fail. */
  state: number;
  /** mflags[0]. */
  mflags: number;
  /** PING / PONG / MEET: gossip entries and the hostname extension (null when absent). */
  gossip: GossipEntry[];
  hostname: string | null;
  /** PING / PONG / MEET: forgotten-node extensions (CLUSTER FORGET spreading through gossip). */
  forgotten: ForgottenNode[];
  /** FAIL: the failing node's id. */
  failing: string;
  /** PUBLISH / PUBLISHSHARD: channel and message as latin1 strings. */
  channel: string;
  message: string;
  /** UPDATE body. */
  update: UpdateBody | null;
}

/** Whether a slot's bit is set in a bitmap. */
export function slotBit(bitmap: Uint8Array, slot: number): boolean {
  return (bitmap[slot >> 3] & (1 << (slot & 7))) !== 0;
}

/** Sets a slot's bit. */
export function setSlotBit(bitmap: Uint8Array, slot: number): void {
  bitmap[slot >> 3] |= 1 << (slot & 7);
}

/** A message with every field at its zero value, of the given type. */
export function emptyMessage(type: number): BusMessage {
  return {
    type,
    port: 0,
    cport: 0,
    pport: 0,
    currentEpoch: 0,
    configEpoch: 0,
    offset: 0,
    sender: "",
    myslots: new Uint8Array(SLOT_BITMAP_BYTES),
    slaveof: null,
    myip: "",
    flags: 0,
    state: 0,
    mflags: 0,
    gossip: [],
    hostname: null,
    forgotten: [],
    failing: "",
    channel: "",
    message: "",
    update: null,
  };
}
