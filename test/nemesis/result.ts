// The verdict of a run from its history, and the files it leaves: history.jsonl, result.json, report.md.
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { checkHistory, stackModel } from "../../src/check/index.js";
import { availabilityByKind, type Degradation, degradation, type KindAvailability } from "./availability.js";
import type { NodeCrash } from "./cluster.js";
import type { SharedTerm } from "./leaders.js";
import type { FaultRecord, HistoryLine, OpKind, OpRecord } from "./record.js";
import { toCheckerHistory, toJsonLine } from "./record.js";
import { renderReport } from "./report.js";
import type { NemesisOptions } from "./run.js";
import { type ExplicitFindings, explicitChecks } from "./verify.js";

/** How the run ended before checking. */
export type RunOutcome =
  | {
      readonly kind: "drained";
      readonly replicas: { readonly behind: number[]; readonly diverged: string[] };
    }
  | { readonly kind: "unavailable"; readonly why: string }
  | { readonly kind: "setup-failed"; readonly why: string }
  | { readonly kind: "aborted"; readonly why: string };

export type Verdict = "pass" | "violation" | "unavailable" | "unknown" | "error" | "aborted";

/** Exit status of `npm run nemesis` per verdict (docs/nemesis.md lists them). */
export const EXIT_CODES: Readonly<Record<Verdict, number>> = {
  pass: 0,
  violation: 1,
  unavailable: 2,
  unknown: 3,
  error: 4,
  aborted: 130,
};

export interface Linearizability {
  readonly result: "ok" | "illegal" | "unknown" | "skipped";
  readonly ms: number;
  readonly steps: number;
  readonly detail: string;
}

export interface RunResult {
  readonly verdict: Verdict;
  readonly exitCode: number;
  readonly why: string[];
  readonly options: NemesisOptions;
  readonly elapsedMs: number;
  readonly partitions: string;
  readonly ops: {
    readonly total: number;
    readonly byKind: Record<OpKind, number>;
    readonly answered: number;
    readonly notApplied: number;
    readonly unknown: number;
    readonly settledLater: number;
    readonly drainPops: number;
    /** Sent over RESP (the rest over HTTP); absent in results written before RESP clients. */
    readonly resp?: number;
  };
  readonly faultsByKind: Record<string, { readonly count: number; readonly activeMs: number }>;
  readonly availability: Record<string, KindAvailability>;
  readonly degradation: Degradation;
  readonly linearizability: Linearizability;
  readonly explicit: ExplicitFindings;
  readonly nodeCrashes: readonly NodeCrash[];
  /** Terms that two nodes' logs say they led (election safety); absent in results written before the check. */
  readonly sharedLeaderTerms?: readonly SharedTerm[];
  readonly replicas: { readonly behind: number[]; readonly diverged: string[] } | undefined;
  /** Kept whole so `--recheck` can decide again from the files alone. */
  readonly outcome: RunOutcome;
}

export interface CheckInput {
  readonly options: NemesisOptions;
  readonly partitions: string;
  readonly ops: readonly OpRecord[];
  readonly faults: readonly FaultRecord[];
  readonly crashes: readonly NodeCrash[];
  readonly sharedLeaderTerms: readonly SharedTerm[];
  readonly outcome: RunOutcome;
  readonly elapsedMs: number;
}

function linearizability(ops: readonly OpRecord[], budgetMs: number): Linearizability {
  if (ops.length === 0) return { result: "skipped", ms: 0, steps: 0, detail: "no operations" };
  const start = performance.now();
  const r = checkHistory(stackModel, toCheckerHistory(ops), { timeMsMax: budgetMs });
  const ms = Math.round(performance.now() - start);
  const detail = r.result === "illegal" ? r.explanation : r.result === "unknown" ? r.reason : "";
  return { result: r.result, ms, steps: r.steps, detail };
}

/** Runs every check and decides the verdict: a violation outranks unavailability, which outranks unknown. */
export function checkRun(input: CheckInput): RunResult {
  const { options: o, ops, faults, outcome } = input;
  const drained = outcome.kind === "drained";
  const explicit = explicitChecks(ops, drained);
  const lin = linearizability(ops, o.checkMs);
  const replicas = drained ? outcome.replicas : undefined;
  const why: string[] = [];
  if (lin.result === "illegal") why.push("history is not linearizable");
  for (const [check, count] of Object.entries(explicit.counts)) if (count > 0) why.push(`${check}: ${count}`);
  if (input.crashes.length > 0) why.push(`node crashes: ${input.crashes.length}`);
  for (const f of faults) for (const x of f.findings ?? []) why.push(`${f.kind} saw: ${x}`);
  for (const t of input.sharedLeaderTerms)
    why.push(`two leaders in one term: nodes ${t.nodes.join(",")} each led term ${t.term}`);
  for (const d of replicas?.diverged ?? []) why.push(`replica divergence: ${d}`);
  let verdict: Verdict;
  if (why.length > 0) verdict = "violation";
  else if (outcome.kind === "aborted") verdict = "aborted";
  else if (outcome.kind === "setup-failed") verdict = "error";
  else if (outcome.kind === "unavailable") verdict = "unavailable";
  else if (lin.result === "unknown") verdict = "unknown";
  else verdict = "pass";
  if (outcome.kind !== "drained") why.push(outcome.why);
  if (lin.result === "unknown") why.push(`checker gave up: ${lin.detail}`);
  if ((replicas?.behind.length ?? 0) > 0)
    why.push(`nodes that never caught up: ${replicas?.behind.join(",")}`);

  const byKind: Record<OpKind, number> = { push: 0, pop: 0, top: 0, size: 0 };
  for (const op of ops) byKind[op.f]++;
  const faultsByKind: Record<string, { count: number; activeMs: number }> = {};
  for (const f of faults) {
    const entry = faultsByKind[f.kind] ?? { count: 0, activeMs: 0 };
    entry.count++;
    entry.activeMs += Math.round(f.end - f.start);
    faultsByKind[f.kind] = entry;
  }
  return {
    verdict,
    exitCode: EXIT_CODES[verdict],
    why,
    options: o,
    elapsedMs: Math.round(input.elapsedMs),
    partitions: input.partitions,
    ops: {
      total: ops.length,
      byKind,
      answered: ops.filter((op) => op.answer !== undefined).length,
      notApplied: ops.filter((op) => op.notApplied).length,
      unknown: ops.filter((op) => op.answer === undefined && !op.notApplied).length,
      settledLater: ops.filter((op) => op.answer !== undefined && !op.inDeadline).length,
      drainPops: ops.filter((op) => op.phase === "drain").length,
      resp: ops.filter((op) => op.via === "resp").length,
    },
    faultsByKind,
    availability: availabilityByKind(ops, faults),
    degradation: degradation(ops, faults, o.requestTimeoutMs),
    linearizability: lin,
    explicit,
    nodeCrashes: input.crashes,
    sharedLeaderTerms: input.sharedLeaderTerms,
    replicas,
    outcome,
  };
}

/** Lines of history.jsonl joined per write: one string per line would be slow, one for all too big. */
const linesPerWrite = 2000;

/** history.jsonl (operations and faults by start time), result.json and report.md in `dir`. */
export function writeRunFiles(
  dir: string,
  result: RunResult,
  ops: readonly OpRecord[],
  faults: readonly FaultRecord[],
): void {
  const lines: HistoryLine[] = [...ops, ...faults];
  const at = (l: HistoryLine) => (l.type === "op" ? l.call : l.start);
  lines.sort((a, b) => at(a) - at(b));
  const fd = openSync(join(dir, "history.jsonl"), "w");
  try {
    for (let i = 0; i < lines.length; i += linesPerWrite)
      writeSync(
        fd,
        lines
          .slice(i, i + linesPerWrite)
          .map((l) => `${toJsonLine(l)}\n`)
          .join(""),
      );
  } finally {
    closeSync(fd);
  }
  writeFileSync(join(dir, "result.json"), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(dir, "report.md"), renderReport(result, faults));
}

/**
 * Decides a finished run again from its files alone (e.g. after the checker improved): rewrites
 * result.json, report.md and history.jsonl in `dir`.
 */
export function recheckRun(dir: string, checkMs: number): RunResult {
  const prior = JSON.parse(readFileSync(join(dir, "result.json"), "utf8")) as RunResult;
  const lines = readFileSync(join(dir, "history.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as HistoryLine);
  const ops = lines.filter((l): l is OpRecord => l.type === "op");
  // JSON has no Infinity: a fault still open when the run was interrupted comes back as null.
  const faults = lines
    .filter((l): l is FaultRecord => l.type === "fault")
    .map((f) => ({ ...f, end: f.end ?? Infinity }));
  const result = checkRun({
    options: { ...prior.options, checkMs },
    partitions: prior.partitions,
    ops,
    faults,
    crashes: prior.nodeCrashes,
    sharedLeaderTerms: prior.sharedLeaderTerms ?? [],
    outcome: prior.outcome,
    elapsedMs: prior.elapsedMs,
  });
  writeRunFiles(dir, result, ops, faults);
  return result;
}
