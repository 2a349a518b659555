/** Runs Debian's `redis-benchmark --csv` against a port and parses its figures. */

/** One test's figures from a redis-benchmark run. */
export interface BenchResult {
  test: string;
  rps: number;
  p99Ms: number;
}

/** What to run: redis-benchmark's -t, -n, -c, -P and -d. */
export interface BenchConfig {
  tests: string[];
  requests: number;
  clients: number;
  pipeline: number;
  dataSize: number;
}

/**
 * Parses `redis-benchmark --csv` output: a header row naming the columns, then one row per test.
 * Columns are looked up by name so a reordered header still parses.
 */
export function parseBenchmarkCsv(csv: string): BenchResult[] {
  const rows = csv.trim().split("\n").map((line) => line.split(",").map((cell) => cell.trim().replace(/^"|"$/g, "")));
  const header = rows.findIndex((r) => r[0] === "test");
  if (header === -1) throw new Error(`no CSV header in redis-benchmark output:\n${csv}`);
  const col = (name: string) => {
    const i = rows[header].indexOf(name);
    if (i === -1) throw new Error(`redis-benchmark CSV has no ${name} column`);
    return i;
  };
  const [rpsCol, p99Col] = [col("rps"), col("p99_latency_ms")];
  return rows.slice(header + 1).filter((r) => r.length > p99Col).map((r) => ({
    test: r[0],
    rps: Number(r[rpsCol]),
    p99Ms: Number(r[p99Col]),
  }));
}

/** Runs redis-benchmark once; kills it and fails after `timeoutMs`. */
export async function runBenchmark(port: number, cfg: BenchConfig, timeoutMs: number): Promise<BenchResult[]> {
  const args = [
    "-h",
    "127.0.0.1",
    "-p",
    String(port),
    "-t",
    cfg.tests.join(","),
    "-n",
    String(cfg.requests),
    "-c",
    String(cfg.clients),
    "-P",
    String(cfg.pipeline),
    "-d",
    String(cfg.dataSize),
    "--csv",
  ];
  const out = await new Deno.Command("redis-benchmark", {
    args,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`redis-benchmark ${args.join(" ")} failed (${out.code}): ${new TextDecoder().decode(out.stderr)}`);
  }
  const results = parseBenchmarkCsv(text);
  for (const t of cfg.tests) {
    // Some names carry a note in the CSV: `LRANGE_100 (first 100 elements)`, `MSET (10 keys)`.
    if (!results.some((r) => r.test.toLowerCase().split(" ")[0] === t.toLowerCase())) {
      throw new Error(`no ${t} figure in:\n${text}`);
    }
  }
  return results;
}
