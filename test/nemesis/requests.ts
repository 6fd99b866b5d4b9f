// One HTTP attempt of a stack operation against one node, classified for the history. Raw HTTP rather than
// the typed client: the nemesis chooses the node of every attempt, owns the Idempotency-Key (to re-send it
// later) and records each attempt.
import { Pool } from "undici";
import type { Answer, Attempt, AttemptResult, OpKind } from "./record.js";

/** Keep-alive connections per node; more than the workload's clients, so none waits for a socket. */
const connectionsPerNode = 64;
/** Answers are a small JSON object; anything longer is a broken answer. */
const answerBytesMax = 64 * 1024;
const staleReadTimeoutMs = 2_000;

export interface Request {
  readonly f: OpKind;
  readonly stackId: number;
  readonly value?: string;
  readonly key?: string;
}

/**
 * How the workload reaches a node: HTTP today; a RESP client (stage 2) implements the same two calls so
 * the workload, history and checks stay as they are.
 */
export interface OpTransport {
  /** Sends `req` to `node` once and classifies the result; never throws. */
  attempt(node: number, req: Request, timeoutMs: number, echo?: boolean): Promise<Attempt>;
  close(): Promise<void>;
}

export class NodeRequests implements OpTransport {
  private readonly pools = new Map<number, Pool>();

  constructor(
    private readonly urlOf: (node: number) => string,
    private readonly now: () => number,
  ) {}

  async attempt(node: number, req: Request, timeoutMs: number, echo = false): Promise<Attempt> {
    const start = this.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const headers: Record<string, string> = { accept: "application/json" };
    if (req.key !== undefined) headers["idempotency-key"] = req.key;
    let body: string | null = null;
    if (req.f === "push") {
      headers["content-type"] = "application/json";
      body = JSON.stringify({ item: req.value });
    }
    const base = { node, start, ...(echo ? { echo } : {}) };
    try {
      const res = await this.pool(node).request({
        method: req.f === "push" || req.f === "pop" ? "POST" : "GET",
        path: `/v1/stacks/${req.stackId}/${req.f}`,
        headers,
        body,
        signal: controller.signal,
      });
      const text = await readCapped(res.body);
      const end = this.now();
      const json = parse(text);
      const code = errorCode(json);
      const status = res.statusCode;
      if (status === 502 || status === 503 || status === 504)
        return { ...base, end, result: "retryable", status, code: code ?? `http_${status}` };
      const answer = answerOf(req.f, status, json, code);
      return { ...base, end, result: "answer", status, answer, ...(code === undefined ? {} : { code }) };
    } catch (err) {
      const result: AttemptResult = controller.signal.aborted
        ? "timeout"
        : (err as NodeJS.ErrnoException).code === "ECONNREFUSED"
          ? "refused"
          : "broken";
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).name;
      return { ...base, end: this.now(), result, status: 0, code };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stack size as node `node` has applied it (`?stale=1`: no quorum round), or undefined on no answer. */
  async staleSize(node: number, stackId: number): Promise<number | undefined> {
    try {
      const res = await this.pool(node).request({
        method: "GET",
        path: `/v1/stacks/${stackId}/size?stale=1`,
        signal: AbortSignal.timeout(staleReadTimeoutMs),
      });
      const size = field(parse(await readCapped(res.body)), "size");
      return res.statusCode === 200 && typeof size === "number" ? size : undefined;
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.destroy()));
    this.pools.clear();
  }

  private pool(node: number): Pool {
    let pool = this.pools.get(node);
    if (pool === undefined) {
      pool = new Pool(this.urlOf(node), { connections: connectionsPerNode, keepAliveTimeout: 4_000 });
      this.pools.set(node, pool);
    }
    return pool;
  }
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    if (bytes > answerBytesMax) {
      body.destroy();
      throw new Error(`answer longer than ${answerBytesMax} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function errorCode(json: unknown): string | undefined {
  const err =
    typeof json === "object" && json !== null ? (json as { error?: { code?: unknown } }).error : undefined;
  return typeof err?.code === "string" ? err.code : undefined;
}

function field(json: unknown, name: string): unknown {
  return typeof json === "object" && json !== null ? (json as Record<string, unknown>)[name] : undefined;
}

/** What a definite answer means for the operation; anything the API does not promise is an "error". */
function answerOf(f: OpKind, status: number, json: unknown, code: string | undefined): Answer {
  const unexpected: Answer = { kind: "error", status, code: code ?? `http_${status}` };
  if (status === 409 && code === "stack_empty" && (f === "pop" || f === "top")) return { kind: "empty" };
  if (status !== 200) return unexpected;
  const item = field(json, "item");
  const size = field(json, "size");
  switch (f) {
    case "push":
      return typeof size === "number" ? { kind: "ok", size } : unexpected;
    case "size":
      return typeof size === "number" ? { kind: "size", size } : unexpected;
    case "pop":
    case "top":
      return typeof item === "string" ? { kind: "value", value: item } : unexpected;
  }
}
