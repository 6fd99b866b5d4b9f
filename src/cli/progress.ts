import type { ProgressFactory, ProgressSink } from "../node/index.js";

/** What long work reports: how much is done of a known total, in one unit. */
export type ProgressUnit = "bytes" | "entries" | "segments";

// ProgressSink: update(done) as often as the work's batches; finish() once it ended (done or failed)
// closes a terminal line or logs the final figure. Declared by node/, whose repair reports through it.
export type { ProgressSink };

export interface ProgressOptions {
  readonly out: NodeJS.WritableStream & { readonly isTTY?: boolean };
  /** What is going on, e.g. "snapshot save" or "repair". */
  readonly label: string;
  readonly total: number;
  readonly unit: ProgressUnit;
  /** Least time between two printed lines when out is not a terminal (a log file, CI). */
  readonly logEveryMs?: number;
  readonly now?: () => number;
}

const LOG_EVERY_MS_DEFAULT = 1000;
const MIB = 1024 * 1024;

function amount(n: number, unit: ProgressUnit): string {
  return unit === "bytes" ? `${(n / MIB).toFixed(1)} MiB` : String(n);
}

/** "snapshot save: 12.5 MiB / 40.0 MiB (31%)", "repair: 1200 / 5000 entries (24%)". */
export function progressLine(label: string, done: number, total: number, unit: ProgressUnit): string {
  const percent = total > 0 ? Math.floor((100 * Math.min(done, total)) / total) : 100;
  const of = `${amount(done, unit)} / ${amount(total, unit)}${unit === "bytes" ? "" : ` ${unit}`}`;
  return `${label}: ${of} (${percent}%)`;
}

/**
 * Shows progress of long work (repair, snapshot save/restore): on a terminal one line rewritten in
 * place at every update; elsewhere a line at most every logEveryMs, so a log does not fill up.
 */
export function terminalProgress(opts: ProgressOptions): ProgressSink {
  const now = opts.now ?? Date.now;
  const everyMs = opts.logEveryMs ?? LOG_EVERY_MS_DEFAULT;
  const tty = opts.out.isTTY === true;
  let last = 0;
  let lastPrintedAt = Number.NEGATIVE_INFINITY;
  let finished = false;
  const line = () => progressLine(opts.label, last, opts.total, opts.unit);
  return {
    update(done) {
      if (finished) return;
      last = done;
      if (tty) {
        opts.out.write(`\r${line()}\x1b[K`);
      } else if (now() - lastPrintedAt >= everyMs) {
        lastPrintedAt = now();
        opts.out.write(`${line()}\n`);
      }
    },
    finish() {
      if (finished) return;
      finished = true;
      opts.out.write(tty ? `\r${line()}\x1b[K\n` : `${line()}\n`);
    },
  };
}

/** Progress of the node commands' long work (repair) on `out`, for NodeCommandContext. */
export function progressOn(out: ProgressOptions["out"]): ProgressFactory {
  return (label, total, unit) => terminalProgress({ out, label, total, unit });
}
