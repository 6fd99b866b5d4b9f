// The nemesis history: one record per client operation (every attempt kept) and one per fault, written
// as history.jsonl, and the conversion to the checker's Operation format.
import type { Operation, StackInput, StackOutput } from "../../src/check/index.js";

export type OpKind = "push" | "pop" | "top" | "size";

/** A definite answer to one attempt, as the workload understood it. */
export type Answer =
  | { readonly kind: "ok"; readonly size: number }
  | { readonly kind: "value"; readonly value: string }
  | { readonly kind: "empty" }
  | { readonly kind: "size"; readonly size: number }
  /** A status the API never gives to a well-formed request in a healthy cluster (e.g. 404, 500). */
  | { readonly kind: "error"; readonly status: number; readonly code: string };

/**
 * How one attempt ended. "answer" is definite; "retryable" (502/503/504), "timeout" and "broken" (the
 * connection failed after the request may have been sent) leave the outcome unknown; "refused" means the
 * request never reached the node.
 */
export type AttemptResult = "answer" | "retryable" | "timeout" | "broken" | "refused";

export interface Attempt {
  readonly node: number;
  readonly start: number;
  readonly end: number;
  readonly result: AttemptResult;
  /** HTTP status, 0 when no answer arrived. */
  readonly status: number;
  /** Server error code of a non-2xx answer (e.g. "timeout", "no_leader"), or the socket error. */
  readonly code?: string;
  readonly answer?: Answer;
  /** A deliberate re-send of the same key after a definite answer, to observe exactly-once. */
  readonly echo?: boolean;
}

export type Phase = "run" | "drain";

export interface OpRecord {
  readonly type: "op";
  readonly id: number;
  /** Logical client; a client whose operation ended unknown continues under a new process id. */
  readonly process: number;
  readonly f: OpKind;
  readonly stack: string;
  readonly value?: string;
  readonly key?: string;
  readonly phase: Phase;
  /** Sent over RESP (every attempt); HTTP when absent. */
  via?: "resp";
  readonly call: number;
  /** When the definite answer arrived; undefined while the outcome is unknown. */
  ret?: number;
  answer?: Answer;
  /** Every attempt was refused: the operation certainly never happened. */
  notApplied?: boolean;
  /** The worker got the definite answer itself, within the operation deadline (counts as available). */
  inDeadline: boolean;
  readonly attempts: Attempt[];
}

/** Where a fault leaves the cluster: a majority can still commit, cannot, or both at different steps. */
export type QuorumEffect = "kept" | "lost" | "mixed";

export interface FaultRecord {
  readonly type: "fault";
  readonly id: number;
  readonly kind: string;
  readonly start: number;
  end: number;
  readonly quorum: QuorumEffect;
  readonly nodes: number[];
  readonly steps: { readonly at: number; readonly what: string }[];
  /** Safety violations the fault observed itself (e.g. applied state the cluster later lost). */
  readonly findings?: string[];
}

export type HistoryLine = OpRecord | FaultRecord;

export type StackOperation = Operation<StackInput, StackOutput>;

function inputOf(op: OpRecord): StackInput {
  if (op.f === "push") return { op: "push", stack: op.stack, value: op.value ?? "" };
  return { op: op.f, stack: op.stack };
}

/** The checker's output for a definite answer; an "error" answer says nothing the model knows. */
function outputOf(answer: Answer | undefined): StackOutput | undefined {
  switch (answer?.kind) {
    case undefined:
    case "error":
      return undefined;
    case "ok":
      return { kind: "ok" };
    case "value":
      return { kind: "value", value: answer.value };
    case "empty":
      return { kind: "empty" };
    case "size":
      return { kind: "size", size: answer.size };
  }
}

/**
 * Operations for `checkHistory`: every operation that may have happened; an unknown outcome has no output
 * and returns at Infinity. Operations refused on every attempt certainly did not happen and are left out.
 */
export function toCheckerHistory(ops: readonly OpRecord[]): StackOperation[] {
  const history: StackOperation[] = [];
  for (const op of ops) {
    if (op.notApplied) continue;
    const output = outputOf(op.answer);
    history.push({
      clientId: op.process,
      input: inputOf(op),
      call: op.call,
      ret: output === undefined ? Infinity : (op.ret ?? Infinity),
      output,
    });
  }
  return history;
}

/** Rounded times keep history.jsonl readable; microseconds are below what the clocks mean here. */
export function toJsonLine(line: HistoryLine): string {
  return JSON.stringify(line, (_k, v) =>
    typeof v === "number" && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v,
  );
}
