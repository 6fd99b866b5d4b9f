import type { ServiceErrorCode } from "../server/index.js";

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
  constructor(code: NodeErrorCode, message: string, leader = 0) {
    super(message);
    this.name = "NodeError";
    this.code = code;
    this.leader = leader;
  }
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
