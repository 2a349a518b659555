import assert from "node:assert/strict";
import { connect } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";

serverTest("start-up prints Redis-style lines and SIGTERM exits 0 within 1 s", async (t) => {
  const node = await t.tessera();
  const c = await connect(node.port);
  assert.equal(await c.call("PING"), "PONG");
  c.close();
  assert.match(node.output(), new RegExp(` PID: ${node.pid}`));
  assert.match(node.output(), /Ready to accept connections tcp/);
  const started = Date.now();
  const status = await node.stop();
  assert.equal(status.code, 0);
  assert.ok(Date.now() - started < 1000, "exit within 1 s");
});

serverTest(
  "logfile, loglevel and dir: lines go to the file at the chosen level, the process works in dir",
  async (t) => {
    const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "tessera-startup-" }));
    t.defer(() => Deno.remove(dir, { recursive: true }));
    const verbose = await t.tessera(["--dir", dir, "--logfile", "verbose.log", "--loglevel", "verbose"]);
    const c = await connect(verbose.port);
    assert.deepEqual(await c.call("CONFIG", "GET", "dir"), ["dir", dir]);
    c.close();
    await verbose.stop();
    // The file is opened after the chdir, so a relative logfile lands in dir.
    const log = await Deno.readTextFile(`${dir}/verbose.log`);
    assert.match(log, new RegExp(` PID: ${verbose.pid}`));
    assert.match(log, /^\d+:M \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3} \* Ready to accept connections tcp$/m);
    assert.match(log, / - Accepted 127\.0\.0\.1:\d+/, "verbose lines are written at loglevel verbose");
    assert.equal(verbose.output().includes("Ready to accept"), false, "nothing goes to stdout with a logfile");

    const quiet = await t.tessera(["--dir", dir, "--logfile", "warning.log", "--loglevel", "warning"]);
    const q = await connect(quiet.port);
    assert.equal(await q.call("PING"), "PONG");
    q.close();
    await quiet.stop();
    const warnings = await Deno.readTextFile(`${dir}/warning.log`);
    assert.doesNotMatch(warnings, /Ready to accept/, "notice lines are dropped at loglevel warning");
    assert.match(warnings, /# Received SIGTERM scheduling shutdown/);
  },
);

serverTest("SIGINT exits 0 too", async (t) => {
  const node = await t.tessera();
  Deno.kill(node.pid, "SIGINT");
  const status = await node.child.status;
  assert.equal(status.code, 0);
  assert.match(node.output(), /Received SIGINT scheduling shutdown/);
});

Deno.test("--version and --help print and exit 0 without starting a server", async () => {
  const main = new URL("../main.ts", import.meta.url).pathname;
  for (
    const [flag, expected] of [["--version", /^tessera server v=\S+ redis_version=7\.0\.15 /], [
      "--help",
      /^Usage: \.\/tessera \[\/path\/to\/redis\.conf\] \[options\] \[-\]/,
    ]] as const
  ) {
    const out = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", main, flag], stdout: "piped" }).output();
    assert.equal(out.code, 0, flag);
    assert.match(new TextDecoder().decode(out.stdout), expected, flag);
  }
});
