import { isTransferFailureReason, type TransferFailureReason } from "../api/index.js";
import { isServiceErrorCode, type ServiceErrorCode } from "../server/index.js";

/**
 * Operating errors of the driver and of requests forwarded to the leader. The first five mean "the
 * outcome is unknown or the request was not served": the HTTP layer answers 503 + Retry-After and a
 * client retries with the same key. `too_large`: the leader's answer could not travel back (outcome
 * unknown); `bad_request`: the leader could not read the request; `internal`: an unexpected failure.
 */
export type NodeErrorCode = ServiceErrorCode;

export class NodeError extends Error {
  readonly code: NodeErrorCode;
  /** The leader this node knows of (0 = none), so a caller can redirect. */
  readonly leader: number;
  /** With `transfer_failed` only: why the transfer did not happen. */
  readonly reason: TransferFailureReason | undefined;
  constructor(code: NodeErrorCode, message: string, leader = 0, reason?: TransferFailureReason) {
    super(message);
    this.name = "NodeError";
    this.code = code;
    this.leader = leader;
    this.reason = reason;
  }
}

/**
 * The code a forward result carries for `err`: its code, and its reason after a slash
 * (`transfer_failed/target_unreachable`), so the reason crosses to the follower without a new frame
 * field. A node of an older build reads such a code as `internal`, keeping the message.
 */
export function forwardErrorCode(err: NodeError): string {
  return err.reason === undefined ? err.code : `${err.code}/${err.reason}`;
}

/** The NodeError of a forward result (see forwardErrorCode); a code this build does not know is internal. */
export function nodeErrorOfForward(code: string, message: string, leader: number): NodeError {
  const [name = "", reason] = code.split("/", 2);
  if (!isServiceErrorCode(name)) return new NodeError("internal", message, leader);
  return new NodeError(
    name,
    message,
    leader,
    reason !== undefined && isTransferFailureReason(reason) ? reason : undefined,
  );
}

/**
 * A configuration change the leader's core refused: `config_change_pending` (another change is not
 * applied yet, or the leader has not committed in its term: retry) or `config_invalid` (it can never
 * apply: last voter, non-learner promotion, existing or removed id, non-member).
 */
export class ConfChangeError extends Error {
  readonly code: "config_change_pending" | "config_invalid";
  readonly leader: number;
  constructor(code: ConfChangeError["code"], message: string, leader: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfChangeError";
    this.code = code;
    this.leader = leader;
  }
}
