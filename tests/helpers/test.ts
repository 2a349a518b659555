/** `serverTest`: a Deno test with a timeout that stops every process it started, by PID. */
import type { ServerProcess } from "./servers.ts";
import { startRedis, startTessera } from "./servers.ts";

/** What a server test receives: starters that register processes for cleanup. */
export interface ServerTestContext {
  tessera(args?: string[], opts?: { cwd?: string; port?: number }): Promise<ServerProcess>;
  redis(args?: string[]): Promise<ServerProcess>;
  /** Registers any other cleanup. */
  defer(fn: () => void | Promise<void>): void;
}

/** Defines a test that fails after `timeoutMs` and always cleans up its processes. */
export function serverTest(
  name: string,
  fn: (ctx: ServerTestContext) => Promise<void>,
  timeoutMs = 60_000,
  options: { ignore?: boolean } = {},
): void {
  Deno.test({
    name,
    ignore: options.ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const cleanups: (() => void | Promise<void>)[] = [];
      const ctx: ServerTestContext = {
        async tessera(args, opts) {
          const p = await startTessera(args, opts);
          cleanups.push(() => p.stop().then(() => {}));
          return p;
        },
        async redis(args) {
          const p = await startRedis(args);
          cleanups.push(() => p.stop().then(() => {}));
          return p;
        },
        defer(f) {
          cleanups.push(f);
        },
      };
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          fn(ctx),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`test timed out after ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
      } finally {
        clearTimeout(timer);
        for (const f of cleanups.reverse()) {
          try {
            await f();
          } catch {
            // keep cleaning up
          }
        }
      }
    },
  });
}
