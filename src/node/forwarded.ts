import type { NodeId } from "../raft/index.js";
import type { ForwardRequest, ForwardResult } from "../transport/index.js";
import { forwardErrorCode, NodeError } from "./errors.js";
import type { LeaderHandler } from "./forwarding.js";

interface Entry {
  readonly payload: Uint8Array;
  /** Answered by the handler well before this; past it the entry is answered `timeout` and dropped. */
  readonly deadlineMs: number;
  /** The connection the latest copy came on: a resend after a reconnect takes the answer over. */
  respond: (result: ForwardResult) => void;
}

/**
 * The leader's side of forwarding: requests from followers, run by `handle` (a write is proposed and
 * answered once applied), at most `requestsMax` at once, each bounded by a deadline. A copy of a request
 * still running (the follower resent it on a new connection) is not run twice: the answer goes to the
 * newest connection.
 */
export class ForwardedRequests {
  private readonly byKey = new Map<string, Entry>();

  constructor(
    private readonly handle: LeaderHandler,
    private readonly requestsMax: number,
    private readonly timeoutMs: number,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  receive(
    from: NodeId,
    request: ForwardRequest,
    nowMs: number,
    respond: (result: ForwardResult) => void,
  ): void {
    const key = `${from}:${request.requestId}`;
    const running = this.byKey.get(key);
    if (running !== undefined && sameBytes(running.payload, request.payload)) {
      running.respond = respond;
      return;
    }
    const { requestId } = request;
    if (this.byKey.size >= this.requestsMax) {
      respond(errorResult(requestId, new NodeError("busy", "too many forwarded requests; retry")));
      return;
    }
    // Twice the request timeout: the handler answers within one; the sweep only guards against a leak.
    const entry: Entry = { payload: request.payload, deadlineMs: nowMs + 2 * this.timeoutMs, respond };
    this.byKey.set(key, entry);
    const done = (result: ForwardResult): void => {
      if (this.byKey.get(key) !== entry) return;
      this.byKey.delete(key);
      entry.respond(result);
    };
    this.handle(request.kind, request.payload, {
      resolve: (payload) => done({ requestId, ok: true, payload }),
      reject: (error) => done(errorResult(requestId, error)),
    });
  }

  /** Answers entries past their deadline (the tick's sweep). */
  expire(nowMs: number): void {
    for (const [key, entry] of this.byKey) {
      if (entry.deadlineMs > nowMs) continue;
      this.byKey.delete(key);
      const requestId = Number(key.slice(key.indexOf(":") + 1));
      entry.respond(errorResult(requestId, new NodeError("timeout", "no answer in time; outcome unknown")));
    }
  }

  failAll(error: NodeError): void {
    const entries = [...this.byKey];
    this.byKey.clear();
    for (const [key, entry] of entries) {
      entry.respond(errorResult(Number(key.slice(key.indexOf(":") + 1)), error));
    }
  }
}

function errorResult(requestId: number, error: NodeError): ForwardResult {
  return {
    requestId,
    ok: false,
    code: forwardErrorCode(error),
    leader: error.leader,
    message: error.message,
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
