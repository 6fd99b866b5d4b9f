/**
 * Every error code the HTTP API answers with, and its one status. The server answers from this table
 * and the client types its errors by it. The stack layer's codes appear under their own names, except
 * its generic `bad_command`, which the API reports as `bad_request`.
 */
export const apiErrorStatusByCode = {
  bad_request: 400,
  item_invalid: 400,
  label_invalid: 400,
  key_invalid: 400,
  /** No valid `Authorization: Bearer` token while the node requires one (--auth-token-file). */
  unauthorized: 401,
  /** The token's role is below the one the request needs (read < write < admin). */
  forbidden: 403,
  not_found: 404,
  stack_not_found: 404,
  method_not_allowed: 405,
  /** The request's headers did not arrive within the header time (slowloris); the connection closes. */
  request_timeout: 408,
  stack_empty: 409,
  /**
   * A membership change that can never apply: a member already, a removed id, another member's peer URL, the last
   * voter (docs/membership.md).
   */
  config_invalid: 409,
  body_too_large: 413,
  item_too_large: 413,
  label_too_large: 413,
  too_many_items: 413,
  /** The Idempotency-Key was first used with a different command. */
  idempotency_key_reused: 422,
  /** This client address holds too many connections already (plain HTTP only; TLS ones are closed). */
  too_many_connections: 429,
  internal: 500,
  /** The 503s: the request was not served, or its outcome is unknown; retry with the same key. */
  no_leader: 503,
  timeout: 503,
  stopped: 503,
  busy: 503,
  /** Another membership change is in progress (one at a time): retry shortly. */
  config_change_pending: 503,
  /** POST /v1/leader: the transfer did not happen; the error's `reason` says why (TransferFailureReason). */
  transfer_failed: 503,
  /** The node serves its most concurrent requests already (Retry-After). */
  overloaded: 503,
  /** The exactly-once table is full: no new keys until old ones expire (Retry-After). */
  idempotency_keys_full: 503,
  capacity_exceeded: 507,
} as const satisfies Readonly<Record<string, number>>;

export type ApiErrorCode = keyof typeof apiErrorStatusByCode;

export function isApiErrorCode(code: string): code is ApiErrorCode {
  return Object.hasOwn(apiErrorStatusByCode, code);
}

/**
 * Why a leadership transfer failed: the `reason` of a `transfer_failed` error. The first three are known
 * before the leader told the target to campaign (TimeoutNow): nothing changed and the leader leads on.
 * `outcome_unknown`: the target did not lead within the request timeout, or the answer was lost with
 * the connection to the leader; TimeoutNow may be out, so the target may still take over.
 */
export const TRANSFER_FAILURE_REASONS = [
  /** The transport could not reach the target and it was silent for three heartbeat intervals. */
  "target_unreachable",
  /** The target did not catch up with the leader's log within an election timeout. */
  "target_not_caught_up",
  /** A configuration change removed the target while it was being caught up. */
  "target_removed",
  "outcome_unknown",
] as const;
export type TransferFailureReason = (typeof TRANSFER_FAILURE_REASONS)[number];

const transferFailureReasons: ReadonlySet<string> = new Set(TRANSFER_FAILURE_REASONS);

export function isTransferFailureReason(reason: string): reason is TransferFailureReason {
  return transferFailureReasons.has(reason);
}
