// One RESP attempt of a stack operation against one node, classified for the history like an HTTP one:
// `ONCE key LPUSH label v`, `ONCE key LPOP label`, `LINDEX label 0`, `LLEN label` (docs/resp.md). A write
// a follower refuses with -NOLEADER naming the leader is sent there within the same attempt (HTTP proxies
// it the same way). The same key is only ever re-sent over RESP: a RESP push is another command than an
// HTTP push, so the dedup table would call the key reused.
import { Redis } from "ioredis";
import type { Answer, Attempt } from "./record.js";
import type { OpTransport, Request } from "./requests.js";

/** Reconnect quickly after a restart; a command is never queued or re-sent by the client library. */
const reconnectMs = 100;

export class RespRequests implements OpTransport {
  private readonly clients = new Map<number, Redis>();

  constructor(
    private readonly portOf: (node: number) => number,
    private readonly labelOf: (stackId: number) => string,
    private readonly now: () => number,
  ) {}

  async attempt(node: number, req: Request, timeoutMs: number, echo = false): Promise<Attempt> {
    const start = this.now();
    const base = { node, start, ...(echo ? { echo } : {}) };
    const deadline = start + timeoutMs;
    let target = node;
    for (let hop = 0; ; hop++) {
      const r = await this.send(target, req, deadline - this.now());
      const end = this.now();
      if (r.kind === "reply")
        return { ...base, end, result: "answer", status: 200, answer: answerOf(req, r.value) };
      if (r.kind === "refused")
        return { ...base, end, result: hop === 0 ? "refused" : "retryable", status: 0, code: r.code };
      if (r.kind === "timeout") return { ...base, end, result: "timeout", status: 0, code: "timeout" };
      if (r.kind === "broken") return { ...base, end, result: "broken", status: 0, code: r.code };
      const code = r.message.split(" ")[0] ?? "ERR";
      const leader = /node (\d+) is/.exec(r.message)?.[1];
      if (code === "NOLEADER" && leader !== undefined && hop === 0 && Number(leader) !== target) {
        target = Number(leader);
        continue;
      }
      if (["NOLEADER", "TIMEOUT", "STOPPED", "BUSY"].includes(code))
        return { ...base, end, result: "retryable", status: 503, code: code.toLowerCase() };
      return {
        ...base,
        end,
        result: "answer",
        status: 500,
        answer: { kind: "error", status: 500, code: r.message },
      };
    }
  }

  async close(): Promise<void> {
    for (const c of this.clients.values()) c.disconnect();
    this.clients.clear();
  }

  private async send(node: number, req: Request, timeoutMs: number): Promise<Sent> {
    if (timeoutMs <= 0) return { kind: "timeout" };
    const client = this.client(node);
    // Not connected: the command is not written anywhere (no offline queue), so it certainly never ran.
    if (client.status !== "ready") return { kind: "refused", code: `resp_${client.status}` };
    const label = this.labelOf(req.stackId);
    const args =
      req.f === "push"
        ? ["ONCE", req.key!, "LPUSH", label, req.value!]
        : req.f === "pop"
          ? ["ONCE", req.key!, "LPOP", label]
          : req.f === "top"
            ? ["LINDEX", label, "0"]
            : ["LLEN", label];
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Sent>((res) => {
      timer = setTimeout(() => res({ kind: "timeout" }), timeoutMs);
    });
    const sent = client.call(args[0]!, ...args.slice(1)).then(
      (value): Sent => ({ kind: "reply", value }),
      (err: Error): Sent =>
        err.name === "ReplyError"
          ? { kind: "error", message: err.message }
          : /isn't writeable|enableOfflineQueue/.test(err.message)
            ? { kind: "refused", code: "resp_not_writeable" }
            : { kind: "broken", code: err.message.slice(0, 80) },
    );
    try {
      return await Promise.race([sent, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private client(node: number): Redis {
    let c = this.clients.get(node);
    if (c === undefined) {
      c = new Redis({
        host: "127.0.0.1",
        port: this.portOf(node),
        enableOfflineQueue: false,
        autoResendUnfulfilledCommands: false,
        maxRetriesPerRequest: 0,
        enableReadyCheck: false,
        retryStrategy: () => reconnectMs,
      });
      c.on("error", () => {}); // reconnects on its own; attempts classify their own failures
      this.clients.set(node, c);
    }
    return c;
  }
}

type Sent =
  | { readonly kind: "reply"; readonly value: unknown }
  | { readonly kind: "error"; readonly message: string }
  | { readonly kind: "refused"; readonly code: string }
  | { readonly kind: "broken"; readonly code: string }
  | { readonly kind: "timeout" };

function answerOf(req: Request, value: unknown): Answer {
  const unexpected: Answer = {
    kind: "error",
    status: 200,
    code: `resp_reply_${JSON.stringify(value)}`.slice(0, 80),
  };
  switch (req.f) {
    case "push":
      return typeof value === "number" ? { kind: "ok", size: value } : unexpected;
    case "size":
      return typeof value === "number" ? { kind: "size", size: value } : unexpected;
    case "pop":
    case "top":
      return value === null
        ? { kind: "empty" }
        : typeof value === "string"
          ? { kind: "value", value }
          : unexpected;
  }
}
