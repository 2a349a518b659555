/**
 * An in-process stand-in for a connected client: runs command handlers against real Db objects
 * and returns the raw reply bytes. For cases no command can set up yet (values of other types).
 */
import { ALL_COMMANDS } from "../../src/commands/index.ts";
import type { Handler } from "../../src/commands/table.ts";
import { Config } from "../../src/config/config.ts";
import type { Client } from "../../src/server/client.ts";
import { Db, type KeyspaceObserver } from "../../src/store/keyspace.ts";
import { ReplyWriter } from "../../src/resp/writer.ts";
import { bytesToLatin1 } from "../../src/resp/latin1.ts";

/** A fake client with its own server state (16 dbs, default config). */
export interface FakeClient {
  client: Client;
  db: Db;
  /** Runs one command (no arity checks: give well-formed argv) and returns the raw reply. */
  call(...argv: string[]): string;
}

const HANDLERS = new Map<string, Handler>();
for (const family of ALL_COMMANDS) for (const [name, h] of Object.entries(family)) HANDLERS.set(name, h);

/** Creates a fake client speaking `resp`. */
export function fakeClient(resp: 2 | 3 = 2): FakeClient {
  const config = new Config();
  const stats = { keyspaceHits: 0, keyspaceMisses: 0 };
  const observer: KeyspaceObserver = { keyModified() {}, keyExpired() {}, stats };
  const dbs = Array.from({ length: 16 }, (_, i) => new Db(i, observer));
  const out = new ReplyWriter();
  out.resp = resp;
  const server = { dirty: 0, limits: { protoMaxBulkLen: 512 * 1024 * 1024 }, config, dbs, stats };
  const client = {
    out,
    db: dbs[0],
    server,
    resp,
    error(message: string) {
      out.error(message);
    },
  } as unknown as Client;
  return {
    client,
    db: dbs[0],
    call(...argv: string[]): string {
      const name = argv[0].toLowerCase();
      const handler = HANDLERS.get(name) ?? HANDLERS.get(`${name}|${(argv[1] ?? "").toLowerCase()}`);
      if (handler === undefined) throw new Error(`no handler for ${name}`);
      out.reset();
      handler(client, argv);
      return bytesToLatin1(out.bytes.subarray(0, out.length));
    },
  };
}
