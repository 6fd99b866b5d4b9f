import type { NodeId } from "../raft/index.js";
import type { Outcome, SizeResult, Operation as StackOperation, TopResult } from "../stack/index.js";

/** A client's request to a node: a write goes through the log, a read through ReadIndex. */
export type ClientRequest =
  | {
      readonly kind: "write";
      readonly clientId: number;
      readonly opId: number;
      readonly attempt: number;
      readonly key: string;
      readonly op: StackOperation;
    }
  | {
      readonly kind: "read";
      readonly clientId: number;
      readonly opId: number;
      readonly attempt: number;
      readonly op: "top" | "size";
      readonly stackId: number;
    };

/**
 * A node's answer. `unavailable`: this attempt was never proposed (not the leader, no leader, busy), so
 * it had no effect. `unknown`: it was proposed but its outcome is unknown (timeout, leadership lost).
 */
export type ClientReply = {
  readonly clientId: number;
  readonly opId: number;
  readonly attempt: number;
  readonly result: Outcome | TopResult | SizeResult | "unavailable" | "unknown";
  /** The leader the node knows of (0 = none), where the client sends its retry. */
  readonly leader: NodeId;
};

/** Raised by the simulator's invariant checks; the run stops and reports it with the seed and trace. */
export class Violation extends Error {
  constructor(
    readonly invariant: string,
    message: string,
  ) {
    super(`${invariant}: ${message}`);
    this.name = "Violation";
  }
}
