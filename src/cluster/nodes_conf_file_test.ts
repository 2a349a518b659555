import assert from "node:assert/strict";
import {
  LOCK_FILE_SUFFIX,
  lockNodesConf,
  readNodesConf,
  removeStaleTempFiles,
  writeNodesConfAtomic,
  writeNodesConfInBackground,
} from "./nodes_conf_file.ts";

const MODULE_URL = new URL("./nodes_conf_file.ts", import.meta.url).href;

async function withDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tessera-nodes-conf-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs a snippet in another Deno process with this module imported as `m`; returns its stdout. */
async function inOtherProcess(body: string): Promise<string> {
  const code = `import * as m from ${JSON.stringify(MODULE_URL)};\n${body}`;
  const out = await new Deno.Command(Deno.execPath(), { args: ["eval", code], stdout: "piped", stderr: "piped" })
    .output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("readNodesConf: missing and empty files are a new node; bytes come back as latin1", () =>
  withDir((dir) => {
    const path = `${dir}/nodes.conf`;
    assert.equal(readNodesConf(path), null);
    Deno.writeFileSync(path, new Uint8Array());
    assert.equal(readNodesConf(path), null);
    Deno.writeFileSync(path, new Uint8Array([0x61, 0xe9, 0x0a]));
    assert.equal(readNodesConf(path), "a\xe9\n");
    assert.throws(() => readNodesConf(dir)); // a directory is an error, not "missing"
  }));

Deno.test("writeNodesConfAtomic replaces the whole file and leaves no temp file", () =>
  withDir((dir) => {
    const path = `${dir}/nodes.conf`;
    writeNodesConfAtomic(path, "first version, rather long\n".repeat(10), true);
    assert.equal(readNodesConf(path), "first version, rather long\n".repeat(10));
    writeNodesConfAtomic(path, "short\xe9\n", false);
    assert.equal(readNodesConf(path), "short\xe9\n");
    assert.deepEqual(Deno.readFileSync(path), new Uint8Array([115, 104, 111, 114, 116, 0xe9, 10]));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["nodes.conf"]);
  }));

Deno.test("a failed write leaves the old file untouched", () =>
  withDir((dir) => {
    const path = `${dir}/nodes.conf`;
    writeNodesConfAtomic(path, "old\n", true);
    // Something in the way of the temp file: the write must fail before touching nodes.conf.
    Deno.mkdirSync(`${path}.tmp-${Deno.pid}`);
    Deno.writeTextFileSync(`${path}.tmp-${Deno.pid}/keep`, "x");
    assert.throws(() => writeNodesConfAtomic(path, "new\n", true));
    assert.equal(readNodesConf(path), "old\n");
    assert.equal(Deno.readTextFileSync(`${path}.tmp-${Deno.pid}/keep`), "x");
  }));

Deno.test("a reader never sees a partial nodes.conf while another process rewrites it", () =>
  withDir(async (dir) => {
    const path = `${dir}/nodes.conf`;
    const long = "a".repeat(199) + "\n";
    const versions = [long.repeat(400), "b".repeat(99) + "\n"];
    writeNodesConfAtomic(path, versions[0], false);
    const writer = inOtherProcess(`
      const versions = ${JSON.stringify(versions)};
      for (let i = 0; i < 400; i++) m.writeNodesConfAtomic(${JSON.stringify(path)}, versions[i % 2], false);
      console.log("done");
    `);
    let finished = false;
    writer.finally(() => finished = true);
    let reads = 0;
    while (!finished) {
      const text = readNodesConf(path);
      reads++;
      assert.ok(text === versions[0] || text === versions[1], `partial read of ${text?.length} bytes`);
      await new Promise((r) => setTimeout(r, 0));
    }
    assert.equal(await writer, "done");
    assert.ok(reads > 0);
  }));

Deno.test("lockNodesConf: exclusive across descriptors and processes, kept across atomic rewrites", () =>
  withDir(async (dir) => {
    const path = `${dir}/nodes.conf`;
    const first = lockNodesConf(path);
    assert.ok(first.ok);
    const refused = `Sorry, the cluster configuration file ${path} is already used by a different Redis Cluster ` +
      "node. Please make sure that different nodes use different cluster configuration files.";
    assert.deepEqual(lockNodesConf(path), { ok: false, message: refused });
    // nodes.conf is replaced by rename; the lock lives on <path>.lock, which is never renamed.
    writeNodesConfAtomic(path, "x\n", true);
    writeNodesConfAtomic(path, "y\n", true);
    assert.deepEqual(lockNodesConf(path), { ok: false, message: refused });
    assert.ok(Deno.statSync(path + LOCK_FILE_SUFFIX).isFile);
    const other = await inOtherProcess(
      `const r = m.lockNodesConf(${JSON.stringify(path)}); console.log(r.ok ? "locked" : r.message);`,
    );
    assert.equal(other, refused);

    first.file.close();
    const again = lockNodesConf(path);
    assert.ok(again.ok);
    again.file.close();
    // Released on exit: a process that took the lock and ended leaves it free.
    assert.equal(await inOtherProcess(`console.log(m.lockNodesConf(${JSON.stringify(path)}).ok);`), "true");
    const last = lockNodesConf(path);
    assert.ok(last.ok);
    last.file.close();
  }));

Deno.test("lockNodesConf reports a lock file that cannot be opened", () =>
  withDir((dir) => {
    const path = `${dir}/missing-dir/nodes.conf`;
    const result = lockNodesConf(path);
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.message.startsWith(`Can't open ${path}.lock in order to acquire a lock: `));
  }));

Deno.test("writeNodesConfInBackground replaces the file, or drops a snapshot a later save superseded", () =>
  withDir(async (dir) => {
    const path = `${dir}/nodes.conf`;
    writeNodesConfAtomic(path, "first\n", false);
    for (const fsync of [false, true]) {
      assert.equal(await writeNodesConfInBackground(path, `second ${fsync}\n`, fsync, () => true), true);
      assert.equal(readNodesConf(path), `second ${fsync}\n`);
    }
    // A synchronous save lands while the background write is in flight: the older snapshot must not replace it.
    let generation = 1;
    const background = writeNodesConfInBackground(path, "stale\n", true, () => generation === 1);
    generation++;
    writeNodesConfAtomic(path, "newer\n", true);
    assert.equal(await background, false);
    assert.equal(readNodesConf(path), "newer\n");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["nodes.conf"]);
  }));

Deno.test("removeStaleTempFiles deletes only nodes.conf's leftover temp files", () =>
  withDir((dir) => {
    const path = `${dir}/nodes.conf`;
    for (
      const name of ["nodes.conf", "nodes.conf.tmp-123", "nodes.conf.tmp-456-bg", "other.tmp-1", "nodes.conf.lock"]
    ) {
      Deno.writeTextFileSync(`${dir}/${name}`, "x");
    }
    removeStaleTempFiles(path);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "nodes.conf",
      "nodes.conf.lock",
      "other.tmp-1",
    ]);
  }));
