import assert from "node:assert/strict";
import { connect, requireTool } from "./helpers/servers.ts";
import { serverTest } from "./helpers/test.ts";

/** Field names and `# Section` headers of an INFO text, minus per-command and per-error lines. */
function shape(info: string): string[] {
  return info.split("\r\n")
    .filter((l) => l !== "" && !/^(cmdstat_|latency_percentiles_usec_|errorstat_|db\d+:)/.test(l))
    .map((l) => l.startsWith("#") ? l : l.split(":")[0]);
}

serverTest("INFO sections and field names match redis-server, in order", async (t) => {
  if (!requireTool("redis-server")) return;
  const [tessera, redis] = await Promise.all([t.tessera(), t.redis()]);
  const tc = await connect(tessera.port);
  const rc = await connect(redis.port);
  for (const args of [[], ["default"], ["all"], ["everything"], ["keyspace", "server"], ["CPU"], ["foo"]]) {
    const ti = String(await tc.call("INFO", ...args));
    const ri = String(await rc.call("INFO", ...args));
    assert.deepEqual(shape(ti), shape(ri), `INFO ${args.join(" ")}`);
  }
  assert.equal(await tc.callRaw("INFO", "foo"), "$0\r\n\r\n");
  await tc.call("HELLO", "3");
  assert.match(await tc.callRaw("INFO", "cluster"), /^=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n$/);
  tc.close();
  rc.close();
});

serverTest("INFO reports real counters: keyspace, errorstats, commandstats, clients, stats", async (t) => {
  const node = await t.tessera();
  const c = await connect(node.port);
  await c.call("SET", "a", "1");
  await c.call("SET", "b", "2");
  await c.call("SELECT", "3");
  await c.call("SET", "c", "3");
  await c.call("NOSUCH");
  await c.call("SELECT", "x");
  await c.call("HELLO", "9");
  await c.call("GET", "a");
  const info = String(await c.call("INFO", "everything"));
  assert.match(info, /\r\ndb0:keys=2,expires=0,avg_ttl=0\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n$/);
  assert.match(info, /# Errorstats\r\nerrorstat_ERR:count=2\r\nerrorstat_NOPROTO:count=1\r\n/);
  assert.match(info, /\r\ncmdstat_set:calls=3,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=0,failed_calls=0\r\n/);
  assert.match(info, /\r\ncmdstat_select:calls=2,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=0,failed_calls=1\r\n/);
  assert.match(info, /\r\nlatency_percentiles_usec_set:p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}\r\n/);
  assert.match(info, /\r\nconnected_clients:1\r\n/);
  assert.match(info, /\r\ntotal_error_replies:3\r\n/);
  assert.match(info, /\r\nredis_version:7\.0\.15\r\n/);
  assert.match(info, new RegExp(`\\r\\nprocess_id:${node.pid}\\r\\n`));
  assert.match(info, new RegExp(`\\r\\ntcp_port:${node.port}\\r\\n`));
  assert.match(info, /\r\nmaster_replid:[0-9a-f]{40}\r\n/);
  assert.match(info, /\r\nrun_id:[0-9a-f]{40}\r\n/);
  assert.match(info, /\r\nrole:master\r\n/);
  assert.match(info, /\r\nrdb_changes_since_last_save:\d+\r\n/);
  const used = Number(/\r\nused_memory:(\d+)\r\n/.exec(info)![1]);
  assert.ok(used > 1_000_000, "used_memory comes from the heap");
  const processed = Number(/\r\ntotal_commands_processed:(\d+)\r\n/.exec(info)![1]);
  assert.ok(processed >= 7);
  // The plain INFO leaves out commandstats and latencystats.
  const plain = String(await c.call("INFO"));
  assert.doesNotMatch(plain, /# Commandstats|# Latencystats/);
  c.close();
});

serverTest("instantaneous_ops_per_sec follows the command rate", async (t) => {
  const node = await t.tessera();
  const c = await connect(node.port);
  const until = Date.now() + 1200;
  while (Date.now() < until) {
    let batch = "";
    for (let i = 0; i < 100; i++) batch += "PING\r\n";
    await c.writeRaw(batch);
    for (let i = 0; i < 100; i++) await c.readReply();
  }
  const info = String(await c.call("INFO", "stats"));
  const ops = Number(/instantaneous_ops_per_sec:(\d+)/.exec(info)![1]);
  assert.ok(ops > 100, `ops/sec ${ops}`);
  c.close();
});
