/**
 * The cluster bus wire codec: Redis 7.0.15's clusterMsg layout (`reference/cluster-bus.md` sections 3, 4, 6, 9),
 * BusMessage <-> bytes, and a framer that cuts a link's byte stream into whole messages.
 */
import { latin1View } from "../../resp/latin1.ts";
import {
  type BusMessage,
  emptyMessage,
  type ForgottenNode,
  GOSSIP_ENTRY_BYTES,
  type GossipEntry,
  HEADER_BYTES,
  MSG_FAIL,
  MSG_FAILOVER_AUTH_ACK,
  MSG_FAILOVER_AUTH_REQUEST,
  MSG_MEET,
  MSG_MFSTART,
  MSG_MODULE,
  MSG_PING,
  MSG_PONG,
  MSG_PUBLISH,
  MSG_PUBLISHSHARD,
  MSG_TYPE_NAMES,
  MSG_UPDATE,
  MSGFLAG0_EXT_DATA,
  SLOT_BITMAP_BYTES,
} from "./message.ts";

/** Protocol version of the header (`CLUSTER_PROTO_VER`). */
export const PROTOCOL_VERSION = 1;
/** Largest totlen the framer accepts; Redis takes any u32, a bound keeps a peer from making us buffer gigabytes. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;
/** Extension type 0, the only one 7.0.15 understands. */
export const EXT_TYPE_HOSTNAME = 0;
/** Redis 7.2's forgotten-node extension (7.0 logs and skips it): a 40-byte id, then a BE u64 TTL in seconds. */
export const EXT_TYPE_FORGOTTEN_NODE = 2;
const FORGOTTEN_NODE_EXT_BYTES = 8 + 40 + 8;

const SIGNATURE = [0x52, 0x43, 0x6d, 0x62]; // "RCmb"
const NODE_ID_BYTES = 40;
const IP_BYTES = 46;
const EXT_HEADER_BYTES = 8;
const FAIL_BODY_BYTES = NODE_ID_BYTES;
const PUBLISH_LENGTHS_BYTES = 8;
const UPDATE_BODY_BYTES = 8 + NODE_ID_BYTES + SLOT_BITMAP_BYTES;
/** MODULE body without payload: module_id (8), len (4), type (1). */
const MODULE_BODY_BYTES = 13;
const TWO_POW_32 = 4294967296;

/** Header field offsets (section 4). */
const OFF_TOTLEN = 4;
const OFF_VER = 8;
const OFF_PORT = 10;
const OFF_TYPE = 12;
const OFF_COUNT = 14;
const OFF_CURRENT_EPOCH = 16;
const OFF_CONFIG_EPOCH = 24;
const OFF_OFFSET = 32;
const OFF_SENDER = 40;
const OFF_MYSLOTS = 80;
const OFF_SLAVEOF = 2128;
const OFF_MYIP = 2168;
const OFF_EXTENSIONS = 2214;
const OFF_PPORT = 2246;
const OFF_CPORT = 2248;
const OFF_FLAGS = 2250;
const OFF_STATE = 2252;
const OFF_MFLAGS = 2253;

/** Gossip entry field offsets (section 6.1), relative to the entry. */
const GOSSIP_OFF_PING_SENT = 40;
const GOSSIP_OFF_PONG_RECEIVED = 44;
const GOSSIP_OFF_IP = 48;
const GOSSIP_OFF_PORT = 94;
const GOSSIP_OFF_CPORT = 96;
const GOSSIP_OFF_FLAGS = 98;
const GOSSIP_OFF_PPORT = 100;

/** What decodeMessage returns: the message, or why it was dropped (`ignore`: drop without logging, as Redis does). */
export type DecodeResult = { ok: true; msg: BusMessage } | { ok: false; reason: string; ignore?: boolean };

/** Whether a type carries gossip and extensions (PING, PONG, MEET). */
export function isPingFamily(type: number): boolean {
  return type === MSG_PING || type === MSG_PONG || type === MSG_MEET;
}

/** Redis's name of a message type in log lines (`clusterGetMessageTypeString`), "unknown" past the known types. */
export function messageTypeName(type: number): string {
  return MSG_TYPE_NAMES[type] ?? "unknown";
}

/** The header's type field, or null when there are fewer than 14 bytes (lets the caller count received types). */
export function headerType(bytes: Uint8Array): number | null {
  return bytes.length < OFF_TYPE + 2 ? null : (bytes[OFF_TYPE] << 8) | bytes[OFF_TYPE + 1];
}

function dataViewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function roundUp8(n: number): number {
  return (n + 7) & ~7;
}

/** Bytes of the hostname extension for a hostname (header + text + NUL, padded to 8). */
function hostnameExtensionBytes(hostname: string): number {
  return EXT_HEADER_BYTES + roundUp8(hostname.length + 1);
}

/** Writes a JS number as BE u64; negative numbers wrap like C's casts, fractions are truncated. */
function setU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, Math.floor(value / TWO_POW_32) >>> 0);
  view.setUint32(offset + 4, value >>> 0);
}

function getU64(view: DataView, offset: number): number {
  return view.getUint32(offset) * TWO_POW_32 + view.getUint32(offset + 4);
}

/** Writes up to `maxBytes` latin1 chars; the rest of the field stays zero (the buffer is fresh). */
function putLatin1(bytes: Uint8Array, offset: number, text: string, maxBytes: number): void {
  const n = Math.min(text.length, maxBytes);
  for (let i = 0; i < n; i++) bytes[offset + i] = text.charCodeAt(i) & 0xff;
}

function putBitmap(bytes: Uint8Array, offset: number, bitmap: Uint8Array): void {
  bytes.set(bitmap.length > SLOT_BITMAP_BYTES ? bitmap.subarray(0, SLOT_BITMAP_BYTES) : bitmap, offset);
}

/** Body bytes of a message (everything after the 2256-byte header). */
function bodyBytes(msg: BusMessage, hostname: string | null): number {
  switch (msg.type) {
    case MSG_PING:
    case MSG_PONG:
    case MSG_MEET:
      return GOSSIP_ENTRY_BYTES * msg.gossip.length + (hostname === null ? 0 : hostnameExtensionBytes(hostname)) +
        FORGOTTEN_NODE_EXT_BYTES * msg.forgotten.length;
    case MSG_FAIL:
      return FAIL_BODY_BYTES;
    case MSG_PUBLISH:
    case MSG_PUBLISHSHARD:
      return PUBLISH_LENGTHS_BYTES + msg.channel.length + msg.message.length;
    case MSG_UPDATE:
      return UPDATE_BODY_BYTES;
    case MSG_MODULE:
      return MODULE_BODY_BYTES;
    default:
      return 0;
  }
}

function writeGossipEntry(bytes: Uint8Array, view: DataView, at: number, entry: GossipEntry): void {
  putLatin1(bytes, at, entry.nodeId, NODE_ID_BYTES);
  view.setUint32(at + GOSSIP_OFF_PING_SENT, entry.pingSentSec >>> 0);
  view.setUint32(at + GOSSIP_OFF_PONG_RECEIVED, entry.pongReceivedSec >>> 0);
  putLatin1(bytes, at + GOSSIP_OFF_IP, entry.ip, IP_BYTES);
  view.setUint16(at + GOSSIP_OFF_PORT, entry.port);
  view.setUint16(at + GOSSIP_OFF_CPORT, entry.cport);
  view.setUint16(at + GOSSIP_OFF_FLAGS, entry.flags);
  view.setUint16(at + GOSSIP_OFF_PPORT, entry.pport);
}

/**
 * Encodes a message to its exact wire bytes. PING/PONG/MEET carry `gossip` and, when `hostname` is a non-empty
 * string, the hostname extension (EXT_DATA and extensions = 1; otherwise both cleared). Never pads.
 * Throws RangeError for messages that cannot be represented (over 65535 gossip entries or a hostname too long).
 */
export function encodeMessage(msg: BusMessage): Uint8Array {
  const pingFamily = isPingFamily(msg.type);
  const hostname = pingFamily && typeof msg.hostname === "string" && msg.hostname.length > 0 ? msg.hostname : null;
  if (pingFamily && msg.gossip.length > 0xffff) throw new RangeError(`too many gossip entries: ${msg.gossip.length}`);
  // Receivers read an extension's length as 16 bits (section 9), so a longer one could never be accepted.
  if (hostname !== null && hostnameExtensionBytes(hostname) > 0xffff) {
    throw new RangeError(`hostname too long for the bus: ${hostname.length} bytes`);
  }
  const totlen = HEADER_BYTES + bodyBytes(msg, hostname);
  const bytes = new Uint8Array(totlen);
  const view = dataViewOf(bytes);

  bytes.set(SIGNATURE, 0);
  view.setUint32(OFF_TOTLEN, totlen);
  view.setUint16(OFF_VER, PROTOCOL_VERSION);
  view.setUint16(OFF_PORT, msg.port);
  view.setUint16(OFF_TYPE, msg.type);
  view.setUint16(OFF_COUNT, pingFamily ? msg.gossip.length : 0);
  setU64(view, OFF_CURRENT_EPOCH, msg.currentEpoch);
  setU64(view, OFF_CONFIG_EPOCH, msg.configEpoch);
  setU64(view, OFF_OFFSET, msg.offset);
  putLatin1(bytes, OFF_SENDER, msg.sender, NODE_ID_BYTES);
  putBitmap(bytes, OFF_MYSLOTS, msg.myslots);
  if (msg.slaveof !== null) putLatin1(bytes, OFF_SLAVEOF, msg.slaveof, NODE_ID_BYTES);
  putLatin1(bytes, OFF_MYIP, msg.myip, IP_BYTES);
  const extensions = pingFamily ? (hostname === null ? 0 : 1) + msg.forgotten.length : 0;
  view.setUint16(OFF_EXTENSIONS, extensions);
  view.setUint16(OFF_PPORT, msg.pport);
  view.setUint16(OFF_CPORT, msg.cport);
  view.setUint16(OFF_FLAGS, msg.flags);
  bytes[OFF_STATE] = msg.state;
  // EXT_DATA must be set exactly when extensions follow, or 7.0.15 drops the message (section 9).
  bytes[OFF_MFLAGS] = extensions === 0 ? msg.mflags & ~MSGFLAG0_EXT_DATA : msg.mflags | MSGFLAG0_EXT_DATA;

  let at = HEADER_BYTES;
  switch (msg.type) {
    case MSG_PING:
    case MSG_PONG:
    case MSG_MEET:
      for (const entry of msg.gossip) {
        writeGossipEntry(bytes, view, at, entry);
        at += GOSSIP_ENTRY_BYTES;
      }
      if (hostname !== null) {
        view.setUint32(at, hostnameExtensionBytes(hostname));
        view.setUint16(at + 4, EXT_TYPE_HOSTNAME);
        putLatin1(bytes, at + EXT_HEADER_BYTES, hostname, hostname.length);
        at += hostnameExtensionBytes(hostname);
      }
      for (const forgotten of msg.forgotten) {
        view.setUint32(at, FORGOTTEN_NODE_EXT_BYTES);
        view.setUint16(at + 4, EXT_TYPE_FORGOTTEN_NODE);
        putLatin1(bytes, at + EXT_HEADER_BYTES, forgotten.nodeId, NODE_ID_BYTES);
        setU64(view, at + EXT_HEADER_BYTES + NODE_ID_BYTES, forgotten.ttlSec);
        at += FORGOTTEN_NODE_EXT_BYTES;
      }
      break;
    case MSG_FAIL:
      putLatin1(bytes, at, msg.failing, NODE_ID_BYTES);
      break;
    case MSG_PUBLISH:
    case MSG_PUBLISHSHARD: {
      view.setUint32(at, msg.channel.length);
      view.setUint32(at + 4, msg.message.length);
      // Buffer's native latin1 writer: pub/sub payloads can be large.
      const buffer = latin1View(bytes);
      buffer.write(msg.channel, at + 8, msg.channel.length, "latin1");
      buffer.write(msg.message, at + 8 + msg.channel.length, msg.message.length, "latin1");
      break;
    }
    case MSG_UPDATE:
      if (msg.update !== null) {
        setU64(view, at, msg.update.configEpoch);
        putLatin1(bytes, at + 8, msg.update.nodeId, NODE_ID_BYTES);
        putBitmap(bytes, at + 8 + NODE_ID_BYTES, msg.update.slots);
      }
      break;
      // MODULE: tessera has no modules; the 13 zero bytes are a valid empty payload (len 0).
  }
  return bytes;
}

function hasSignature(bytes: Uint8Array): boolean {
  return bytes[0] === SIGNATURE[0] && bytes[1] === SIGNATURE[1] && bytes[2] === SIGNATURE[2] &&
    bytes[3] === SIGNATURE[3];
}

/** Latin1 text of bytes[start, end) up to the first NUL. */
function textUntilNul(bytes: Uint8Array, buffer: ReturnType<typeof latin1View>, start: number, end: number): string {
  const nul = bytes.subarray(start, end).indexOf(0);
  return buffer.latin1Slice(start, nul === -1 ? end : start + nul);
}

function readNodeId(buffer: ReturnType<typeof latin1View>, at: number): string {
  return buffer.latin1Slice(at, at + NODE_ID_BYTES);
}

function isAllZero(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] !== 0) return false;
  return true;
}

function invalidLength(type: number, totlen: number, explen: number): DecodeResult {
  return {
    ok: false,
    reason: `Received invalid ${messageTypeName(type)} packet of length ${totlen} but expected length ${explen}`,
  };
}

function extensionTooLong(type: number, totlen: number): DecodeResult {
  return {
    ok: false,
    reason: `Received invalid ${messageTypeName(type)} packet with extension data that exceeds total packet length ` +
      `(${totlen})`,
  };
}

/**
 * Decodes one whole message (exactly `totlen` bytes, as the framer yields them) and validates it as 7.0.15's
 * clusterProcessPacket does: version, then the expected length by type, with ping extensions walked and checked.
 * Where Redis would read past the message (extension headers beyond the end, wrapped lengths) the message is
 * dropped instead. Unknown types (>= 11) are accepted with any length: header only. Never throws.
 */
export function decodeMessage(bytes: Uint8Array): DecodeResult {
  if (bytes.length < HEADER_BYTES) {
    return { ok: false, reason: `Received ${bytes.length} bytes, less than the ${HEADER_BYTES}-byte header` };
  }
  if (!hasSignature(bytes)) return { ok: false, reason: "Bad message signature" };
  const view = dataViewOf(bytes);
  const totlen = view.getUint32(OFF_TOTLEN);
  if (totlen < HEADER_BYTES) return { ok: false, reason: `Bad message length ${totlen}` };
  // Redis silently waits for/ignores a message longer than what it holds.
  if (totlen > bytes.length) {
    return { ok: false, reason: `Truncated message: totlen ${totlen} but ${bytes.length} bytes`, ignore: true };
  }
  if (totlen < bytes.length) {
    return { ok: false, reason: `Message of ${bytes.length} bytes but totlen ${totlen}` };
  }
  const version = view.getUint16(OFF_VER);
  if (version !== PROTOCOL_VERSION) {
    return { ok: false, reason: `Unsupported cluster bus protocol version ${version}`, ignore: true };
  }

  const type = view.getUint16(OFF_TYPE);
  const count = view.getUint16(OFF_COUNT);
  const extensions = view.getUint16(OFF_EXTENSIONS);
  const mflags = bytes[OFF_MFLAGS];
  const buffer = latin1View(bytes);
  let hostname: string | null = null;
  const forgotten: ForgottenNode[] = [];
  let explen: number;

  switch (type) {
    case MSG_PING:
    case MSG_PONG:
    case MSG_MEET: {
      explen = HEADER_BYTES + GOSSIP_ENTRY_BYTES * count;
      if ((mflags & MSGFLAG0_EXT_DATA) === 0) break;
      // Redis checks the length truncated to 16 bits but steps to the next extension by the full 32-bit length.
      let at = explen;
      for (let i = 0; i < extensions; i++) {
        if (at + EXT_HEADER_BYTES > totlen) return extensionTooLong(type, totlen);
        const fullLength = view.getUint32(at);
        const checkedLength = fullLength & 0xffff;
        if (checkedLength % 8 !== 0) {
          return {
            ok: false,
            reason: `Received a ${messageTypeName(type)} packet without proper padding (${checkedLength} bytes)`,
          };
        }
        if (totlen - explen < checkedLength) return extensionTooLong(type, totlen);
        const extType = view.getUint16(at + 4);
        if (extType === EXT_TYPE_HOSTNAME) {
          const dataStart = at + EXT_HEADER_BYTES;
          hostname = textUntilNul(bytes, buffer, dataStart, Math.max(dataStart, Math.min(at + checkedLength, totlen)));
        } else if (extType === EXT_TYPE_FORGOTTEN_NODE && checkedLength >= FORGOTTEN_NODE_EXT_BYTES) {
          const idStart = at + EXT_HEADER_BYTES;
          forgotten.push({
            nodeId: readNodeId(buffer, idStart),
            ttlSec: getU64(view, idStart + NODE_ID_BYTES),
          });
        }
        explen += checkedLength;
        at += fullLength;
      }
      break;
    }
    case MSG_FAIL:
      explen = HEADER_BYTES + FAIL_BODY_BYTES;
      break;
    case MSG_PUBLISH:
    case MSG_PUBLISHSHARD:
      if (totlen < HEADER_BYTES + PUBLISH_LENGTHS_BYTES) {
        return invalidLength(type, totlen, HEADER_BYTES + PUBLISH_LENGTHS_BYTES);
      }
      // Summed as JS numbers: Redis's u32 sum can wrap, which would make it read past the message.
      explen = HEADER_BYTES + PUBLISH_LENGTHS_BYTES + view.getUint32(HEADER_BYTES) + view.getUint32(HEADER_BYTES + 4);
      break;
    case MSG_FAILOVER_AUTH_REQUEST:
    case MSG_FAILOVER_AUTH_ACK:
    case MSG_MFSTART:
      explen = HEADER_BYTES;
      break;
    case MSG_UPDATE:
      explen = HEADER_BYTES + UPDATE_BODY_BYTES;
      break;
    case MSG_MODULE:
      if (totlen < HEADER_BYTES + MODULE_BODY_BYTES) {
        return invalidLength(type, totlen, HEADER_BYTES + MODULE_BODY_BYTES);
      }
      explen = HEADER_BYTES + MODULE_BODY_BYTES + view.getUint32(HEADER_BYTES + 8);
      break;
    default:
      explen = totlen;
  }
  if (explen !== totlen) return invalidLength(type, totlen, explen);

  const msg = emptyMessage(type);
  msg.port = view.getUint16(OFF_PORT);
  msg.currentEpoch = getU64(view, OFF_CURRENT_EPOCH);
  msg.configEpoch = getU64(view, OFF_CONFIG_EPOCH);
  msg.offset = getU64(view, OFF_OFFSET);
  msg.sender = readNodeId(buffer, OFF_SENDER);
  msg.myslots = bytes.slice(OFF_MYSLOTS, OFF_MYSLOTS + SLOT_BITMAP_BYTES);
  msg.slaveof = isAllZero(bytes, OFF_SLAVEOF, OFF_SLAVEOF + NODE_ID_BYTES) ? null : readNodeId(buffer, OFF_SLAVEOF);
  msg.myip = textUntilNul(bytes, buffer, OFF_MYIP, OFF_MYIP + IP_BYTES);
  msg.pport = view.getUint16(OFF_PPORT);
  msg.cport = view.getUint16(OFF_CPORT);
  msg.flags = view.getUint16(OFF_FLAGS);
  msg.state = bytes[OFF_STATE];
  msg.mflags = mflags;

  switch (type) {
    case MSG_PING:
    case MSG_PONG:
    case MSG_MEET:
      for (let i = 0, at = HEADER_BYTES; i < count; i++, at += GOSSIP_ENTRY_BYTES) {
        msg.gossip.push({
          nodeId: readNodeId(buffer, at),
          pingSentSec: view.getUint32(at + GOSSIP_OFF_PING_SENT),
          pongReceivedSec: view.getUint32(at + GOSSIP_OFF_PONG_RECEIVED),
          ip: textUntilNul(bytes, buffer, at + GOSSIP_OFF_IP, at + GOSSIP_OFF_IP + IP_BYTES),
          port: view.getUint16(at + GOSSIP_OFF_PORT),
          cport: view.getUint16(at + GOSSIP_OFF_CPORT),
          flags: view.getUint16(at + GOSSIP_OFF_FLAGS),
          pport: view.getUint16(at + GOSSIP_OFF_PPORT),
        });
      }
      msg.hostname = hostname;
      msg.forgotten = forgotten;
      break;
    case MSG_FAIL:
      msg.failing = readNodeId(buffer, HEADER_BYTES);
      break;
    case MSG_PUBLISH:
    case MSG_PUBLISHSHARD: {
      const channelStart = HEADER_BYTES + PUBLISH_LENGTHS_BYTES;
      const messageStart = channelStart + view.getUint32(HEADER_BYTES);
      msg.channel = buffer.latin1Slice(channelStart, messageStart);
      msg.message = buffer.latin1Slice(messageStart, totlen);
      break;
    }
    case MSG_UPDATE: {
      const slotsStart = HEADER_BYTES + 8 + NODE_ID_BYTES;
      msg.update = {
        configEpoch: getU64(view, HEADER_BYTES),
        nodeId: readNodeId(buffer, HEADER_BYTES + 8),
        slots: bytes.slice(slotsStart, slotsStart + SLOT_BITMAP_BYTES),
      };
      break;
    }
  }
  return { ok: true, msg };
}

/** A framing error: the link must be closed (Redis: "Bad message length or signature received from Cluster bus."). */
export class FrameError {
  constructor(readonly reason: string) {}
}

/** Frames of up to this size get their exact buffer at once; larger ones grow as their bytes arrive. */
const INITIAL_FRAME_CAPACITY = 64 * 1024;
const FRAME_PREFIX_BYTES = 8;

/**
 * Cuts one link's byte stream into whole messages. `push` copies each received chunk (the caller may reuse its read
 * buffer); `next` returns the next whole frame, null when more bytes are needed, or a FrameError after a bad
 * signature or length (sticky: the link is to be closed). Every byte is copied once, into its frame's own buffer.
 */
export class BusFrameReader {
  #prefix = new Uint8Array(FRAME_PREFIX_BYTES);
  #prefixFill = 0;
  #frame: Uint8Array | null = null;
  #frameLength = 0;
  #frameFill = 0;
  #ready: Uint8Array[] = [];
  #readyHead = 0;
  #error: FrameError | null = null;

  /** Number of bytes buffered that do not yet form a whole frame. */
  get pendingBytes(): number {
    return this.#frame === null ? this.#prefixFill : this.#frameFill;
  }

  /** Adds received bytes. Ignored after an error. */
  push(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length && this.#error === null) {
      if (this.#frame === null) {
        const take = Math.min(FRAME_PREFIX_BYTES - this.#prefixFill, chunk.length - pos);
        this.#prefix.set(chunk.subarray(pos, pos + take), this.#prefixFill);
        this.#prefixFill += take;
        pos += take;
        if (this.#prefixFill === FRAME_PREFIX_BYTES) this.#startFrame();
      } else {
        const take = Math.min(this.#frameLength - this.#frameFill, chunk.length - pos);
        this.#ensureCapacity(this.#frameFill + take);
        this.#frame.set(chunk.subarray(pos, pos + take), this.#frameFill);
        this.#frameFill += take;
        pos += take;
        if (this.#frameFill === this.#frameLength) this.#finishFrame();
      }
    }
  }

  /** The next whole frame, null if none is complete yet, or the error that ends the link. */
  next(): Uint8Array | null | FrameError {
    if (this.#readyHead < this.#ready.length) {
      const frame = this.#ready[this.#readyHead++];
      if (this.#readyHead === this.#ready.length) {
        this.#ready = [];
        this.#readyHead = 0;
      }
      return frame;
    }
    return this.#error;
  }

  #startFrame(): void {
    const totlen = dataViewOf(this.#prefix).getUint32(OFF_TOTLEN);
    if (!hasSignature(this.#prefix) || totlen < HEADER_BYTES || totlen > MAX_FRAME_BYTES) {
      this.#error = new FrameError("Bad message length or signature received from Cluster bus.");
      return;
    }
    this.#frame = new Uint8Array(Math.min(totlen, INITIAL_FRAME_CAPACITY));
    this.#frame.set(this.#prefix);
    this.#frameLength = totlen;
    this.#frameFill = FRAME_PREFIX_BYTES;
    this.#prefixFill = 0;
  }

  /** Doubles the frame buffer as bytes arrive, so a lying totlen cannot make us allocate it all up front. */
  #ensureCapacity(needed: number): void {
    const frame = this.#frame!;
    if (needed <= frame.length) return;
    let capacity = frame.length;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(Math.min(capacity, this.#frameLength));
    grown.set(frame.subarray(0, this.#frameFill));
    this.#frame = grown;
  }

  #finishFrame(): void {
    // #ensureCapacity never grows past totlen, so the buffer is exactly the frame.
    this.#ready.push(this.#frame!);
    this.#frame = null;
    this.#frameFill = 0;
    this.#frameLength = 0;
  }
}
