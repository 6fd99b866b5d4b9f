import type { Clock } from "../node/index.js";

/** A node's clock error: its time runs at `rate` × real time and its wall clock is `offsetMs` off. */
export interface ClockSkew {
  readonly offsetMs: number;
  readonly rate: number;
}

/** What a node's clock needs from the simulation and its process. */
export interface ClockHost {
  /** Virtual time (the true time). */
  now(): number;
  after(delayMs: number, run: () => void): void;
  /** Runs `run` at the end of the current event. */
  defer(run: () => void): void;
  /** The process of this life is alive. */
  alive(): boolean;
  /** The process is up (not paused): timers fire, deferred work runs. */
  running(): boolean;
  /** Runs `work` once the process runs (at once if up, on resume if paused, never if dead). */
  whenRunning(work: () => void): void;
}

/** Wall clocks start at a realistic epoch, so commands carry plausible timestamps. */
const epochMs = 1_700_000_000_000;

/**
 * The Clock of one simulated process life, with this node's skew: its timers fire at its own rate,
 * `wallMs()` (the timestamp a leader puts in commands) is off by its offset, and after a crash nothing
 * it scheduled runs. A paused process misses its ticks (as a stopped process' interval does) and runs
 * deferred work on resume.
 */
export class NodeClock implements Clock {
  constructor(
    private readonly host: ClockHost,
    private readonly skew: ClockSkew,
    /** Delay of the first tick, so nodes do not tick in lockstep. */
    private readonly tickPhaseMs: number,
  ) {}

  now(): number {
    return this.host.now() * this.skew.rate;
  }

  wallMs(): number {
    return Math.floor(epochMs + this.now() + this.skew.offsetMs);
  }

  defer(run: () => void): void {
    const host = this.host;
    host.defer(() => {
      if (host.alive()) host.whenRunning(run);
    });
  }

  every(ms: number, run: () => void): () => void {
    const host = this.host;
    const intervalMs = ms / this.skew.rate;
    let cancelled = false;
    const fire = () => {
      if (cancelled || !host.alive()) return;
      if (host.running()) run();
      host.after(intervalMs, fire);
    };
    host.after(Math.min(this.tickPhaseMs, intervalMs), fire);
    return () => {
      cancelled = true;
    };
  }
}
