import type { Server, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { Counter, Registry } from "prom-client";

/** Limits against abusive clients (docs/security.md "Limits"), shared by the HTTP and RESP listeners. */
export interface ClientLimits {
  /** Open connections one client address may hold on each listener; more are refused at once. */
  readonly connectionsPerAddressMax: number;
  /** Time a client has to send a request's headers (slowloris); then 408 and the connection closes. */
  readonly headersTimeoutMs: number;
  /** HTTP requests one node serves at once; more are answered 503 overloaded. */
  readonly requestsInFlightMax: number;
}

export const defaultClientLimits: ClientLimits = {
  connectionsPerAddressMax: 256,
  headersTimeoutMs: 10_000,
  requestsInFlightMax: 4096,
};

export type RefusalReason =
  | "connections_per_address"
  | "header_timeout"
  | "overloaded"
  | "unauthorized"
  | "forbidden";

/** A plain HTTP client over its connection limit gets this before the socket closes. */
const TOO_MANY_CONNECTIONS_ANSWER =
  "HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n" +
  "Content-Length: 40\r\n\r\ntoo many connections from this address\r\n";

/** Time a refused client gets to read its answer before the socket is destroyed. */
const CLOSE_LINGER_MS = 1000;

/** Node's own answers to a client error (it writes none once a clientError listener exists). */
function clientErrorAnswer(code: string | undefined): string {
  const status =
    code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? "408 Request Timeout"
      : code === "HPE_HEADER_OVERFLOW"
        ? "431 Request Header Fields Too Large"
        : "400 Bad Request";
  return `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;
}

/**
 * Counts connections per client address and requests in flight, and every refusal by reason
 * (`raftstack_client_refused_total{listener,reason}`), for one node's client listeners.
 */
export class ClientGuard {
  readonly registry = new Registry();
  private readonly refused: Counter<"listener" | "reason">;
  private inFlight = 0;

  constructor(
    readonly limits: ClientLimits,
    private readonly logger: Logger,
  ) {
    for (const [name, v] of Object.entries(limits)) {
      if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer`);
    }
    this.refused = new Counter({
      name: "raftstack_client_refused_total",
      help: "Client connections and requests refused, by listener and reason (docs/security.md)",
      labelNames: ["listener", "reason"],
      registers: [this.registry],
    });
  }

  count(listener: "http" | "resp", reason: RefusalReason): void {
    this.refused.inc({ listener, reason });
  }

  /**
   * Enforces connectionsPerAddressMax on `server` (counting raw TCP connections, before any TLS
   * handshake). An HTTP client over it gets a 429 when plain, a closed socket when TLS (no handshake is
   * spent on it); a RESP client gets `-ERR` when plain. `onRefused` learns of each refused socket.
   */
  limitConnections(
    server: Server,
    listener: "http" | "resp",
    tls: boolean,
    onRefused?: (socket: Socket) => void,
  ): void {
    const open = new Map<string, number>();
    server.on("connection", (socket: Socket) => {
      const address = socket.remoteAddress ?? "unknown";
      const n = (open.get(address) ?? 0) + 1;
      if (n > this.limits.connectionsPerAddressMax) {
        this.count(listener, "connections_per_address");
        onRefused?.(socket);
        this.logger.debug({ address }, "client connection refused: too many from this address");
        if (!tls)
          socket.end(
            listener === "http" ? TOO_MANY_CONNECTIONS_ANSWER : "-ERR max connections per address\r\n",
          );
        socket.destroySoon();
        return;
      }
      open.set(address, n);
      socket.once("close", () => {
        const left = (open.get(address) ?? 1) - 1;
        if (left === 0) open.delete(address);
        else open.set(address, left);
      });
    });
  }

  /** Answers HTTP client errors as Node would, counting header timeouts (slowloris). */
  onClientError(err: Error & { code?: string }, socket: Duplex): void {
    if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") this.count("http", "header_timeout");
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(clientErrorAnswer(err.code));
    // A client that never reads the answer does not keep the socket.
    setTimeout(() => socket.destroy(), CLOSE_LINGER_MS).unref();
  }

  /** Takes a request slot; false when requestsInFlightMax are taken (answer 503 overloaded). */
  enter(): boolean {
    if (this.inFlight >= this.limits.requestsInFlightMax) {
      this.count("http", "overloaded");
      return false;
    }
    this.inFlight++;
    return true;
  }

  leave(): void {
    this.inFlight--;
  }

  metricsText(): Promise<string> {
    return this.registry.metrics();
  }
}
