/**
 * The stream type, laid out as Redis 7.0 lays it out so that node splitting, deleted-entry flags,
 * XINFO's radix-tree counts and the RDB form follow redis-server: entries live in nodes (one per
 * listpack in Redis) keyed by their master ID, each with the master field names of its first
 * entry, live / deleted counters and the listpack byte size that decides when a new node starts
 * (`stream-node-max-bytes`, `stream-node-max-entries`). IDs are one bigint: ms << 64 | seq.
 * Consumer groups keep their pending entries (PEL) in an id-sorted set plus a map to each NACK.
 */
import type { TypedValue } from "../keyspace.ts";
import { listpackEntrySize, listpackIntEntrySize } from "../../persistence/listpack.ts";

/** Bits of a stream ID's seq part; an ID is `ms << 64n | seq`. */
export const SEQ_BITS = 64n;
/** The largest ms or seq part (UINT64_MAX). */
export const U64_MAX = (1n << 64n) - 1n;
/** The largest stream ID (UINT64_MAX-UINT64_MAX). */
export const STREAM_ID_MAX = (1n << 128n) - 1n;
/** Redis's SCG_INVALID_ENTRIES_READ: a group whose read counter is unknown. */
export const ENTRIES_READ_INVALID = -1n;
/** Entry flags inside a node (STREAM_ITEM_FLAG_*). */
export const FLAG_DELETED = 1;
export const FLAG_SAMEFIELDS = 2;
/** Listpack header (6) and end byte (1). */
const LP_OVERHEAD_BYTES = 7;
/** Nodes never grow past this whatever stream-node-max-bytes says (STREAM_LISTPACK_MAX_SIZE). */
export const STREAM_LISTPACK_MAX_SIZE = 1 << 30;

/** The ID's text, `<ms>-<seq>`. */
export function formatStreamId(id: bigint): string {
  return `${id >> SEQ_BITS}-${id & U64_MAX}`;
}

/** An ID from its two parts. */
export function makeStreamId(ms: bigint, seq: bigint): bigint {
  return (ms << SEQ_BITS) | seq;
}

/** One entry of a node. `fields` is flat: field, value, field, value... */
export interface StreamEntry {
  id: bigint;
  fields: string[];
  deleted: boolean;
  /** Written without field names (they equal the node's master fields). */
  sameFields: boolean;
}

/** A node: a listpack in Redis, keyed in its radix tree by `masterId`. */
export class StreamNode {
  entries: StreamEntry[] = [];
  /** Live (not deleted) entries. */
  live = 0;
  /** Entries flagged deleted. */
  deleted = 0;
  /** Bytes of the entries' listpack items (the master entry is counted apart). */
  entryBytes = 0;
  /**
   * Entries in ID order. Only tombstones can break it (an entry deleted, the last ID moved below
   * it by XSETID, a smaller ID appended after it): such a node is scanned, not searched.
   */
  sorted = true;

  /** The master ID's parts, which entries' IDs are stored relative to. */
  private readonly masterMs: bigint;
  private readonly masterSeq: bigint;
  /** Listpack bytes of the master field count, names and terminator (they never change). */
  private readonly masterBytes: number;

  constructor(readonly masterId: bigint, readonly masterFields: string[]) {
    this.masterMs = masterId >> SEQ_BITS;
    this.masterSeq = masterId & U64_MAX;
    let n = listpackIntEntrySize(masterFields.length) + 2; // + the 0 terminator
    for (const f of masterFields) n += listpackEntrySize(f);
    this.masterBytes = n;
  }

  /** lpBytes of this node's listpack as Redis would have it now. */
  listpackBytes(): number {
    return LP_OVERHEAD_BYTES + this.entryBytes + listpackIntEntrySize(this.live) +
      listpackIntEntrySize(this.deleted) + this.masterBytes;
  }

  /** Listpack bytes of one entry (flags, ms/seq deltas, [count], fields/values, lp-count). */
  static entrySize(node: StreamNode, e: StreamEntry): number {
    const n = e.fields.length / 2;
    let size = 2; // flags: a small integer
    size += listpackIntEntrySize(BigInt.asIntN(64, (e.id >> SEQ_BITS) - node.masterMs));
    size += listpackIntEntrySize(BigInt.asIntN(64, (e.id & U64_MAX) - node.masterSeq));
    if (!e.sameFields) size += listpackIntEntrySize(n);
    for (let i = 0; i < e.fields.length; i += 2) {
      if (!e.sameFields) size += listpackEntrySize(e.fields[i]);
      size += listpackEntrySize(e.fields[i + 1]);
    }
    size += listpackIntEntrySize(e.sameFields ? n + 3 : 2 * n + 4);
    return size;
  }

  /** The index of the first entry with id >= `id` (entries.length when none); 0 when unsorted. */
  lowerBound(id: bigint): number {
    if (!this.sorted) return 0;
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.entries[mid].id < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** A sorted set of IDs (a PEL's order): binary search, appends at the end are O(1). */
export class IdSet {
  ids: bigint[] = [];

  get size(): number {
    return this.ids.length;
  }

  /** Index of the first id >= `id`. */
  lowerBound(id: bigint): number {
    const ids = this.ids;
    let lo = 0;
    let hi = ids.length;
    if (hi > 0 && ids[hi - 1] < id) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ids[mid] < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Inserts `id`; false when already there. */
  add(id: bigint): boolean {
    const ids = this.ids;
    if (ids.length === 0 || ids[ids.length - 1] < id) {
      ids.push(id);
      return true;
    }
    const at = this.lowerBound(id);
    if (ids[at] === id) return false;
    ids.splice(at, 0, id);
    return true;
  }

  /** Removes `id`; false when absent. */
  delete(id: bigint): boolean {
    const at = this.lowerBound(id);
    if (at >= this.ids.length || this.ids[at] !== id) return false;
    this.ids.splice(at, 1);
    return true;
  }

  has(id: bigint): boolean {
    const at = this.lowerBound(id);
    return at < this.ids.length && this.ids[at] === id;
  }
}

/** A pending entry (streamNACK). */
export interface Nack {
  /** Last delivery, unix ms. */
  time: number;
  /** Deliveries so far (uint64 in Redis). */
  count: bigint;
  /** Owner; null only transiently (XCLAIM FORCE before assignment). */
  consumer: Consumer | null;
}

/** A consumer of a group. */
export class Consumer {
  readonly pel = new IdSet();
  constructor(readonly name: string, public seenTime: number) {}
}

/** A consumer group. */
export class ConsumerGroup {
  /** Global PEL: id -> NACK, and the ids in order. */
  readonly pel = new Map<bigint, Nack>();
  readonly pelIds = new IdSet();
  readonly consumers = new Map<string, Consumer>();

  constructor(public lastId: bigint, public entriesRead: bigint) {}

  /** Consumers in Redis's (byte) order of names. */
  sortedConsumers(): Consumer[] {
    return [...this.consumers.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }

  /** Adds a consumer (streamCreateConsumer); null when it exists. */
  createConsumer(name: string, now: number): Consumer | null {
    if (this.consumers.has(name)) return null;
    const consumer = new Consumer(name, now);
    this.consumers.set(name, consumer);
    return consumer;
  }

  /** Removes a consumer and its pending entries; returns how many it had. */
  deleteConsumer(consumer: Consumer): number {
    const pending = consumer.pel.size;
    for (const id of consumer.pel.ids) {
      this.pel.delete(id);
      this.pelIds.delete(id);
    }
    this.consumers.delete(consumer.name);
    return pending;
  }

  /** Adds a NACK to the global PEL. */
  addNack(id: bigint, nack: Nack): void {
    this.pel.set(id, nack);
    this.pelIds.add(id);
  }

  /** Removes a NACK from the global PEL and its consumer's. */
  removeNack(id: bigint, nack: Nack): void {
    this.pel.delete(id);
    this.pelIds.delete(id);
    nack.consumer?.pel.delete(id);
  }
}

/** Node size limits for appends (stream-node-max-bytes / -entries). */
export interface NodeLimits {
  maxBytes: number;
  maxEntries: number;
}

/** A stream value (TYPE `stream`). */
export class StreamValue implements TypedValue {
  /** Nodes in ID order. */
  nodes: StreamNode[] = [];
  /** Live entries. */
  length = 0;
  lastId = 0n;
  /** First live entry when recorded (0 when empty). */
  firstId = 0n;
  maxDeletedId = 0n;
  entriesAdded = 0n;
  /** Groups by name (listed in byte order of names). */
  groups: Map<string, ConsumerGroup> | null = null;

  get type(): string {
    return "stream";
  }

  get encoding(): string {
    return "stream";
  }

  /** A deep copy (COPY, streamDup). */
  clone(): StreamValue {
    const s = new StreamValue();
    for (const node of this.nodes) {
      const n = new StreamNode(node.masterId, node.masterFields);
      n.entries = node.entries.map((e) => ({ ...e }));
      n.live = node.live;
      n.deleted = node.deleted;
      n.entryBytes = node.entryBytes;
      n.sorted = node.sorted;
      s.nodes.push(n);
    }
    s.length = this.length;
    s.lastId = this.lastId;
    s.firstId = this.firstId;
    s.maxDeletedId = this.maxDeletedId;
    s.entriesAdded = this.entriesAdded;
    if (this.groups !== null) {
      s.groups = new Map();
      for (const [name, g] of this.groups) {
        const ng = new ConsumerGroup(g.lastId, g.entriesRead);
        const owners = new Map<Consumer, Consumer>();
        for (const [cname, consumer] of g.consumers) {
          const nc = new Consumer(cname, consumer.seenTime);
          nc.pel.ids = consumer.pel.ids.slice();
          ng.consumers.set(cname, nc);
          owners.set(consumer, nc);
        }
        for (const id of g.pelIds.ids) {
          const nack = g.pel.get(id)!;
          ng.addNack(id, {
            time: nack.time,
            count: nack.count,
            consumer: nack.consumer === null ? null : owners.get(nack.consumer) ?? null,
          });
        }
        s.groups.set(name, ng);
      }
    }
    return s;
  }

  /** Groups in Redis's (byte) order of names. */
  sortedGroups(): [string, ConsumerGroup][] {
    if (this.groups === null) return [];
    return [...this.groups].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  }

  /** The group `name`, or undefined. */
  group(name: string): ConsumerGroup | undefined {
    return this.groups?.get(name);
  }

  /** streamCreateCG: null when the name exists. */
  createGroup(name: string, lastId: bigint, entriesRead: bigint): ConsumerGroup | null {
    if (this.groups === null) this.groups = new Map();
    if (this.groups.has(name)) return null;
    const g = new ConsumerGroup(lastId, entriesRead);
    this.groups.set(name, g);
    return g;
  }

  /**
   * streamAppendItem once the ID is decided (greater than lastId): appends to the tail node or
   * starts a new one as Redis 7.0 does.
   */
  append(id: bigint, fields: string[], limits: NodeLimits): void {
    let node = this.nodes.length > 0 ? this.nodes[this.nodes.length - 1] : undefined;
    if (node !== undefined) {
      let totelelen = 0;
      for (const f of fields) totelelen += f.length;
      let maxBytes = limits.maxBytes;
      if (maxBytes === 0 || maxBytes > STREAM_LISTPACK_MAX_SIZE) maxBytes = STREAM_LISTPACK_MAX_SIZE;
      if (node.listpackBytes() + totelelen >= maxBytes) node = undefined;
      else if (limits.maxEntries !== 0 && node.live + node.deleted >= limits.maxEntries) node = undefined;
    }
    let sameFields: boolean;
    if (node === undefined) {
      const master: string[] = new Array(fields.length / 2);
      for (let i = 0; i < master.length; i++) master[i] = fields[2 * i];
      node = new StreamNode(id, master);
      this.nodes.push(node);
      sameFields = true;
    } else {
      const master = node.masterFields;
      sameFields = master.length * 2 === fields.length;
      for (let i = 0; sameFields && i < master.length; i++) if (master[i] !== fields[2 * i]) sameFields = false;
    }
    const entry: StreamEntry = { id, fields, deleted: false, sameFields };
    if (node.entries.length > 0 && node.entries[node.entries.length - 1].id > id) node.sorted = false;
    node.entries.push(entry);
    node.live++;
    node.entryBytes += StreamNode.entrySize(node, entry);
    this.length++;
    this.entriesAdded++;
    this.lastId = id;
    if (this.length === 1) this.firstId = id;
  }

  /** Index of the node that may hold `id`: the last with masterId <= id (0 when none). */
  nodeIndexFor(id: bigint): number {
    const nodes = this.nodes;
    let lo = 0;
    let hi = nodes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (nodes[mid].masterId <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 ? lo - 1 : 0;
  }

  /** The live entry `id` in the node that may hold it, or undefined. */
  private locate(id: bigint): { n: number; e: StreamEntry } | undefined {
    if (this.nodes.length === 0) return undefined;
    const n = this.nodeIndexFor(id);
    const entries = this.nodes[n].entries;
    for (let i = this.nodes[n].lowerBound(id); i < entries.length; i++) {
      const e = entries[i];
      if (e.deleted) continue;
      // Live entries are always in order: the first live one not below `id` decides.
      if (e.id >= id) return e.id === id ? { n, e } : undefined;
    }
    return undefined;
  }

  /** The live entry `id`, or undefined. */
  find(id: bigint): StreamEntry | undefined {
    return this.locate(id)?.e;
  }

  /**
   * Walks live entries with start <= id <= end, forward or backward; `fn` returns false to stop.
   * Tombstones are included when `withDeleted` (streamGetEdgeID without skipping).
   */
  walk(start: bigint, end: bigint, rev: boolean, fn: (e: StreamEntry) => boolean, withDeleted = false): void {
    const nodes = this.nodes;
    if (nodes.length === 0 || start > end) return;
    if (!rev) {
      for (let n = this.nodeIndexFor(start); n < nodes.length; n++) {
        const entries = nodes[n].entries;
        for (let i = nodes[n].lowerBound(start); i < entries.length; i++) {
          const e = entries[i];
          // As Redis's iterator: tombstones are skipped before any range check.
          if ((e.deleted && !withDeleted) || e.id < start) continue;
          if (e.id > end) return;
          if (!fn(e)) return;
        }
      }
    } else {
      for (let n = this.nodeIndexFor(end); n >= 0; n--) {
        const node = nodes[n];
        const entries = node.entries;
        let i = entries.length - 1;
        if (node.sorted) {
          i = node.lowerBound(end);
          if (i === entries.length || entries[i].id > end) i--;
        }
        for (; i >= 0; i--) {
          const e = entries[i];
          if ((e.deleted && !withDeleted) || e.id > end) continue;
          if (e.id < start) return;
          if (!fn(e)) return;
        }
      }
    }
  }

  /** First (or last) entry ID, tombstones skipped or not; undefined when there is none. */
  edgeId(first: boolean, skipTombstones: boolean): bigint | undefined {
    let found: bigint | undefined;
    this.walk(0n, STREAM_ID_MAX, !first, (e) => {
      found = e.id;
      return false;
    }, !skipTombstones);
    return found;
  }

  /** streamLastValidID: the last live ID (0 when empty). */
  lastValidId(): bigint {
    return this.edgeId(false, true) ?? 0n;
  }

  /** Flags an entry deleted (streamIteratorRemoveEntry); drops its node when it was the last live one. */
  private removeEntry(nodeIndex: number, e: StreamEntry): void {
    const node = this.nodes[nodeIndex];
    e.deleted = true;
    if (node.live === 1) this.nodes.splice(nodeIndex, 1);
    else {
      node.live--;
      node.deleted++;
    }
    this.length--;
  }

  /** streamDeleteItem: deletes the live entry `id`; returns whether it existed. */
  deleteId(id: bigint): boolean {
    const found = this.locate(id);
    if (found === undefined) return false;
    this.removeEntry(found.n, found.e);
    return true;
  }

  /**
   * streamTrim: MAXLEN (`maxlen` >= 0) or MINID (`minid`), approximated (whole nodes only) or
   * not, at most `limit` entries (0: no limit). Returns the number of entries removed.
   */
  trim(maxlen: number | null, minid: bigint, approx: boolean, limit: number): number {
    let deleted = 0;
    while (this.nodes.length > 0) {
      if (maxlen !== null && this.length <= maxlen) break;
      const node = this.nodes[0];
      const entries = node.live;
      if (limit !== 0 && deleted + entries > limit) break;
      let removeNode: boolean;
      if (maxlen !== null) removeNode = this.length - entries >= maxlen;
      else removeNode = (node.entries.at(-1)?.id ?? 0n) < minid; // an empty node reads as 0-0
      if (removeNode) {
        this.nodes.shift();
        this.length -= entries;
        deleted += entries;
        continue;
      }
      if (approx) break;
      let fromNode = 0;
      for (const e of node.entries) {
        const stop = maxlen !== null ? this.length <= maxlen : e.id >= minid;
        if (stop) break;
        if (!e.deleted) {
          e.deleted = true;
          fromNode++;
          this.length--;
        }
      }
      node.live -= fromNode;
      node.deleted += fromNode;
      deleted += fromNode;
      break;
    }
    if (this.length === 0) this.firstId = 0n;
    else if (deleted > 0) this.firstId = this.edgeId(true, true) ?? 0n;
    return deleted;
  }

  /** streamRangeHasTombstones (7.0). */
  rangeHasTombstones(start: bigint, end: bigint): boolean {
    if (this.length === 0 || this.maxDeletedId === 0n) return false;
    if (this.firstId > this.maxDeletedId) return false;
    return start <= this.maxDeletedId && this.maxDeletedId <= end;
  }

  /** streamEstimateDistanceFromFirstEverEntry (7.0). */
  estimateDistance(id: bigint): bigint {
    if (this.entriesAdded === 0n) return 0n;
    if (this.length === 0 && id <= this.lastId) return this.entriesAdded;
    if (id === this.lastId) return this.entriesAdded;
    if (id > this.lastId) return ENTRIES_READ_INVALID;
    if (this.maxDeletedId === 0n || this.maxDeletedId < this.firstId) {
      if (id < this.firstId) return this.entriesAdded - BigInt(this.length);
      if (id === this.firstId) return this.entriesAdded - BigInt(this.length) + 1n;
    }
    return ENTRIES_READ_INVALID;
  }

  /** The lag XINFO reports for a group (streamReplyWithCGLag), null when unknown. */
  groupLag(g: ConsumerGroup): bigint | null {
    if (this.entriesAdded === 0n) return 0n;
    if (g.entriesRead !== ENTRIES_READ_INVALID && !this.rangeHasTombstones(g.lastId, STREAM_ID_MAX)) {
      return this.entriesAdded - g.entriesRead;
    }
    const read = this.estimateDistance(g.lastId);
    return read === ENTRIES_READ_INVALID ? null : this.entriesAdded - read;
  }

  /** Number of nodes of Redis's radix tree holding these node keys (rax->numnodes). */
  radixTreeNodes(): number {
    const keys = this.nodes.map((n) => idKeyBytes(n.masterId));
    return keys.length === 0 ? 1 : 1 + raxNodesBelow(keys, 0, keys.length, 0);
  }
}

/** The 16-byte big-endian form of an ID (radix tree key, RDB PEL entries). */
export function idKeyBytes(id: bigint): Uint8Array {
  const out = new Uint8Array(16);
  let v = id;
  for (let i = 15; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** The ID of a 16-byte big-endian key. */
export function idFromKeyBytes(b: Uint8Array, at = 0): bigint {
  let v = 0n;
  for (let i = 0; i < 16; i++) v = (v << 8n) | BigInt(b[at + i]);
  return v;
}

/** Length of the common prefix of sorted keys [from, to) starting at `depth`. */
function commonPrefix(keys: Uint8Array[], from: number, to: number, depth: number): number {
  const a = keys[from];
  const b = keys[to - 1];
  let d = depth;
  while (d < 16 && a[d] === b[d]) d++;
  return d;
}

/**
 * Radix tree nodes strictly below the node at `depth` that holds the sorted 16-byte keys
 * [from, to): a compressed node runs to the next branching point, a branching node has one
 * child per distinct next byte, keys end in leaves.
 */
function raxNodesBelow(keys: Uint8Array[], from: number, to: number, depth: number): number {
  if (depth === 16) return 0;
  const common = commonPrefix(keys, from, to, depth);
  if (common > depth) return 1 + raxNodesBelow(keys, from, to, common);
  let count = 0;
  let start = from;
  while (start < to) {
    let end = start + 1;
    while (end < to && keys[end][depth] === keys[start][depth]) end++;
    count += 1 + raxNodesBelow(keys, start, end, depth + 1);
    start = end;
  }
  return count;
}
