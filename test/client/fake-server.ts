import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly key: string | undefined;
  readonly body: string;
}

export interface FakeAnswer {
  readonly status: number;
  readonly json?: unknown;
  /** Never answer (the client's per-attempt timeout must fire). */
  readonly hang?: boolean;
  readonly headers?: Record<string, string>;
}

/** A stand-in for one node's JSON API: records every request and answers from `handle`. */
export class FakeNode {
  readonly requests: Recorded[] = [];
  private readonly server: Server;
  private readonly hung: ServerResponse[] = [];
  url = "";

  constructor(
    readonly nodeId: number,
    public handle: (req: Recorded) => FakeAnswer,
  ) {
    this.server = createServer((req, res) => this.onRequest(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.hung) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const key = req.headers["idempotency-key"];
      const rec: Recorded = {
        method: req.method ?? "",
        url: req.url ?? "",
        key: typeof key === "string" ? key : undefined,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      this.requests.push(rec);
      const answer = this.handle(rec);
      if (answer.hang) {
        this.hung.push(res);
        return;
      }
      res.writeHead(answer.status, {
        "content-type": "application/json",
        "x-raft-node": String(this.nodeId),
        ...answer.headers,
      });
      res.end(answer.json === undefined ? "" : JSON.stringify(answer.json));
    });
  }
}

export function errorAnswer(status: number, code: string, leader = 0): FakeAnswer {
  return { status, json: { error: { code, message: code } }, headers: { "x-raft-leader": String(leader) } };
}
