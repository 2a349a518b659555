/**
 * String commands, differentially: every case runs against tessera and redis-server 7.0 and the
 * raw replies must be equal (RESP2 and RESP3).
 */
import assert from "node:assert/strict";
import { differentialScriptTest } from "./helpers/diff.ts";
import { fakeClient } from "./helpers/fake_client.ts";

const SCRIPT = String.raw`
=== SET option conflicts and parsing
SET k v NX XX
SET k v XX NX
SET k v EX 10 PX 100
SET k v EX 10 KEEPTTL
SET k v KEEPTTL EX 10
SET k v EXAT 10 PXAT 10
SET k v EX
SET k v PERSIST
SET k v EX 10 EX 20
~ttl TTL k
SET k v GET GET
SET k v nx nx
SET k v FOO
SET k v EX 0
SET k v EX -5
SET k v PX 0
SET k v EX abc
SET k v EX 9223372036854775807
SET k v EX 9223372036854775
SET k v PX 9223372036854775807
SET k v PXAT 9223372036854775807
SET k v PXAT 4102444800123
PEXPIRETIME k
SET k v EXAT 9223372036854775
SET k v EX 1.5
SET k v EX " 10"
SET k v EX 010
SET k v EX -0
SET k v PX 100 NX
SET k v PX 100 NX GET
GET k

=== SET GET against wrong type and KEEPTTL on expired key
SET e v PX 1
!sleep 20
SET e v2 KEEPTTL
TTL e
GET e
SETEX e 100 v3
SET e v4 KEEPTTL
~ttl TTL e
SET e v5 XX GET
~ttl TTL e

=== SETNX SETEX PSETEX errors
SETNX a 1
SETNX a 2
SETEX a 0 v
SETEX a -1 v
SETEX a x v
PSETEX a 0 v
PSETEX a 9223372036854775807 v
SETEX a 9223372036854775807 v
SETEX a 100 v
~ttl TTL a
PSETEX a 100000 v
~pttl PTTL a
GET a

=== MSET MSETNX arity
MSET a
MSET a 1 b
MSETNX a 1 b
MSET a 1 b 2 a 3
MGET a b c
MSETNX c 1 a 2
MSETNX c 1 d 2 c 3
MGET c d

=== GETEX option rules
SET k v
GETEX k PERSIST EX 10
GETEX k EX 10 PERSIST
GETEX k KEEPTTL
GETEX k NX
GETEX k GET
GETEX k EX 0
GETEX missing EX 0
GETEX k EX 100
~ttl TTL k
GETEX k PERSIST
TTL k
GETEX k PXAT 1
EXISTS k
SET k2 v
GETEX k2 EXAT 4102444800
EXPIRETIME k2
GETEX k2

=== INCR family edges
SET n 9223372036854775806
INCR n
INCR n
GET n
SET n -9223372036854775807
DECR n
DECR n
SET n 0
DECRBY n -9223372036854775808
DECRBY n 9223372036854775807
DECRBY n 2
INCRBY n -9223372036854775808
SET n 9007199254740991
INCR n
INCR n
INCRBY n 9007199254740993
DECRBY n 18014398509481984
SET n "+1"
INCR n
SET n " 1"
INCR n
SET n 01
INCR n
SET n -0
INCR n
SET n 12345678901234567890
INCR n
SET n 1.0
INCR n
INCRBY x abc
INCRBY x 1.5
INCRBY x 99999999999999999999
INCRBY x -9223372036854775808
SET n 5
APPEND n 0
INCR n
OBJECT ENCODING n

=== INCRBYFLOAT precision and errors
SET f 10.5
INCRBYFLOAT f 0.1
INCRBYFLOAT f -5.05
INCRBYFLOAT f 1e10
INCRBYFLOAT f 3.0e3
INCRBYFLOAT f -10000000000
INCRBYFLOAT g 0.1
INCRBYFLOAT g 0.2
INCRBYFLOAT g 1.7976931348623157e308
INCRBYFLOAT h 5
OBJECT ENCODING h
INCRBYFLOAT h 1.23456789012345678901234
INCRBYFLOAT h -6.23456789012345678901234
INCRBYFLOAT i 1e-20
INCRBYFLOAT i 1e300
INCRBYFLOAT j .5
INCRBYFLOAT j 5.
INCRBYFLOAT j -.25
INCRBYFLOAT j 0x10
INCRBYFLOAT j 0x1.8p1
INCRBYFLOAT j inf
INCRBYFLOAT j -infinity
INCRBYFLOAT j nan
INCRBYFLOAT j abc
INCRBYFLOAT j ""
INCRBYFLOAT j " 1"
INCRBYFLOAT j "1 "
INCRBYFLOAT j 1e
INCRBYFLOAT j 1e99999
INCRBYFLOAT j 1e-99999
INCRBYFLOAT j +3
GET j
SET s hello
INCRBYFLOAT s 1
SET s " 1"
INCRBYFLOAT s 1
SET s 1e5000
INCRBYFLOAT s 1
SET big 1e4000
INCRBYFLOAT big 1
STRLEN big
SET neg -0.00000000000000000001
INCRBYFLOAT neg 0
INCRBYFLOAT neg -0.000000000000000004

=== APPEND SETRANGE encodings and limits
APPEND a 12
OBJECT ENCODING a
APPEND a 3
OBJECT ENCODING a
GET a
SETRANGE b 3 xyz
GET b
OBJECT ENCODING b
SETRANGE b 0 ""
SETRANGE nokey 5 ""
EXISTS nokey
SETRANGE b -1 x
SETRANGE b 536870912 x
SETRANGE b 536870911 ""
SETRANGE b 4294967295 x
SETRANGE b abc x
SETRANGE b 1 "\x00\xff"
GET b
SET c 123
SETRANGE c 1 9
GET c
OBJECT ENCODING c
SET long 01234567890123456789012345678901234567890123
OBJECT ENCODING long
SET long 012345678901234567890123456789012345678901234
OBJECT ENCODING long
SET i -9223372036854775808
OBJECT ENCODING i
SET i 9223372036854775808
OBJECT ENCODING i
SET i 123456789012345678901
OBJECT ENCODING i

=== GETRANGE edges
SET s "Hello World"
GETRANGE s 0 -1
GETRANGE s -3 -1
GETRANGE s -1 -3
GETRANGE s 5 2
GETRANGE s -100 3
GETRANGE s 3 100
GETRANGE s 9223372036854775807 9223372036854775807
GETRANGE s -9223372036854775808 -9223372036854775807
GETRANGE s 0 x
GETRANGE s x 0
GETRANGE missing 0 -1
SET e ""
GETRANGE e 0 -1
SET n 12345
GETRANGE n 1 2
SUBSTR s 0 4
STRLEN missing
STRLEN n

=== LCS all reply shapes
SET a ohmytext
SET b mynewtext
LCS a b
LCS a b LEN
LCS a b IDX
LCS a b IDX WITHMATCHLEN
LCS a b IDX MINMATCHLEN 4
LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN
LCS a b IDX MINMATCHLEN -3
LCS a b LEN IDX
LCS a b IDX LEN
LCS a b MINMATCHLEN
LCS a b MINMATCHLEN x
LCS a b FOO
LCS a missing
LCS a missing IDX
LCS missing missing2 LEN
SET c "aaaa"
SET d "aa"
LCS c d IDX WITHMATCHLEN
SET e "ACCGGTCGAGTGCGCGGAAGCCGGCCGAA"
SET f "GTCGTTCGGAATGCCGTTGCTCTGTAAA"
LCS e f
LCS e f IDX MINMATCHLEN 2 WITHMATCHLEN
`;

differentialScriptTest("strings: differential against redis-server", "strings_test", SCRIPT);

/** A value of another type (lists arrive with the data-types issue). */
const LIST = { type: "list" };
const WRONGTYPE = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

Deno.test("strings: commands on a key of another type answer as Redis does", () => {
  const f = fakeClient();
  f.db.set("l", LIST);
  f.call("SET", "a", "ohmy");
  for (
    const argv of [
      ["GET", "l"],
      ["SET", "l", "v", "GET"],
      ["GETEX", "l", "EX", "10"],
      ["GETDEL", "l"],
      ["GETSET", "l", "v"],
      ["INCR", "l"],
      ["DECRBY", "l", "2"],
      ["INCRBYFLOAT", "l", "1"],
      ["APPEND", "l", "x"],
      ["SETRANGE", "l", "0", "x"],
      ["GETRANGE", "l", "0", "1"],
      ["STRLEN", "l"],
    ]
  ) {
    assert.equal(f.call(...argv), WRONGTYPE, argv.join(" "));
  }
  assert.equal(f.call("GETEX", "l", "FOO"), "-ERR syntax error\r\n");
  assert.equal(f.call("MGET", "l", "a"), "*2\r\n$-1\r\n$4\r\nohmy\r\n");
  const lcsError = "-ERR The specified keys must contain string values\r\n";
  assert.equal(f.call("LCS", "a", "l"), lcsError);
  assert.equal(f.call("LCS", "l", "a", "FOO"), lcsError);
  assert.equal(f.db.get("l"), LIST, "failed commands leave the value alone");
  assert.equal(f.call("SET", "l", "v"), "+OK\r\n");
  assert.equal(f.call("GET", "l"), "$1\r\nv\r\n");
});

Deno.test("strings: dirty counts one change per written key, as Redis", () => {
  const f = fakeClient();
  const server = f.client.server;
  f.call("SET", "a", "1");
  f.call("MSET", "b", "1", "c", "2");
  f.call("MSETNX", "b", "1", "z", "2");
  f.call("SETNX", "a", "x");
  f.call("INCR", "a");
  f.call("SETRANGE", "nokey", "0", "");
  f.call("GET", "a");
  assert.equal(server.dirty, 4);
});
