/**
 * Differential tests of keyspace notifications against redis-server 7.0:
 * - a script (every command family, blocking pops served later, MULTI/EXEC, lazy and active expiry,
 *   a RESP3 client subscribed to its own events) run with `notify-keyspace-events` KEA, KEAnm, Kl
 *   and Ez$ in turn;
 * - seeded random sequences over every writing family (KEAnm), also run by a self-subscribed client;
 * - a replica's events for the commands its master sends (rewritten ones included).
 * Subscribers on each server (`PSUBSCRIBE __key*__:*` in RESP2 and in RESP3, and `SUBSCRIBE` of one
 * exact keyspace channel) record every frame; after each command a marker message closes the
 * command's batch, and the batches (pattern, channel, message, as raw frames) must be equal byte for
 * byte. Command replies are compared too, except where marked `~any` (random picks).
 * `DIFF_SEEDS=7,8 deno test -A tests/differential_keyspace_events_test.ts` replays random seeds.
 */
import assert from "node:assert/strict";
import { requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";
import { diffSeeds, NORMALISERS, showArgs } from "./helpers/diff.ts";
import { randomCommands, Rng } from "./differential/random_commands.ts";
import { encodeCommand, RespConnection } from "../src/resp/connection.ts";
import { splitArgs } from "../src/resp/split_args.ts";
import { utf8ToLatin1 } from "../src/resp/latin1.ts";

/** How long a reply or an event batch may take. */
const REPLY_TIMEOUT_MS = 3000;
/** Channel prefix of the batch markers: matches the subscribers' `__key*__:*` pattern. */
const MARKER_PREFIX = "__keymarker__:";
/** The exact keyspace channel one subscriber listens to. */
const EXACT_CHANNEL = "__keyspace@0__:l";
/** Event class sets the whole script runs under. */
const FLAG_SETS = ["KEA", "KEAnm", "Kl", "Ez$"];

/**
 * The script. `=== name` starts a case (FLUSHALL and fresh connections first); `@conn` picks a
 * connection (default `a`); `&conn CMD` sends without waiting (a blocking command) and `!wait conn`
 * reads its reply later; `%conn CMD` takes everything the connection receives up to an ECHO sent
 * after the command (a RESP3 client subscribed to its own events: pushes and reply, in order);
 * `!sleep MS` waits; `~any` skips the reply comparison; `$PAYLOAD` is a DUMP of the string "hello"
 * taken from redis-server.
 */
const SCRIPT = String.raw`
=== strings
SET s1 v
SET s1 v2 EX 100
SET s1 v3 KEEPTTL
SET s1 v4 PX 100000 GET
SET s1 x NX
SET s2 x XX
SET s2 x NX GET
SETNX s2 a
SETNX s2 b
SETEX s3 100 v
PSETEX s4 100000 v
SETEX s4 -1 v
GETSET s2 c
GETSET s5 c
MSET m1 a m2 b m1 c
MSETNX m3 a m4 b
MSETNX m3 a m5 b
INCR n
INCRBY n 5
DECR n
DECRBY n 2
INCR s2
INCRBYFLOAT f 1.5
INCRBYFLOAT f 1.5
APPEND ap abc
APPEND ap def
SETRANGE sr 5 xyz
SETRANGE sr 0 ""
SETRANGE sr2 0 ""
SETRANGE sr 1 ab
GETDEL sr
GETDEL nosuch
GETEX s1 EX 100
GETEX s1 PERSIST
GETEX s1 PERSIST
GETEX s1
GETEX s1 PXAT 1
GET nosuch
GET s1
STRLEN nosuch
MGET nosuch m1
GETRANGE nosuch 0 1
LCS m1 nosuch
SET "bin\x00key" "\xff"
DEL "bin\x00key"

=== keys
SET k1 a
SET k2 b
DEL k1 k2 k3
SET k1 a
UNLINK k1 k9
SET r1 v
RENAME r1 r2
SET r3 x
RENAME r2 r3
RENAMENX r3 r4
SET r5 y
RENAMENX r4 r5
RENAME r5 r5
RENAME nosuch r6
EXISTS r4 nosuch
TYPE nosuch
TTL nosuch
PTTL nosuch
EXPIRETIME nosuch
TOUCH nosuch r4
OBJECT ENCODING nosuch
COPY r4 c1
COPY r4 c1
COPY r4 c1 REPLACE
COPY nosuch c2
COPY r4 c3 DB 1
MOVE c1 2
MOVE c1 2
EXPIRE c1 100
EXPIRE r4 100
PEXPIRE r4 100000
EXPIREAT r4 99999999999
PEXPIREAT r4 99999999999999
EXPIRE r4 100 NX
EXPIRE r4 100 XX
EXPIRE r4 50 GT
PERSIST r4
PERSIST r4
PERSIST nosuch
EXPIRE r4 -1
EXPIRE nosuch 10
DUMP nosuch
RESTORE rs 0 $PAYLOAD
RESTORE rs 0 $PAYLOAD
RESTORE rs 0 $PAYLOAD REPLACE
RESTORE rs2 100000 $PAYLOAD
RESTORE rs 1 $PAYLOAD REPLACE ABSTTL
RESTORE rs3 1 $PAYLOAD ABSTTL
SWAPDB 0 1
SWAPDB 0 1
FLUSHDB

=== lists
LPUSH l a b c
RPUSH l d
LPUSHX l e
RPUSHX l f
LPUSHX nol a
RPUSHX nol a
LPOP l
RPOP l
LPOP l 2
LPOP l 0
LPOP nol
RPOP nol 2
LINSERT l BEFORE a x
LINSERT l BEFORE zz x
LINSERT nol BEFORE a x
LSET l 0 y
LSET l 99 y
LREM l 0 zz
LREM l 1 y
LTRIM l 0 0
LTRIM l 5 10
LTRIM nol 0 1
RPUSH l2 a b
LMOVE l2 l3 LEFT RIGHT
LMOVE l2 l3 RIGHT LEFT
LMOVE nol l3 RIGHT LEFT
RPOPLPUSH l3 l3
RPUSH one x
RPOPLPUSH one one
LMPOP 2 nol l3 LEFT COUNT 5
LMPOP 1 nol LEFT
RPUSH l4 a
BLPOP l4 0
RPUSH l4 a b
BRPOP l4 0
RPUSH l4 c
BLMOVE l4 l5 LEFT LEFT 0
BRPOPLPUSH l4 l5 0
BLMPOP 0 1 l5 RIGHT COUNT 3
BLPOP nol 0.01
LLEN nol
LRANGE nol 0 -1
LINDEX nol 0
LPOS nol a
SET str x
LPUSH str a

=== blocking pops served later
&b BLPOP bl 0
!sleep 100
RPUSH bl a b
!wait b
&b BRPOP bl 0
!sleep 100
RPUSH bl c
!wait b
&b BRPOPLPUSH bl2 bl3 0
!sleep 100
LPUSH bl2 x
!wait b
&b BLMOVE bl4 bl5 RIGHT LEFT 0
!sleep 100
RPUSH bl4 x y
!wait b
&b BLMPOP 0 1 bl6 LEFT COUNT 2
!sleep 100
RPUSH bl6 x
!wait b
&b BZPOPMIN bz 0
!sleep 100
ZADD bz 1 a 2 b
!wait b
&b BZPOPMAX bz2 0
!sleep 100
ZADD bz2 1 a
!wait b
&b BZMPOP 0 1 bz3 MIN COUNT 5
!sleep 100
ZADD bz3 1 a 2 b
!wait b
&b BLPOP bl7 0
!sleep 100
MULTI
LPUSH bl7 a
LPUSH bl7 b
EXEC
!wait b
&b BLPOP bl8 0
!sleep 100
&c BLPOP bl8 0
!sleep 100
RPUSH bl8 1 2 3
!wait b
!wait c

=== hashes
HSET h f1 v1 f2 v2
HSET h f1 v1
HMSET h f3 v3
HSETNX h f1 x
HSETNX h f4 x
HSETNX h2 f x
HINCRBY h n 5
HINCRBY h2 n 1
HINCRBYFLOAT h fl 1.5
HINCRBYFLOAT h3 fl 1.5
HINCRBY h f2 1
HDEL h f1 nosuch
HDEL h nosuch
HDEL h2 f n
HDEL nosuch f
HGET nosuch f
HMGET nosuch f
HGETALL nosuch
HRANDFIELD nosuch
HRANDFIELD nosuch 2
HLEN nosuch
HEXISTS nosuch f
HSTRLEN nosuch f
HSCAN nosuch 0

=== sets
SADD s a b c
SADD s a
SREM s a x
SREM s x
SREM nosuch x
SADD s2 1
SPOP s2
SADD s3 1 2 3
SPOP s3 5
SADD s4 1 2 3 4 5 6 7 8 9 10
~any SPOP s4 2
~any SPOP s4 7
SPOP s4 0
SPOP nosuch
SPOP nosuch 3
SMOVE s s5 b
SMOVE s s5 c
SADD s6 x
SADD s5 x
SMOVE s6 s5 x
SMOVE nosuch s5 x
SMOVE s5 s5 x
SADD a1 1 2 3
SADD a2 2 3 4
SINTERSTORE d a1 a2
SUNIONSTORE d a1 a2
SDIFFSTORE d a1 a2
SINTERSTORE d a1 nosuch
SDIFFSTORE d a1 a1
SUNIONSTORE d2 nosuch
SINTER a1 nosuch
SUNION nosuch
SDIFF nosuch a1
SMEMBERS nosuch
SISMEMBER nosuch a
SMISMEMBER nosuch a
SCARD nosuch
SRANDMEMBER nosuch
SINTERCARD 2 a1 nosuch
SSCAN nosuch 0

=== sorted sets
ZADD z 1 a 2 b
ZADD z 1 a
ZADD z XX 5 c
ZADD z NX 3 a
ZADD z CH 3 a
ZADD z GT 1 a
ZADD z INCR 2 a
ZINCRBY z 1 b
ZINCRBY z2 1 b
ZADD z3 XX 1 a
ZADD zn 1 a
ZADD zn INCR +inf a
ZADD zn INCR -inf a
ZREM z a nosuch
ZREM z nosuch
ZREM nosuch a
ZADD z 1 a 2 b 3 c 4 d 5 e
ZREMRANGEBYRANK z 0 0
ZREMRANGEBYSCORE z 2 2
ZADD zl 0 a 0 b 0 c
ZREMRANGEBYLEX zl [b [b
ZREMRANGEBYLEX zl - +
ZREMRANGEBYRANK z 10 20
ZREMRANGEBYSCORE z 100 200
ZREMRANGEBYSCORE z -inf +inf
ZREMRANGEBYRANK nosuch 0 1
ZADD za 1 a 2 b 3 c
ZADD zb 2 b 3 c 4 d
ZUNIONSTORE zd 2 za zb
ZINTERSTORE zd 2 za zb
ZDIFFSTORE zd 2 za zb
ZINTERSTORE zd 2 za nosuch
ZDIFFSTORE zd 1 nosuch
ZRANGESTORE zr za 0 1
ZRANGESTORE zr za 5 6
ZRANGESTORE zr2 za 0 0
ZRANGESTORE zr2 nosuch 0 1
ZRANGESTORE zr3 za 1 2 BYSCORE
ZPOPMIN za
ZPOPMAX za 5
ZPOPMIN nosuch
ZPOPMAX zb 0
ZMPOP 1 zb MIN COUNT 2
ZMPOP 2 nosuch zb MAX
ZADD zc 1 a
BZPOPMIN zc 0
ZADD zc 1 a 2 b
BZPOPMAX zc 0
BZMPOP 0 1 zc MIN COUNT 3
BZPOPMIN nosuch 0.01
ZSCORE nosuch a
ZMSCORE nosuch a
ZRANGE nosuch 0 -1
ZRANGEBYSCORE nosuch 0 1
ZCARD nosuch
ZCOUNT nosuch 0 1
ZRANK nosuch a
ZRANDMEMBER nosuch
ZSCAN nosuch 0
ZUNION 2 nosuch zr
ZINTERCARD 1 nosuch

=== bitmaps
SETBIT b 7 1
SETBIT b 7 1
SETBIT b 100 0
SETBIT nb 0 0
GETBIT nosuch 0
BITCOUNT nosuch
BITPOS nosuch 1
BITOP AND bd b nb
BITOP NOT bd2 b
BITOP OR bd nosuch nosuch2
BITOP OR bd nosuch nosuch2
BITFIELD bf SET u8 0 255
BITFIELD bf INCRBY u8 0 1
BITFIELD bf OVERFLOW FAIL INCRBY u8 0 255
BITFIELD bf GET u8 0
BITFIELD bf2 OVERFLOW FAIL INCRBY u8 0 300
BITFIELD_RO nosuch GET u8 0
BITFIELD nosuch GET u8 0

=== hyperloglog
PFADD hl a b c
PFADD hl a
PFADD hl2
PFADD hl2
PFCOUNT hl nosuch
PFCOUNT nosuch
PFCOUNT hl
PFMERGE hl3 hl hl2
PFMERGE hl3
PFMERGE hl4 nosuch

=== geo
GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
GEOADD g 13.361389 38.115556 Palermo
GEOADD g XX 1 1 nosuchm
GEOADD g2 NX 1 1 m
GEOSEARCHSTORE gd g FROMLONLAT 15 37 BYRADIUS 200 km ASC
GEOSEARCHSTORE gd g FROMLONLAT 15 37 BYRADIUS 200 km ASC STOREDIST
GEORADIUS g 15 37 200 km STORE gr
GEORADIUSBYMEMBER g Palermo 500 km STOREDIST gr2
GEOSEARCHSTORE gd g FROMLONLAT 0 0 BYRADIUS 1 km
GEOSEARCHSTORE gd nosuch FROMLONLAT 0 0 BYRADIUS 1 km
GEORADIUS nosuch 15 37 200 km STORE gr
GEODIST nosuch a b
GEOPOS nosuch a
GEOHASH nosuch a
GEOSEARCH nosuch FROMLONLAT 0 0 BYRADIUS 1 km
GEORADIUS_RO nosuch 15 37 200 km

=== sort
RPUSH sl 3 1 2
SORT sl STORE so
SORT sl
SORT nosuch STORE so
SORT nosuch STORE so
SORT_RO nosuch
SADD ss 3 1 2
SORT ss STORE so2
SET w_1 5
SORT sl BY w_* GET w_* STORE so3

=== transactions
MULTI
SET t1 a
LPUSH t2 b
INCR t3
DEL t1
GET nosuch
EXEC
MULTI
SET t4 a
DISCARD
WATCH t2
LPUSH t2 c
MULTI
LPUSH t2 d
EXEC

=== edge cases
SET t v EX 100
RENAME t t2
COPY t2 t3
MOVE t3 5
SET t3 x
MOVE t3 5
SELECT 5
GET t3
SELECT 0
SET str v
LPUSH str a
APPEND l a
RPUSH l a b a
LREM l 0 a
LREM l 0 b
RPUSH l a b
LTRIM l 0 -1
LTRIM l 0 -1
LINSERT l AFTER b c
SADD s 1 2
SINTERSTORE s s s
SUNIONSTORE s s nosuch
SDIFFSTORE s s s
SET d v EX 100
SADD s 1
SUNIONSTORE d s
TTL d
ZADD z 5 a
ZADD z GT 1 a
ZADD z LT 9 a
ZADD z LT 1 a
ZADD z CH NX 1 a 2 b
ZINCRBY z nan a
ZADD z INCR inf a
ZADD z INCR -inf a
ZUNIONSTORE z 2 z z
GEOADD g CH 1 1 a 2 2 b
GEOADD g CH 1 1 a
GEOADD g 500 1 bad
MULTI
SET x 1
NOSUCHCOMMAND
EXEC
MULTI
SET y 1
LPUSH y a
EXEC
SET c 10
INCRBY c notanumber
DECRBY c 1
GETEX c EXAT 1
SET e v
EXPIRE e 100 GT
EXPIRE e 100 XX
EXPIRE e 100 NX
EXPIRE e 50 GT
EXPIRE e 200 GT
EXPIRE e 300 LT
PEXPIRE e 0
HSET h a 1
HINCRBYFLOAT h a nan
HINCRBYFLOAT h a 1e400
HSETNX h a 2
BITFIELD bf SET u8 0 0
BITFIELD bf SET i8 8 0
SETBIT bf 0 0
PFADD p
PFADD p a
PFADD p a
SET notahll x
PFADD notahll a
PFMERGE notahll p
~any RANDOMKEY
SWAPDB 0 9
~any RANDOMKEY
FLUSHALL

=== a RESP3 client subscribed to its own events
~any %s HELLO 3
%s PSUBSCRIBE __keyspace@0__:*
%s SET k v
%s SET k v2 EX 100
%s SET k v3 GET
%s SETNX k x
%s SETEX k 100 v
%s GETSET k w
%s MSET k a k2 b
%s MSETNX k3 a
%s INCR n
%s INCRBY n 2
%s INCRBYFLOAT n 1.5
%s APPEND k x
%s SETRANGE k 0 y
%s GETEX k EX 100
%s GETEX k PERSIST
%s GETEX k PXAT 1
%s SET k v
%s GETDEL k
%s GET k
%s SETBIT b 1 1
%s BITFIELD b SET u8 0 1
%s BITOP OR b2 b
%s BITOP OR b3 nosuch
%s DEL b2 n
%s PFADD h a
%s PFMERGE h2 h
%s EXPIRE h 100
%s PERSIST h
%s EXPIRE h -1
%s RENAME h2 h3
%s COPY h3 h4
%s SET r v
%s RESTORE r2 0 $PAYLOAD
%s LPUSH l a b
%s RPUSH l c
%s LPUSHX l d
%s LINSERT l BEFORE a x
%s LSET l 0 y
%s LREM l 1 y
%s LTRIM l 0 1
%s LPOP l
%s RPOP l
%s RPUSH l a b c
%s LPOP l 2
%s RPOP l 1
%s RPUSH l a b
%s LMOVE l l2 LEFT RIGHT
%s RPOPLPUSH l l2
%s LMPOP 1 l2 LEFT COUNT 1
%s BLPOP l2 0
%s RPUSH l a b
%s BRPOP l 0
%s BLMOVE l l3 LEFT LEFT 0
%s BLMPOP 0 1 l3 LEFT COUNT 2
%s RPUSH l a
%s BRPOPLPUSH l l4 0
%s HSET hh f v
%s HSETNX hh g v
%s HMSET hh h v
%s HINCRBY hh n 1
%s HINCRBYFLOAT hh m 1.5
%s HDEL hh f
%s HDEL hh g h n m
%s SADD s a b
%s SREM s a
%s SADD s c
%s SMOVE s s2 b
%s SPOP s
%s SADD s 1 2 3
%s SPOP s 3
%s SADD s a
%s SINTERSTORE s3 s s
%s SUNIONSTORE s4 s nosuch
%s SDIFFSTORE s4 s s
%s ZADD z 1 a 2 b 3 c
%s ZINCRBY z 1 a
%s ZADD z INCR 1 a
%s ZREM z a
%s ZADD z 1 a 4 d
%s ZREMRANGEBYRANK z 0 0
%s ZREMRANGEBYSCORE z 3 3
%s ZADD z 0 a 0 b 0 c
%s ZREMRANGEBYLEX z [a [a
%s ZUNIONSTORE z2 1 z
%s ZINTERSTORE z3 2 z nosuch
%s ZRANGESTORE z4 z 0 0
%s ZPOPMIN z
%s ZPOPMAX z2 2
%s ZADD z 1 a 2 b
%s ZMPOP 1 z MIN COUNT 1
%s BZPOPMIN z 0
%s ZADD z 1 a 2 b
%s BZPOPMAX z 0
%s ZADD z3 1 a
%s BZMPOP 0 1 z3 MIN
%s ZADD z 1 a 2 b
%s BZMPOP 0 1 z MAX COUNT 5
%s GEOADD g 13.361389 38.115556 Palermo
%s GEOSEARCHSTORE g2 g FROMLONLAT 13 38 BYRADIUS 500 km
%s GEORADIUS g 13 38 500 km STORE g3
%s RPUSH sl 2 1
%s SORT sl STORE sl2
%s SORT nosuch STORE sl2
%s MOVE sl 1
%s SWAPDB 0 1
%s SWAPDB 0 1
%s UNLINK sl2 g2
%s PUBLISH __keyspace@0__:k hello

=== lazy expiry
DEBUG SET-ACTIVE-EXPIRE 0
SET e1 v PX 50
!sleep 120
GET e1
SET e2 v PX 50
!sleep 120
EXISTS e2
SET e3 v PX 50
!sleep 120
DEL e3
SET e4 v PX 50
!sleep 120
SET e4 w
RPUSH e5 a
PEXPIRE e5 50
!sleep 120
LPUSH e5 x
SET e6 v PX 50
!sleep 120
TTL e6
SADD e7 x
PEXPIRE e7 50
!sleep 120
SCARD e7
SET e8 v PXAT 1
GET e8
SET e9 v EXAT 1
EXISTS e9
EXPIRE e10 0
SET e10 v
EXPIRE e10 0
SET e11 v
PEXPIREAT e11 1
DEBUG SET-ACTIVE-EXPIRE 1

=== active expiry
SET x1 v PX 30
!sleep 600
DBSIZE
HSET x2 f v
PEXPIRE x2 30
!sleep 600
DBSIZE
`;

/** One step of the script. */
interface Step {
  line: number;
  kind: "command" | "send" | "wait" | "sleep" | "stream";
  conn: string;
  args: string[];
  anyReply: boolean;
  sleepMs: number;
}

interface Case {
  name: string;
  steps: Step[];
}

function parse(script: string): Case[] {
  const cases: Case[] = [];
  const lines = script.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i].trim();
    if (text === "" || text.startsWith("#")) continue;
    if (text.startsWith("===")) {
      cases.push({ name: text.slice(3).trim(), steps: [] });
      continue;
    }
    const step: Step = { line: i + 1, kind: "command", conn: "a", args: [], anyReply: false, sleepMs: 0 };
    if (text.startsWith("!sleep ")) {
      step.kind = "sleep";
      step.sleepMs = Number(text.slice(7));
    } else if (text.startsWith("!wait ")) {
      step.kind = "wait";
      step.conn = text.slice(6).trim();
    } else {
      const args = splitArgs(utf8ToLatin1(text));
      if (args === null) throw new Error(`line ${i + 1}: unbalanced quotes`);
      while (args.length > 0 && /^[@&~%]/.test(args[0])) {
        const tag = args.shift()!;
        if (tag === "~any") step.anyReply = true;
        else if (tag[0] === "@") step.conn = tag.slice(1);
        else if (tag[0] === "%") {
          step.kind = "stream";
          step.conn = tag.slice(1);
        } else if (tag[0] === "&") {
          step.kind = "send";
          step.conn = tag.slice(1);
        } else throw new Error(`line ${i + 1}: unknown tag ${tag}`);
      }
      step.args = args;
    }
    cases.at(-1)!.steps.push(step);
  }
  return cases;
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing in ${REPLY_TIMEOUT_MS} ms`)), REPLY_TIMEOUT_MS);
    }),
  ]);
}

/** A server's side of the run: command connections by name, the subscribers, the marker connection. */
class Side {
  private readonly conns = new Map<string, RespConnection>();
  private subscribers: { name: string; conn: RespConnection }[] = [];
  private marker: RespConnection | null = null;

  constructor(readonly label: string, readonly port: number) {}

  async conn(name: string): Promise<RespConnection> {
    let c = this.conns.get(name);
    if (c === undefined) {
      c = await RespConnection.connect(this.port);
      this.conns.set(name, c);
    }
    return c;
  }

  /** Opens the subscribers (RESP2 pattern, RESP3 pattern, RESP2 exact channel) and the marker connection. */
  async subscribe(): Promise<void> {
    const p2 = await RespConnection.connect(this.port);
    await withTimeout(p2.call("PSUBSCRIBE", "__key*__:*"), `${this.label} psubscribe`);
    const p3 = await RespConnection.connect(this.port);
    await withTimeout(p3.call("HELLO", "3"), `${this.label} hello`);
    await withTimeout(p3.call("PSUBSCRIBE", "__key*__:*"), `${this.label} psubscribe`);
    const exact = await RespConnection.connect(this.port);
    await withTimeout(exact.call("SUBSCRIBE", EXACT_CHANNEL, MARKER_PREFIX + "exact"), `${this.label} subscribe`);
    await withTimeout(exact.readReply(), `${this.label} subscribe`);
    this.subscribers = [{ name: "psubscribe/RESP2", conn: p2 }, { name: "psubscribe/RESP3", conn: p3 }, {
      name: "subscribe " + EXACT_CHANNEL,
      conn: exact,
    }];
    this.marker = await RespConnection.connect(this.port);
  }

  /**
   * Closes the current batch: publishes marker `n` and returns, per subscriber, the raw frames that
   * arrived before it.
   */
  async collect(n: number): Promise<string[][]> {
    const channel = MARKER_PREFIX + n;
    await withTimeout(this.marker!.call("PUBLISH", channel, "end"), `${this.label} marker`);
    await withTimeout(this.marker!.call("PUBLISH", MARKER_PREFIX + "exact", String(n)), `${this.label} marker`);
    const batches: string[][] = [];
    for (const { name, conn } of this.subscribers) {
      const frames: string[] = [];
      for (;;) {
        const { raw } = await withTimeout(conn.readReply(), `${this.label} ${name}`);
        if (!raw.includes(MARKER_PREFIX)) {
          frames.push(raw);
          continue;
        }
        // Pattern subscribers end at marker n; the exact-channel one at its own marker message n.
        if (raw.includes(channel + "\r\n") || raw.endsWith(`\r\n${n}\r\n`) && !raw.includes("pmessage")) break;
      }
      batches.push(frames);
    }
    return batches;
  }

  closeCommandConns(): void {
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
  }

  close(): void {
    this.closeCommandConns();
    for (const s of this.subscribers) s.conn.close();
    this.marker?.close();
  }
}

/** The ECHO that closes a `%conn` step. */
const STREAM_END = "__stream_end__";

/** Sends a command and an ECHO; returns every frame received before the ECHO's reply, concatenated. */
async function streamCall(conn: RespConnection, args: string[]): Promise<string> {
  await conn.writeRaw(encodeCommand(args));
  await conn.writeRaw(encodeCommand(["ECHO", STREAM_END]));
  let all = "";
  for (;;) {
    const { raw } = await conn.readReply();
    if (raw === `$${STREAM_END.length}\r\n${STREAM_END}\r\n`) return all;
    all += raw;
  }
}

function show(frames: string[]): string {
  return frames.length === 0 ? "(none)" : frames.map((f) => JSON.stringify(f)).join("\n      ");
}

/** Runs every case under one event class set; adds the mismatches found to `failures`. */
async function runAll(
  tessera: Side,
  redis: Side,
  cases: Case[],
  flags: string,
  payload: string,
  failures: string[],
): Promise<void> {
  const sides = [tessera, redis];
  let marker = 0;
  for (const c of cases) {
    for (const s of sides) {
      s.closeCommandConns();
      const a = await s.conn("a");
      await withTimeout(a.call("FLUSHALL"), `${s.label} flushall`);
      await withTimeout(a.call("CONFIG", "SET", "notify-keyspace-events", flags), `${s.label} config set`);
    }
    const pending = new Set<string>();
    for (const step of c.steps) {
      const where = `[${flags}] "${c.name}" line ${step.line}`;
      if (step.kind === "sleep") {
        await new Promise((r) => setTimeout(r, step.sleepMs));
        continue;
      }
      const args = step.args.map((a) => a === "$PAYLOAD" ? payload : a);
      let replies: string[];
      if (step.kind === "send") {
        for (const s of sides) await (await s.conn(step.conn)).writeRaw(encodeCommand(args));
        pending.add(step.conn);
        continue;
      } else if (step.kind === "wait") {
        pending.delete(step.conn);
        replies = await Promise.all(
          sides.map(async (s) => (await withTimeout((await s.conn(step.conn)).readReply(), `${s.label} wait`)).raw),
        );
      } else {
        const call = step.kind === "stream" ? streamCall : (conn: RespConnection) => conn.callRaw(...args);
        replies = await Promise.all(
          sides.map(async (s) =>
            withTimeout(call(await s.conn(step.conn), args), `${s.label} ${showArgs(args)}`).catch((err) =>
              `<${(err as Error).message}>`
            )
          ),
        );
      }
      const what = step.kind === "wait" ? `(reply of @${step.conn})` : `@${step.conn} ${showArgs(args)}`;
      if (!step.anyReply && replies[0] !== replies[1]) {
        failures.push(
          `${where} ${what}: replies differ\n    tessera: ${JSON.stringify(replies[0])}\n    redis:   ${
            JSON.stringify(replies[1])
          }`,
        );
      }
      marker++;
      const [t, r] = await Promise.all(sides.map((s) => s.collect(marker)));
      for (let i = 0; i < t.length; i++) {
        if (JSON.stringify(t[i]) === JSON.stringify(r[i])) continue;
        failures.push(
          `${where} ${what}: events differ (subscriber ${i})\n    tessera: ${show(t[i])}\n    redis:   ${show(r[i])}`,
        );
      }
    }
    assert.equal(pending.size, 0, `case "${c.name}" leaves blocked connections`);
  }
}

serverTest(
  "keyspace events: every family, blocking pops, MULTI, expiry; KEA, KEAnm, Kl, Ez$ like redis-server",
  async (t) => {
    if (!requireTool("redis-server")) return;
    const args = ["--save", "", "--enable-debug-command", "yes"];
    const [tp, rp] = await Promise.all([t.tessera(args), t.redis(args)]);
    const tessera = new Side("tessera", tp.port);
    const redis = new Side("redis", rp.port);
    t.defer(() => {
      tessera.close();
      redis.close();
    });
    // The RESTORE payload comes from redis-server, before any subscriber listens.
    const setup = await redis.conn("setup");
    await setup.call("SET", "payload:src", "hello");
    const payload = await setup.call("DUMP", "payload:src");
    assert.equal(typeof payload, "string");
    await setup.call("DEL", "payload:src");
    await tessera.subscribe();
    await redis.subscribe();
    const cases = parse(SCRIPT);
    const failures: string[] = [];
    try {
      for (const flags of FLAG_SETS) await runAll(tessera, redis, cases, flags, payload as string, failures);
    } catch (err) {
      // A hang stops the run: report it with the mismatches that came before.
      failures.push(`aborted: ${(err as Error).message}`);
    }
    assert.deepEqual(failures, [], failures.slice(0, 30).join("\n") + `\n(${failures.length} mismatches)`);
  },
  240_000,
);

/** Commands a master runs while its replica's subscribers listen (rewritten ones included). */
const REPLICATED_COMMANDS = String.raw`
SET k v EX 100
SETEX k2 100 v
GETEX k2 PX 100000
GETEX k2 PERSIST
GETDEL k2
INCRBYFLOAT f 1.5
HINCRBYFLOAT h f 2.5
HSET h g v
HDEL h f g
RPUSH l a b c
BLPOP l 0
LMOVE l l2 LEFT RIGHT
LMPOP 1 l RIGHT COUNT 5
SADD s 1 2 3 4
SPOP s
SPOP s 2
SPOP s 5
ZADD z 1 a 2 b 3 c
ZPOPMIN z
BZPOPMAX z 0
ZMPOP 1 z MIN COUNT 3
EXPIRE k 200
EXPIRE k -1
SET r v
RENAME r r2
RESTORE rs 0 $PAYLOAD
SETBIT b 1 1
BITOP NOT b2 b
PFADD p a
GEOADD g 13.361389 38.115556 Palermo
RPUSH sl 2 1
SORT sl STORE so
MSET m1 a m2 b
DEL m1 m2 nosuch
DEBUG SET-ACTIVE-EXPIRE 0
SET e v PX 50
!sleep 120
GET e
DEBUG SET-ACTIVE-EXPIRE 1
`;

serverTest("keyspace events on a replica for its master's commands, like a redis-server replica", async (t) => {
  if (!requireTool("redis-server")) return;
  const args = ["--save", "", "--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes"];
  const replicaArgs = [...args, "--notify-keyspace-events", "KEAnm"];
  const [tm, rm] = await Promise.all([t.tessera(args), t.redis(args)]);
  const [trp, rrp] = await Promise.all([
    t.tessera([...replicaArgs, "--replicaof", "127.0.0.1", String(tm.port)]),
    t.redis([...replicaArgs, "--replicaof", "127.0.0.1", String(rm.port)]),
  ]);
  const replicas = [new Side("tessera replica", trp.port), new Side("redis replica", rrp.port)];
  const masters = [new Side("tessera master", tm.port), new Side("redis master", rm.port)];
  t.defer(() => [...replicas, ...masters].forEach((s) => s.close()));
  for (const s of replicas) {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const info = await (await s.conn("a")).call("INFO", "replication");
      if (typeof info === "string" && info.includes("master_link_status:up")) break;
      assert.ok(Date.now() < deadline, `${s.label}: link not up`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const setup = await masters[1].conn("setup");
  await setup.call("SET", "payload:src", "hello");
  const payload = await setup.call("DUMP", "payload:src") as string;
  await setup.call("DEL", "payload:src");
  // The replica must have applied these before its subscribers listen.
  assert.equal(await setup.call("WAIT", "1", "5000"), 1);
  for (const s of replicas) await s.subscribe();
  const failures: string[] = [];
  let marker = 0;
  for (const line of REPLICATED_COMMANDS.split("\n").map((l) => l.trim()).filter((l) => l !== "")) {
    if (line.startsWith("!sleep ")) {
      await new Promise((r) => setTimeout(r, Number(line.slice(7))));
      continue;
    }
    const args = splitArgs(line)!.map((a) => a === "$PAYLOAD" ? payload : a);
    const replies = await Promise.all(masters.map(async (m) => {
      const c = await m.conn("a");
      const reply = await withTimeout(c.callRaw(...args), `${m.label} ${line}`);
      await withTimeout(c.call("WAIT", "1", "2000"), `${m.label} WAIT`);
      return reply;
    }));
    if (!line.startsWith("SPOP") && replies[0] !== replies[1]) {
      failures.push(`${line}: master replies differ: ${JSON.stringify(replies)}`);
    }
    marker++;
    const [tr, rr] = await Promise.all(replicas.map((s) => s.collect(marker)));
    for (let i = 0; i < tr.length; i++) {
      if (JSON.stringify(tr[i]) === JSON.stringify(rr[i])) continue;
      failures.push(
        `${line}: replica events differ (subscriber ${i})\n    tessera: ${show(tr[i])}\n    redis:   ${show(rr[i])}`,
      );
    }
  }
  assert.deepEqual(failures, [], failures.join("\n"));
}, 120_000);

/** Key pools by family (so that commands mostly find their own type) and the members they share. */
const FAMILY_KEYS: Record<string, string[]> = {
  s: ["s1", "s2"],
  l: ["l1", "l2"],
  h: ["h1", "h2"],
  t: ["t1", "t2"],
  z: ["z1", "z2"],
};
const ALL_KEYS = Object.values(FAMILY_KEYS).flat();
const MEMBERS = ["x", "y", "z", "1", "2", "10"];

function members(r: Rng, lo: number, hi: number): string[] {
  const out: string[] = [];
  for (let i = r.int(lo, hi); i > 0; i--) out.push(r.pick(MEMBERS));
  return out;
}

/** One random command over every writing family (no random picks: SPOP, *RANDMEMBER, RANDOMKEY). */
function randomWrite(r: Rng): string[] {
  // A key of the family, now and then any key (wrong types, moves between families).
  const key = (family: string) => () => r.chance(0.9) ? r.pick(FAMILY_KEYS[family]) : r.pick(ALL_KEYS);
  const s = key("s"), l = key("l"), h = key("h"), t = key("t"), z = key("z");
  const any = () => r.pick(ALL_KEYS);
  const m = () => r.pick(MEMBERS);
  const n = () => String(r.int(-2, 3));
  const side = () => r.pick(["LEFT", "RIGHT"]);
  const gens: (() => string[])[] = [
    () => ["SET", s(), m(), ...r.pick([[], ["EX", "100"], ["KEEPTTL"], ["NX"], ["XX"], ["GET"]])],
    () => [r.pick(["APPEND", "GETSET"]), s(), m()],
    () => [r.pick(["INCR", "DECR", "GETDEL", "STRLEN", "GET"]), s()],
    () => ["INCRBYFLOAT", s(), "1.5"],
    () => ["SETRANGE", s(), String(r.int(0, 3)), r.pick(["", "ab"])],
    () => ["GETEX", s(), ...r.pick([[], ["PERSIST"], ["EX", "100"], ["PXAT", "1"]])],
    () => ["SETBIT", s(), String(r.int(0, 15)), String(r.int(0, 1))],
    () => ["BITFIELD", s(), "SET", "u8", "0", String(r.int(0, 2))],
    () => ["BITOP", r.pick(["AND", "OR", "NOT"]), s(), s()],
    () => ["PFADD", s(), ...members(r, 0, 2)],
    () => [r.pick(["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]), l(), ...members(r, 1, 3)],
    () => [r.pick(["LPOP", "RPOP"]), l(), ...(r.chance(0.4) ? [String(r.int(0, 3))] : [])],
    () => ["LMOVE", l(), l(), side(), side()],
    () => ["LREM", l(), n(), m()],
    () => ["LTRIM", l(), n(), n()],
    () => ["LSET", l(), n(), m()],
    () => ["LINSERT", l(), r.pick(["BEFORE", "AFTER"]), m(), m()],
    () => ["LMPOP", "2", l(), l(), side(), "COUNT", String(r.int(1, 3))],
    () => [r.pick(["BLPOP", "BRPOP"]), l(), l(), "0.01"],
    () => ["HSET", h(), m(), m(), ...(r.chance(0.5) ? [m(), m()] : [])],
    () => [r.pick(["HSETNX", "HINCRBY"]), h(), m(), r.pick(["1", "x"])],
    () => ["HINCRBYFLOAT", h(), m(), "0.5"],
    () => ["HDEL", h(), ...members(r, 1, 3)],
    () => [r.pick(["SADD", "SREM"]), t(), ...members(r, 1, 3)],
    () => ["SMOVE", t(), t(), m()],
    () => [r.pick(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), t(), t(), t()],
    () => ["ZADD", z(), ...r.pick([[], ["NX"], ["XX"], ["GT"], ["LT", "CH"], ["INCR"]]), n(), m()],
    () => ["ZINCRBY", z(), n(), m()],
    () => ["ZREM", z(), ...members(r, 1, 2)],
    () => ["ZREMRANGEBYRANK", z(), n(), n()],
    () => ["ZREMRANGEBYSCORE", z(), n(), n()],
    () => [r.pick(["ZPOPMIN", "ZPOPMAX"]), z(), ...(r.chance(0.4) ? [String(r.int(0, 3))] : [])],
    () => ["ZMPOP", "2", z(), z(), r.pick(["MIN", "MAX"])],
    () => [r.pick(["BZPOPMIN", "BZPOPMAX"]), z(), "0.01"],
    () => [r.pick(["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]), z(), "2", z(), z()],
    () => ["ZRANGESTORE", z(), z(), "0", n()],
    () => [r.pick(["DEL", "UNLINK", "EXISTS", "TYPE", "PERSIST", "TTL"]), any()],
    () => [r.pick(["RENAME", "RENAMENX"]), any(), any()],
    () => ["COPY", any(), any(), ...(r.chance(0.5) ? ["REPLACE"] : [])],
    () => ["EXPIRE", any(), r.pick(["100", "200", "-1"]), ...r.pick([[], ["NX"], ["XX"], ["GT"], ["LT"]])],
    () => ["SORT", r.chance(0.5) ? l() : t(), "ALPHA", "STORE", any()],
  ];
  return r.pick(gens)();
}

/** A seeded sequence: single commands, and now and then a MULTI/EXEC of a few. */
function randomEventSteps(seed: number, count: number): string[][] {
  const r = new Rng(seed);
  const steps: string[][] = [];
  while (steps.length < count) {
    if (r.chance(0.08)) {
      steps.push(["MULTI"]);
      for (let i = r.int(1, 3); i > 0; i--) steps.push(randomWrite(r));
      steps.push(["EXEC"]);
    } else {
      steps.push(randomWrite(r));
    }
  }
  return steps;
}

/**
 * Runs steps on both servers (replies compared, through a normaliser if named) and compares each
 * step's events. `stream`: each reply is everything the connection received up to an ECHO (for a
 * client subscribed to its own events).
 */
async function runRandom(
  sides: Side[],
  steps: { conn: string; args: string[]; normaliser?: string }[],
  label: string,
  failures: string[],
  stream = false,
): Promise<void> {
  let marker = 1_000_000 * (failures.length + 1);
  const history: string[] = [];
  for (const step of steps) {
    const replies = await Promise.all(
      sides.map(async (s) => {
        const conn = await s.conn(step.conn);
        return withTimeout(stream ? streamCall(conn, step.args) : conn.callRaw(...step.args), `${s.label} ${label}`);
      }),
    );
    const what = `${label} @${step.conn} ${showArgs(step.args)}`;
    let [t, r] = replies;
    if (step.normaliser !== undefined) [t, r] = NORMALISERS[step.normaliser](t, r);
    const before = failures.length;
    if (t !== r) {
      failures.push(`${what}: replies differ\n    tessera: ${JSON.stringify(t)}\n    redis:   ${JSON.stringify(r)}`);
    }
    const n = ++marker;
    const [te, re] = await Promise.all(sides.map((s) => s.collect(n)));
    for (let i = 0; i < te.length; i++) {
      if (JSON.stringify(te[i]) === JSON.stringify(re[i])) continue;
      failures.push(
        `${what}: events differ (subscriber ${i})\n    tessera: ${show(te[i])}\n    redis:   ${show(re[i])}`,
      );
    }
    if (failures.length !== before) {
      failures[before] = `  (previous: ${history.slice(-8).join(" | ")})\n` + failures[before];
      return; // later steps would only repeat a diverged state
    }
    history.push(showArgs(step.args));
  }
}

serverTest("keyspace events of seeded random command sequences (KEAnm) like redis-server", async (t) => {
  if (!requireTool("redis-server")) return;
  const args = ["--save", ""];
  const [tp, rp] = await Promise.all([t.tessera(args), t.redis(args)]);
  const sides = [new Side("tessera", tp.port), new Side("redis", rp.port)];
  t.defer(() => sides.forEach((s) => s.close()));
  for (const s of sides) {
    await (await s.conn("a")).call("CONFIG", "SET", "notify-keyspace-events", "KEAnm");
    await s.subscribe();
  }
  const failures: string[] = [];
  for (const seed of diffSeeds([21, 22, 23])) {
    for (const s of sides) await (await s.conn("a")).call("FLUSHALL");
    const steps = randomEventSteps(seed, 300).map((args) => ({ conn: "a", args }));
    await runRandom(sides, steps, `seed ${seed} (all families)`, failures);
    for (const s of sides) {
      s.closeCommandConns();
      await (await s.conn("a")).call("FLUSHALL");
    }
    // The strings and keys generator of tests/differential_test.ts (several connections, WATCH, SELECT).
    await runRandom(sides, randomCommands(seed, 200), `seed ${seed} (strings and keys)`, failures);
    for (const s of sides) {
      s.closeCommandConns();
      await (await s.conn("a")).call("FLUSHALL");
      // A RESP3 client that hears its own events: pushes and replies must interleave as in Redis.
      const self = await s.conn("s");
      await self.call("HELLO", "3");
      // Not the batch markers' channels.
      await self.call("PSUBSCRIBE", "__keyspace@*", "__keyevent@*");
      await self.readReply();
    }
    // Transactions are left out: the closing ECHO would be queued.
    const single = randomEventSteps(seed + 1000, 300).filter((args) => args[0] !== "MULTI" && args[0] !== "EXEC");
    await runRandom(
      sides,
      single.map((args) => ({ conn: "s", args })),
      `seed ${seed} (self-subscribed)`,
      failures,
      true,
    );
    for (const s of sides) s.closeCommandConns();
  }
  assert.deepEqual(failures, [], failures.slice(0, 6).join("\n") + "\nreplay: DIFF_SEEDS=<seed>");
}, 180_000);
