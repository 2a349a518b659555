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
