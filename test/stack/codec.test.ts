import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Command,
  decodeCommand,
  decodeOutcome,
  encodeCommand,
  encodeCommandAt,
  encodeOutcome,
  errorCodes,
  type Outcome,
  StackMachine,
} from "../../src/stack/index.js";
import fc from "../fast-check.js";

// Well-formed strings only: lone surrogates are rejected by validation before encoding.
const text = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.string({ unit: "binary-ascii", maxLength: 80 }),
  fc.string({ unit: "grapheme-composite", minLength: 60, maxLength: 200 }),
);
const id = fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constant(Number.MAX_SAFE_INTEGER));
const envelope = fc.record(
  {
    key: fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }),
    atMs: fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }),
  },
  { requiredKeys: ["atMs"] },
);
const command: fc.Arbitrary<Command> = fc
  .tuple(
    fc.oneof(
      fc.record({ type: fc.constant("create" as const), label: text }),
      fc.record({ type: fc.constant("delete" as const), id }),
      fc.record({ type: fc.constant("pop" as const), id }),
      fc.record({
        type: fc.constant("push" as const),
        id,
        items: fc.array(text, { minLength: 1, maxLength: 20 }),
      }),
      fc.record({
        type: fc.constant("lpush" as const),
        label: text,
        items: fc.array(text, { minLength: 1, maxLength: 20 }),
      }),
      fc.record({ type: fc.constant("lpop" as const), label: text }),
      fc.record({ type: fc.constant("lpop" as const), label: text, count: fc.nat() }),
      fc.record({ type: fc.constant("del" as const), labels: fc.array(text, { maxLength: 5 }) }),
      fc.record({ type: fc.constant("bpop" as const), labels: fc.array(text, { maxLength: 5 }) }),
      fc.record({ type: fc.constant("bpopId" as const), id }),
    ),
    envelope,
  )
  .map(([op, env]) => ({ ...op, ...env }));
const outcome: fc.Arbitrary<Outcome> = fc.oneof(
  fc.record({ ok: fc.constant(false as const), code: fc.constantFrom(...errorCodes) }),
  fc.record({ ok: fc.constant(true as const), kind: fc.constant("created" as const), id }),
  fc.record({ ok: fc.constant(true as const), kind: fc.constant("deleted" as const), id }),
  fc.record({ ok: fc.constant(true as const), kind: fc.constant("pushed" as const), size: fc.nat() }),
  fc.record({ ok: fc.constant(true as const), kind: fc.constant("popped" as const), item: text }),
  fc.record({
    ok: fc.constant(true as const),
    kind: fc.constant("poppedItems" as const),
    items: fc.array(text),
  }),
  fc.record({
    ok: fc.constant(true as const),
    kind: fc.constant("poppedFrom" as const),
    label: text,
    item: text,
  }),
  fc.record({ ok: fc.constant(true as const), kind: fc.constant("deletedCount" as const), count: fc.nat() }),
);

describe("binary codec", () => {
  test("commands round-trip", { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(command, (cmd) => {
        assert.deepEqual(decodeCommand(encodeCommand(cmd)), cmd);
      }),
      { numRuns: 2_000 },
    );
  });

  test("outcomes round-trip", { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(outcome, (o) => {
        assert.deepEqual(decodeOutcome(encodeOutcome(o)), { ...o });
      }),
      { numRuns: 2_000 },
    );
  });

  test("the first four operations keep their encodings (entries already in logs and snapshots)", () => {
    const atMs = 1_700_000_000_000;
    const hex = (cmd: Command) => Buffer.from(encodeCommand(cmd)).toString("hex");
    const stamp = "00008056febc7842"; // atMs as float64 little-endian
    assert.equal(hex({ type: "create", label: "jobs", atMs }), `0101${stamp}00046a6f6273`);
    assert.equal(hex({ type: "delete", id: 3, atMs }), `0102${stamp}0003`);
    assert.equal(hex({ type: "push", id: 1, items: ["10"], key: "k", atMs }), `0103${stamp}01016b0101023130`);
    assert.equal(hex({ type: "pop", id: 300, atMs }), `0104${stamp}00ac02`);
    const outcomeHex = (o: Outcome) => Buffer.from(encodeOutcome(o)).toString("hex");
    assert.equal(outcomeHex({ ok: true, kind: "popped", item: "a" }), "040161");
    assert.equal(outcomeHex({ ok: false, code: "stack_empty" }), "0002");
  });

  test("the seed's push of '1,10' is a small entry", () => {
    const bytes = encodeCommand({ type: "push", id: 1, items: ["10"], key: "abc", atMs: 1_700_000_000_000 });
    assert.ok(bytes.length <= 20, `${bytes.length} bytes`);
  });

  test("garbage, truncations and bit flips never throw", { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        decodeCommand(bytes);
        decodeOutcome(bytes);
        assert.ok(new StackMachine().apply(1, bytes) !== undefined);
      }),
      { numRuns: 5_000 },
    );
    fc.assert(
      fc.property(command, fc.nat(), fc.integer({ min: 0, max: 255 }), (cmd, at, value) => {
        const bytes = encodeCommand(cmd);
        const cut = at % bytes.length;
        assert.equal(decodeCommand(bytes.subarray(0, cut)), undefined);
        const flipped = bytes.slice();
        flipped[cut] = value;
        const decoded = decodeCommand(flipped);
        if (decoded !== undefined) assert.deepEqual(decodeCommand(encodeCommand(decoded)), decoded);
        const extended = new Uint8Array(bytes.length + 1);
        extended.set(bytes);
        assert.equal(decodeCommand(extended), undefined);
      }),
      { numRuns: 2_000 },
    );
  });

  test("invalid UTF-8 and unknown versions decode to undefined", () => {
    const bytes = encodeCommand({ type: "create", label: "é", atMs: 0 });
    const bad = bytes.slice();
    bad[bad.length - 1] = 0x41; // second byte of "é" replaced: the lead byte now has no continuation
    assert.equal(decodeCommand(bad), undefined);
    const future = bytes.slice();
    future[0] = 2;
    assert.equal(decodeCommand(future), undefined);
  });

  test("encodeCommandAt stamps its timestamp and leaves the command as it was", () => {
    const cmd: Command = { type: "lpush", label: "s", items: ["a"], key: "k", atMs: 5 };
    const bytes = encodeCommandAt(cmd, 1_234);
    assert.deepEqual(decodeCommand(bytes), { ...cmd, atMs: 1_234 });
    assert.equal(cmd.atMs, 5);
    assert.deepEqual(bytes, encodeCommand({ ...cmd, atMs: 1_234 }));
  });

  test("encodings share no bytes (the scratch writer is reused), also after a command larger than it", () => {
    const small: Command = { type: "lpush", label: "s", items: ["a"], atMs: 1 };
    const huge: Command = { type: "lpush", label: "s", items: ["x".repeat(100_000)], atMs: 2 };
    const first = encodeCommand(small);
    const kept = Uint8Array.from(first);
    const big = encodeCommand(huge);
    const after = encodeCommand({ ...small, items: ["b"] });
    assert.deepEqual(first, kept);
    assert.deepEqual(decodeCommand(big), huge);
    assert.deepEqual(decodeCommand(after), { ...small, items: ["b"] });
    assert.equal(first.buffer === after.buffer, false);
  });
  test("an encoding that throws half-way leaves nothing behind in the scratch writer", () => {
    const bad: Command = { type: "push", id: -1, items: ["y".repeat(100_000)], atMs: 1 };
    assert.throws(() => encodeCommand(bad), RangeError);
    const ok: Command = { type: "lpush", label: "s", items: ["a"], atMs: 2 };
    const bytes = encodeCommand(ok);
    assert.deepEqual(decodeCommand(bytes), ok);
    assert.ok(bytes.length < 64, `exact size, got ${bytes.length}`);
  });
});
