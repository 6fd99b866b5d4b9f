// Loopback throughput of the peer transport: app messages of 100 entries x 64 bytes from node 1 to node 2.
import type { AppendMsg, Entry, Message } from "../src/raft/types.js";
import { decodeMessage, encodeMessage, TcpTransport } from "../src/transport/index.js";

const entriesPerMessage = 100;
const entryBytes = 64;
const messagesTotal = 200_000;
const batchMessages = 64;
// Keep at most this many messages in flight so the bounded queue never drops (we measure delivery, not loss).
const inFlightMax = 2048;

function appMessage(i: number): AppendMsg {
  const entries: Entry[] = [];
  for (let e = 0; e < entriesPerMessage; e++) {
    const index = i * entriesPerMessage + e + 1;
    entries.push({ term: 7, index, kind: "normal", data: new Uint8Array(entryBytes).fill(e) });
  }
  return {
    type: "app",
    from: 1,
    to: 2,
    term: 7,
    prevIndex: i * entriesPerMessage,
    prevTerm: 7,
    entries,
    commit: i,
  };
}

function codecOnly(): void {
  const msg = appMessage(1_000_000);
  const n = 50_000;
  let t0 = performance.now();
  let bytes = 0;
  for (let i = 0; i < n; i++) bytes += encodeMessage(msg).length;
  const encMs = performance.now() - t0;
  const enc = encodeMessage(msg);
  t0 = performance.now();
  for (let i = 0; i < n; i++) decodeMessage(enc);
  const decMs = performance.now() - t0;
  console.log(
    `codec: ${enc.length} bytes/message; encode ${Math.round(n / (encMs / 1000))} msg/s, decode ${Math.round(n / (decMs / 1000))} msg/s (${(bytes / n / enc.length).toFixed(2)} size check)`,
  );
}

async function overLoopback(): Promise<void> {
  let received = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const b = new TcpTransport({
    id: 2,
    clusterId: "bench",
    listen: { host: "127.0.0.1", port: 0 },
    onMessage: (m: Message) => {
      if (m.type === "app" && ++received === messagesTotal) done();
    },
  });
  await b.start();
  const a = new TcpTransport({
    id: 1,
    clusterId: "bench",
    listen: { host: "127.0.0.1", port: 0 },
    peers: new Map([[2, b.address()]]),
    onMessage: () => {},
  });
  await a.start();
  b.addPeer(1, a.address());

  // Pre-build messages so the measurement covers encode + socket + decode, not test-data construction.
  const pool = Array.from({ length: batchMessages }, (_, i) => appMessage(i));
  const t0 = performance.now();
  let sent = 0;
  while (sent < messagesTotal) {
    if (sent - received < inFlightMax) {
      a.send(pool);
      sent += pool.length;
    }
    await new Promise((r) => setImmediate(r));
  }
  await finished;
  const secs = (performance.now() - t0) / 1000;
  const s = a.stats().peers.get(2)!;
  console.log(
    `loopback: ${messagesTotal} app messages (${entriesPerMessage} x ${entryBytes} B entries) in ${secs.toFixed(2)} s: ` +
      `${Math.round(messagesTotal / secs)} msg/s, ${Math.round((messagesTotal * entriesPerMessage) / secs)} entries/s, ` +
      `${(s.bytesSent / secs / 1e6).toFixed(0)} MB/s; dropped ${s.messagesDropped}`,
  );
  await Promise.all([a.close(), b.close()]);
}

codecOnly();
await overLoopback();
