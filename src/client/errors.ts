import type { ApiErrorCode, TransferFailureReason } from "../api/index.js";

/**
 * Codes the client adds to the server's: "unavailable" when every attempt failed with a retryable error
 * (503, timeout, connection error), "deadline_exceeded" when the overall deadline ran out; for a write
 * both mean the outcome is unknown and retrying it with the same Idempotency-Key is safe.
 * "aborted" when the caller's AbortSignal ended the call (for a write, the outcome is unknown too).
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

  constructor(
    code: RaftstackErrorCode,
    status: number,
    message: string,
    options?: { cause?: unknown; reason?: TransferFailureReason | undefined },
  ) {
    super(message, options);
    this.code = code;
    this.status = status;
    this.reason = options?.reason;
  }
}
