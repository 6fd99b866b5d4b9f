// An in-process TCP proxy that can stop forwarding without closing anything: what a firewall DROP rule
// or a vanished host does to a connection, deterministically and without root.
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Client bytes read while cut off: the kernel would retransmit them, so they arrive at the heal. */
  held: Buffer[];
  clientGone: boolean;
}

export interface ProxyShape {
  /** Added to every chunk's trip, both ways. */
  readonly delayMs?: number;
  /** Client-to-upstream throughput (the client is paused meanwhile), unbounded without. */
  readonly bytesPerSecond?: number;
}

export class BlackHoleProxy {
  private server: Server;
  private readonly pairs = new Set<Pair>();
  private cut = false;
  private portNumber = 0;
  /** Connections the proxy accepted, over its life. */
  accepted = 0;

  constructor(
    private readonly target: { readonly host: string; readonly port: number },
    private readonly shape: ProxyShape = {},
  ) {
    this.server = this.makeServer();
  }

  get port(): number {
    return this.portNumber;
  }

  async start(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(this.portNumber, "127.0.0.1", r));
    const a = this.server.address();
    if (a === null || typeof a === "string") throw new Error("proxy not listening");
    this.portNumber = a.port;
    return a.port;
  }

  /**
   * From now on nothing is forwarded and nothing is closed: bytes each way are held (sent at the heal,
   * as TCP retransmits them), and new connections are refused (the listener is closed), as a dialer
   * behind a cut sees its attempts fail.
   */
  cutOff(): void {
    this.cut = true;
    this.server.close();
  }

  /** Forwarding resumes: what was held goes out first, on connections whose sender is still there. */
  async heal(): Promise<void> {
    this.cut = false;
    for (const p of this.pairs) {
      if (p.clientGone) continue;
      for (const chunk of p.held) p.upstream.write(chunk);
      p.held = [];
    }
    this.server = this.makeServer();
    await this.start();
  }

  close(): void {
    this.server.close();
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    this.pairs.clear();
  }

  private makeServer(): Server {
    return createServer((client) => this.accept(client));
  }

  private accept(client: Socket): void {
    this.accepted++;
    const upstream = tcpConnect(this.target);
    const pair: Pair = { client, upstream, held: [], clientGone: false };
    this.pairs.add(pair);
    const { delayMs = 0, bytesPerSecond } = this.shape;
    client.on("data", (chunk: Buffer) => {
      if (this.cut) {
        pair.held.push(chunk);
        return;
      }
      if (delayMs === 0 && bytesPerSecond === undefined) {
        upstream.write(chunk);
        return;
      }
      const throttleMs = bytesPerSecond === undefined ? 0 : (1000 * chunk.length) / bytesPerSecond;
      client.pause();
      setTimeout(() => {
        upstream.write(chunk);
        client.resume();
      }, delayMs + throttleMs);
    });
    // Answers sent into a cut are lost for good here: the sender's acknowledgements are not retransmitted
    // data it would wait for (a LINK_ACK after the heal reports the total anyway).
    upstream.on("data", (chunk: Buffer) => {
      if (this.cut) return;
      if (delayMs === 0) client.write(chunk);
      else setTimeout(() => client.write(chunk), delayMs);
    });
    // A sender that gives up during a cut resets its connection; the reset never crosses the cut, so the
    // receiver's side stays open, and what was held is discarded with the sender's kernel buffer.
    client.on("close", () => {
      pair.clientGone = true;
      pair.held = [];
      if (!this.cut) upstream.end();
    });
    upstream.on("close", () => {
      if (!this.cut) client.destroy();
    });
    client.on("error", () => {});
    upstream.on("error", () => {});
  }
}
