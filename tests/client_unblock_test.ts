/** CLIENT UNBLOCK: wakes a client blocked in BLPOP with a timeout reply or Redis's UNBLOCKED error, as redis-server. */
import assert from "node:assert/strict";
import { serverTest } from "./helpers/test.ts";
import { connect, requireTool } from "./helpers/servers.ts";

serverTest("CLIENT UNBLOCK answers and wakes blocked clients like redis-server", async (t) => {
  if (!requireTool("redis-server")) return;
  const results: string[][] = [];
  for (const proc of [await t.tessera(["--save", ""]), await t.redis(["--save", ""])]) {
    const admin = await connect(proc.port);
    const seen: string[] = [];
    for (const args of [["abc"], ["1", "foo"], ["99999"], ["1", "2", "3"]]) {
      seen.push(await admin.callRaw("CLIENT", "UNBLOCK", ...args));
    }
    for (const reason of ["TIMEOUT", "ERROR"]) {
      const blocked = await connect(proc.port);
      const id = await blocked.call("CLIENT", "ID");
      await blocked.writeRaw("BLPOP q 0\r\n");
      // Wait until the server lists it as blocked (CLIENT LIST shows the command).
      for (let i = 0; i < 100 && !(await admin.call("CLIENT", "LIST") as string).includes("cmd=blpop"); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      seen.push(await admin.callRaw("CLIENT", "UNBLOCK", String(id), reason));
      seen.push((await blocked.readReply()).raw);
      seen.push(await blocked.callRaw("PING"), await admin.callRaw("CLIENT", "UNBLOCK", String(id)));
      blocked.close();
    }
    admin.close();
    results.push(seen);
  }
  assert.deepEqual(results[0], results[1]);
  assert.ok(results[0].includes("-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"), results[0].join(""));
});
