import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { Pool } from "undici";
import {
  type Command,
  defaultStackLimits,
  type ErrorCode,
  httpStatusOf,
  isStackId,
  type Operation,
  type Outcome,
  type StackMachine,
  validateCommand,
  validateKey,
} from "../stack/index.js";
import type { StackService } from "./service.js";

export interface HttpServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Client URL of every member, index = id - 1: where writes are proxied or redirected. */
  readonly clientUrls: readonly string[];
  readonly requestTimeoutMs: number;
  readonly bodyBytesMax?: number;
  readonly logger: Logger;
}

/** A push of many items fits; anything larger is refused while reading, before it is buffered. */
export const BODY_BYTES_MAX_DEFAULT = 1024 * 1024 + defaultStackLimits.itemBytesMax;
/** Responses relayed from the leader are small (one item at most); bound them anyway. */
const PROXY_RESPONSE_BYTES_MAX = 4 * defaultStackLimits.itemBytesMax + 4096;
/** How often in-flight proxied requests are checked against the current leader. */
const PROXY_WATCH_MS = 20;
/** Marks a request proxied once, so a node that is not the leader either never proxies it again. */
const PROXIED_HEADER = "x-raft-proxied";

type Format = "text" | "json";

/** An answer to the client: status, a stable code for errors, and the body. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const unavailableCodes = new Set(["no_leader", "not_leader", "timeout", "stopped", "busy"]);

function stackError(code: ErrorCode): HttpError {
  const messages: Partial<Record<ErrorCode, string>> = {
    stack_not_found: "no such stack",
    stack_empty: "stack is empty",
    item_too_large: `item exceeds ${defaultStackLimits.itemBytesMax} bytes`,
    label_too_large: `label exceeds ${defaultStackLimits.labelBytesMax} bytes`,
    label_invalid: "label must be non-empty valid UTF-8",
    item_invalid: "item must be valid UTF-8",
    key_invalid: `Idempotency-Key must be 1..${defaultStackLimits.keyBytesMax} bytes`,
    too_many_items: `at most ${defaultStackLimits.pushItemsMax} items per push`,
    capacity_exceeded: "cluster capacity exceeded",
  };
  // The stack layer's generic "bad_command" is the API's bad_request.
  const apiCode = code === "bad_command" ? "bad_request" : code;
  return new HttpError(httpStatusOf(code), apiCode, messages[code] ?? "malformed request");
}

const badRequest = (message: string) => new HttpError(400, "bad_request", message);

function parseId(s: string): number {
  const t = s.trim();
  const id = /^[0-9]{1,16}$/.test(t) ? Number(t) : Number.NaN;
  if (!isStackId(id))
    throw badRequest(`stack id must be a positive integer, got ${JSON.stringify(t.slice(0, 40))}`);
  return id;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeText(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw badRequest("body is not valid UTF-8");
  }
}

function parseJson(body: Buffer): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(decodeText(body));
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw badRequest("body is not valid JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw badRequest("body must be a JSON object");
  return v as Record<string, unknown>;
}

/** Reads the body up to `bytesMax`; larger bodies are refused without buffering them. */
function readBody(req: IncomingMessage, bytesMax: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > bytesMax) return Promise.reject(tooLarge(bytesMax));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      bytes += chunk.length;
      if (bytes > bytesMax) {
        done = true;
        reject(tooLarge(bytesMax));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks, bytes));
    });
    req.on("error", (err) => {
      if (done) return;
      done = true;
      reject(err);
    });
  });
}

function tooLarge(bytesMax: number): HttpError {
  return new HttpError(413, "body_too_large", `body exceeds ${bytesMax} bytes`);
}

/** The parts of the request URL the routes use. */
type RequestUrl = Pick<URL, "pathname" | "search" | "searchParams">;

/** A path of only these characters is its own WHATWG pathname (nothing to decode or normalize). */
const PLAIN_PATH = /^\/[A-Za-z0-9_/-]*$/;
const NO_PARAMS = new URLSearchParams();

/** `new URL` per request was a visible cost on the leader; plain paths without a query skip it. */
function requestUrl(raw: string): RequestUrl {
  if (PLAIN_PATH.test(raw)) return { pathname: raw, search: "", searchParams: NO_PARAMS };
  return new URL(raw, "http://localhost");
}

interface Route {
  readonly format: Format;
  /** Methods this path answers; others get 405. */
  readonly methods: readonly string[];
  readonly handle: (this: HttpApi, ctx: RequestContext) => Promise<void>;
}

interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: RequestUrl;
  readonly format: Format;
  readonly params: readonly string[];
  body(): Promise<Buffer>;
}

/**
 * The client HTTP API (docs/api.md): the seed's text endpoints and the JSON API. Writes are validated
 * here, then proposed on the leader; on a follower they are proxied to the leader (or redirected with
 * `?redirect=1`). Reads are linearizable unless `?stale=1`.
 */
export class HttpApi {
  readonly server: Server;
  private readonly pools = new Map<string, Pool>();
  private readonly proxies = new Set<{ leader: number; abort: AbortController }>();
  private proxyWatch: NodeJS.Timeout | undefined;
  private readonly bodyBytesMax: number;
  private readonly nodeIdText: string;

  constructor(
    private readonly service: StackService,
    private readonly opts: HttpServerOptions,
  ) {
    this.bodyBytesMax = opts.bodyBytesMax ?? BODY_BYTES_MAX_DEFAULT;
    this.nodeIdText = String(service.id);
    this.server = createServer((req, res) => {
      this.dispatch(req, res).catch((err) => this.fail(res, req, "text", err));
    });
    this.server.keepAliveTimeout = 5000;
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
  }

  async listen(): Promise<number> {
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    // Requests still in flight get a moment to finish; then their connections are cut.
    const timer = setTimeout(() => this.server.closeAllConnections(), 200);
    await closed;
    clearTimeout(timer);
    clearInterval(this.proxyWatch);
    await Promise.all([...this.pools.values()].map((p) => p.destroy()));
  }

  // ------------------------------------------------------------ routing

  private route(path: string): { route: Route; params: string[] } | undefined {
    const seed = seedRoutes[path];
    if (seed !== undefined) return { route: seed, params: [] };
    if (path === "/health") return { route: this.healthRoute, params: [] };
    if (path === "/metrics") return { route: this.metricsRoute, params: [] };
    if (path === "/v1/cluster") return { route: this.clusterRoute, params: [] };
    if (path === "/v1/stacks") return { route: stacksRoute, params: [] };
    const m = /^\/v1\/stacks\/([^/]+)(?:\/(push|pop|top|size))?$/.exec(path);
    if (m === null) return undefined;
    const route = m[2] === undefined ? stackRoute : stackOpRoutes[m[2]];
    return route === undefined ? undefined : { route, params: [m[1] ?? ""] };
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req.url ?? "/");
    const found = this.route(url.pathname);
    if (found === undefined) {
      const format = url.pathname.startsWith("/v1/") ? "json" : "text";
      return this.fail(res, req, format, new HttpError(404, "not_found", `no route ${url.pathname}`));
    }
    const { route, params } = found;
    const method = req.method ?? "GET";
    if (!route.methods.includes(method)) {
      res.setHeader("Allow", route.methods.join(", "));
      return this.fail(
        res,
        req,
        route.format,
        new HttpError(405, "method_not_allowed", `use ${route.methods.join(" or ")}`),
      );
    }
    let bodyPromise: Promise<Buffer> | undefined;
    const ctx: RequestContext = {
      req,
      res,
      url,
      format: route.format,
      params,
      body: () => {
        bodyPromise ??= readBody(req, this.bodyBytesMax);
        return bodyPromise;
      },
    };
    try {
      await route.handle.call(this, ctx);
    } catch (err) {
      this.fail(res, req, route.format, err);
    }
  }

  // ------------------------------------------------------------ answers

  private headers(res: ServerResponse): void {
    res.setHeader("X-Raft-Leader", String(this.service.leader()));
    res.setHeader("X-Raft-Node", this.nodeIdText);
  }

  send(ctx: RequestContext, status: number, value: string | object): void {
    const { res } = ctx;
    if (res.headersSent) return;
    const text = typeof value === "string";
    const body = text ? value : JSON.stringify(value);
    // One flat list straight to writeHead: no per-answer header map is built and merged (setHeader),
    // which the leader profile showed on every write. Headers set earlier (Retry-After) still merge.
    res.writeHead(status, [
      "X-Raft-Leader",
      String(this.service.leader()),
      "X-Raft-Node",
      this.nodeIdText,
      "Content-Type",
      text ? "text/plain; charset=utf-8" : "application/json",
      "Content-Length",
      String(Buffer.byteLength(body)),
    ]);
    res.end(body);
  }

  private fail(res: ServerResponse, req: IncomingMessage, format: Format, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    let e: HttpError;
    if (err instanceof HttpError) e = err;
    else if (isServiceError(err)) {
      e = new HttpError(
        503,
        err.code === "stopped" || err.code === "busy"
          ? err.code
          : err.code === "timeout"
            ? "timeout"
            : "no_leader",
        err.message,
      );
    } else {
      this.opts.logger.error({ err, url: req.url }, "request failed");
      e = new HttpError(500, "internal", "internal error");
    }
    if (e.status === 503) res.setHeader("Retry-After", "1");
    if (e.status === 413) {
      // The rest of an oversized body is not read: close the connection after answering.
      res.setHeader("Connection", "close");
      res.on("finish", () => req.destroy());
    }
    this.headers(res);
    const body =
      format === "json" ? JSON.stringify({ error: { code: e.code, message: e.message } }) : `${e.message}\n`;
    res.writeHead(e.status, {
      "Content-Type": format === "json" ? "application/json" : "text/plain; charset=utf-8",
      "Content-Length": Buffer.byteLength(body),
    });
    res.end(body);
  }

  // ------------------------------------------------------------ writes and reads

  /**
   * Validates `op` (bad input never reaches the log), then proposes it here if leader, else proxies
   * the already-read body to the leader. Resolves with the outcome, or undefined if the answer was
   * relayed from the leader.
   */
  async write(ctx: RequestContext, op: Operation): Promise<Outcome | undefined> {
    const keyHeader = ctx.req.headers["idempotency-key"];
    if (Array.isArray(keyHeader)) throw badRequest("one Idempotency-Key header at most");
    if (keyHeader !== undefined) {
      const code = validateKey(keyHeader);
      if (code !== undefined) throw stackError(code);
    }
    const cmd: Command = { ...op, atMs: Date.now(), ...(keyHeader === undefined ? {} : { key: keyHeader }) };
    const invalid = validateCommand(cmd);
    if (invalid !== undefined) throw stackError(invalid);
    if (this.service.role() === "leader") {
      try {
        return await this.service.propose(cmd);
      } catch (err) {
        // Not proposed (leadership moved between the check and the call): safe to forward below.
        if (!(isServiceError(err) && err.code === "not_leader")) throw err;
      }
    }
    await this.forward(ctx);
    return undefined;
  }

  private async forward(ctx: RequestContext): Promise<void> {
    const leader = this.service.leader();
    const leaderUrl = this.opts.clientUrls[leader - 1];
    if (leader === 0 || leaderUrl === undefined || leader === this.service.id) {
      throw new HttpError(503, "no_leader", "no leader known; retry");
    }
    if (ctx.req.headers[PROXIED_HEADER] !== undefined) {
      throw new HttpError(503, "no_leader", "leadership is moving; retry");
    }
    if (ctx.url.searchParams.get("redirect") === "1") {
      this.headers(ctx.res);
      ctx.res.writeHead(307, {
        Location: `${leaderUrl}${ctx.url.pathname}${ctx.url.search}`,
        "Content-Length": 0,
      });
      ctx.res.end();
      return;
    }
    const body = await ctx.body();
    let pool = this.pools.get(leaderUrl);
    if (pool === undefined) {
      pool = new Pool(leaderUrl, { connections: 64, keepAliveTimeout: 10_000 });
      this.pools.set(leaderUrl, pool);
    }
    const headers: Record<string, string> = { [PROXIED_HEADER]: String(this.service.id) };
    const ct = ctx.req.headers["content-type"];
    if (ct !== undefined) headers["content-type"] = ct;
    const key = ctx.req.headers["idempotency-key"];
    if (typeof key === "string") headers["idempotency-key"] = key;
    // The leader answers within its own request timeout; the margin covers a leader that hangs.
    const timeoutMs = this.opts.requestTimeoutMs + 1000;
    let status: number;
    let resHeaders: Record<string, string | string[] | undefined>;
    let answer: Buffer;
    const abort = new AbortController();
    const proxy = { leader, abort };
    this.watchProxy(proxy);
    try {
      const r = await pool.request({
        path: `${ctx.url.pathname}${ctx.url.search}`,
        method: (ctx.req.method ?? "POST") as "POST",
        headers,
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: abort.signal,
      });
      status = r.statusCode;
      resHeaders = r.headers;
      const chunks: Buffer[] = [];
      let bytes = 0;
      for await (const chunk of r.body) {
        bytes += (chunk as Buffer).length;
        if (bytes > PROXY_RESPONSE_BYTES_MAX) throw new Error("leader response too large");
        chunks.push(chunk as Buffer);
      }
      answer = Buffer.concat(chunks, bytes);
    } catch (err) {
      this.opts.logger.debug({ err, leader }, "proxy to leader failed");
      this.proxies.delete(proxy);
      throw new HttpError(
        503,
        "timeout",
        `leader ${leader} did not answer; outcome unknown, retry with the same key`,
      );
    }
    this.proxies.delete(proxy);
    const { res } = ctx;
    this.headers(res);
    const out: Record<string, string | number> = { "Content-Length": answer.length };
    for (const name of ["content-type", "retry-after", "x-raft-leader"]) {
      const v = resHeaders[name];
      if (typeof v === "string") out[name] = v;
    }
    res.writeHead(status, out);
    res.end(answer);
  }

  /**
   * A proxied request to a leader that has since been replaced (e.g. it hangs, paused) is cut at once
   * rather than at its timeout, so the client's retry reaches the new leader sooner.
   */
  private watchProxy(p: { leader: number; abort: AbortController }): void {
    this.proxies.add(p);
    if (this.proxyWatch !== undefined) return;
    this.proxyWatch = setInterval(() => {
      const leader = this.service.leader();
      for (const q of this.proxies) {
        if (q.leader === leader) continue;
        this.proxies.delete(q);
        q.abort.abort();
      }
      if (this.proxies.size === 0) {
        clearInterval(this.proxyWatch);
        this.proxyWatch = undefined;
      }
    }, PROXY_WATCH_MS);
  }

  read<T>(ctx: RequestContext, fn: (m: StackMachine) => T): Promise<T> {
    return this.service.read(fn, ctx.url.searchParams.get("stale") === "1");
  }

  // ------------------------------------------------------------ service routes

  private readonly healthRoute: Route = {
    format: "json",
    methods: ["GET"],
    handle: async (ctx) => {
      const s = this.service.status();
      const ok = s.leader !== 0;
      if (!ok) ctx.res.setHeader("Retry-After", "1");
      this.send(ctx, ok ? 200 : 503, { ok, leader: s.leader, role: s.role, term: s.term });
    },
  };

  private readonly metricsRoute: Route = {
    format: "text",
    methods: ["GET"],
    handle: async (ctx) => {
      const text = await this.service.metricsText();
      this.headers(ctx.res);
      ctx.res.writeHead(200, { "Content-Type": this.service.metricsContentType });
      ctx.res.end(text);
    },
  };

  private readonly clusterRoute: Route = {
    format: "json",
    methods: ["GET"],
    handle: async (ctx) => {
      this.send(ctx, 200, this.service.status());
    },
  };
}

function isServiceError(err: unknown): err is Error & { code: string } {
  return err instanceof Error && unavailableCodes.has((err as { code?: unknown }).code as string);
}

/** Answers a write outcome, or nothing if the leader's answer was relayed. */
function answer(
  api: HttpApi,
  ctx: RequestContext,
  outcome: Outcome | undefined,
  ok: (o: Outcome) => string | object,
): void {
  if (outcome === undefined) return;
  if (!outcome.ok) throw stackError(outcome.code);
  api.send(ctx, 200, ok(outcome));
}

function outcomeText(o: Outcome): string {
  if (!o.ok) return "";
  switch (o.kind) {
    case "created":
    case "deleted":
      return String(o.id);
    case "pushed":
      return String(o.size);
    case "popped":
      return o.item;
  }
}

function readResult<T extends { ok: true } | { ok: false; code: ErrorCode }>(r: T): Extract<T, { ok: true }> {
  if (!r.ok) throw stackError((r as { code: ErrorCode }).code);
  return r as Extract<T, { ok: true }>;
}

// ------------------------------------------------------------ seed text endpoints

const seedRoutes: Record<string, Route> = {
  "/sCreate": {
    format: "text",
    methods: ["POST", "PUT"],
    async handle(this: HttpApi, ctx) {
      const label = decodeText(await ctx.body());
      answer(this, ctx, await this.write(ctx, { type: "create", label }), outcomeText);
    },
  },
  "/sId": {
    format: "text",
    methods: ["POST", "PUT"],
    async handle(this: HttpApi, ctx) {
      const label = decodeText(await ctx.body());
      const id = await this.read(ctx, (m) => m.id(label));
      if (id === undefined) throw stackError("stack_not_found");
      this.send(ctx, 200, String(id));
    },
  },
  "/sPush": {
    format: "text",
    methods: ["POST", "PUT"],
    async handle(this: HttpApi, ctx) {
      const text = decodeText(await ctx.body());
      const comma = text.indexOf(",");
      if (comma < 0) throw badRequest("body must be <id>,<item>");
      const id = parseId(text.slice(0, comma));
      answer(
        this,
        ctx,
        await this.write(ctx, { type: "push", id, items: [text.slice(comma + 1)] }),
        outcomeText,
      );
    },
  },
  "/sPop": {
    format: "text",
    methods: ["POST", "PUT"],
    async handle(this: HttpApi, ctx) {
      const id = parseId(decodeText(await ctx.body()));
      answer(this, ctx, await this.write(ctx, { type: "pop", id }), outcomeText);
    },
  },
  "/sTop": {
    format: "text",
    methods: ["POST", "PUT"],
    async handle(this: HttpApi, ctx) {
      const id = parseId(decodeText(await ctx.body()));
      const r = readResult(await this.read(ctx, (m) => m.top(id)));
      this.send(ctx, 200, r.item);
    },
  },
  "/sSize": {
    format: "text",
    methods: ["POST", "PUT"],
    async handle(this: HttpApi, ctx) {
      const id = parseId(decodeText(await ctx.body()));
      const r = readResult(await this.read(ctx, (m) => m.size(id)));
      this.send(ctx, 200, String(r.size));
    },
  },
};

// ------------------------------------------------------------ JSON API

function stackInfo(m: StackMachine, id: number): { id: number; label: string; size: number } {
  const r = readResult(m.info(id));
  return { id: r.id, label: r.label, size: r.size };
}

function stringField(obj: Record<string, unknown>, name: string): string {
  const v = obj[name];
  if (typeof v !== "string") throw badRequest(`"${name}" must be a string`);
  return v;
}

const stacksRoute: Route = {
  format: "json",
  methods: ["GET", "POST"],
  async handle(this: HttpApi, ctx) {
    if (ctx.req.method === "GET") {
      const label = ctx.url.searchParams.get("label");
      if (label === null) {
        const stacks = await this.read(ctx, (m) => m.list());
        this.send(ctx, 200, { stacks });
        return;
      }
      const info = await this.read(ctx, (m) => {
        const id = m.id(label);
        if (id === undefined) throw stackError("stack_not_found");
        return stackInfo(m, id);
      });
      this.send(ctx, 200, info);
      return;
    }
    const label = stringField(parseJson(await ctx.body()), "label");
    answer(this, ctx, await this.write(ctx, { type: "create", label }), (o) => ({
      id: o.ok && o.kind === "created" ? o.id : 0,
      label,
    }));
  },
};

const stackRoute: Route = {
  format: "json",
  methods: ["GET", "DELETE"],
  async handle(this: HttpApi, ctx) {
    const id = parseId(ctx.params[0] ?? "");
    if (ctx.req.method === "GET") {
      this.send(ctx, 200, await this.read(ctx, (m) => stackInfo(m, id)));
      return;
    }
    answer(this, ctx, await this.write(ctx, { type: "delete", id }), () => ({ id }));
  },
};

const stackOpRoutes: Record<string, Route> = {
  push: {
    format: "json",
    methods: ["POST"],
    async handle(this: HttpApi, ctx) {
      const id = parseId(ctx.params[0] ?? "");
      const body = parseJson(await ctx.body());
      let items: string[];
      if ("items" in body) {
        const v = body.items;
        if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
          throw badRequest('"items" must be an array of strings');
        }
        items = v as string[];
      } else items = [stringField(body, "item")];
      answer(this, ctx, await this.write(ctx, { type: "push", id, items }), (o) => ({
        size: o.ok && o.kind === "pushed" ? o.size : 0,
      }));
    },
  },
  pop: {
    format: "json",
    methods: ["POST"],
    async handle(this: HttpApi, ctx) {
      const id = parseId(ctx.params[0] ?? "");
      // Any body is ignored, but it is still read within the limit.
      await ctx.body();
      answer(this, ctx, await this.write(ctx, { type: "pop", id }), (o) => ({
        item: o.ok && o.kind === "popped" ? o.item : "",
      }));
    },
  },
  top: {
    format: "json",
    methods: ["GET"],
    async handle(this: HttpApi, ctx) {
      const id = parseId(ctx.params[0] ?? "");
      const r = readResult(await this.read(ctx, (m) => m.top(id)));
      this.send(ctx, 200, { item: r.item });
    },
  },
  size: {
    format: "json",
    methods: ["GET"],
    async handle(this: HttpApi, ctx) {
      const id = parseId(ctx.params[0] ?? "");
      const r = readResult(await this.read(ctx, (m) => m.size(id)));
      this.send(ctx, 200, { size: r.size });
    },
  },
};
