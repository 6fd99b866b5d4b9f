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
import { badRequest, isServiceError, stackError } from "./errors.js";
import type { ClientGuard } from "./guard.js";
import type { LeaderProxy } from "./proxy.js";
import { type RequestUrl, readBody } from "./request.js";
import type { ResponseWriter } from "./response.js";
import type { StackService } from "./service.js";

/** What every request of one server shares. */
export interface ServerParts {
  readonly service: StackService;
  readonly responses: ResponseWriter;
  readonly proxy: LeaderProxy;
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

  get service(): StackService {
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
   * Validates `op` (bad input never reaches the log), then proposes it here if leader, else proxies
   * the already-read body to the leader. Resolves with the outcome, or undefined if the answer was
   * relayed from the leader.
   */
  async write(op: Operation): Promise<Outcome | undefined> {
    const cmd = this.command(op);
    const { service, proxy } = this.parts;
    if (service.role() === "leader") {
      try {
        return await service.propose(cmd);
      } catch (err) {
        // Not proposed (leadership moved between the check and the call): safe to forward below.
        if (!(isServiceError(err) && err.code === "not_leader")) throw err;
      }
    }
    await proxy.forward(this.req, this.res, this.url, () => this.body());
    return undefined;
  }

  /**
   * A pop that waits up to `waitMs` for an item (`?wait=`): on the leader through the blocking pops,
   * else proxied to the leader with the wait added to the proxy's timeout. Nothing popped by the
   * deadline is the stack_empty outcome. Resolves undefined if the leader's answer was relayed.
   */
  async waitPop(id: number, waitMs: number): Promise<Outcome | undefined> {
    const cmd = this.command({ type: "bpopId", id }) as Extract<Command, { type: "bpopId" }>;
    const { service, proxy, blocking } = this.parts;
    if (service.role() !== "leader") {
      await proxy.forward(this.req, this.res, this.url, () => this.body(), waitMs);
      return undefined;
    }
    const gone = new AbortController();
    this.res.once("close", () => gone.abort());
    return (await blocking.wait(cmd, waitMs, gone.signal)) ?? { ok: false, code: "stack_empty" };
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

  /** Answers a write's outcome (an error outcome as its error), or nothing if the leader's was relayed. */
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
