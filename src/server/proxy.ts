import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { Pool } from "undici";
import { defaultStackLimits } from "../stack/index.js";
import { ApiError } from "./errors.js";
import type { RequestUrl } from "./request.js";
import type { ResponseWriter } from "./response.js";
import type { StackService } from "./service.js";

/** Responses relayed from the leader are small (one item at most); bound them anyway. */
const PROXY_RESPONSE_BYTES_MAX = 4 * defaultStackLimits.itemBytesMax + 4096;
/** How often in-flight proxied requests are checked against the current leader. */
const PROXY_WATCH_MS = 20;
/** Marks a request proxied once, so a node that is not the leader either never proxies it again. */
const PROXIED_HEADER = "x-raft-proxied";
/** Headers of the leader's answer passed on to the client. */
const RELAYED_HEADERS = ["content-type", "retry-after", "x-raft-leader"] as const;

export interface LeaderProxyOptions {
  /** Client URL of every member, index = id - 1. */
  readonly clientUrls: readonly string[];
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
  /** CA and client certificate for a leader that serves HTTPS. */
  readonly proxyTls?: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
}

interface InFlight {
  readonly leader: number;
  readonly abort: AbortController;
}

/**
 * Sends a follower's write to the leader: relays the already-read body over a keep-alive pool and
 * passes the leader's answer on, or answers 307 to the leader with `?redirect=1`.
 */
export class LeaderProxy {
  private readonly pools = new Map<string, Pool>();
  private readonly inFlight = new Set<InFlight>();
  private watch: NodeJS.Timeout | undefined;

  constructor(
    private readonly service: StackService,
    private readonly responses: ResponseWriter,
    private readonly opts: LeaderProxyOptions,
  ) {}

  /**
   * Forwards or redirects the request; throws ApiError 503 when there is no leader to send it to.
   * `waitMs` is how long the leader may hold the request on purpose (a blocking pop), on top of the timeout.
   */
  async forward(
    req: IncomingMessage,
    res: ServerResponse,
    url: RequestUrl,
    body: () => Promise<Buffer>,
    waitMs = 0,
  ): Promise<void> {
    const leader = this.service.leader();
    const leaderUrl = this.opts.clientUrls[leader - 1];
    if (leader === 0 || leaderUrl === undefined || leader === this.service.id) {
      throw new ApiError("no_leader", "no leader known; retry");
    }
    if (req.headers[PROXIED_HEADER] !== undefined) {
      throw new ApiError("no_leader", "leadership is moving; retry");
    }
    if (url.searchParams.get("redirect") === "1") {
      this.responses.sendRaw(
        res,
        307,
        { Location: `${leaderUrl}${url.pathname}${url.search}`, "Content-Length": 0 },
        "",
      );
      return;
    }
    const answer = await this.relay(leader, leaderUrl, req, url, await body(), waitMs);
    const headers: Record<string, string | number> = { "Content-Length": answer.body.length };
    for (const name of RELAYED_HEADERS) {
      const v = answer.headers[name];
      if (typeof v === "string") headers[name] = v;
    }
    this.responses.sendRaw(res, answer.status, headers, answer.body);
  }

  async close(): Promise<void> {
    clearInterval(this.watch);
    this.watch = undefined;
    await Promise.all([...this.pools.values()].map((p) => p.destroy()));
  }

  private async relay(
    leader: number,
    leaderUrl: string,
    req: IncomingMessage,
    url: RequestUrl,
    body: Buffer,
    waitMs: number,
  ): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
    let pool = this.pools.get(leaderUrl);
    if (pool === undefined) {
      const tls = this.opts.proxyTls;
      pool = new Pool(leaderUrl, {
        connections: 64,
        keepAliveTimeout: 10_000,
        ...(tls === undefined ? {} : { connect: { ...tls } }),
      });
      this.pools.set(leaderUrl, pool);
    }
    const headers: Record<string, string> = { [PROXIED_HEADER]: String(this.service.id) };
    const contentType = req.headers["content-type"];
    if (contentType !== undefined) headers["content-type"] = contentType;
    const key = req.headers["idempotency-key"];
    if (typeof key === "string") headers["idempotency-key"] = key;
    // The leader checks the client's token again: the proxied mark alone proves nothing.
    const authorization = req.headers.authorization;
    if (authorization !== undefined) headers.authorization = authorization;
    // The leader answers within its own request timeout; the margin covers a leader that hangs.
    const timeoutMs = this.opts.requestTimeoutMs + 1000 + waitMs;
    const flight: InFlight = { leader, abort: new AbortController() };
    this.watchLeader(flight);
    try {
      const r = await pool.request({
        path: `${url.pathname}${url.search}`,
        method: (req.method ?? "POST") as "POST",
        headers,
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: flight.abort.signal,
      });
      const chunks: Buffer[] = [];
      let bytes = 0;
      for await (const chunk of r.body) {
        bytes += (chunk as Buffer).length;
        if (bytes > PROXY_RESPONSE_BYTES_MAX) throw new Error("leader response too large");
        chunks.push(chunk as Buffer);
      }
      return { status: r.statusCode, headers: r.headers, body: Buffer.concat(chunks, bytes) };
    } catch (err) {
      this.opts.logger.debug({ err, leader }, "proxy to leader failed");
      throw new ApiError(
        "timeout",
        `leader ${leader} did not answer; outcome unknown, retry with the same key`,
        {
          cause: err,
        },
      );
    } finally {
      this.inFlight.delete(flight);
    }
  }

  /**
   * A proxied request to a leader that has since been replaced (e.g. it hangs, paused) is cut at once
   * rather than at its timeout, so the client's retry reaches the new leader sooner.
   */
  private watchLeader(flight: InFlight): void {
    this.inFlight.add(flight);
    if (this.watch !== undefined) return;
    this.watch = setInterval(() => {
      const leader = this.service.leader();
      for (const f of this.inFlight) {
        if (f.leader === leader) continue;
        this.inFlight.delete(f);
        f.abort.abort();
      }
      if (this.inFlight.size === 0) {
        clearInterval(this.watch);
        this.watch = undefined;
      }
    }, PROXY_WATCH_MS);
  }
}
