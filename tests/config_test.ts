import assert from "node:assert/strict";
import { Config, ConfigFileError, parseMemory } from "../src/config/config.ts";
import { formatMemoryForRewrite, string2ll } from "../src/config/parse.ts";
import { REWRITE_SIGNATURE, rewriteConfigText } from "../src/config/rewrite.ts";
import { argsToConfigText } from "../src/server/startup.ts";

/** Loads text into a fresh Config and returns the error Redis would print, or null. */
function loadError(text: string): ConfigFileError | null {
  try {
    new Config().loadText(text);
    return null;
  } catch (err) {
    if (err instanceof ConfigFileError) return err;
    throw err;
  }
}

function get(config: Config, name: string): string {
  return config.format(config.directive(name)!);
}

Deno.test("memory units follow memtoull: k=1000, kb=1024, any case, no sign or fraction", () => {
  assert.equal(parseMemory("1k"), 1000);
  assert.equal(parseMemory("1kb"), 1024);
  assert.equal(parseMemory("2M"), 2_000_000);
  assert.equal(parseMemory("2mb"), 2 * 1024 * 1024);
  assert.equal(parseMemory("1gb"), 1024 ** 3);
  assert.equal(parseMemory("1G"), 1e9);
  assert.equal(parseMemory("05K"), 5000);
  assert.equal(parseMemory("100b"), 100);
  assert.equal(parseMemory(""), 0);
  assert.equal(parseMemory("-1"), null);
  assert.equal(parseMemory("1.5gb"), null);
  assert.equal(parseMemory("1 kb"), null);
  assert.equal(parseMemory("1tb"), null);
});

Deno.test("string2ll refuses what Redis refuses", () => {
  assert.equal(string2ll("-5"), -5);
  assert.equal(string2ll("0"), 0);
  for (const bad of ["05", "+5", " 5", "5 ", "-0", "", "99999999999999999999", "1e3"]) {
    assert.equal(string2ll(bad), null, bad);
  }
});

Deno.test("CONFIG REWRITE memory format uses gb/mb/kb only when exact", () => {
  assert.equal(formatMemoryForRewrite(1024 ** 3), "1gb");
  assert.equal(formatMemoryForRewrite(64 * 1024 * 1024), "64mb");
  assert.equal(formatMemoryForRewrite(4096), "4kb");
  assert.equal(formatMemoryForRewrite(3000), "3000");
  assert.equal(formatMemoryForRewrite(0), "0");
});

Deno.test("defaults print as Redis's CONFIG GET does", () => {
  const c = new Config();
  assert.equal(get(c, "proto-max-bulk-len"), "536870912");
  assert.equal(get(c, "client-query-buffer-limit"), "1073741824");
  assert.equal(get(c, "save"), "3600 1 300 100 60 10000");
  assert.equal(
    get(c, "client-output-buffer-limit"),
    "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
  );
  assert.equal(get(c, "bind"), "* -::*");
  assert.equal(get(c, "slaveof"), "");
  assert.equal(get(c, "proc-title-template"), "{title} {listen-addr} {server-mode}");
  assert.equal(get(c, "latency-tracking-info-percentiles"), "50 99 99.9");
  assert.equal(get(c, "notify-keyspace-events"), "");
  assert.equal(get(c, "unixsocketperm"), "0");
});

Deno.test("bools, enums, bounds and percent values parse like Redis", () => {
  const c = new Config();
  c.loadText("appendonly YES\nappendfsync ALWAYS\nmaxmemory-clients 10%\nhz 100000\noom-score-adj relative");
  assert.equal(get(c, "appendonly"), "yes");
  assert.equal(get(c, "appendfsync"), "always");
  assert.equal(get(c, "maxmemory-clients"), "10%");
  assert.equal(get(c, "hz"), "500");
  assert.equal(get(c, "oom-score-adj"), "yes");
  assert.equal(loadError("appendonly maybe")?.reason, "argument must be 'yes' or 'no'");
  assert.equal(
    loadError("loglevel loud")?.reason,
    "argument(s) must be one of the following: debug, verbose, notice, warning",
  );
  assert.equal(loadError("port 70000")?.reason, "argument must be between 0 and 65535 inclusive");
  assert.equal(loadError("port abc")?.reason, "argument couldn't be parsed into an integer");
  assert.equal(loadError("maxclients 0")?.reason, "argument must be between 1 and 4294967295 inclusive");
  assert.equal(
    loadError("proto-max-bulk-len 1k")?.reason,
    "argument must be between 1048576 and 9223372036854775807 inclusive",
  );
  assert.equal(loadError("maxmemory 1x")?.reason, "argument must be a memory value");
  assert.equal(loadError("maxmemory-clients 101%")?.reason, "percentage argument must be less or equal to 100");
  assert.equal(loadError("maxmemory-clients -5")?.reason, "argument must be a memory or percent value");
  assert.equal(loadError("unixsocketperm 999")?.reason, "argument couldn't be parsed as an octal number");
  assert.equal(
    loadError("shutdown-on-sigint save nosave")?.reason,
    "shutdown options SAVE and NOSAVE can't be used simultaneously",
  );
});

Deno.test('save lines accumulate in a file, save "" clears, CONFIG SET replaces', () => {
  const c = new Config();
  c.loadText("save 900 1\nsave 300 10\n");
  assert.equal(get(c, "save"), "900 1 300 10");
  const empty = new Config();
  empty.loadText('save ""');
  assert.equal(get(empty, "save"), "");
  assert.equal(loadError("save 1")?.reason, "Invalid save parameters");
  assert.equal(loadError("save 0 1")?.reason, "Invalid save parameters");
  assert.deepEqual(c.setMany([["save", "100 1"]], null, true), { ok: true });
  assert.equal(get(c, "save"), "100 1");
});

Deno.test("client-output-buffer-limit: partial sets keep other classes, errors as Redis", () => {
  const c = new Config();
  assert.deepEqual(c.setMany([["client-output-buffer-limit", "pubsub 32mb 8mb 60 normal 1k 2kb 3"]], null, true), {
    ok: true,
  });
  assert.equal(
    get(c, "client-output-buffer-limit"),
    "normal 1000 2048 3 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
  );
  c.loadText("client-output-buffer-limit replica 1 2 3");
  assert.equal(get(c, "client-output-buffer-limit"), "normal 1000 2048 3 slave 1 2 3 pubsub 33554432 8388608 60");
  const bad = (v: string) => c.setMany([["client-output-buffer-limit", v]], null, true);
  const prefix = "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - ";
  assert.deepEqual(bad("master 1 2 3"), {
    ok: false,
    error: prefix + "Invalid client class specified in buffer limit configuration.",
  });
  assert.deepEqual(bad("pubsub 1 2"), {
    ok: false,
    error: prefix + "Wrong number of arguments in buffer limit configuration.",
  });
  assert.deepEqual(bad("pubsub 1x 2 3"), {
    ok: false,
    error: prefix + "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
  });
});

Deno.test("config file errors: unknown directive, argument count, quotes, line numbers", () => {
  const e = loadError("port 1\n\n# comment\nfoo bar");
  assert.equal(e?.lineNumber, 4);
  assert.equal(e?.line, "foo bar");
  assert.equal(e?.reason, "Bad directive or wrong number of arguments");
  assert.equal(loadError("port")?.reason, "wrong number of arguments");
  assert.equal(loadError("requirepass a b")?.reason, "wrong number of arguments");
  assert.equal(loadError('appendonly "yes')?.reason, "Unbalanced quotes in configuration line");
  assert.equal(loadError("foo.bar")?.reason, "Module config specified without value");
  assert.equal(loadError("rename-command nosuch x")?.reason, "No such command in rename-command");
  assert.equal(loadError("rename-command get set")?.reason, "Target command name already exists");
  assert.equal(loadError("  port  7000  \nlist-max-ziplist-entries 5\nuser bob on\nloadmodule /x.so a\nbind"), null);
  assert.equal(
    loadError("cluster-enabled yes\nreplicaof 127.0.0.1 6379")?.report("7.0.15"),
    "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nreplicaof directive not allowed in cluster mode",
  );
});

Deno.test("command-line options become config lines as redis-server builds them", () => {
  assert.equal(argsToConfigText(["--port", "0", "--foo", "bar"]), 'port "0" \nfoo "bar" ');
  assert.equal(argsToConfigText(["--port", "--foo"]), 'port "--foo" ');
  assert.equal(argsToConfigText(["--save", "--port", "1"]), 'save ""\nport "1" ');
  assert.equal(argsToConfigText(["--port 6380"]), "port 6380 ");
  // Line numbers: the options follow the file after one newline, so `--foo` is line 3 here.
  const e = loadError("\n" + argsToConfigText(["--port", "0", "--foo", "bar"]));
  assert.equal(e?.lineNumber, 3);
  assert.equal(e?.line, 'foo "bar"');
});

Deno.test("CONFIG GET matching: globs over names and aliases, exact names as typed, hidden ones", () => {
  const c = new Config();
  assert.deepEqual(c.match(["*max-*-entries*"]).map(([n]) => n).sort(), [
    "hash-max-listpack-entries",
    "hash-max-ziplist-entries",
    "set-max-intset-entries",
    "zset-max-listpack-entries",
    "zset-max-ziplist-entries",
  ]);
  assert.deepEqual(c.match(["PORT", "por*", "port"]), [["PORT", "6379"]]);
  assert.deepEqual(c.match(["use-exit-on-panic"]), [["use-exit-on-panic", "no"]]);
  assert.deepEqual(c.match(["use-exit-*"]), []);
  assert.equal(c.match(["*"]).length, 192);
  assert.deepEqual(c.match(["H?"]), [["hz", "10"]]);
});

Deno.test("CONFIG SET: all-or-nothing, Redis's errors and their precedence", () => {
  const c = new Config();
  const fail = (arg: string, why: string) => ({
    ok: false,
    error: `ERR CONFIG SET failed (possibly related to argument '${arg}') - ${why}`,
  });
  assert.deepEqual(c.setMany([["foo", "1"]], null, true), {
    ok: false,
    error: "ERR Unknown option or number of arguments for CONFIG SET - 'foo'",
  });
  assert.deepEqual(c.setMany([["DATABASES", "3"]], null, true), fail("DATABASES", "can't set immutable config"));
  assert.deepEqual(
    c.setMany([["hz", "abc"], ["databases", "3"]], null, true),
    fail("databases", "can't set immutable config"),
  );
  assert.deepEqual(c.setMany([["dir", "/tmp"]], null, true), fail("dir", "can't set protected config"));
  assert.deepEqual(c.setMany([["timeout", "5"], ["TIMEOUT", "6"]], null, true), fail("TIMEOUT", "duplicate parameter"));
  assert.deepEqual(
    c.setMany([["SLAVE-PRIORITY", "abc"]], null, true),
    fail("slave-priority", "argument couldn't be parsed into an integer"),
  );
  // A later failure leaves the earlier values untouched.
  assert.deepEqual(
    c.setMany([["timeout", "5"], ["maxmemory", "1x"]], null, true),
    fail("maxmemory", "argument must be a memory value"),
  );
  assert.equal(get(c, "timeout"), "0");
  assert.deepEqual(c.setMany([["timeout", "5"], ["maxmemory", "1GB"]], null, true), { ok: true });
  assert.equal(get(c, "timeout"), "5");
  assert.equal(get(c, "maxmemory"), "1073741824");
  // Aliases are separate names: setting both is not a duplicate (Redis 7.0 accepts it too).
  assert.deepEqual(c.setMany([["slave-priority", "1"], ["replica-priority", "2"]], null, true), { ok: true });
  assert.equal(get(c, "replica-priority"), "2");
  assert.deepEqual(c.setMany([["notify-keyspace-events", "Kgx$lshzetmdn"]], null, true), { ok: true });
  assert.equal(get(c, "notify-keyspace-events"), "AKm");
  assert.deepEqual(c.setMany([["shutdown-on-sigint", "default now force"]], null, true), { ok: true });
  assert.equal(get(c, "shutdown-on-sigint"), "now force");
});

Deno.test("CONFIG REWRITE keeps comments and order, replaces, blanks duplicates, appends the rest", () => {
  const c = new Config();
  const old = [
    "# top comment",
    "port 7000",
    "",
    "slave-priority 50",
    "hz 10",
    "hz 11",
    'requirepass ""',
    'rename-command FLUSHALL ""',
    "",
    "",
    "timeout 0",
    "",
  ].join("\n");
  c.loadText(old);
  c.setMany([["timeout", "5"], ["maxmemory", "2gb"], ["save", ""]], null, true);
  const dir = Deno.cwd();
  assert.equal(
    rewriteConfigText(c, old),
    [
      "# top comment",
      "port 7000",
      "",
      "replica-priority 50",
      "hz 11",
      "",
      'rename-command FLUSHALL ""',
      "",
      "timeout 5",
      "",
      REWRITE_SIGNATURE,
      'save ""',
      `dir "${dir}"`,
      "maxmemory 2gb",
      "latency-tracking-info-percentiles 50 99 99.9",
      "user default on nopass ~* &* +@all",
      "",
    ].join("\n"),
  );
});
