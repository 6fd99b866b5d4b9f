import { performance } from "node:perf_hooks";
import type { Clock } from "./ports.js";

/** The process's clocks and timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallMs: () => Date.now(),
  defer: (run) => {
    setImmediate(run);
  },
  every: (ms, run) => {
    const timer = setInterval(run, ms);
    return () => clearInterval(timer);
  },
};
