// The one load generator every system is driven by, plus the HTTP helper and the table/JSON reporting.
import { build } from "hdr-histogram-js";
import { Pool } from "undici";

/** One operation of worker `worker` (0-based), its `seq`-th; throws on a failed answer. */
export type Op = (worker: number, seq: number) => Promise<void>;

export interface LoadSpec {
  readonly concurrency: number;
  readonly durationMs: number;
  /** Count bound per worker: the row stops at the time bound or when every worker has done this many. */
  readonly opsPerWorkerMax: number;
  /** The row is abandoned after this many failed operations (a broken system must not spin for minutes). */
  readonly errorsMax: number;
  readonly op: Op;
}

export interface LoadResult {
  readonly ops: number;
  readonly errors: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly firstError?: string;
}

/** Latencies are recorded in microseconds; 60 s is far above any bench timeout. */
const HISTOGRAM_US_MAX = 60_000_000;

/** Closed-loop load: `concurrency` workers each issue one operation at a time until a bound is reached. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const hist = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HISTOGRAM_US_MAX,
    numberOfSignificantValueDigits: 3,
  });
  let ops = 0;
  let errors = 0;
  let firstError: string | undefined;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(spec.durationMs) * 1_000_000n;
  const worker = async (w: number): Promise<void> => {
    for (let seq = 0; seq < spec.opsPerWorkerMax && errors < spec.errorsMax; seq++) {
      const t0 = process.hrtime.bigint();
      if (t0 >= deadline) return;
      try {
        await spec.op(w, seq);
        hist.recordValue(Math.min(HISTOGRAM_US_MAX, Number(process.hrtime.bigint() - t0) / 1000));
        ops++;
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, w) => worker(w)));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const ms = (p: number): number => round2(hist.getValueAtPercentile(p) / 1000);
  const result: LoadResult = {
    ops,
    errors,
    seconds: round2(seconds),
    opsPerSec: Math.round(ops / seconds),
    p50Ms: ms(50),
    p99Ms: ms(99),
    p999Ms: ms(99.9),
    maxMs: round2(hist.maxValue / 1000),
    ...(firstError === undefined ? {} : { firstError }),
  };
  hist.destroy();
  return result;
}

export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
}

/** Keep-alive HTTP pool towards one origin: one connection per concurrent worker, no pipelining. */
/** `ca`: trust this CA for an https:// origin (bench --tls). */
export function httpPool(origin: string, connections: number, timeoutMs: number, ca?: Buffer): Pool {
  return new Pool(origin, {
    ...(ca === undefined ? {} : { connect: { ca } }),
    connections,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: timeoutMs,
    keepAliveTimeout: 60_000,
  });
}

export async function http(
  pool: Pool,
  method: "GET" | "POST" | "DELETE",
  path: string,
  body?: string,
  headers?: Record<string, string>,
  signal?: AbortSignal,
): Promise<HttpAnswer> {
  const res = await pool.request({
    method,
    path,
    ...(body === undefined ? {} : { body }),
    headers: { "content-type": "application/json", ...headers },
    ...(signal === undefined ? {} : { signal }),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

/** Throws unless the answer has one of the expected statuses. */
export function expectStatus(a: HttpAnswer, ...ok: number[]): HttpAnswer {
  if (!ok.includes(a.status)) throw new Error(`HTTP ${a.status}: ${a.text.slice(0, 200)}`);
  return a;
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Plain-text table with right-aligned columns after the first. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export function fmtInt(x: number): string {
  return Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "-";
}

export function fmtRatio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) + "x" : "-";
}

/**
 * With -h or --help among the arguments: prints `usage` and exits before any cluster starts (a
 * benchmark takes minutes and the shared cores).
 */
export function exitOnHelp(usage: string): void {
  if (!process.argv.slice(2).some((a) => a === "-h" || a === "--help")) return;
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
