/** One timed callback. `seq` breaks ties so events at the same virtual time run in scheduling order. */
interface Event {
  readonly time: number;
  readonly seq: number;
  readonly run: () => void;
}

/** Resolves once every queued microtask (and those they queue) has run: a macrotask boundary. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Virtual clock plus a binary min-heap of timed events. Nothing here reads a real clock: time only
 * moves when the next event is popped, so a run is a pure function of its seed.
 * Async work (the real storage over an in-memory disk) never waits on real I/O: after an event that
 * started or resumed some, the scheduler lets its microtasks run to quiescence before time moves on.
 */
export class Scheduler {
  now = 0;
  private seq = 0;
  private readonly heap: Event[] = [];
  /** Events run so far: the simulator's unit of work, reported as a speed measure. */
  eventsRun = 0;
  private asyncPending = false;
  /** Work deferred to the end of the current event (a process' setImmediate); runs before time moves. */
  private deferred: (() => void)[] = [];
  /** The first error thrown by async work (a continuation has no caller to throw to). */
  private failure: { readonly error: unknown } | undefined;

  constructor(private readonly eventsMax: number) {}

  /** Runs `run` after `delayMs` virtual milliseconds (0 = after everything already due now). */
  after(delayMs: number, run: () => void): void {
    if (this.heap.length >= this.eventsMax)
      throw new RangeError(`event queue is full (eventsMax ${this.eventsMax})`);
    this.push({ time: this.now + Math.max(0, delayMs), seq: this.seq++, run });
  }

  /**
   * Runs `run` once the current event (and the work it deferred or started) is done, at the same
   * virtual time: many inputs handled in one event coalesce into one Ready, as under setImmediate.
   */
  defer(run: () => void): void {
    this.deferred.push(run);
  }

  /** Marks that promises were started or resolved: their continuations run before the next event. */
  asyncStarted(): void {
    this.asyncPending = true;
  }

  /** Records an error from async work; runUntil throws it after the current event. */
  fail(error: unknown): void {
    this.failure ??= { error };
  }

  /** Runs events in time order until the queue is empty, `untilMs` is reached or `stop()` returns true. */
  async runUntil(untilMs: number, stop: () => boolean = () => false): Promise<void> {
    const heap = this.heap;
    // Work started between runs (nodes starting) settles before the first event.
    await this.settleAsync();
    while (heap.length > 0) {
      const top = heap[0] as Event;
      if (top.time > untilMs) break;
      this.pop();
      this.now = top.time;
      this.eventsRun++;
      top.run();
      await this.settleAsync();
      if (stop()) return;
    }
    if (this.now < untilMs) this.now = untilMs;
  }

  /** Runs deferred work and settles promise chains, in turns, until neither is left. */
  private async settleAsync(): Promise<void> {
    for (;;) {
      if (this.deferred.length > 0) {
        const batch = this.deferred;
        this.deferred = [];
        for (const run of batch) run();
      } else if (this.asyncPending) {
        this.asyncPending = false;
        await settle();
      } else break;
    }
    if (this.failure !== undefined) throw this.failure.error;
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
