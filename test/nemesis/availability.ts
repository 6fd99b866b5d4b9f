// Availability while each fault kind was active, and how requests degrade when a majority is gone.
import type { FaultRecord, OpRecord } from "./record.js";

export interface KindAvailability {
  readonly ops: number;
  /** Operations answered (not "error") within their deadline by the client itself. */
  readonly ok: number;
  readonly share: number;
  readonly writes: number;
  readonly writesOk: number;
  readonly writeShare: number;
  /** Latency of the successful operations, retries included. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /**
   * Single requests started while the fault was active (by attempt start, so a client stuck retrying
   * an operation begun earlier still counts here), and those answered definitely.
   */
  readonly attempts: number;
  readonly attemptsAnswered: number;
  readonly attemptShare: number;
}

export interface MajorityLoss {
  /** Attempts that reached a node the fault did not kill, while a majority was down. */
  readonly attempts: number;
  /** Of those, answered 503 (no leader / timeout) at all, and within the node's request timeout. */
  readonly answered503: number;
  readonly answered503InTimeout: number;
  /** Answered otherwise (a definite answer: e.g. a read or write that still completed). */
  readonly answeredOther: number;
  /** Not answered within the client's attempt timeout: the opposite of failing fast. */
  readonly noAnswer: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface Degradation {
  /** Writes answered in time while faults that keep a majority were active. */
  readonly minorityWrites: number;
  readonly minorityWritesOk: number;
  readonly minorityWriteShare: number;
  readonly majority: MajorityLoss;
}

/** A 503 this much past the request timeout still counts as in time: event-loop and scheduling delay. */
export const FAIL_FAST_TOLERANCE_MS = 250;

/** Label of operations started while no fault was active (including recovery right after a heal). */
export const NO_FAULT = "none";

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function succeeded(op: OpRecord): boolean {
  return op.inDeadline && op.answer !== undefined && op.answer.kind !== "error";
}

function faultAt(faults: readonly FaultRecord[], t: number): FaultRecord | undefined {
  return faults.find((f) => f.start <= t && t < f.end);
}

/** Share of successful operations by the fault kind active when each started (run phase only). */
export function availabilityByKind(
  ops: readonly OpRecord[],
  faults: readonly FaultRecord[],
): Record<string, KindAvailability> {
  const groups = new Map<string, OpRecord[]>();
  const attempts = new Map<string, { sent: number; answered: number }>();
  for (const op of ops) {
    if (op.phase !== "run") continue;
    const kind = faultAt(faults, op.call)?.kind ?? NO_FAULT;
    const list = groups.get(kind) ?? [];
    list.push(op);
    groups.set(kind, list);
    for (const a of op.attempts) {
      const during = faultAt(faults, a.start)?.kind ?? NO_FAULT;
      const count = attempts.get(during) ?? { sent: 0, answered: 0 };
      count.sent++;
      if (a.answer !== undefined && a.answer.kind !== "error") count.answered++;
      attempts.set(during, count);
    }
  }
  const out: Record<string, KindAvailability> = {};
  for (const [kind, list] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const sent = attempts.get(kind) ?? { sent: 0, answered: 0 };
    const ok = list.filter(succeeded);
    const writes = list.filter((op) => op.key !== undefined);
    const writesOk = writes.filter(succeeded).length;
    const latencies = ok.map((op) => (op.ret ?? op.call) - op.call).sort((a, b) => a - b);
    out[kind] = {
      ops: list.length,
      ok: ok.length,
      share: list.length === 0 ? 1 : ok.length / list.length,
      writes: writes.length,
      writesOk,
      writeShare: writes.length === 0 ? 1 : writesOk / writes.length,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      attempts: sent.sent,
      attemptsAnswered: sent.answered,
      attemptShare: sent.sent === 0 ? 1 : sent.answered / sent.sent,
    };
  }
  return out;
}

/**
 * Writes under faults that keep a majority, and every attempt made to a running node while a majority
 * was down (a "lost" fault): it should be a 503 within the node's request timeout.
 */
export function degradation(
  ops: readonly OpRecord[],
  faults: readonly FaultRecord[],
  requestTimeoutMs: number,
): Degradation {
  let minorityWrites = 0;
  let minorityWritesOk = 0;
  for (const op of ops) {
    if (op.phase !== "run" || op.key === undefined) continue;
    if (faultAt(faults, op.call)?.quorum !== "kept") continue;
    minorityWrites++;
    if (succeeded(op)) minorityWritesOk++;
  }
  const lost = faults.filter((f) => f.quorum === "lost");
  const latencies: number[] = [];
  let attempts = 0;
  let answered503 = 0;
  let answered503InTimeout = 0;
  let answeredOther = 0;
  let noAnswer = 0;
  for (const op of ops) {
    for (const a of op.attempts) {
      // A refused connection reached no node (one still starting after an earlier fault, say).
      const during = lost.some((f) => f.start <= a.start && a.end <= f.end && !f.nodes.includes(a.node));
      if (!during || a.result === "refused") continue;
      attempts++;
      const ms = a.end - a.start;
      if (a.status === 503) {
        answered503++;
        latencies.push(ms);
        if (ms <= requestTimeoutMs + FAIL_FAST_TOLERANCE_MS) answered503InTimeout++;
      } else if (a.result === "answer") answeredOther++;
      else noAnswer++;
    }
  }
  latencies.sort((a, b) => a - b);
  return {
    minorityWrites,
    minorityWritesOk,
    minorityWriteShare: minorityWrites === 0 ? 1 : minorityWritesOk / minorityWrites,
    majority: {
      attempts,
      answered503,
      answered503InTimeout,
      answeredOther,
      noAnswer,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      maxMs: latencies[latencies.length - 1] ?? 0,
    },
  };
}
