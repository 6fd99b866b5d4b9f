import type { ServerResponse } from "node:http";

/** Open event streams one node serves; past it a new dashboard gets 503 (each costs a socket and a write per second). */
export const SSE_CLIENTS_MAX_DEFAULT = 32;

/** Bytes one stream may have waiting in its socket; a client that reads slower is dropped, not buffered for. */
const STREAM_BACKLOG_BYTES_MAX = 1 << 20;

/** Comment line sent when nothing else is, so proxies and the browser keep the stream open. */
const KEEPALIVE = ": keep-alive\n\n";

/** The dashboards connected over Server-Sent Events, at most `clientsMax`. */
export class SseClients {
  private readonly clients = new Set<ServerResponse>();

  constructor(readonly clientsMax = SSE_CLIENTS_MAX_DEFAULT) {}

  get size(): number {
    return this.clients.size;
  }

  get full(): boolean {
    return this.clients.size >= this.clientsMax;
  }

  /** Starts the stream on `res` with its first message; false (nothing written) when full. */
  open(res: ServerResponse, event: string, data: unknown): boolean {
    if (this.full) return false;
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
      // Read-only status, the same /v1/cluster shows: a dashboard served by another member may follow it.
      "Access-Control-Allow-Origin": "*",
    });
    res.socket?.setNoDelay(true);
    this.clients.add(res);
    res.on("close", () => this.clients.delete(res));
    res.write(frame(event, data));
    return true;
  }

  /** Sends one message to every stream (encoded once). */
  broadcast(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    this.writeAll(frame(event, data));
  }

  keepAlive(): void {
    this.writeAll(KEEPALIVE);
  }

  closeAll(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private writeAll(text: string): void {
    for (const res of this.clients) {
      if (res.writableLength > STREAM_BACKLOG_BYTES_MAX) {
        res.destroy();
        this.clients.delete(res);
        continue;
      }
      res.write(text);
    }
  }
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
