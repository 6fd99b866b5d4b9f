import type { MetricsSample } from "../node/index.js";

/** One point of the dashboard's charts. Latencies are those of the leader's commits in that interval. */
export interface RatePoint {
  /** Wall-clock seconds (uPlot's x axis). */
  readonly t: number;
  /** Entries applied per second on the node that sampled (every member applies every write). */
  readonly writesPerSec: number;
  /** Commit latency in the interval, in ms (null: no commit on this node then, e.g. a follower). */
  readonly meanMs: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

/** The node's write rate and commit latency: each sample of its metrics becomes the rates since the previous one. */
export class RateSamples {
  private previous: { readonly atMs: number; readonly sample: MetricsSample } | undefined;
  private latest_: RatePoint | undefined;

  /** Adds the rates since the previous sample; the first sample only sets the baseline. */
  add(atMs: number, sample: MetricsSample): RatePoint | undefined {
    const prev = this.previous;
    this.previous = { atMs, sample };
    if (prev === undefined || atMs <= prev.atMs) return undefined;
    const seconds = (atMs - prev.atMs) / 1000;
    const cur = sample.commitLatency;
    const old = prev.sample.commitLatency;
    const commits = cur.count - old.count;
    const point: RatePoint = {
      t: atMs / 1000,
      writesPerSec: Math.max(0, sample.commandsApplied - prev.sample.commandsApplied) / seconds,
      meanMs: commits > 0 ? round2(((cur.sum - old.sum) / commits) * 1000) : null,
      p50Ms: quantileMs(cur.buckets, old.buckets, commits, 0.5),
      p99Ms: quantileMs(cur.buckets, old.buckets, commits, 0.99),
    };
    this.latest_ = point;
    return point;
  }

  get latest(): RatePoint | undefined {
    return this.latest_;
  }
}

/**
 * The bucket bound under which `q` of the interval's observations fell (an upper estimate, as
 * Prometheus' histogram_quantile without interpolation); null with no observations.
 */
function quantileMs(
  cur: readonly (readonly [number, number])[],
  old: readonly (readonly [number, number])[],
  count: number,
  q: number,
): number | null {
  if (count <= 0) return null;
  const target = q * count;
  for (let i = 0; i < cur.length; i++) {
    const [le, n] = cur[i] as readonly [number, number];
    const before = old[i]?.[1] ?? 0;
    if (n - before >= target) return Number.isFinite(le) ? round2(le * 1000) : null;
  }
  return null;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
