/**
 * Codes the client adds to the server's stable codes: "unavailable" when every attempt failed with a
 * retryable error (503, timeout, connection error), "deadline_exceeded" when the overall deadline ran out.
 * For a write both mean the outcome is unknown; retrying it with the same Idempotency-Key is safe.
 */
export type ClientErrorCode = "unavailable" | "deadline_exceeded" | "bad_response";

export class RaftstackError extends Error {
  override readonly name = "RaftstackError";
  /** The server's stable error code (e.g. "stack_empty") or one of {@link ClientErrorCode}. */
  readonly code: string;
  /** HTTP status of the answer that decided the error; 0 when no answer arrived. */
  readonly status: number;

  constructor(code: string, status: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = status;
  }
}
