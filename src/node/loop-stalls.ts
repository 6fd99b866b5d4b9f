import { PerformanceObserver } from "node:perf_hooks";
import type { Logger } from "pino";

/** How often the watch looks; a stall shorter than this plus `stallMsMin` goes unseen. */
const watchEveryMs = 10;
/** A late wake-up worth a log line: well above timer jitter, well below a client-visible gap. */
const stallMsMin = 40;

/** A garbage collection worth a log line next to the stalls. */
const gcMsMin = 10;

/**
 * At debug level only: logs each time this process's event loop woke up at least `stallMsMin` late,
 * with the CPU it used meanwhile, so a gap seen by clients can be told apart as our own synchronous
 * work (CPU ≈ the stall) or the process waiting for a CPU on a loaded machine (CPU ≪ the stall); and
 * each garbage collection of at least `gcMsMin`, so such work can be told apart from ours.
 * Returns the function that stops it.
 */
export function watchLoopStalls(logger: Logger): () => void {
  if (!logger.isLevelEnabled("debug")) return () => {};
  let last = performance.now();
  let cpu = process.cpuUsage();
  const timer = setInterval(() => {
    const now = performance.now();
    const used = process.cpuUsage(cpu);
    const lateMs = now - last - watchEveryMs;
    if (lateMs >= stallMsMin) {
      const cpuMs = Math.round((used.user + used.system) / 1000);
      logger.debug({ lateMs: Math.round(lateMs), cpuMs }, "event loop stalled");
    }
    last = now;
    cpu = process.cpuUsage();
  }, watchEveryMs);
  timer.unref();
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.duration >= gcMsMin) logger.debug({ gcMs: Math.round(e.duration) }, "garbage collection");
    }
  });
  gc.observe({ entryTypes: ["gc"] });
  return () => {
    clearInterval(timer);
    gc.disconnect();
  };
}
