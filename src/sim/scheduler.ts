/** One timed callback. `seq` breaks ties so events at the same virtual time run in scheduling order. */
interface Event {
  readonly time: number;
  readonly seq: number;
  readonly run: () => void;
}

/**
 * Virtual clock plus a binary min-heap of timed events. Nothing here reads a real clock: time only
 * moves when the next event is popped, so a run is a pure function of its seed.
 */
export class Scheduler {
  now = 0;
  private seq = 0;
  private readonly heap: Event[] = [];
  /** Events run so far: the simulator's unit of work, reported as a speed measure. */
  eventsRun = 0;

  constructor(private readonly eventsMax: number) {}

  /** Runs `run` after `delayMs` virtual milliseconds (0 = after everything already due now). */
  after(delayMs: number, run: () => void): void {
    if (this.heap.length >= this.eventsMax)
      throw new RangeError(`event queue is full (eventsMax ${this.eventsMax})`);
    this.push({ time: this.now + Math.max(0, delayMs), seq: this.seq++, run });
  }

  /** Runs events in time order until the queue is empty, `untilMs` is reached or `stop()` returns true. */
  runUntil(untilMs: number, stop: () => boolean = () => false): void {
    const heap = this.heap;
    while (heap.length > 0) {
      const top = heap[0] as Event;
      if (top.time > untilMs) break;
      this.pop();
      this.now = top.time;
      this.eventsRun++;
      top.run();
      if (stop()) return;
    }
    if (this.now < untilMs) this.now = untilMs;
  }

  private push(e: Event): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(e);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Event;
      if (!before(e, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = e;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop() as Event;
    const n = heap.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(heap[r] as Event, heap[l] as Event) ? r : l;
      const child = heap[c] as Event;
      if (!before(child, last)) break;
      heap[i] = child;
      i = c;
    }
    heap[i] = last;
  }
}

function before(a: Event, b: Event): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
