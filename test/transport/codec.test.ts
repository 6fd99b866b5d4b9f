import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Entry, Message, MessageType } from "../../src/raft/types.js";
import { decodeFrame } from "../../src/transport/codec.js";
import {
  decodeMessage,
  encodeMessage,
  encodeMessageFrame,
  FrameDecoder,
  FrameError,
} from "../../src/transport/index.js";
import fc from "../fast-check.js";

// Plain-prototype records, as the raft core builds them (fast-check may otherwise make null-prototype ones).
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;
}

const num = fc.maxSafeNat();
const id = fc.integer({ min: 0, max: 2 ** 31 });
const bytes = fc.uint8Array({ maxLength: 300 });
const env = { from: id, to: id, term: num };

const entry: fc.Arbitrary<Entry> = rec({
  term: num,
  index: num,
  kind: fc.constantFrom("normal", "noop", "config"),
  data: bytes,
});

const arbitraries: { [T in MessageType]: fc.Arbitrary<Extract<Message, { type: T }>> } = {
  vote: rec({
    type: fc.constant("vote"),
    ...env,
    preVote: fc.boolean(),
    transfer: fc.boolean(),
    lastIndex: num,
    lastTerm: num,
  }),
  voteResp: rec({ type: fc.constant("voteResp"), ...env, preVote: fc.boolean(), reject: fc.boolean() }),
  app: rec({
    type: fc.constant("app"),
    ...env,
    prevIndex: num,
    prevTerm: num,
    entries: fc.array(entry, { maxLength: 20 }),
    commit: num,
  }),
  appResp: rec({
    type: fc.constant("appResp"),
    ...env,
    reject: fc.boolean(),
    index: num,
    hintIndex: num,
    hintTerm: num,
  }),
  heartbeat: rec({ type: fc.constant("heartbeat"), ...env, commit: num, readSeq: num }),
  heartbeatResp: rec({ type: fc.constant("heartbeatResp"), ...env, readSeq: num }),
  snap: rec({
    type: fc.constant("snap"),
    ...env,
    snapshot: rec({
      meta: rec({
        index: num,
        term: num,
        config: fc.oneof(
          rec({ voters: fc.array(id, { maxLength: 7 }), learners: fc.array(id, { maxLength: 3 }) }),
          rec({
            voters: fc.array(id, { maxLength: 7 }),
            learners: fc.array(id, { maxLength: 3 }),
            removed: fc.array(id, { minLength: 1, maxLength: 3 }),
          }),
        ),
      }),
      data: fc.uint8Array({ maxLength: 5000 }),
    }),
  }),
  timeoutNow: rec({ type: fc.constant("timeoutNow"), ...env }),
  prop: rec({ type: fc.constant("prop"), ...env, entries: fc.array(bytes, { maxLength: 20 }) }),
  readIndex: rec({ type: fc.constant("readIndex"), ...env, context: num }),
  readIndexResp: rec({ type: fc.constant("readIndexResp"), ...env, context: num, index: num }),
};

const anyMessage: fc.Arbitrary<Message> = fc.oneof(...Object.values(arbitraries));

function decodeOrFrameError(b: Uint8Array): void {
  try {
    decodeMessage(b);
  } catch (err) {
    assert.ok(err instanceof FrameError, `expected FrameError, got ${String(err)}`);
  }
}

describe("codec", () => {
  for (const [type, arb] of Object.entries(arbitraries)) {
    test(`${type} round-trips`, () => {
      fc.assert(
        fc.property(arb as fc.Arbitrary<Message>, (msg) => {
          assert.deepStrictEqual(decodeMessage(encodeMessage(msg)), msg);
        }),
        { numRuns: 300 },
      );
    });
  }

  test("terms and indexes up to 2^53-1 survive; larger numbers are refused on encode", () => {
    const max = Number.MAX_SAFE_INTEGER;
    const msg: Message = { type: "heartbeat", from: 1, to: 2, term: max, commit: 2 ** 32 + 7, readSeq: 0 };
    assert.deepStrictEqual(decodeMessage(encodeMessage(msg)), msg);
    assert.throws(() => encodeMessage({ ...msg, term: 2 ** 53 }), RangeError);
    assert.throws(() => encodeMessage({ ...msg, commit: -1 }), RangeError);
  });

  test("a small heartbeat is compact", () => {
    const msg: Message = { type: "heartbeat", from: 1, to: 2, term: 5, commit: 100, readSeq: 3 };
    assert.ok(encodeMessage(msg).length <= 8, `heartbeat took ${encodeMessage(msg).length} bytes`);
  });

  test("every truncation of a valid message is a FrameError", () => {
    fc.assert(
      fc.property(anyMessage, (msg) => {
        const b = encodeMessage(msg);
        for (let n = 0; n < b.length; n++) {
          assert.throws(() => decodeMessage(b.subarray(0, n)), FrameError);
        }
      }),
      { numRuns: 200 },
    );
  });

  test("trailing bytes are a FrameError", () => {
    fc.assert(
      fc.property(anyMessage, fc.uint8Array({ minLength: 1, maxLength: 8 }), (msg, extra) => {
        const b = encodeMessage(msg);
        const longer = new Uint8Array(b.length + extra.length);
        longer.set(b);
        longer.set(extra, b.length);
        assert.throws(() => decodeMessage(longer), FrameError);
      }),
      { numRuns: 200 },
    );
  });

  test("random garbage and mutated messages only ever raise FrameError", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), decodeOrFrameError), { numRuns: 5000 });
    fc.assert(
      fc.property(anyMessage, fc.nat(), fc.integer({ min: 0, max: 255 }), (msg, at, value) => {
        const b = encodeMessage(msg);
        b[at % b.length] = value;
        decodeOrFrameError(b);
      }),
      { numRuns: 3000 },
    );
  });

  test("any frame payload decodes or raises FrameError", () => {
    const controlFrame = fc
      .tuple(fc.integer({ min: 0x40, max: 0x44 }), fc.uint8Array({ maxLength: 64 }))
      .map(([code, rest]) => Uint8Array.from([code, ...rest]));
    fc.assert(
      fc.property(fc.oneof(controlFrame, fc.uint8Array({ maxLength: 64 })), (b) => {
        try {
          decodeFrame(b);
        } catch (err) {
          assert.ok(err instanceof FrameError, `expected FrameError, got ${String(err)}`);
        }
      }),
      { numRuns: 5000 },
    );
  });

  test("huge declared lengths fail without allocating", () => {
    // app, from 1, to 2, term 1, prevIndex/prevTerm/commit 0, then an entry count of 2^53-1.
    const b = Uint8Array.from([3, 1, 2, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert.throws(() => decodeMessage(b), FrameError);
  });

  test("FrameDecoder reassembles frames split at every byte and rejects oversized lengths", () => {
    fc.assert(
      fc.property(fc.array(anyMessage, { minLength: 1, maxLength: 5 }), fc.nat(), (msgs, seed) => {
        const frames = msgs.map(encodeMessageFrame);
        const stream = Buffer.concat(frames);
        const decoder = new FrameDecoder(1 << 20);
        const out: Message[] = [];
        let pos = 0;
        let step = (seed % 7) + 1;
        while (pos < stream.length) {
          for (const f of decoder.push(stream.subarray(pos, pos + step))) out.push(decodeMessage(f));
          pos += step;
          step = (step * 5 + 3) % 13 || 1;
        }
        assert.deepStrictEqual(out, msgs);
      }),
      { numRuns: 200 },
    );
    const decoder = new FrameDecoder(1024);
    assert.throws(
      () => decoder.push(Uint8Array.from([0, 0, 4, 1])),
      (e) => e instanceof FrameError && e.code === "too_large",
    );
    assert.throws(() => new FrameDecoder(1024).push(Uint8Array.from([0, 0, 0, 0])), FrameError);
  });
});
