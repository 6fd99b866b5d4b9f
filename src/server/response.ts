import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { ApiError, apiErrorOf } from "./errors.js";

/** How a route answers: the seed's plain text, or JSON. */
export type Format = "text" | "json";

/** How long the rest of an oversized body is read and dropped after its 413 before the socket goes. */
const OVERSIZED_BODY_LINGER_MS = 1000;

const CONTENT_TYPE: Readonly<Record<Format, string>> = {
  text: "text/plain; charset=utf-8",
  json: "application/json",
};

/**
 * Writes every answer of one node: the status, `X-Raft-Leader` and `X-Raft-Node`, a text or JSON
 * body, and errors as `{"error":{"code","message","reason"?}}` (JSON routes) or a one-line reason (text routes).
 */
export class ResponseWriter {
  private readonly nodeIdText: string;

  constructor(
    nodeId: number,
    private readonly leader: () => number,
    private readonly logger: Logger,
  ) {
    this.nodeIdText = String(nodeId);
  }

  /** A success: a string is sent as text, anything else as JSON. */
  send(res: ServerResponse, status: number, value: string | object): void {
    if (res.headersSent) return;
    const text = typeof value === "string";
    const body = text ? value : JSON.stringify(value);
    // One flat list straight to writeHead: no per-answer header map is built and merged (setHeader),
    // which the leader profile showed on every write. Headers set earlier (Retry-After) still merge.
    res.writeHead(status, [
      "X-Raft-Leader",
      String(this.leader()),
      "X-Raft-Node",
      this.nodeIdText,
      "Content-Type",
      CONTENT_TYPE[text ? "text" : "json"],
      "Content-Length",
      String(Buffer.byteLength(body)),
    ]);
    res.end(body);
  }

  /** An answer whose headers the caller chooses (metrics, redirects). */
  sendRaw(
    res: ServerResponse,
    status: number,
    headers: OutgoingHttpHeaders,
    body: string | Uint8Array,
  ): void {
    this.raftHeaders(res);
    res.writeHead(status, headers);
    res.end(body);
  }

  /** Answers `err` in the route's format; an unexpected fault is logged and answered 500 internal. */
  fail(res: ServerResponse, req: IncomingMessage, format: Format, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    let e = apiErrorOf(err);
    if (e === undefined) {
      this.logger.error({ err, url: req.url }, "request failed");
      e = new ApiError("internal", "internal error", { cause: err });
    }
    if (e.status === 503) res.setHeader("Retry-After", "1");
    if (e.status === 401) res.setHeader("WWW-Authenticate", 'Bearer realm="raftstack"');
    if (e.status === 413) {
      // The rest of an oversized body may be unread. Closing at once (Connection: close makes Node destroy
      // the socket once the answer is written) resets a client still sending, and a reset can discard the
      // answer before the client reads it. So the connection stays and Node reads and drops the rest of
      // the body; a client that keeps sending longer than the linger bound loses the connection.
      res.on("finish", () => {
        if (req.complete) return;
        const linger = setTimeout(() => req.destroy(), OVERSIZED_BODY_LINGER_MS).unref();
        req.once("end", () => clearTimeout(linger));
        req.once("close", () => clearTimeout(linger));
      });
    }
    const error = {
      code: e.code,
      message: e.message,
      ...(e.reason === undefined ? {} : { reason: e.reason }),
    };
    const body = format === "json" ? JSON.stringify({ error }) : `${e.message}\n`;
    this.sendRaw(
      res,
      e.status,
      { "Content-Type": CONTENT_TYPE[format], "Content-Length": Buffer.byteLength(body) },
      body,
    );
  }

  private raftHeaders(res: ServerResponse): void {
    res.setHeader("X-Raft-Leader", String(this.leader()));
    res.setHeader("X-Raft-Node", this.nodeIdText);
  }
}
