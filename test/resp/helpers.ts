// Raw RESP over a socket, for tests that need exact bytes (pipelines, malformed input, RESP3).
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, type Socket } from "node:net";

export function frame(...args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
}

/** A pipeline of `n` plain `LPUSH label item`, item k being `${prefix}${k}`. */
export function lpushPipeline(label: string, prefix: string, n: number): string {
  return Array.from({ length: n }, (_, k) => frame("LPUSH", label, `${prefix}${k}`)).join("");
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

/** Simple replies of a RESP2 stream as strings: `:3`, `$-1`, `$2\nab` (bulk with its data), `-ERR ...`. */
export function parseReplies(text: string): string[] {
  const out: string[] = [];
  let at = 0;
  for (;;) {
    const eol = text.indexOf("\r\n", at);
    if (eol < 0) return out;
    const line = text.slice(at, eol);
    if (line.startsWith("$") && line !== "$-1") {
      const len = Number(line.slice(1));
      const data = text.slice(eol + 2, eol + 2 + len);
      if (Buffer.byteLength(data) < len || text.length < eol + 4 + len) return out;
      out.push(`${line}\n${data}`);
      at = eol + 4 + len;
    } else {
      out.push(line);
      at = eol + 2;
    }
  }
}

/** `${prefix}${k}` for each request k of a pipeline of pushes answered with an integer (acknowledged). */
export function acknowledged(replies: readonly string[], prefix: string): string[] {
  return replies.flatMap((reply, k) => (reply.startsWith(":") ? [`${prefix}${k}`] : []));
}

/** Asserts that `stored` holds no item twice and every item of `acked`, counting what is wrong. */
export function assertOnceEach(stored: readonly string[], acked: readonly string[]): void {
  const storedSet = new Set(stored);
  const twice = stored.length - storedSet.size;
  assert.equal(twice, 0, `${twice} of ${stored.length} stored pushes applied twice`);
  const lost = acked.filter((item) => !storedSet.has(item));
  assert.equal(
    lost.length,
    0,
    `${lost.length} of ${acked.length} acknowledged pushes lost: ${lost.slice(0, 5)}...`,
  );
}

/** Strings (as latin1 bytes) and byte strings, joined: requests with arguments that are not UTF-8. */
export const bin = (...parts: (string | Buffer)[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : p)));

/** One RESP request of byte-string arguments. */
export const wire = (...args: Buffer[]): Buffer =>
  bin(`*${args.length}\r\n`, ...args.flatMap((a) => [`$${a.length}\r\n`, a, "\r\n"]));

/** A plain connection that keeps every reply byte: `bytes()` so far, `clear()` to start again. */
export async function byteConn(port: number): Promise<{ socket: Socket; bytes(): Buffer; clear(): void }> {
  const socket = connect({ host: "127.0.0.1", port });
  await once(socket, "connect");
  let received = Buffer.alloc(0);
  socket.on("data", (d: Buffer) => {
    received = Buffer.concat([received, d]);
  });
  return {
    socket,
    bytes: () => received,
    clear: () => {
      received = Buffer.alloc(0);
    },
  };
}

/** The title lines of `INFO everything`, in Redis's order (src/resp/admin-commands.ts). */
export const INFO_TITLES = [
  "# Server",
  "# Clients",
  "# Persistence",
  "# Stats",
  "# Replication",
  "# Commandstats",
  "# Errorstats",
  "# Keyspace",
];

/** The `# Title` lines of an INFO reply. */
export const infoTitles = (text: string): string[] => text.split("\r\n").filter((l) => l.startsWith("# "));
