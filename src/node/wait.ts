import type { Clock } from "./ports.js";

/** Resolves once `done()` holds or `deadlineMs` (on `clock`) passed, checking every `everyMs`. */
export function waitUntil(
  clock: Clock,
  everyMs: number,
  deadlineMs: number,
  done: () => boolean,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const cancel = clock.every(everyMs, () => {
      if (!done() && clock.now() < deadlineMs) return;
      cancel();
      resolve();
    });
  });
}
