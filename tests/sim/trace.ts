/**
 * The run's trace: the last events of interest (faults, failure flags, state changes, epoch moves)
 * kept in a ring, with 40-char node ids shortened to the simulator's node names so a tail reads well.
 */

/** A ring buffer of trace lines; `echo` also prints every line as it is added (replaying one seed). */
export class Trace {
  private readonly lines: string[] = [];
  private next = 0;
  private readonly names = new Map<string, string>();
  echo = false;

  constructor(private readonly capacity: number) {}

  /** Registers a node id and its short name (`n3`). */
  name(id: string, short: string): void {
    this.names.set(id, short);
  }

  /** Adds a line at virtual time `at` (ms since the start of the run). */
  add(at: number, text: string): void {
    const line = `${(at / 1000).toFixed(3).padStart(8)}s ${this.shorten(text)}`;
    if (this.echo) console.log(line);
    if (this.lines.length < this.capacity) this.lines.push(line);
    else this.lines[this.next] = line;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Replaces every known node id in a text by its short name (unknown ids keep their first 8 chars). */
  shorten(text: string): string {
    return text.replace(/\b[0-9a-f]{40}\b/g, (id) => this.names.get(id) ?? `?${id.slice(0, 8)}`);
  }

  /** The last `n` lines, oldest first. */
  tail(n: number): string[] {
    const ordered = this.lines.length < this.capacity
      ? this.lines
      : [...this.lines.slice(this.next), ...this.lines.slice(0, this.next)];
    return ordered.slice(Math.max(0, ordered.length - n));
  }
}
