// Review: a REQUEST_RUN payload comes from a peer; whatever its bytes, the leader's decoder answers a run
// or undefined (then bad_request), never throws, and a run it answers encodes into an entry as keyed
// Commands that decode back (so no replica meets a command it cannot read).
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeRunRequest, encodeRunRequest } from "../../src/node/run-forward.js";
import { type AsciiPushes, BatchEncoder, decodeBatch, decodeCommand } from "../../src/stack/index.js";
import fc from "../fast-check.js";

const ascii = fc.string({
  unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)),
  maxLength: 20,
});
const commands = fc.array(fc.tuple(ascii, fc.array(ascii, { maxLength: 4 })), { minLength: 1, maxLength: 6 });

function runOf(list: readonly (readonly [string, readonly string[]])[]): AsciiPushes {
  const bytes: number[] = [];
  const spans: number[] = [];
  const put = (s: string) => {
    const from = bytes.length;
    for (const c of s) bytes.push(c.charCodeAt(0));
    spans.push(from, bytes.length);
  };
  for (const [label, items] of list) {
    put(label);
    spans.push(items.length);
    for (const item of items) put(item);
  }
  return { src: Uint8Array.from(bytes), count: list.length, spans: Uint32Array.from(spans) };
}

function checkDecoded(payload: Uint8Array): void {
  const run = decodeRunRequest(payload);
  if (run === undefined) return;
  // An empty key prefix is a run sent without keys (LeaderRequests.keyless).
  if (run.keys !== undefined) assert.ok(run.keys.prefix.length > 0);
  for (const s of run.spans.values()) assert.ok(s <= payload.length);
  const enc = new BatchEncoder();
  assert.ok(enc.addAsciiPushes(run, 1, 1 << 30));
  const data = enc.take();
  const each = run.count === 1 ? [data] : (decodeBatch(data) ?? assert.fail("a batch that does not decode"));
  assert.equal(each.length, run.count);
  for (const c of each) assert.ok(decodeCommand(c) !== undefined, "a command that does not decode");
}

test("fuzz: any REQUEST_RUN payload decodes to a well-formed run or undefined, never throws", {
  timeout: 60_000,
}, () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => checkDecoded(bytes)),
    { numRuns: 20_000 },
  );
  fc.assert(
    fc.property(
      commands,
      fc.string({ maxLength: 64 }),
      fc.integer({ min: 0, max: 2 ** 53 - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      (list, prefix, first, flips) => {
        let payload: Uint8Array;
        try {
          payload = encodeRunRequest(runOf(list), { prefix, first });
        } catch (e) {
          if (e instanceof RangeError) return;
          throw e;
        }
        checkDecoded(payload);
        const mutated = Uint8Array.from(payload);
        for (const [at, b] of flips) mutated[at % mutated.length] = b;
        checkDecoded(mutated);
      },
    ),
    { numRuns: 20_000 },
  );
});
