import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import { isApiErrorCode, isTransferFailureReason } from "../api/index.js";
import { RaftstackError, refusedConnection, type WriteOutcome } from "./errors.js";
import {
  BACKOFF_BASE_MS_DEFAULT,
  BACKOFF_MAX_MS_DEFAULT,
  type CallOptions,
  type ClientOptions,
  CONNECTIONS_MAX_DEFAULT,
  DEADLINE_MS_DEFAULT,
  RESPONSE_BYTES_MAX_DEFAULT,
  RETRIES_DEFAULT,
  type ReadOptions,
  TIMEOUT_MS_DEFAULT,
  type WriteOptions,
} from "./options.js";
import type { ClusterInfo, HealthInfo, Member, MemberInfo, MemberList, StackInfo } from "./types.js";

/** Statuses that mean "this node could not serve it now": try another node with the same key. */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

type Method = "GET" | "POST" | "DELETE";

interface CallSpec {
  readonly method: Method;
  readonly path: string;
  readonly body?: unknown;
  /** Writes carry one Idempotency-Key across every retry so the cluster applies them once. */
  readonly write: boolean;
  /** Only this endpoint index is asked (per-node views such as health and cluster). */
  readonly pin?: number;
  /** Non-2xx statuses returned as answers instead of raised (health's 503 carries the node's view). */
  readonly accept?: readonly number[];
  /**
   * A change that must not run twice (a membership change has no idempotency key): retried only after
   * a refusal that says nothing ran, or a connection that was refused.
   */
  readonly once?: boolean;
  readonly signal?: AbortSignal | undefined;
  /** The caller's Idempotency-Key for a write; absent: a random one. */
  readonly key?: string | undefined;
}

/** Answers after which nothing ran: a `once` call may go to another node. */
const REFUSAL_CODES: ReadonlySet<string> = new Set(["no_leader", "config_change_pending", "busy", "stopped"]);

interface Answer {
  readonly status: number;
  readonly json: unknown;
}

type Attempt =
  | { readonly kind: "answer"; readonly status: number; readonly json: unknown; readonly leader: number }
  | { readonly kind: "failed"; readonly error: RaftstackError };

/**
 * Typed client of the JSON API. It remembers which node leads (from X-Raft-Leader / X-Raft-Node) and
 * sends there first, retries 502/503/504, timeouts and connection errors on another node with
 * exponential backoff and jitter, and never retries a definite answer (400, 404, 409, 413, ...).
 */
export class RaftstackClient {
  private readonly endpoints: readonly string[];
  private readonly pools: Pool[];
  private readonly timeoutMs: number;
  private readonly deadlineMs: number;
  private readonly retries: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly responseBytesMax: number;
  private readonly authorization: string | undefined;
  /** Endpoint index of each node id seen in X-Raft-Node or in a cluster view. */
  private readonly endpointOfNode = new Map<number, number>();
  private preferred = 0;

  constructor(options: ClientOptions) {
    if (options.endpoints.length === 0) throw new TypeError("RaftstackClient needs at least one endpoint");
    this.endpoints = options.endpoints.map((e) => new URL(e).origin);
    this.timeoutMs = positive(options.timeoutMs ?? TIMEOUT_MS_DEFAULT, "timeoutMs");
    this.deadlineMs = positive(options.deadlineMs ?? DEADLINE_MS_DEFAULT, "deadlineMs");
    this.retries = Math.max(0, Math.floor(options.retries ?? RETRIES_DEFAULT));
    this.backoffBaseMs = options.backoffBaseMs ?? BACKOFF_BASE_MS_DEFAULT;
    this.backoffMaxMs = options.backoffMaxMs ?? BACKOFF_MAX_MS_DEFAULT;
    this.responseBytesMax = options.responseBytesMax ?? RESPONSE_BYTES_MAX_DEFAULT;
    const connections = options.connectionsMax ?? CONNECTIONS_MAX_DEFAULT;
    this.authorization = options.token === undefined ? undefined : `Bearer ${options.token}`;
    const tls = options.tls;
    this.pools = this.endpoints.map(
      (origin) =>
        new Pool(origin, {
          connections,
          keepAliveTimeout: 10_000,
          ...(tls === undefined ? {} : { connect: { ...tls } }),
        }),
    );
  }

  /** The endpoint the next call goes to first (the known leader, else the node that last answered). */
  get preferredEndpoint(): string {
    return this.endpoints[this.preferred]!;
  }

  async createStack(label: string, options: WriteOptions = {}): Promise<number> {
    const a = await this.call({ method: "POST", path: "/v1/stacks", body: { label }, ...writeSpec(options) });
    return field(a.json, "id", "number");
  }

  /** The id of the stack with this label, or undefined if there is none. */
  async stackId(label: string, options: ReadOptions = {}): Promise<number | undefined> {
    try {
      const a = await this.call(readSpec(`/v1/stacks?label=${encodeURIComponent(label)}`, options));
      return field(a.json, "id", "number");
    } catch (err) {
      if (err instanceof RaftstackError && err.code === "stack_not_found") return undefined;
      throw err;
    }
  }

  /** Pushes one item or several (in order, atomically); resolves to the new size. */
  async push(id: number, items: string | readonly string[], options: WriteOptions = {}): Promise<number> {
    const body = typeof items === "string" ? { item: items } : { items };
    const a = await this.call({ method: "POST", path: `${stackPath(id)}/push`, body, ...writeSpec(options) });
    return field(a.json, "size", "number");
  }

  async pop(id: number, options: WriteOptions = {}): Promise<string> {
    const a = await this.call({ method: "POST", path: `${stackPath(id)}/pop`, ...writeSpec(options) });
    return field(a.json, "item", "string");
  }

  async top(id: number, options: ReadOptions = {}): Promise<string> {
    const a = await this.call(readSpec(`${stackPath(id)}/top`, options));
    return field(a.json, "item", "string");
  }

  async size(id: number, options: ReadOptions = {}): Promise<number> {
    const a = await this.call(readSpec(`${stackPath(id)}/size`, options));
    return field(a.json, "size", "number");
  }

  async deleteStack(id: number, options: WriteOptions = {}): Promise<void> {
    await this.call({ method: "DELETE", path: stackPath(id), ...writeSpec(options) });
  }

  async listStacks(options: ReadOptions = {}): Promise<StackInfo[]> {
    const a = await this.call(readSpec("/v1/stacks", options));
    const stacks = field(a.json, "stacks", "object");
    if (!Array.isArray(stacks)) throw badResponse("stacks is not an array");
    return stacks.map((s: unknown) => ({
      id: field(s, "id", "number"),
      label: field(s, "label", "string"),
      size: field(s, "size", "number"),
    }));
  }

  /** The members (applied table) and the leader, as the node asked knows them. */
  async members(): Promise<MemberList> {
    const a = await this.call({ method: "GET", path: "/v1/members", write: false });
    const members = field(a.json, "members", "object");
    if (!Array.isArray(members)) throw badResponse("members is not an array");
    const list = members.map((m: unknown) => ({
      id: field(m, "id", "number"),
      peerUrl: field(m, "peerUrl", "string"),
      clientUrl: field(m, "clientUrl", "string"),
      role: field(m, "role", "string") as Member["role"],
    }));
    // Leader hints name ids: learn where each member answers, for the endpoints this client has.
    for (const m of list) {
      const index = this.endpoints.indexOf(safeOrigin(m.clientUrl));
      if (index >= 0) this.endpointOfNode.set(m.id, index);
    }
    const leader = field(a.json, "leader", "number");
    this.learnLeader(leader);
    const removed = (a.json as { removed?: unknown }).removed === true ? { removed: true } : {};
    return { leader, members: list, ...removed };
  }

  /**
   * Adds a member as a learner (promoted once caught up); the leader picks its id unless given.
   * Not retried after an unknown outcome: check `members()` before adding again.
   */
  async addMember(peerUrl: string, options: { clientUrl?: string; id?: number } = {}): Promise<Member> {
    const body = { peerUrl, ...options };
    const a = await this.call({ method: "POST", path: "/v1/members", body, write: true, once: true });
    return {
      id: field(a.json, "id", "number"),
      peerUrl: field(a.json, "peerUrl", "string"),
      clientUrl: field(a.json, "clientUrl", "string"),
      role: field(a.json, "role", "string") as Member["role"],
    };
  }

  async removeMember(id: number): Promise<void> {
    const path = `/v1/members/${encodeURIComponent(String(id))}`;
    await this.call({ method: "DELETE", path, write: true, once: true });
  }

  /**
   * Hands leadership to `id` (default: the most caught-up responsive voter); resolves with the new leader.
   * A transfer that did not happen rejects with `transfer_failed` and its `reason`; it is not retried.
   */
  async transferLeader(id?: number): Promise<number> {
    const body = id === undefined ? {} : { id };
    const a = await this.call({ method: "POST", path: "/v1/leader", body, write: true, once: true });
    const leader = field(a.json, "leader", "number");
    this.learnLeader(leader);
    return leader;
  }

  /**
   * The cluster as one node sees it (any node, or the given endpoint only), with the members' progress
   * as the leader tracks it; `local`: the node's own view only (no request to the leader).
   */
  async cluster(options: CallOptions & { endpoint?: string; local?: boolean } = {}): Promise<ClusterInfo> {
    const pin = this.pinOf(options.endpoint);
    const a = await this.call({
      method: "GET",
      path: options.local === true ? "/v1/cluster?local=1" : "/v1/cluster",
      write: false,
      ...pin,
      signal: options.signal,
    });
    const info = a.json as ClusterInfo;
    field(a.json, "id", "number");
    field(a.json, "term", "number");
    const members = field(a.json, "members", "object");
    if (!Array.isArray(members)) throw badResponse("members is not an array");
    for (const m of members as MemberInfo[]) {
      const index = this.endpoints.indexOf(safeOrigin(m.clientUrl));
      if (typeof m.id === "number" && index >= 0) this.endpointOfNode.set(m.id, index);
    }
    this.learnLeader(info.leader);
    return info;
  }

  /**
   * A node's health. With an endpoint, that node's answer is returned even when it is 503 (no leader
   * known), so callers can show its role and term; without one, the first healthy node answers.
   */
  async health(options: CallOptions & { endpoint?: string } = {}): Promise<HealthInfo> {
    const pin = this.pinOf(options.endpoint);
    const accept = options.endpoint === undefined ? {} : { accept: [503] };
    const spec = {
      method: "GET",
      path: "/health",
      write: false,
      ...pin,
      ...accept,
      signal: options.signal,
    } as const;
    const a = await this.call(spec);
    field(a.json, "role", "string");
    return a.json as HealthInfo;
  }

  async close(): Promise<void> {
    await Promise.all(this.pools.map((p) => p.close()));
  }

  private pinOf(endpoint: string | undefined): { pin?: number } {
    if (endpoint === undefined) return {};
    const origin = new URL(endpoint).origin;
    const index = this.endpoints.indexOf(origin);
    if (index < 0) throw new TypeError(`${endpoint} is not one of the client's endpoints`);
    return { pin: index };
  }

  private async call(spec: CallSpec): Promise<Answer> {
    const deadline = performance.now() + this.deadlineMs;
    const key = spec.write ? (spec.key ?? randomUUID()) : undefined;
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    let target = spec.pin ?? this.preferred;
    let last: RaftstackError | undefined;
    // Until an attempt may have reached a node (anything but a refused connection), a write is not applied.
    let reached = false;
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(spec, reached);
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw deadlineExceeded(spec, last, reached);
      const result = await this.attempt(target, spec, body, key, Math.min(this.timeoutMs, remaining));
      let leader = 0;
      reached ||= result.kind === "answer" || !refusedConnection(result.error.cause);
      if (result.kind === "answer") {
        leader = result.leader;
        const ok = (result.status >= 200 && result.status < 300) || spec.accept?.includes(result.status);
        if (ok) return { status: result.status, json: result.json };
        const error = serverError(result.status, result.json);
        if (!RETRYABLE_STATUSES.has(result.status)) throw error;
        if (spec.once === true && !REFUSAL_CODES.has(error.code)) throw error;
        last = error;
      } else {
        if (spec.once === true && !refusedConnection(result.error.cause)) throw result.error;
        // A node's own answer ("no leader known; nothing was proposed") beats a later connection error.
        if (last === undefined || last.status === 0) last = result.error;
      }
      if (attempt >= this.retries) {
        const outcome = outcomeOf(spec, reached);
        const message = `${describe(spec)}: ${last.message}${outcomeText(outcome)}`;
        throw new RaftstackError("unavailable", last.status, message, { cause: last, outcome });
      }
      target = spec.pin ?? this.nextTarget(target, leader);
      const backoff =
        Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** attempt) * (0.5 + Math.random() / 2);
      if (performance.now() + backoff >= deadline) throw deadlineExceeded(spec, last, reached);
      await sleep(backoff, undefined, spec.signal === undefined ? {} : { signal: spec.signal }).catch(
        () => {},
      );
    }
  }

  private async attempt(
    target: number,
    spec: CallSpec,
    body: string | undefined,
    key: string | undefined,
    timeoutMs: number,
  ): Promise<Attempt> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const signal =
      spec.signal === undefined ? controller.signal : AbortSignal.any([controller.signal, spec.signal]);
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (key !== undefined) headers["idempotency-key"] = key;
    if (this.authorization !== undefined) headers.authorization = this.authorization;
    try {
      const res = await this.pools[target]!.request({
        method: spec.method,
        path: spec.path,
        headers,
        body: body ?? null,
        signal,
      });
      const node = headerInt(res.headers["x-raft-node"]);
      const leader = headerInt(res.headers["x-raft-leader"]);
      const text = await readText(res.body, this.responseBytesMax);
      if (node > 0) this.endpointOfNode.set(node, target);
      // A definite answer from a node is worth coming back to, unless it names a leader we can reach.
      if (!RETRYABLE_STATUSES.has(res.statusCode)) this.preferred = target;
      this.learnLeader(leader);
      return { kind: "answer", status: res.statusCode, json: parseJson(text), leader };
    } catch (err) {
      throwIfAborted(spec, true);
      const timedOut = controller.signal.aborted;
      const where = this.endpoints[target];
      const message = timedOut
        ? `no answer from ${where} within ${timeoutMs} ms`
        : `${where}: ${errText(err)}`;
      const code = err instanceof RaftstackError ? err.code : timedOut ? "timeout" : "connection_error";
      return { kind: "failed", error: new RaftstackError(code, 0, message, { cause: err }) };
    } finally {
      clearTimeout(timer);
    }
  }

  private learnLeader(leader: number): void {
    const index = leader > 0 ? this.endpointOfNode.get(leader) : undefined;
    if (index !== undefined) this.preferred = index;
  }

  /** After a failure: the leader the failing node named if we know its endpoint, else the next endpoint. */
  private nextTarget(failed: number, leader: number): number {
    const index = leader > 0 ? this.endpointOfNode.get(leader) : undefined;
    if (index !== undefined && index !== failed) return index;
    return (failed + 1) % this.endpoints.length;
  }
}

function writeSpec(options: WriteOptions): Pick<CallSpec, "write" | "signal" | "key"> {
  return { write: true, signal: options.signal, key: options.idempotencyKey };
}

function readSpec(path: string, options: ReadOptions): CallSpec {
  const stale = options.stale === true ? `${path.includes("?") ? "&" : "?"}stale=1` : "";
  return { method: "GET", path: `${path}${stale}`, write: false, signal: options.signal };
}

/** The caller gave up: no more attempts, whatever the last one did (`reached`: one in flight counts). */
function throwIfAborted(spec: CallSpec, reached: boolean): void {
  if (spec.signal?.aborted !== true) return;
  const outcome = outcomeOf(spec, reached);
  const message = `${describe(spec)}: aborted by the caller${outcomeText(outcome)}`;
  throw new RaftstackError("aborted", 0, message, { cause: spec.signal.reason, outcome });
}

function stackPath(id: number): string {
  return `/v1/stacks/${encodeURIComponent(String(id))}`;
}

function positive(n: number, name: string): number {
  if (!(n > 0)) throw new TypeError(`${name} must be > 0`);
  return n;
}

function headerInt(v: string | string[] | undefined): number {
  const n = Number(Array.isArray(v) ? v[0] : v);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

function safeOrigin(url: unknown): string {
  try {
    return new URL(String(url)).origin;
  } catch {
    return "";
  }
}

async function readText(
  body: AsyncIterable<Buffer> & { destroy(): void },
  bytesMax: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    if (bytes > bytesMax) {
      body.destroy();
      throw badResponse(`answer larger than ${bytesMax} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, bytes).toString("utf8");
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    // Proxies and text endpoints answer plain text; keep it as the message.
    return text;
  }
}

/** Error answers look like {"error":{"code","message","reason"?}}; anything else still yields a code. */
function serverError(status: number, json: unknown): RaftstackError {
  const err = typeof json === "object" && json !== null ? (json as { error?: unknown }).error : undefined;
  if (typeof err === "object" && err !== null) {
    const { code, message, reason } = err as { code?: unknown; message?: unknown; reason?: unknown };
    if (typeof code === "string") {
      const text = typeof message === "string" ? message : code;
      // A code this client does not know (a newer server) keeps its name in the message.
      if (isApiErrorCode(code)) {
        const known = typeof reason === "string" && isTransferFailureReason(reason) ? { reason } : {};
        return new RaftstackError(code, status, text, known);
      }
      return new RaftstackError(`http_${status}`, status, `${code}: ${text}`);
    }
  }
  const text = typeof json === "string" ? json.trim() : `HTTP ${status}`;
  return new RaftstackError(`http_${status}`, status, text);
}

function field<T extends "number" | "string" | "object">(
  json: unknown,
  name: string,
  type: T,
): T extends "number" ? number : T extends "string" ? string : object {
  const v = typeof json === "object" && json !== null ? (json as Record<string, unknown>)[name] : undefined;
  if (typeof v !== type || v === null) throw badResponse(`expected ${type} field "${name}"`);
  return v as T extends "number" ? number : T extends "string" ? string : object;
}

function badResponse(message: string): RaftstackError {
  return new RaftstackError("bad_response", 0, message);
}

function describe(spec: CallSpec): string {
  return `${spec.method} ${spec.path}`;
}

/** A write's outcome after no definite answer; undefined for a read. */
function outcomeOf(spec: CallSpec, reached: boolean): WriteOutcome | undefined {
  if (!spec.write) return undefined;
  return reached ? "unknown" : "not_applied";
}

function outcomeText(outcome: WriteOutcome | undefined): string {
  if (outcome === undefined) return "";
  return outcome === "unknown"
    ? " (outcome unknown: the write may or may not have been applied)"
    : " (not applied: no node accepted the connection)";
}

function deadlineExceeded(
  spec: CallSpec,
  last: RaftstackError | undefined,
  reached: boolean,
): RaftstackError {
  const why = last === undefined ? "" : `; last error: ${last.message}`;
  const outcome = outcomeOf(spec, reached);
  const message = `${describe(spec)}: deadline exceeded${why}${outcomeText(outcome)}`;
  return new RaftstackError("deadline_exceeded", 0, message, { cause: last, outcome });
}

function errText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" ? `${code} ${err.message}` : err.message;
  }
  return String(err);
}
