import assert from "node:assert/strict";
import { Config } from "../config/config.ts";
import { Server } from "./server.ts";
import { Client } from "./client.ts";
import { call } from "./dispatch.ts";
import { bytesToLatin1 } from "../resp/latin1.ts";
import { logger } from "../log.ts";

Deno.test("a handler that throws answers an error, drops its partial reply and keeps the client", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const outside = await Deno.connect({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port });
  const inside = await listener.accept();
  const level = logger.level;
  logger.level = "nothing";
  try {
    const server = new Server(new Config());
    const c = new Client(server, inside, 1);
    const get = server.commands.lookup("get")!;
    const broken = {
      ...get,
      stats: { ...get.stats },
      handler: (client: Client) => {
        client.out.array(2);
        client.out.bulk("half");
        throw new RangeError("Invalid string length");
      },
    };
    c.out.ok();
    call(c, broken, ["get", "k"]);
    assert.equal(
      bytesToLatin1(c.out.bytes.subarray(0, c.out.length)),
      "+OK\r\n-ERR internal error while running 'get': Invalid string length\r\n",
    );
    assert.equal(broken.stats.failedCalls, 1);
    assert.equal(c.closed, false);
  } finally {
    logger.level = level;
    outside.close();
    inside.close();
    listener.close();
  }
});
