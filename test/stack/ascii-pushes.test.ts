import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type AsciiPushes,
  asciiPushCommand,
  BatchEncoder,
  encodeCommandAt,
  type RunKeys,
  runKey,
} from "../../src/stack/index.js";
import fc from "../fast-check.js";

// The RESP fast lane's LPUSH commands are encoded from request bytes: the entry must be byte for byte
// what encoding the Command each stands for gives, or followers and snapshots would see something new.

const ascii = fc.string({
  unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)),
  maxLength: 200,
});
const command = fc.record({
  label: ascii.filter((s) => s.length > 0),
  items: fc.array(ascii, { minLength: 1, maxLength: 5 }),
});

/** The commands laid out in a buffer with junk around, as requests sit in a socket chunk. */
function runOf(commands: readonly { label: string; items: string[] }[], keys?: RunKeys): AsciiPushes {
  const bytes: number[] = [];
  const spans: number[] = [];
  const put = (s: string) => {
    bytes.push(0x24, 0x0d); // junk between the spans
    const from = bytes.length;
    for (const c of s) bytes.push(c.charCodeAt(0));
    spans.push(from, bytes.length);
  };
  for (const c of commands) {
    put(c.label);
    spans.push(c.items.length);
    for (const item of c.items) put(item);
  }
  const run = { src: Uint8Array.from(bytes), count: commands.length, spans: Uint32Array.from(spans) };
  return keys === undefined ? run : { ...run, keys };
}

// A run a follower forwarded carries a key per command (node/run-forward.ts).
const keys = fc.option(
  fc.record({ prefix: ascii.filter((s) => s.length < 60), first: fc.integer({ min: 0, max: 2 ** 50 }) }),
  { nil: undefined },
);

test("a run encodes as its Commands do, keyed or not, added alone or after other commands, all or none", () => {
  fc.assert(
    fc.property(
      fc.array(command, { minLength: 1, maxLength: 6 }),
      fc.array(command, { maxLength: 3 }),
      fc.integer({ min: 0, max: 2 ** 40 }),
      keys,
      (commands, before, atMs, runKeys) => {
        const run = runOf(commands, runKeys);
        for (let i = 0; i < commands.length; i++) {
          const key = runKeys === undefined ? {} : { key: runKey(runKeys, i) };
          assert.deepEqual(asciiPushCommand(run, i, atMs), { type: "lpush", ...commands[i], ...key, atMs });
        }
        const fast = new BatchEncoder();
        const slow = new BatchEncoder();
        for (const c of before) {
          fast.add({ type: "lpush", ...c, atMs: 0 }, atMs, Number.MAX_SAFE_INTEGER);
          slow.add({ type: "lpush", ...c, atMs: 0 }, atMs, Number.MAX_SAFE_INTEGER);
        }
        assert.ok(fast.addAsciiPushes(run, atMs, Number.MAX_SAFE_INTEGER));
        let bytes = 0;
        for (let i = 0; i < commands.length; i++) {
          bytes += slow.add(asciiPushCommand(run, i, 0), atMs, Number.MAX_SAFE_INTEGER);
        }
        assert.equal(fast.count, slow.count);
        assert.equal(fast.commandBytes, slow.commandBytes);
        // A run that does not fit leaves the batch as it was.
        const extra = runOf(commands, runKeys);
        assert.equal(fast.addAsciiPushes(extra, atMs, fast.commandBytes + bytes - 1), false);
        assert.equal(fast.count, slow.count);
        assert.deepEqual(fast.take(), slow.take());
        if (commands.length === 1 && before.length === 0) {
          const single = new BatchEncoder();
          single.addAsciiPushes(run, atMs, Number.MAX_SAFE_INTEGER);
          assert.deepEqual(single.take(), encodeCommandAt(asciiPushCommand(run, 0, atMs), atMs));
        }
      },
    ),
    { numRuns: 300 },
  );
});
