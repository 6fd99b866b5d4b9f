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
    }
  | RunRequest;

/**
 * Plain keyless LPUSHes pipelined by one client, which the node proposes together as the RESP fast lane
 * does (Driver.proposeRun). Each push is its own operation and is answered under its own `opId`.
 */
export interface RunRequest {
  readonly kind: "run";
  readonly clientId: number;
  readonly attempt: number;
  readonly pushes: readonly RunPush[];
}

/** One LPUSH of a run: `value` onto the stack labelled `stack` (ASCII, as the fast lane takes them). */
export interface RunPush {
  readonly opId: number;
  readonly stack: string;
  readonly value: string;
}

/** The run's requests as a client pipelines them over RESP: `LPUSH stack value` each. */
export function respLpushes(pushes: readonly RunPush[]): Buffer {
  const arg = (s: string) => `$${s.length}\r\n${s}\r\n`;
  const text = pushes.map((p) => `*3\r\n${arg("LPUSH")}${arg(p.stack)}${arg(p.value)}`).join("");
  return Buffer.from(text, "latin1");
}

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
