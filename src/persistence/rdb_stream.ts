/**
 * The stream value codec of RDB types 19 (written) and 15 (read): rdb.md section 9. Nodes are
 * written as the listpacks Redis 7.0 keeps (master entry, delta-encoded IDs, SAMEFIELDS and
 * DELETED flags), so a stream written here loads into redis-server with the same node layout.
 * Reading validates every node as Redis's deep sanitization does and refuses anything
 * inconsistent (counts, order, PEL references), so a corrupt payload is an error, never a crash.
 */
import type { RdbBuffer } from "./rdb_writer.ts";
import { decodeListpack, encodeListpack } from "./listpack.ts";
import {
  ConsumerGroup,
  FLAG_DELETED,
  FLAG_SAMEFIELDS,
  idFromKeyBytes,
  idKeyBytes,
  makeStreamId,
  SEQ_BITS,
  STREAM_ID_MAX,
  type StreamEntry,
  StreamNode,
  StreamValue,
  U64_MAX,
} from "../store/types/stream.ts";

/** Bytes of a stream ID in node keys and PEL records. */
const STREAM_ID_BYTES = 16;

/** The reading primitives of the RDB reader's input cursor that the stream codec uses. */
export interface StreamRdbInput {
  u8(): number;
  string(): string;
  stringBytes(): Uint8Array;
  int64LE(): number;
  count(): number;
  fail(what: string): never;
}

/** rdbSaveLen for a value up to 2^64-1. */
function writeLenBig(out: RdbBuffer, v: bigint): void {
  if (v <= 0xffffffffn) return out.len(Number(v));
  out.byte(0x81);
  for (let k = 7; k >= 0; k--) out.byte(Number((v >> BigInt(8 * k)) & 0xffn));
}

/** rdbLoadLen as a bigint (up to 2^64-1). */
function readLenBig(r: StreamRdbInput): bigint {
  const first = r.u8();
  const kind = first >> 6;
  if (kind === 0) return BigInt(first & 0x3f);
  if (kind === 1) return BigInt(((first & 0x3f) << 8) | r.u8());
  if (first === 0x80 || first === 0x81) {
    let v = 0n;
    for (let k = first === 0x80 ? 4 : 8; k > 0; k--) v = (v << 8n) | BigInt(r.u8());
    return v;
  }
  return r.fail("Unexpected string encoding where a length was expected");
}

/** An ID as two lengths (ms, seq). */
function writeId(out: RdbBuffer, id: bigint): void {
  writeLenBig(out, id >> SEQ_BITS);
  writeLenBig(out, id & U64_MAX);
}

function readId(r: StreamRdbInput): bigint {
  const ms = readLenBig(r);
  return makeStreamId(ms, readLenBig(r));
}

/** 16 raw bytes of an ID (PEL records: not a string). */
function readRawId(r: StreamRdbInput): bigint {
  const b = new Uint8Array(STREAM_ID_BYTES);
  for (let i = 0; i < STREAM_ID_BYTES; i++) b[i] = r.u8();
  return idFromKeyBytes(b);
}

/** A node's listpack items (streamAppendItem's layout). */
function nodeItems(node: StreamNode): string[] {
  const items = [String(node.live), String(node.deleted), String(node.masterFields.length), ...node.masterFields, "0"];
  const masterMs = node.masterId >> SEQ_BITS;
  const masterSeq = node.masterId & U64_MAX;
  for (const e of node.entries) {
    const n = e.fields.length / 2;
    items.push(String((e.deleted ? FLAG_DELETED : 0) | (e.sameFields ? FLAG_SAMEFIELDS : 0)));
    items.push(String(BigInt.asIntN(64, (e.id >> SEQ_BITS) - masterMs)));
    items.push(String(BigInt.asIntN(64, (e.id & U64_MAX) - masterSeq)));
    if (!e.sameFields) items.push(String(n));
    for (let i = 0; i < e.fields.length; i += 2) {
      if (!e.sameFields) items.push(e.fields[i]);
      items.push(e.fields[i + 1]);
    }
    items.push(String(e.sameFields ? n + 3 : 2 * n + 4));
  }
  return items;
}

/** rdbSaveObject's stream branch (type 19). */
export function writeStreamValue(out: RdbBuffer, s: StreamValue): void {
  out.len(s.nodes.length);
  for (const node of s.nodes) {
    out.len(STREAM_ID_BYTES);
    out.raw(idKeyBytes(node.masterId));
    out.blob(encodeListpack(nodeItems(node)));
  }
  out.len(s.length);
  writeId(out, s.lastId);
  writeId(out, s.firstId);
  writeId(out, s.maxDeletedId);
  writeLenBig(out, s.entriesAdded);
  const groups = s.sortedGroups();
  out.len(groups.length);
  for (const [name, g] of groups) {
    out.string(name);
    writeId(out, g.lastId);
    writeLenBig(out, BigInt.asUintN(64, g.entriesRead));
    out.len(g.pelIds.size);
    for (const id of g.pelIds.ids) {
      const nack = g.pel.get(id)!;
      out.raw(idKeyBytes(id));
      out.int64LE(nack.time);
      writeLenBig(out, nack.count);
    }
    const consumers = g.sortedConsumers();
    out.len(consumers.length);
    for (const consumer of consumers) {
      out.string(consumer.name);
      out.int64LE(consumer.seenTime);
      out.len(consumer.pel.size);
      for (const id of consumer.pel.ids) out.raw(idKeyBytes(id));
    }
  }
}

/** An integer item of a node listpack (they are decimal text once decoded). */
function intItem(r: StreamRdbInput, items: string[], at: number): bigint {
  const s = items[at];
  if (s === undefined || !/^-?[0-9]+$/.test(s)) r.fail("Stream listpack integrity check failed");
  return BigInt(s);
}

/** Parses and validates one node (streamValidateListpackIntegrity, deep). */
function readNode(r: StreamRdbInput, masterId: bigint, items: string[]): StreamNode {
  const bad = () => r.fail("Stream listpack integrity check failed");
  if (items.length === 0) r.fail("Empty listpack inside stream");
  const live = intItem(r, items, 0);
  const deleted = intItem(r, items, 1);
  const nfields = intItem(r, items, 2);
  if (live < 0n || deleted < 0n || nfields < 0n || 3n + nfields >= BigInt(items.length)) bad();
  const masterFields = items.slice(3, 3 + Number(nfields));
  let p = 3 + Number(nfields);
  if (intItem(r, items, p++) !== 0n) bad();
  const node = new StreamNode(masterId, masterFields);
  const masterMs = masterId >> SEQ_BITS;
  const masterSeq = masterId & U64_MAX;
  let previous = -1n;
  let previousLive = -1n;
  let liveSeen = 0n;
  for (let n = live + deleted; n > 0n; n--) {
    const flags = intItem(r, items, p++);
    const ms = BigInt.asUintN(64, masterMs + intItem(r, items, p++));
    const seq = BigInt.asUintN(64, masterSeq + intItem(r, items, p++));
    const sameFields = (flags & BigInt(FLAG_SAMEFIELDS)) !== 0n;
    const count = sameFields ? nfields : intItem(r, items, p++);
    if (count < 0n || BigInt(p) + (sameFields ? count : 2n * count) >= BigInt(items.length)) bad();
    const fields: string[] = new Array(Number(count) * 2);
    for (let i = 0; i < fields.length; i += 2) {
      fields[i] = sameFields ? masterFields[i / 2] : items[p++];
      fields[i + 1] = items[p++];
    }
    const lpCount = intItem(r, items, p++);
    if (lpCount !== (sameFields ? count + 3n : 2n * count + 4n)) bad();
    const id = makeStreamId(ms, seq);
    const entry: StreamEntry = { id, fields, deleted: (flags & BigInt(FLAG_DELETED)) !== 0n, sameFields };
    // Live entries are in ID order; a tombstone may sit above later entries (XSETID moved the last ID down).
    if (id <= previous) node.sorted = false;
    previous = id;
    if (!entry.deleted) {
      if (id <= previousLive) bad();
      previousLive = id;
      liveSeen++;
    }
    node.entries.push(entry);
    node.entryBytes += StreamNode.entrySize(node, entry);
  }
  if (p !== items.length || liveSeen !== live) bad();
  node.live = Number(live);
  node.deleted = Number(deleted);
  return node;
}

/** rdbLoadObject's stream branch for types 15 and 19. */
export function readStreamValue(r: StreamRdbInput, v2: boolean): StreamValue {
  const s = new StreamValue();
  const nodes = r.count();
  for (let i = 0; i < nodes; i++) {
    const key = r.stringBytes();
    if (key.length !== STREAM_ID_BYTES) r.fail("Stream node key entry is not the size of a stream ID");
    const masterId = idFromKeyBytes(key);
    const items = decodeListpack(r.stringBytes());
    if (items === null) r.fail("Stream listpack integrity check failed");
    const node = readNode(r, masterId, items);
    if (s.nodes.length > 0 && masterId <= s.nodes[s.nodes.length - 1].masterId) {
      r.fail("Stream nodes out of order or duplicated");
    }
    s.nodes.push(node);
  }
  const length = readLenBig(r);
  s.lastId = readId(r);
  let liveTotal = 0;
  for (const node of s.nodes) liveTotal += node.live;
  if (length !== BigInt(liveTotal)) r.fail("Stream length inconsistent with its nodes");
  s.length = liveTotal;
  if (v2) {
    s.firstId = readId(r);
    s.maxDeletedId = readId(r);
    s.entriesAdded = readLenBig(r);
  } else {
    s.maxDeletedId = 0n;
    s.entriesAdded = BigInt(s.length);
    s.firstId = s.edgeId(true, true) ?? STREAM_ID_MAX;
  }
  const groups = r.count();
  for (let i = 0; i < groups; i++) {
    const name = r.string();
    const lastId = readId(r);
    let entriesRead: bigint;
    if (v2) {
      entriesRead = BigInt.asIntN(64, readLenBig(r));
    } else {
      entriesRead = s.estimateDistance(lastId);
    }
    const g = s.createGroup(name, lastId, entriesRead);
    if (g === null) r.fail("Duplicated consumer group name");
    readGroupPel(r, g);
    readConsumers(r, g);
    for (const id of g.pelIds.ids) {
      if (g.pel.get(id)!.consumer === null) r.fail("Stream CG PEL entry without consumer");
    }
  }
  return s;
}

function readGroupPel(r: StreamRdbInput, g: ConsumerGroup): void {
  const n = r.count();
  for (let j = 0; j < n; j++) {
    const id = readRawId(r);
    const time = r.int64LE();
    const count = readLenBig(r);
    if (g.pel.has(id)) r.fail("Duplicated global PEL entry loading stream consumer group");
    g.addNack(id, { time, count, consumer: null });
  }
}

function readConsumers(r: StreamRdbInput, g: ConsumerGroup): void {
  const n = r.count();
  for (let j = 0; j < n; j++) {
    const name = r.string();
    const seen = r.int64LE();
    const consumer = g.createConsumer(name, seen);
    if (consumer === null) r.fail("Duplicate stream consumer detected");
    const pel = r.count();
    for (let k = 0; k < pel; k++) {
      const id = readRawId(r);
      const nack = g.pel.get(id);
      if (nack === undefined) r.fail("Consumer entry not found in group global PEL");
      if (nack.consumer !== null || !consumer.pel.add(id)) {
        r.fail("Duplicated consumer PEL entry loading a stream consumer group");
      }
      nack.consumer = consumer;
    }
  }
}
