/**
 * nodes.conf text (`reference/cluster-text-formats.md` section 2): serialized as CLUSTER NODES without
 * handshake nodes plus a `vars` line, and loaded with Redis 7.0's clusterLoadConfig rules. A corrupt file is
 * an error carrying the text Redis logs, never a silent reset. File I/O lives in `nodes_conf_file.ts`.
 */
import { clusterNodesText } from "./describe.ts";
import {
  CLUSTER_SLOTS,
  type ClusterNode,
  flagFromWord,
  isValidNodeId,
  newNode,
  NODE_FAIL,
  NODE_MIGRATE_TO,
  NODE_MYSELF,
  NODE_SLAVE,
} from "./node.ts";
import { type ClusterDataView, type ClusterSettings, ClusterState } from "./state.ts";
import { splitArgs } from "../resp/split_args.ts";

/** What Redis logs before exiting on a corrupt nodes.conf. */
export const CORRUPTED_CONFIG_MESSAGE = "Unrecoverable error: corrupted cluster config file.";
/** What Redis panics with on an unknown flag word. */
export const UNKNOWN_FLAG_MESSAGE = "Unknown flag in redis cluster config file";

/** Default distance between the client port and the bus port, for lines written before `@cport` existed. */
const CLUSTER_PORT_INCR = 10000;

/** A nodes.conf that cannot be loaded: `message` is Redis's log line, `detail` says what and where. */
export class NodesConfError extends Error {
  /** 1-based line number of the offending line (0 when the problem is the file as a whole). */
  readonly line: number;
  readonly detail: string;

  constructor(line: number, detail: string) {
    super(CORRUPTED_CONFIG_MESSAGE);
    this.name = "NodesConfError";
    this.line = line;
    this.detail = line > 0 ? `nodes.conf line ${line}: ${detail}` : `nodes.conf: ${detail}`;
  }

  /** The lines to log before exiting: Redis's message, then the detail. */
  logLines(): string[] {
    return [this.message, this.detail];
  }
}

/** A parsed nodes.conf, ready to become a `ClusterState`. */
export interface ParsedNodesConf {
  myId: string;
  currentEpoch: number;
  lastVoteEpoch: number;
  /** Nodes in the order of their lines, then placeholders (ids only referenced) in order of first mention. */
  nodes: ClusterNode[];
  /** Owner id of each slot, null when unassigned (the first line claiming a slot wins, as in Redis). */
  slotOwners: (string | null)[];
  /** Open slots of myself: slot -> target id (migrating) / source id (importing). */
  migratingTo: Map<number, string>;
  importingFrom: Map<number, string>;
  /** Warnings Redis would log (unknown `vars` variables). */
  warnings: string[];
}

/** The nodes.conf text of a state: CLUSTER NODES without handshake nodes, then the `vars` line. */
export function serializeNodesConf(state: ClusterState): string {
  return clusterNodesText(state, { includeHandshake: false }) +
    `vars currentEpoch ${state.currentEpoch} lastVoteEpoch ${state.lastVoteEpoch}\n`;
}

/** C's atoi/strtoull on a field: leading spaces, an optional sign, then digits; 0 when there are none. */
function leadingInt(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  return m === null ? 0 : Number(m[1]);
}

/** strtoull for an epoch: a negative number would wrap in C, which no valid file contains; taken as 0. */
function leadingEpoch(s: string): number {
  return Math.max(0, leadingInt(s));
}

/** Parse state of one file. */
class ConfParser {
  readonly nodes = new Map<string, ClusterNode>();
  /** Ids that had their own line, in line order. */
  readonly lineOrder = new Set<string>();
  readonly slotOwners: (string | null)[] = new Array(CLUSTER_SLOTS).fill(null);
  readonly migratingTo = new Map<number, string>();
  readonly importingFrom = new Map<number, string>();
  readonly warnings: string[] = [];
  myId: string | null = null;
  currentEpoch = 0;
  lastVoteEpoch = 0;
  lineNo = 0;

  constructor(private readonly now: number) {}

  fail(detail: string): never {
    throw new NodesConfError(this.lineNo, detail);
  }

  /** The node with this id, created with no flags when first mentioned (Redis's createClusterNode(id, 0)). */
  lookupOrCreate(id: string): ClusterNode {
    let node = this.nodes.get(id);
    if (node === undefined) this.nodes.set(id, node = newNode(id, 0, this.now));
    return node;
  }

  vars(argv: string[]): void {
    if (argv.length % 2 === 0) this.fail("the vars line has a variable without a value");
    for (let j = 1; j < argv.length; j += 2) {
      const name = argv[j].toLowerCase();
      if (name === "currentepoch") this.currentEpoch = leadingEpoch(argv[j + 1]);
      else if (name === "lastvoteepoch") this.lastVoteEpoch = leadingEpoch(argv[j + 1]);
      else this.warnings.push(`Skipping unknown cluster config variable '${argv[j]}'`);
    }
  }

  nodeLine(argv: string[]): void {
    if (argv.length < 8) this.fail(`a node line needs at least 8 fields, found ${argv.length}`);
    const id = argv[0];
    if (!isValidNodeId(id)) this.fail(`invalid node id '${id}'`);
    const node = this.lookupOrCreate(id);
    this.lineOrder.add(id);
    this.address(node, argv[1]);
    this.flags(node, argv[2]);
    if (!argv[3].startsWith("-")) {
      if (!isValidNodeId(argv[3])) this.fail(`invalid master id '${argv[3]}'`);
      this.lookupOrCreate(argv[3]);
      node.masterId = argv[3];
    }
    if (leadingInt(argv[4]) !== 0) node.pingSent = this.now;
    if (leadingInt(argv[5]) !== 0) node.pongReceived = this.now;
    // A replica's own epoch is what it last advertised: its master's, so Redis 7.0 reloads it as 0.
    node.configEpoch = (node.flags & NODE_SLAVE) !== 0 && node.masterId !== null ? 0 : leadingEpoch(argv[6]);
    // argv[7], the link state, is not stored.
    for (let j = 8; j < argv.length; j++) this.slotToken(node, argv[j]);
  }

  /** `ip:port[@cport][,hostname]`: the hostname after the first comma, the port after the last colon. */
  address(node: ClusterNode, field: string): void {
    let addr = field;
    const comma = addr.indexOf(",");
    if (comma !== -1) {
      node.hostname = addr.slice(comma + 1);
      addr = addr.slice(0, comma);
    } else {
      node.hostname = "";
    }
    const colon = addr.lastIndexOf(":");
    if (colon === -1) this.fail(`address '${field}' has no ':port'`);
    node.ip = addr.slice(0, colon);
    const ports = addr.slice(colon + 1);
    const at = ports.indexOf("@");
    node.port = leadingInt(at === -1 ? ports : ports.slice(0, at));
    node.cport = at === -1 ? node.port + CLUSTER_PORT_INCR : leadingInt(ports.slice(at + 1));
  }

  flags(node: ClusterNode, field: string): void {
    for (const word of field.split(",")) {
      const bit = flagFromWord(word.toLowerCase());
      if (bit === null) this.fail(`${UNKNOWN_FLAG_MESSAGE}: '${word}'`);
      if (bit === NODE_MYSELF) {
        if (this.myId !== null) this.fail("more than one node is flagged myself");
        this.myId = node.id;
      }
      if (bit === NODE_FAIL) node.failTime = this.now;
      node.flags |= bit;
    }
  }

  /** A slot item: `n`, `a-b`, or (open slots of myself) `[n->-id]` / `[n-<-id]`. */
  slotToken(node: ClusterNode, token: string): void {
    if (token.startsWith("[")) {
      const m = /^\[(\d+)-([<>])-([^\]]*)\]$/.exec(token);
      if (m === null) this.fail(`invalid open slot '${token}'`);
      const slot = this.slotNumber(m[1], token);
      if (!isValidNodeId(m[3])) this.fail(`invalid node id in open slot '${token}'`);
      this.lookupOrCreate(m[3]);
      (m[2] === ">" ? this.migratingTo : this.importingFrom).set(slot, m[3]);
      return;
    }
    const m = /^(\d+)(?:-(\d+))?$/.exec(token);
    if (m === null) this.fail(`invalid slot '${token}'`);
    const start = this.slotNumber(m[1], token);
    const stop = m[2] === undefined ? start : this.slotNumber(m[2], token);
    // As clusterAddSlot: a slot already owned keeps its first owner; a reversed range adds nothing.
    for (let slot = start; slot <= stop; slot++) this.slotOwners[slot] ??= node.id;
  }

  slotNumber(digits: string, token: string): number {
    const slot = Number(digits);
    if (slot >= CLUSTER_SLOTS) this.fail(`slot out of range in '${token}'`);
    return slot;
  }

  result(): ParsedNodesConf {
    this.lineNo = 0;
    if (this.myId === null) this.fail("no line is flagged myself");
    const ordered = [...this.lineOrder].map((id) => this.nodes.get(id)!);
    for (const [id, node] of this.nodes) if (!this.lineOrder.has(id)) ordered.push(node);
    let maxEpoch = this.currentEpoch;
    for (const node of ordered) maxEpoch = Math.max(maxEpoch, node.configEpoch);
    return {
      myId: this.myId,
      currentEpoch: maxEpoch,
      lastVoteEpoch: this.lastVoteEpoch,
      nodes: ordered,
      slotOwners: this.slotOwners,
      migratingTo: this.migratingTo,
      importingFrom: this.importingFrom,
      warnings: this.warnings,
    };
  }
}

/**
 * Parses nodes.conf text (latin1) with Redis 7.0's loading rules: blank lines skipped, lines split like shell
 * words, `vars` pairs, node lines of at least 8 fields, non-zero ping/pong times replaced by `now`, replicas'
 * configEpoch 0, currentEpoch raised to the greatest configEpoch. Throws `NodesConfError` on any format error,
 * and also when the last line is not terminated by "\n" (a truncated file; Redis itself would load it).
 * An empty text is not a configuration (the caller creates a new node instead) and is an error here too.
 */
export function parseNodesConf(text: string, now: number): ParsedNodesConf {
  const parser = new ConfParser(now);
  const lines = text.split("\n");
  // split leaves "" after a final "\n"; anything else there is a line cut short.
  const last = lines.pop()!;
  if (last !== "") {
    parser.lineNo = lines.length + 1;
    parser.fail("the last line is not terminated by a newline (truncated file?)");
  }
  for (const line of lines) {
    parser.lineNo++;
    if (line === "") continue;
    const argv = splitArgs(line);
    if (argv === null) return parser.fail("unbalanced quotes");
    if (argv.length === 0) continue;
    if (argv[0].toLowerCase() === "vars") parser.vars(argv);
    else parser.nodeLine(argv);
  }
  return parser.result();
}

/** A copy of a parsed node for a new state (so a parse result can build several states). */
function copyNode(node: ClusterNode): ClusterNode {
  return { ...node, failReports: new Map(node.failReports), slotBits: new Uint8Array(node.slotBits) };
}

/**
 * Builds the `ClusterState` a parsed nodes.conf describes: the node table in file order, slot owners with
 * `numSlots` in step, myself's open slots, the epochs. Queues log effects for Redis's load messages.
 */
export function stateFromNodesConf(
  parsed: ParsedNodesConf,
  settings: ClusterSettings,
  data: ClusterDataView,
  now: number,
  rng: () => number,
): ClusterState {
  const state = new ClusterState(parsed.myId, settings, data, now, rng);
  state.nodes.clear();
  for (const record of parsed.nodes) {
    const node = record.id === parsed.myId ? Object.assign(state.myself, copyNode(record)) : copyNode(record);
    node.numSlots = 0;
    node.slotBits.fill(0);
    state.nodes.set(node.id, node);
  }
  const byId = (id: string): ClusterNode => state.nodes.get(id)!;
  // A master with replicas is a replica-migration target (clusterNodeAddSlave while loading).
  for (const node of state.nodes.values()) {
    const master = node.masterId === null ? undefined : state.nodes.get(node.masterId);
    if (master !== undefined && master !== node) master.flags |= NODE_MIGRATE_TO;
  }
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
    const owner = parsed.slotOwners[slot];
    if (owner !== null) state.setSlotOwner(slot, byId(owner));
  }
  for (const [slot, id] of parsed.migratingTo) state.migratingTo[slot] = byId(id);
  for (const [slot, id] of parsed.importingFrom) state.importingFrom[slot] = byId(id);
  state.currentEpoch = parsed.currentEpoch;
  state.lastVoteEpoch = parsed.lastVoteEpoch;
  for (const text of parsed.warnings) state.emit({ kind: "log", level: "warning", text });
  state.emit({ kind: "log", level: "notice", text: `Node configuration loaded, I'm ${parsed.myId}` });
  return state;
}

/** Parses nodes.conf text and builds its state; throws `NodesConfError` when the file is corrupt. */
export function loadNodesConf(
  text: string,
  settings: ClusterSettings,
  data: ClusterDataView,
  now: number,
  rng: () => number,
): ClusterState {
  return stateFromNodesConf(parseNodesConf(text, now), settings, data, now, rng);
}
