import type { ApiErrorCode, TransferFailureReason } from "../api/index.js";

/**
 * Codes the client adds to the server's: "unavailable" when every attempt failed with a retryable error
 * (503, timeout, connection error), "deadline_exceeded" when the overall deadline ran out; for a write
 * both mean the outcome is unknown (`outcome`), unless every connection was refused, and retrying it with
 * the same Idempotency-Key is safe. "aborted" when the caller's AbortSignal ended the call (for a write,
 * the outcome is as after "unavailable").
 * "connection_error" is one attempt that got no answer, "bad_response" an answer the client cannot read,
 * and `http_<status>` an error answer without a code the API documents (e.g. from a proxy in between).
 */
export type ClientErrorCode =
  | "unavailable"
  | "deadline_exceeded"
  | "aborted"
  | "connection_error"
  | "bad_response"
  | `http_${number}`;

/**
 * What a write that failed without a definite answer did: `unknown` once any attempt may have reached a
 * node (an answer, a timeout, a dropped connection): retry with the same Idempotency-Key; `not_applied`
 * when every attempt's connection was refused (ECONNREFUSED), so no node received it.
 */
export type WriteOutcome = "unknown" | "not_applied";

/** Every code a RaftstackError carries: the API's documented codes (docs/api.md) or the client's own. */
export type RaftstackErrorCode = ApiErrorCode | ClientErrorCode;

export class RaftstackError extends Error {
  override readonly name = "RaftstackError";
  readonly code: RaftstackErrorCode;
  /** HTTP status of the answer that decided the error; 0 when no answer arrived. */
  readonly status: number;
  /**
   * With `transfer_failed` (transferLeader): why the transfer did not happen. `outcome_unknown`: the
   * target may still take over; any other reason: nothing changed, the leader leads on.
   */
  readonly reason: TransferFailureReason | undefined;
  /** On a write's `unavailable`, `deadline_exceeded` or `aborted`: whether it may have been applied. */
  readonly outcome: WriteOutcome | undefined;

  constructor(
    code: RaftstackErrorCode,
    status: number,
    message: string,
    options?: {
      cause?: unknown;
      reason?: TransferFailureReason | undefined;
      outcome?: WriteOutcome | undefined;
    },
  ) {
    super(message, options);
    this.code = code;
    this.status = status;
    this.reason = options?.reason;
    this.outcome = options?.outcome;
  }
}

/** A connection the node's host refused (every address of it, for a name with several): nothing was sent. */
export function refusedConnection(err: unknown): boolean {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.every(refusedConnection);
  return (err as { code?: unknown } | undefined)?.code === "ECONNREFUSED";
}
