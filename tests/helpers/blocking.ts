/**
 * Helpers for tests of blocking commands: connections whose reply can be awaited later, waiting for
 * blocked clients, and running one scenario on tessera and on redis-server with equal transcripts.
 */
import assert from "node:assert/strict";
import { RespConnection } from "../../src/resp/connection.ts";
import { requireTool } from "./servers.ts";
import type { ServerTestContext } from "./test.ts";

/** Longest wait for a condition (a client to block, a reply to come). */
const WAIT_LIMIT_MS = 3000;

/** A connection whose next reply can be awaited later without issuing a second read. */
export class Peer {
  private pending: Promise<string> | null = null;
  settled = false;

  private constructor(readonly conn: RespConnection) {}

  static async open(port: number, resp: 2 | 3 = 2): Promise<Peer> {
    const peer = new Peer(await RespConnection.connect(port));
    if (resp === 3) await peer.conn.call("HELLO", "3");
    return peer;
  }

  /** Sends a command without waiting: `reply()` returns its reply. */
  async send(...args: string[]): Promise<void> {
    await this.conn.writeRaw(encode(args));
    this.settled = false;
    // A connection closed while waiting (a test closing or killing it) settles as "<closed>".
    this.pending = this.conn.readReply().then((r) => r.raw, () => "<closed>").finally(() => this.settled = true);
  }

  /** The reply of the last `send`. */
  reply(): Promise<string> {
    const p = this.pending!;
    this.pending = null;
    return withTimeout(p, "reply");
  }

  /** Sends a command and waits for its reply. */
  call(...args: string[]): Promise<string> {
    return withTimeout(this.conn.callRaw(...args), args[0]);
  }

  close(): void {
    this.conn.close();
  }
}

/** A command as a RESP multibulk request. */
export function encode(args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join("");
}

/** A promise that fails if it has not settled within WAIT_LIMIT_MS. */
export function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error(`${what}: no reply`)), WAIT_LIMIT_MS)),
  ]);
}

/** Waits until the server reports `n` blocked clients. */
export async function blockedClients(admin: Peer, n: number): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (Date.now() < deadline) {
    const info = await admin.call("INFO", "clients");
    if (Number(/blocked_clients:(\d+)/.exec(info)![1]) === n) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`never saw ${n} blocked clients`);
}

/** A scenario: drives connections to one server and returns what they received, in order. */
export type Scenario = (port: number) => Promise<string[]>;

/** Runs a scenario on tessera and on redis-server; returns both transcripts after checking they match. */
export async function both(
  t: ServerTestContext,
  scenario: Scenario,
): Promise<string[] | null> {
  if (!requireTool("redis-server")) return null;
  const [tessera, redis] = await Promise.all([t.tessera(["--save", ""]), t.redis(["--save", ""])]);
  const [mine, theirs] = await Promise.all([scenario(tessera.port), scenario(redis.port)]);
  assert.deepEqual(mine, theirs);
  return mine;
}
