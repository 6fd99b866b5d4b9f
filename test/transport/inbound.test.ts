// An inbound connection hands on the messages of one read in order, less superseded vote messages:
// what a sender wrote into a connection whose packets were dropped arrives at once on the heal.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { test } from "node:test";
import type { Message, NodeId } from "../../src/raft/types.js";
import { encodeHelloFrame } from "../../src/transport/codec.js";
import { InboundConn } from "../../src/transport/inbound.js";
import { defaultTransportLimits, encodeMessageFrame } from "../../src/transport/index.js";
import { LogLimiter } from "../../src/transport/log-limit.js";
import type { Shared } from "../../src/transport/options.js";

const clusterId = "test-cluster";

/** Node 2's side of a connection from node 1, fed by `data` events the test emits. */
function inbound(received: Message[]): { socket: EventEmitter; conn: InboundConn } {
  const socket = Object.assign(new EventEmitter(), {
    setNoDelay() {},
    setTimeout() {},
    write() {},
    destroy() {},
  });
  const shared: Shared = {
    id: 2,
    clusterId,
    limits: { ...defaultTransportLimits, helloTimeoutMs: 60_000 },
    logger: { warn() {} },
    tls: undefined,
    onUnreachable() {},
    onSnapshotSent() {},
    onForwardResult() {},
    onRemoved() {},
    removedRefused: new Set(),
    refusalLog: new LogLimiter(),
  };
  const conn = new InboundConn(shared, socket as unknown as Socket, {
    isPeer: (id: NodeId) => id === 1,
    isRemoved: () => false,
    onHello() {},
    onMessage: (m) => received.push(m),
    onForward() {},
    onClose() {},
  });
  return { socket, conn };
}

const vote = (term: number, preVote: boolean): Message => {
  return { type: "vote", from: 1, to: 2, term, preVote, transfer: false, lastIndex: 5, lastTerm: 1 };
};
const answer = (term: number, preVote: boolean): Message => {
  return { type: "voteResp", from: 1, to: 2, term, preVote, reject: true };
};
const hb = (readSeq: number): Message => {
  return { type: "heartbeat", from: 1, to: 2, term: 1, commit: 0, readSeq };
};
const appResp = (index: number): Message => {
  return { type: "appResp", from: 1, to: 2, term: 1, reject: false, index, hintIndex: 0, hintTerm: 0 };
};

test("a read holding 14 s of a cut-off node's campaigning hands on only its newest vote messages", () => {
  const received: Message[] = [];
  const { socket, conn } = inbound(received);
  const sent: Message[] = [hb(1), appResp(3)];
  for (let round = 1; round <= 82; round++) {
    sent.push(vote(3, true), answer(2 + round, round % 2 === 0));
    if (round === 40) sent.push(hb(2), vote(3, false), appResp(4));
  }
  sent.push(vote(4, true), hb(3));
  const frames = [encodeHelloFrame({ clusterId, from: 1, to: 2 }), ...sent.map((m) => encodeMessageFrame(m))];
  socket.emit("data", Buffer.concat(frames));

  assert.deepStrictEqual(received, [
    hb(1),
    appResp(3),
    hb(2),
    appResp(4),
    answer(83, false),
    answer(84, true),
    vote(4, true),
    hb(3),
  ]);
  assert.equal(conn.stats().messagesReceived, sent.length, "superseded messages still count as received");

  // A later read is a new batch: its vote messages are handed on (the core judges them).
  socket.emit("data", Buffer.concat([encodeMessageFrame(vote(5, true)), encodeMessageFrame(hb(4))]));
  assert.deepStrictEqual(received.slice(-2), [vote(5, true), hb(4)]);
});
