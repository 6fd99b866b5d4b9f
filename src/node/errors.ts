import type { NodeId } from "../raft/index.js";

/**
 * Operating errors of the driver and of requests forwarded to the leader. The first five mean "the
 * outcome is unknown or the request was not served": the HTTP layer answers 503 + Retry-After and a
 * client retries with the same key. `too_large`: the leader's answer could not travel back (outcome
 * unknown); `bad_request`: the leader could not read the request; `internal`: an unexpected failure.
 */
export const NODE_ERROR_CODES = [
  "no_leader",
  "not_leader",
  "timeout",
  "stopped",
  "busy",
  "too_large",
  "bad_request",
  "internal",
] as const;
export type NodeErrorCode = (typeof NODE_ERROR_CODES)[number];

const nodeErrorCodes: ReadonlySet<string> = new Set(NODE_ERROR_CODES);

export function isNodeErrorCode(code: string): code is NodeErrorCode {
  return nodeErrorCodes.has(code);
}

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
 * The data dir's latest snapshot records other voters than `--cluster` names: starting anyway would run
 * Raft with a membership nobody agreed on, so the node refuses to start.
 */
export class MembershipMismatchError extends Error {
  readonly code = "membership_mismatch" as const;
  constructor(
    readonly clusterVoters: readonly NodeId[],
    readonly storedVoters: readonly NodeId[],
    readonly snapshotIndex: number,
  ) {
    super(
      `--cluster names voters [${clusterVoters.join(", ")}] but the snapshot at index ${snapshotIndex} ` +
        `records voters [${storedVoters.join(", ")}]; start with the --cluster list the data was written ` +
        "with (membership changes are not supported yet)",
    );
    this.name = "MembershipMismatchError";
  }
}
