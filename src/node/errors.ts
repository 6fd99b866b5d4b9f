/**
 * Operating errors of the driver. All of them mean "the outcome is unknown or the request was not
 * served": the HTTP layer answers 503 + Retry-After and a client retries with the same key.
 */
export type NodeErrorCode = "no_leader" | "not_leader" | "timeout" | "stopped" | "busy";

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
