import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  BatchEncoder,
  batchEntryBytesMax,
  type Command,
  decodeBatch,
  encodeBatch,
  encodeCommand,
  encodeCommandAt,
  isBatch,
  type Outcome,
  StackMachine,
} from "../../src/stack/index.js";
import fc from "../fast-check.js";

const push = (label: string, item: string, key?: string): Command =>
  key === undefined
    ? { type: "lpush", label, items: [item], atMs: 1_000 }
    : { type: "lpush", label, items: [item], key, atMs: 1_000 };

/** Applies `data` at the next index and returns every command's outcome, in order. */
function applyEntry(m: StackMachine, data: Uint8Array): Outcome[] {
  const outcomes: Outcome[] = [];
  m.applyEntry(m.appliedIndex + 1, data, (outcome) => outcomes.push(outcome));
  return outcomes;
}

const batchOf = (cmds: readonly Command[]): Uint8Array => encodeBatch(cmds.map(encodeCommand));

describe("batch codec", () => {
  test("round trip: the commands come back byte for byte, as views", () => {
    const commands = [
      push("a", "x"),
      push("b", "y", "k1"),
      { type: "lpop", label: "a", atMs: 5 } as Command,
    ].map(encodeCommand);
    const data = encodeBatch(commands);
    assert.equal(isBatch(data), true);
    assert.equal(isBatch(commands[0]!), false, "a single command is not a batch");
    const decoded = decodeBatch(data);
    assert.deepEqual(
      decoded?.map((c) => [...c]),
      commands.map((c) => [...c]),
    );
    assert.equal(decoded?.[0]?.buffer, data.buffer, "no copies");
  });

  test("malformed batches give undefined: truncated, trailing bytes, empty, a count beyond the input", () => {
    const data = batchOf([push("a", "x"), push("a", "y")]);
    for (let cut = 1; cut < data.length; cut++) assert.equal(decodeBatch(data.subarray(0, cut)), undefined);
    assert.equal(decodeBatch(new Uint8Array([...data, 0])), undefined);
    assert.equal(decodeBatch(new Uint8Array([2, 0])), undefined);
    assert.equal(decodeBatch(new Uint8Array([2, 100, 1, 1])), undefined);
    assert.equal(decodeBatch(encodeCommand(push("a", "x"))), undefined);
  });

  test("a full batch at the limits stays within batchEntryBytesMax", () => {
    const limits = { commandsPerBatchMax: 300, batchBytesMax: 40_000 };
    const commandBytes = Math.floor(limits.batchBytesMax / limits.commandsPerBatchMax);
    const one = encodeCommand(push("s", "v".repeat(commandBytes - 16)));
    assert.ok(one.length <= commandBytes);
    const data = encodeBatch(new Array(limits.commandsPerBatchMax).fill(one));
    assert.ok(data.length <= batchEntryBytesMax(limits), `${data.length} > ${batchEntryBytesMax(limits)}`);
    // One command of all the bytes: its length varint is longer.
    const big = encodeBatch([new Uint8Array(limits.batchBytesMax).fill(1)]);
    assert.ok(big.length <= batchEntryBytesMax(limits));
  });
});

describe("BatchEncoder", () => {
  const command: fc.Arbitrary<Command> = fc.record(
    {
      type: fc.constant("lpush" as const),
      label: fc.string({ minLength: 1, maxLength: 20 }),
      // Up to 3 items of up to 9,000 chars: encodings past 127 and 16,383 bytes take longer length prefixes.
      items: fc.array(fc.string({ maxLength: 9_000 }), { minLength: 1, maxLength: 3 }),
      key: fc.string({ minLength: 1, maxLength: 8 }),
      atMs: fc.constant(0),
    },
    { requiredKeys: ["type", "label", "items", "atMs"] },
  );

  test("gives encodeBatch's bytes for two or more commands, the command itself for one, and is reusable", () => {
    const encoder = new BatchEncoder();
    assert.throws(() => encoder.take(), /no command/);
    fc.assert(
      fc.property(fc.array(fc.array(command, { minLength: 1, maxLength: 12 }), { maxLength: 3 }), (runs) => {
        for (const commands of runs) {
          const encoded = commands.map((c, i) => encodeCommandAt(c, 1_000 + i));
          for (const [i, c] of commands.entries()) {
            assert.equal(encoder.add(c, 1_000 + i, Infinity), encoded[i]!.length);
          }
          assert.equal(encoder.count, commands.length);
          assert.equal(
            encoder.commandBytes,
            encoded.reduce((n, c) => n + c.length, 0),
          );
          const want = encoded.length === 1 ? encoded[0]! : encodeBatch(encoded);
          assert.deepEqual([...encoder.take()], [...want]);
          assert.equal(encoder.count, 0);
          assert.equal(encoder.commandBytes, 0);
        }
      }),
      { numRuns: 100 },
    );
  });

  test("a command past commandBytesMax is refused and leaves the batch unchanged; an empty batch takes any", () => {
    const encoder = new BatchEncoder();
    const small = push("s", "x");
    const big = push("s", "y".repeat(300));
    const smallBytes = encodeCommandAt(small, 5).length;
    assert.equal(encoder.add(big, 5, 10), encodeCommandAt(big, 5).length, "alone, over the limit");
    assert.equal(encoder.add(small, 5, 10), -1);
    assert.equal(encoder.count, 1);
    assert.deepEqual([...encoder.take()], [...encodeCommandAt(big, 5)]);
    assert.equal(encoder.add(small, 5, 2 * smallBytes), smallBytes);
    assert.equal(encoder.add(big, 5, 2 * smallBytes), -1);
    assert.equal(encoder.add(small, 5, 2 * smallBytes), smallBytes);
    const encoded = encodeCommandAt(small, 5);
    assert.deepEqual([...encoder.take()], [...encodeBatch([encoded, encoded])]);
  });
});

describe("BatchEncoder: a command that cannot be encoded", () => {
  // writeCommand throws (RangeError) on an id or count that is no safe unsigned integer, after it wrote part
  // of the command. The driver's propose then throws to its caller, but the batch lives on: the bytes
  // written must be taken back, or the commands added later carry them into the log.
  const bad: Command = { type: "delete", id: -1, atMs: 0 };
  const ok = push("s", "x");

  test("in a batch: the entry is encodeBatch of the commands added", () => {
    const encoder = new BatchEncoder();
    assert.ok(encoder.add(ok, 5, Infinity) > 0);
    assert.throws(() => encoder.add(bad, 5, Infinity), RangeError);
    assert.ok(encoder.add(ok, 5, Infinity) > 0);
    assert.equal(encoder.count, 2);
    const encoded = encodeCommandAt(ok, 5);
    assert.deepEqual([...encoder.take()], [...encodeBatch([encoded, encoded])]);
  });

  test("first: the one command added is the entry, exactly", () => {
    const encoder = new BatchEncoder();
    assert.throws(() => encoder.add(bad, 5, Infinity), RangeError);
    assert.ok(encoder.add(ok, 5, Infinity) > 0);
    assert.deepEqual([...encoder.take()], [...encodeCommandAt(ok, 5)]);
  });
});

describe("stack machine: batch entries", () => {
  test("commands apply in order with an outcome each; a failing one in the middle does not stop the rest", () => {
    const m = new StackMachine();
    const outcomes = applyEntry(
      m,
      batchOf([
        push("a", "x"),
        { type: "lpop", label: "none", atMs: 1_000 },
        { type: "lpush", label: "a", items: ["y"], atMs: 1_000 },
        { type: "lpop", label: "a", atMs: 1_000 },
        { type: "lpop", label: "a", atMs: 1_000 },
        { type: "lpop", label: "a", atMs: 1_000 },
        push("a", "z"),
      ]),
    );
    assert.deepEqual(outcomes, [
      { ok: true, kind: "pushed", size: 1 },
      { ok: false, code: "stack_not_found" },
      { ok: true, kind: "pushed", size: 2 },
      { ok: true, kind: "popped", item: "y" },
      { ok: true, kind: "popped", item: "x" },
      { ok: false, code: "stack_empty" },
      { ok: true, kind: "pushed", size: 1 },
    ]);
    assert.equal(m.appliedIndex, 1, "one entry, one index");
    assert.equal(m.sizeOf("a"), 1);
  });

  test("a keyed retry inside a batch is answered from the dedup table and not applied again", () => {
    const m = new StackMachine();
    assert.deepEqual(applyEntry(m, encodeCommand(push("a", "x", "k1"))), [
      { ok: true, kind: "pushed", size: 1 },
    ]);
    const outcomes = applyEntry(m, batchOf([push("a", "y"), { ...push("a", "x", "k1"), atMs: 2_000 }]));
    assert.deepEqual(outcomes, [
      { ok: true, kind: "pushed", size: 2 },
      { ok: true, kind: "pushed", size: 1 },
    ]);
    assert.deepEqual(m.range("a", 0, -1), ["y", "x"]);
  });

  test("two commands of one batch under the same key: the copy gets the first outcome, another command is refused", () => {
    const m = new StackMachine();
    const outcomes = applyEntry(
      m,
      batchOf([push("a", "x", "k"), push("a", "x", "k"), push("a", "other", "k"), push("b", "w", "k2")]),
    );
    assert.deepEqual(outcomes, [
      { ok: true, kind: "pushed", size: 1 },
      { ok: true, kind: "pushed", size: 1 },
      { ok: false, code: "idempotency_key_reused" },
      { ok: true, kind: "pushed", size: 1 },
    ]);
    assert.deepEqual(m.range("a", 0, -1), ["x"]);
    assert.equal(m.sessionCount, 2);
  });

  test("a batch leaves the same state as its commands applied one entry each (snapshots equal but for the index)", () => {
    const cmds: Command[] = [
      push("a", "1", "k1"),
      push("b", "2"),
      { type: "lpop", label: "a", key: "k2", atMs: 1_500 },
      { type: "del", labels: ["b"], atMs: 2_000 },
      push("a", "3", "k1"),
    ];
    const batched = new StackMachine();
    const single = new StackMachine();
    const a = applyEntry(batched, batchOf(cmds));
    const b = cmds.flatMap((c) => applyEntry(single, encodeCommand(c)));
    assert.deepEqual(a, b);
    batched.applyNoop(2);
    batched.applyNoop(3);
    batched.applyNoop(4);
    batched.applyNoop(5);
    assert.deepEqual(batched.snapshot(), single.snapshot());
  });

  test("single-command entries (logs written before batches) still apply through applyEntry", () => {
    const m = new StackMachine();
    const seen: Uint8Array[] = [];
    const data = encodeCommand(push("a", "x"));
    m.applyEntry(1, data, (_outcome, bytes, start, end) => seen.push(bytes.subarray(start, end)));
    assert.deepEqual(seen, [data]);
    assert.equal(m.sizeOf("a"), 1);
  });

  test("an unreadable batch yields one bad_command and still takes its index; a batch nested in a batch is refused", () => {
    const m = new StackMachine();
    assert.deepEqual(applyEntry(m, new Uint8Array([2, 5, 1])), [{ ok: false, code: "bad_command" }]);
    assert.equal(m.appliedIndex, 1);
    const nested = encodeBatch([batchOf([push("a", "x")]), encodeCommand(push("a", "y"))]);
    assert.deepEqual(applyEntry(m, nested), [
      { ok: false, code: "bad_command" },
      { ok: true, kind: "pushed", size: 1 },
    ]);
  });
});
