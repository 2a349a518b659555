/**
 * The simulator's agenda: events ordered by (virtual time, insertion sequence), so two events at the
 * same millisecond always run in the order they were scheduled and a seed replays exactly.
 */

/** One scheduled action. */
interface Entry {
  at: number;
  seq: number;
  run: () => void;
}

/** A binary min-heap of actions keyed by (time, sequence). */
export class EventQueue {
  private readonly heap: Entry[] = [];
  private seq = 0;

  /** Number of pending events. */
  get size(): number {
    return this.heap.length;
  }

  /** Schedules `run` at virtual time `at`. */
  push(at: number, run: () => void): void {
    const entry = { at, seq: this.seq++, run };
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = entry;
  }

  /** Time of the earliest event, or Infinity when empty. */
  peekTime(): number {
    return this.heap.length === 0 ? Infinity : this.heap[0].at;
  }

  /** Removes and returns the earliest event, or undefined when empty. */
  pop(): { at: number; run: () => void } | undefined {
    const heap = this.heap;
    if (heap.length === 0) return undefined;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && before(heap[right], heap[left]) ? right : left;
        if (!before(heap[child], last)) break;
        heap[i] = heap[child];
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
