import type { Clock, DriverStorage } from "../../src/node/index.js";
import type { ConfigState, Entry, HardState, Message, Snapshot } from "../../src/raft/index.js";
import type { DiskStorage, SaveBatch } from "../../src/storage/index.js";

/** A clock the test moves by hand: deferred work runs in `settle()`, timers in `advance()`. */
export class ManualClock implements Clock {
  nowMs = 0;
  private deferred: (() => void)[] = [];
  private timers: { every: number; next: number; run: () => void; cancelled: boolean }[] = [];

  now(): number {
    return this.nowMs;
  }

  wallMs(): number {
    return 1_700_000_000_000 + this.nowMs;
  }

  defer(run: () => void): void {
    this.deferred.push(run);
  }

  every(ms: number, run: () => void): () => void {
    const timer = { every: ms, next: this.nowMs + ms, run, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Runs deferred work and lets promise chains finish, until nothing is left. */
  async settle(): Promise<void> {
    for (let round = 0; round < 1000; round++) {
      const batch = this.deferred;
      this.deferred = [];
      for (const run of batch) run();
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.deferred.length === 0) return;
    }
    throw new Error("deferred work never settles");
  }

  /** Moves time forward `ms`, firing timers (and settling after each). */
  async advance(ms: number): Promise<void> {
    const end = this.nowMs + ms;
    for (;;) {
      const due = this.timers.filter((t) => !t.cancelled && t.next <= end).sort((a, b) => a.next - b.next)[0];
      if (due === undefined) break;
      this.nowMs = due.next;
      due.next += due.every;
      due.run();
      await this.settle();
    }
    this.nowMs = end;
  }
}

/** DiskStorage whose saves can be held (fsync in flight) and counted. */
export class HeldStorage implements DriverStorage {
  saves: SaveBatch[] = [];
  hold = false;
  private held: (() => void)[] = [];

  constructor(private readonly inner: DiskStorage) {}

  initialState(): { hardState: HardState; config: ConfigState } {
    return this.inner.initialState();
  }
  firstIndex(): number {
    return this.inner.firstIndex();
  }
  lastIndex(): number {
    return this.inner.lastIndex();
  }
  term(index: number): number {
    return this.inner.term(index);
  }
  entries(lo: number, hi: number, bytesMax: number): Entry[] {
    return this.inner.entries(lo, hi, bytesMax);
  }
  snapshot(): Snapshot {
    return this.inner.snapshot();
  }

  async save(batch: SaveBatch): Promise<void> {
    this.saves.push(batch);
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve));
    await this.inner.save(batch);
  }

  /** Lets the saves held so far complete; later ones are held while `hold` stays set. */
  release(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }

  createSnapshot(index: number, config: ConfigState, data: Uint8Array): Promise<void> {
    return this.inner.createSnapshot(index, config, data);
  }
  compact(index: number): Promise<void> {
    return this.inner.compact(index);
  }
}

/** Collects what a driver sends. */
export class SentMessages {
  readonly sent: Message[] = [];
  send(msgs: readonly Message[]): void {
    this.sent.push(...msgs);
  }
}
