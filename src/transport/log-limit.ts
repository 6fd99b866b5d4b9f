/** How often a repeating warning of one peer and reason is logged at most (LogLimiter). */
export const REPEAT_LOG_EVERY_MS = 10_000;

/** Keys remembered at most: past it the one logged longest ago is forgotten (and logged again if it recurs). */
const KEYS_MAX = 1024;

/**
 * Rate-limits a repeating warning per key (a peer and a reason): the first is logged, then at most one per
 * `everyMs`, carrying how many were suppressed since the last one logged. A dialler whose handshake is
 * refused redials at once and for good (a member added on another's peer URL: 27 refusals a second, each a
 * warning; a wrong --cluster-token: 9 a second on every member). The refusals themselves are unchanged and
 * still counted in the transport's stats.
 */
export class LogLimiter {
  /** By key: when it was last logged and how many since were not; in the order they were logged. */
  private readonly seen = new Map<string, { atMs: number; suppressed: number }>();

  constructor(
    private readonly everyMs: number = REPEAT_LOG_EVERY_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Fields to log this occurrence of `key` with, or undefined to suppress it. */
  admit(key: string): { logEveryMs: number; suppressed?: number } | undefined {
    const now = this.now();
    const last = this.seen.get(key);
    if (last !== undefined && now - last.atMs < this.everyMs) {
      last.suppressed++;
      return undefined;
    }
    this.seen.delete(key);
    if (this.seen.size >= KEYS_MAX) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(key, { atMs: now, suppressed: 0 });
    const suppressed = last?.suppressed ?? 0;
    return suppressed === 0 ? { logEveryMs: this.everyMs } : { logEveryMs: this.everyMs, suppressed };
  }
}
