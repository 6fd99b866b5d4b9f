// Raw RESP over a socket, for tests that need exact bytes (pipelines, malformed input, RESP3).
import { connect, type Socket } from "node:net";

export function frame(...args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
}

/** A raw connection that accumulates everything the server sends. */
export class RawConn {
  received = "";
  closed = false;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      this.received += d;
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => {});
  }

  static open(port: number): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port }, () => resolve(new RawConn(s)));
      s.once("error", reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters) w();
  }

  send(bytes: string | Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Waits until `done(received)` holds or the connection closed; throws after `timeoutMs`. */
  async until(done: (received: string) => boolean, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.received) && !this.closed) {
      if (Date.now() > deadline) throw new Error(`timed out; received ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => {
        const w = () => {
          this.waiters.delete(w);
          resolve();
        };
        this.waiters.add(w);
        setTimeout(w, 50);
      });
    }
    return this.received;
  }

  /** Sends and waits for exactly `expected`, or fails with what arrived. */
  async roundTrip(bytes: string, expected: string, timeoutMs = 5000): Promise<void> {
    const before = this.received.length;
    this.send(bytes);
    const got = await this.until((r) => r.length - before >= expected.length, timeoutMs);
    if (got.slice(before) !== expected) {
      throw new Error(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(got.slice(before))}`);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
