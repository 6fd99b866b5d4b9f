// A peer (node 2) in its own process, for snapshot-stall tests: when a snapshot arrives it blocks its
// event loop for `stallMs` (a synchronous restore of a large state), as no in-process stand-in can
// (the sender would stall with it). It answers heartbeats and the snapshot as a follower would, prints
// its peer port, and exits when its stdin closes.
import type { Message } from "../../src/raft/types.js";
import { TcpTransport } from "../../src/transport/index.js";

const [senderPort, stallMs, linkSilenceMsMax] = process.argv.slice(2).map(Number) as [number, number, number];
const host = "127.0.0.1";
const transport: TcpTransport = new TcpTransport({
  id: 2,
  clusterId: "test-cluster",
  limits: { linkSilenceMsMax, linkAckDelayMs: 20, reconnectMaxMs: 200 },
  listen: { host, port: 0 },
  peers: new Map([[1, { host, port: senderPort }]]),
  onMessage: (m: Message) => {
    if (m.type === "snap") {
      const end = Date.now() + stallMs;
      while (Date.now() < end) {
        // The restore: nothing else runs meanwhile.
      }
      transport.send([
        {
          type: "appResp",
          from: 2,
          to: 1,
          term: 1,
          reject: false,
          index: m.snapshot.meta.index,
          hintIndex: 0,
          hintTerm: 0,
        },
      ]);
    } else if (m.type === "heartbeat") {
      transport.send([{ type: "heartbeatResp", from: 2, to: 1, term: 1, readSeq: m.readSeq }]);
    }
  },
});
await transport.start();
process.stdout.write(`${transport.address().port}\n`);
process.stdin.resume();
process.stdin.on("end", () => {
  void transport.close().then(() => process.exit(0));
});
