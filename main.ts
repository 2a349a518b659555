/**
 * tessera: a Redis Cluster node. Invoked like redis-server:
 *   main.ts [config-file] [--directive value ...]
 */
import { runMain } from "./src/server/startup.ts";

if (import.meta.main) {
  Deno.exitCode = await runMain(Deno.args);
}
