import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import {
  type Command,
  commandOf,
  type Operation,
  type Outcome,
  type ErrorCode as StackErrorCode,
  type StackMachine,
  validateCommand,
  validateKey,
} from "../stack/index.js";
import type { BlockingPops } from "./blocking.js";
import { ApiError, badRequest, stackError } from "./errors.js";
import type { ClientGuard } from "./guard.js";
import { type RequestUrl, readBody } from "./request.js";
import type { ResponseWriter } from "./response.js";
import type { NodeService } from "./service.js";

/** What every request of one server shares. */
export interface ServerParts {
  readonly service: NodeService;
  readonly responses: ResponseWriter;
  readonly blocking: BlockingPops;
  readonly bodyBytesMax: number;
  readonly guard: ClientGuard;
}

/** One request as route handlers see it: its parts, its body, and the ways to serve and answer it. */
export class RequestContext {
  private bodyRead: Promise<Buffer> | undefined;

  constructor(
    private readonly parts: ServerParts,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly url: RequestUrl,
  ) {}

  get service(): NodeService {
    return this.parts.service;
  }

  /** The node's metrics and the client listeners' refusal counters, in the Prometheus text format. */
  async metricsText(): Promise<string> {
    return (await this.parts.service.metricsText()) + (await this.parts.guard.metricsText());
  }

  /** The body, read once within the body limit. */
  body(): Promise<Buffer> {
    this.bodyRead ??= readBody(this.req, this.parts.bodyBytesMax);
    return this.bodyRead;
  }

  send(status: number, value: string | object): void {
    this.parts.responses.send(this.res, status, value);
  }

  sendRaw(status: number, headers: OutgoingHttpHeaders, body: string | Uint8Array): void {
    this.parts.responses.sendRaw(this.res, status, headers, body);
  }

  /**
   * Validates `op` (bad input never reaches the log) and runs it on the leader: proposed here if this
   * node leads, else forwarded to the leader over the peer connection. With `?redirect=1` a follower
   * answers 307 to the leader's client URL instead (resolving undefined: there is nothing to answer).
   */
  async write(op: Operation): Promise<Outcome | undefined> {
    const cmd = this.command(op);
    if (this.redirected()) return undefined;
    return this.parts.service.propose(cmd);
  }

  /**
   * A pop that waits up to `waitMs` for an item (`?wait=`), through the blocking pops: they watch this
   * node's state and propose on the leader. Nothing popped by the deadline is the stack_empty outcome.
   */
  async waitPop(id: number, waitMs: number): Promise<Outcome | undefined> {
    const cmd = this.command({ type: "bpopId", id }) as Extract<Command, { type: "bpopId" }>;
    if (this.redirected()) return undefined;
    const gone = new AbortController();
    this.res.once("close", () => gone.abort());
    return (await this.parts.blocking.wait(cmd, waitMs, gone.signal)) ?? { ok: false, code: "stack_empty" };
  }

  /**
   * With `?redirect=1` on a follower: answers 307 to the leader's client URL and returns true. With no
   * leader known it refuses (503); a leader whose URL is not known yet is served by forwarding. Routes
   * that change the cluster (membership, leadership) call it before acting; stack writes via `write`.
   */
  redirected(): boolean {
    const { service } = this.parts;
    if (this.url.searchParams.get("redirect") !== "1" || service.role() === "leader") return false;
    const leader = service.leader();
    if (leader === 0) throw new ApiError("no_leader", "no leader known; retry");
    const leaderUrl = service.clientUrl(leader);
    if (leaderUrl === undefined) return false;
    this.sendRaw(
      307,
      { Location: `${leaderUrl}${this.url.pathname}${this.url.search}`, "Content-Length": 0 },
      "",
    );
    return true;
  }

  /** `op` stamped with the leader-to-be's clock and the request's Idempotency-Key, validated. */
  private command(op: Operation): Command {
    const keyHeader = this.req.headers["idempotency-key"];
    if (Array.isArray(keyHeader)) throw badRequest("one Idempotency-Key header at most");
    if (keyHeader !== undefined) {
      const code = validateKey(keyHeader);
      if (code !== undefined) throw stackError(code);
    }
    const cmd = commandOf(op, Date.now(), keyHeader);
    const invalid = validateCommand(cmd);
    if (invalid !== undefined) throw stackError(invalid);
    return cmd;
  }

  /** Answers a write's outcome (an error outcome as its error), or nothing if it was redirected. */
  answer(outcome: Outcome | undefined, ok: (o: Extract<Outcome, { ok: true }>) => string | object): void {
    if (outcome === undefined) return;
    if (!outcome.ok) throw stackError(outcome.code);
    this.send(200, ok(outcome));
  }

  /** A linearizable read, or a local one with `?stale=1`. */
  read<T>(fn: (m: StackMachine) => T): Promise<T> {
    return this.parts.service.read(fn, this.url.searchParams.get("stale") === "1");
  }
}

/** The success of a read result, or its error code as the answer. */
export function readResult<T extends { ok: true } | { ok: false; code: StackErrorCode }>(
  r: T,
): Extract<T, { ok: true }> {
  if (!r.ok) throw stackError((r as { code: StackErrorCode }).code);
  return r as Extract<T, { ok: true }>;
}
