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
const KIB = 1024;
const BYTE_UNITS = [
  ["GiB", KIB ** 3],
  ["MiB", KIB ** 2],
  ["KiB", KIB],
] as const;

/**
 * Done and total in one unit: whole bytes under 1 KiB, else the largest binary unit the larger of them reaches,
 * one decimal (MiB alone printed a 300-byte snapshot as `0.0 MiB / 0.0 MiB`).
 */
function amounts(done: number, total: number, unit: ProgressUnit): string {
  if (unit !== "bytes") return `${done} / ${total} ${unit}`;
  const [name, size] = BYTE_UNITS.find(([, size]) => Math.max(done, total) >= size) ?? ["B", 1];
  const of = (n: number) => (size === 1 ? String(n) : (n / size).toFixed(1));
  return `${of(done)} ${name} / ${of(total)} ${name}`;
}

/** "snapshot save: 12.5 MiB / 40.0 MiB (31%)", "save: 312 B / 312 B (100%)", "repair: 1200 / 5000 entries (24%)". */
export function progressLine(label: string, done: number, total: number, unit: ProgressUnit): string {
  const percent = total > 0 ? Math.floor((100 * Math.min(done, total)) / total) : 100;
  return `${label}: ${amounts(done, total, unit)} (${percent}%)`;
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
  /** The figure last written to a log: finish() does not repeat it (a small file's one update is its end). */
  let lastPrinted: number | undefined;
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
        lastPrinted = done;
        opts.out.write(`${line()}\n`);
      }
    },
    finish() {
      if (finished) return;
      finished = true;
      if (tty) opts.out.write(`\r${line()}\x1b[K\n`);
      else if (lastPrinted !== last) opts.out.write(`${line()}\n`);
    },
  };
}

/** Progress of the node commands' long work (repair) on `out`, for NodeCommandContext. */
export function progressOn(out: ProgressOptions["out"]): ProgressFactory {
  return (label, total, unit) => terminalProgress({ out, label, total, unit });
}
