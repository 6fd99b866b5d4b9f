import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { RaftstackClient, RaftstackError } from "../client/index.js";

/** What the console can do to one of its nodes. */
export type NodeAction = "start" | "stop" | "restart" | "kill" | "pause" | "resume";

const ACTIONS: ReadonlySet<string> = new Set<NodeAction>([
  "start",
  "stop",
  "restart",
  "kill",
  "pause",
  "resume",
]);

/**
 * One node's process as the console sees it. `stopped`: not started, or stopped/killed from the console;
 * `exited`: it ended without the console asking (a crash, or `kill -9` from outside), `exit` says how.
 */
export type ProcessState = {
  readonly id: number;
  readonly name: string;
  readonly pid: number | undefined;
} & (
  | { readonly process: "running" | "paused" | "stopped" }
  | { readonly process: "exited"; readonly exit: string }
);

/** The console's word for a process: `exited (SIGKILL)` / `exited (code 1)` for one that ended unasked. */
export function processText(p: ProcessState): string {
  return p.process === "exited" ? `exited (${p.exit})` : p.process;
}

/** The local cluster as the control API drives it (LocalCluster is one). */
export interface ControlTarget {
  readonly endpoints: readonly string[];
  processes(): ProcessState[];
  command(line: string): Promise<boolean>;
}

export interface ControlOptions {
  /** 0 picks a free port; the API listens on loopback only. */
  readonly port: number;
  /** Origins whose pages may call the API (the nodes' dashboards, asked per request: nodes come and go). */
  readonly allowedOrigins: () => readonly string[];
}

/** Request bodies are a label and an item at most. */
export const CONTROL_BODY_BYTES_MAX = 64 * 1024;

/** A push or pop from the page gives up after this long (a cluster without quorum answers nothing). */
const CLIENT_DEADLINE_MS = 5_000;

class ControlError extends Error {
  override readonly name = "ControlError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The cluster console's control API for the dashboard's buttons: node process actions and a push/pop,
 * on 127.0.0.1 only, each request carrying the random token the console printed (Authorization:
 * Bearer), and callable from a browser only by pages of the nodes' own origins (CORS).
 */
export class ControlServer {
  /** 128 random bits, printed once by the console inside the dashboard URL's fragment. */
  readonly token = randomBytes(16).toString("base64url");
  private readonly server: Server;
  private readonly client: RaftstackClient;

  constructor(
    private readonly target: ControlTarget,
    private readonly opts: ControlOptions,
  ) {
    this.client = new RaftstackClient({ endpoints: [...target.endpoints], deadlineMs: CLIENT_DEADLINE_MS });
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        const e = err instanceof ControlError ? err : new ControlError(500, (err as Error).message);
        this.answer(req, res, e.status, { error: e.message });
      });
    });
  }

  /** Resolves with the API's base URL. */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.opts.port, "127.0.0.1", () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
    await this.client.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    if (origin !== undefined && !this.allowed(origin)) throw new ControlError(403, "origin not allowed");
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        ...this.cors(req),
        "Access-Control-Allow-Methods": "GET, POST",
        "Access-Control-Allow-Headers": "Authorization, Content-Type",
        "Access-Control-Max-Age": "600",
      });
      res.end();
      return;
    }
    if (!this.authorized(req.headers.authorization)) throw new ControlError(401, "missing or wrong token");
    const path = new URL(req.url ?? "/", "http://control").pathname;
    const body = req.method === "POST" ? await readJson(req) : {};
    if (req.method === "GET" && path === "/control/nodes") {
      this.answer(req, res, 200, { nodes: this.target.processes() });
      return;
    }
    if (req.method !== "POST") throw new ControlError(405, "use POST");
    const action = /^\/control\/nodes\/(\d+)\/([a-z]+)$/.exec(path);
    if (action !== null) {
      const [, id, verb] = action as unknown as [string, string, string];
      if (!ACTIONS.has(verb)) throw new ControlError(404, `no action ${verb}`);
      if (!this.target.processes().some((p) => p.id === Number(id)))
        throw new ControlError(404, `no node ${id}`);
      await this.target.command(`${verb} ${id}`);
      this.answer(req, res, 200, { message: `${verb} node ${id}: done` });
      return;
    }
    if (path === "/control/push" || path === "/control/pop") {
      this.answer(req, res, 200, { message: await this.stackOp(path.slice("/control/".length), body) });
      return;
    }
    throw new ControlError(404, `no route ${path}`);
  }

  private async stackOp(op: string, body: Record<string, unknown>): Promise<string> {
    const label = body.label;
    if (typeof label !== "string" || label === "")
      throw new ControlError(400, "label must be a non-empty string");
    try {
      if (op === "push") {
        const item = body.item;
        if (typeof item !== "string") throw new ControlError(400, "item must be a string");
        const size = await this.client.push(await this.client.createStack(label), item);
        return `pushed; ${label} holds ${size}`;
      }
      const id = await this.client.stackId(label);
      if (id === undefined) throw new ControlError(404, `no stack ${label}`);
      return `popped ${JSON.stringify(await this.client.pop(id))}`;
    } catch (err) {
      if (err instanceof RaftstackError)
        throw new ControlError(err.status || 503, `${err.code}: ${err.message}`);
      throw err;
    }
  }

  private authorized(header: string | undefined): boolean {
    const given = Buffer.from(header?.replace(/^Bearer /, "") ?? "");
    const want = Buffer.from(this.token);
    return given.length === want.length && timingSafeEqual(given, want);
  }

  private allowed(origin: string): boolean {
    return this.opts.allowedOrigins().some((o) => new URL(o).origin === origin);
  }

  private cors(req: IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    return origin === undefined || !this.allowed(origin)
      ? {}
      : { "Access-Control-Allow-Origin": origin, Vary: "Origin" };
  }

  private answer(req: IncomingMessage, res: ServerResponse, status: number, value: object): void {
    if (res.headersSent) return;
    const text = JSON.stringify(value);
    res.writeHead(status, {
      ...this.cors(req),
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(text),
      "Cache-Control": "no-store",
    });
    res.end(text);
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > CONTROL_BODY_BYTES_MAX)
      throw new ControlError(413, `body over ${CONTROL_BODY_BYTES_MAX} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // Answered below.
  }
  throw new ControlError(400, "body must be a JSON object");
}

/** The dashboard URL the console prints: node 1's page, with the control API's address and token in the fragment. */
export function dashboardUrl(endpoint: string, controlUrl: string, token: string): string {
  const fragment = new URLSearchParams({ control: controlUrl, token });
  return `${endpoint}/dashboard#${fragment}`;
}
