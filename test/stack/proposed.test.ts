import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  BatchEncoder,
  type Command,
  decodeCommand,
  defaultStackLimits,
  encodeBatch,
  encodeCommandAt,
  encodesExactly,
  type Outcome,
  StackMachine,
} from "../../src/stack/index.js";
import fc from "../fast-check.js";

// The leader applies the commands it proposed instead of decoding its own entry (StackMachine.applyEntry's
// `proposed`). That is safe only if every replica, decoding the bytes, computes the same outcomes and state:
// this test applies random entries both ways and fails on the first difference. Commands include what does
// not survive encoding (lone surrogates, bad numbers, unknown types, timestamps the decoder refuses).

const limits = {
  itemBytesMax: 4,
  labelBytesMax: 3,
  keyBytesMax: 3,
  pushItemsMax: 3,
  popItemsMax: 2,
  labelsPerCommandMax: 2,
  stacksMax: 4,
  itemsMax: 10,
  itemCharsMax: 100,
  sessionsMax: 3,
  sessionCharsMax: 100,
  sessionRetentionMs: 50,
  clockStepMaxMs: 20,
};

// U+FEFF first: the UTF-8 decoder drops a leading byte order mark, so such text does not decode back to itself.
const label = fc.constantFrom("a", "b", "ab", "é", "\ud800", "x\udfff", "", "abcd", "\ufeff", "a\ufeff");
const item = fc.constantFrom("x", "zz", "", "é", "€€", "\ud83d", "a\udc00b", "long!", "\ufeffx", "\ufeff");
const id = fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom(0, -1, 1.5));
const op = fc.oneof(
  fc.record({ type: fc.constant("create" as const), label }),
  fc.record({ type: fc.constant("delete" as const), id }),
  fc.record({ type: fc.constant("pop" as const), id }),
  fc.record({ type: fc.constant("push" as const), id, items: fc.array(item, { maxLength: 4 }) }),
  fc.record({ type: fc.constant("lpush" as const), label, items: fc.array(item, { maxLength: 4 }) }),
  fc.record({ type: fc.constant("lpop" as const), label }),
  fc.record({ type: fc.constant("lpop" as const), label, count: fc.constantFrom(0, 1, 2, 3, 1.5) }),
  fc.record({ type: fc.constant("del" as const), labels: fc.array(label, { maxLength: 3 }) }),
  fc.record({ type: fc.constant("bpop" as const), labels: fc.array(label, { maxLength: 3 }) }),
  fc.record({ type: fc.constant("bpopId" as const), id }),
);
const proposal = fc
  .tuple(
    op,
    fc.option(fc.constantFrom("k1", "k2", "k3", "kkkk", "", "\ud800", "\ufeff"), { nil: undefined }),
    // The command's own timestamp (ignored: the leader stamps it) and the leader's stamp.
    fc.constantFrom(0, 5, Number.NaN, -1),
    fc.oneof(fc.integer({ min: 0, max: 400 }), fc.constantFrom(-1, Number.POSITIVE_INFINITY)),
  )
  .map(([o, key, atMs, stampMs]) => ({
    cmd: (key === undefined ? { ...o, atMs } : { ...o, key, atMs }) as Command,
    stampMs,
  }));

/**
 * The entry's data as the driver builds it (BatchEncoder) and whether its strings are well-formed, or
 * undefined if a command cannot be encoded at all.
 */
function entryOf(
  proposals: readonly { cmd: Command }[],
  stampMs: number,
): { data: Uint8Array; wellFormed: boolean } | undefined {
  const encoder = new BatchEncoder();
  try {
    for (const p of proposals) encoder.add(p.cmd, stampMs, Number.POSITIVE_INFINITY);
  } catch {
    return undefined; // the driver's propose throws too: nothing reaches the log
  }
  const wellFormed = encoder.wellFormed;
  return { data: encoder.take(), wellFormed };
}

function applied(
  m: StackMachine,
  index: number,
  data: Uint8Array,
  proposed?: Parameters<StackMachine["applyEntry"]>[3],
) {
  const outcomes: Outcome[] = [];
  m.applyEntry(index, data, (o) => outcomes.push(o), proposed);
  return outcomes;
}

describe("the leader's proposed commands against its decoded entry", () => {
  test("random entries: the same outcomes and the same state, applied either way", {
    timeout: 120_000,
  }, () => {
    let used = 0;
    let wellFormedEntries = 0;
    let lossyEntries = 0;
    fc.assert(
      fc.property(
        fc.array(fc.array(proposal, { minLength: 1, maxLength: 4 }), { maxLength: 40, size: "max" }),
        (entries) => {
          const follower = new StackMachine({ limits });
          const leader = new StackMachine({ limits });
          let index = 0;
          for (const proposals of entries) {
            // The leader stamps a batch once (node/batch.ts): the first proposal's stamp for the entry.
            const stampMs = proposals[0]!.stampMs;
            const entry = entryOf(proposals, stampMs);
            if (entry === undefined) continue;
            const { data, wellFormed } = entry;
            index++;
            const proposed = {
              commands: proposals.map((p) => p.cmd),
              stampMs,
              wellFormed,
            };
            if (wellFormed) wellFormedEntries++;
            else lossyEntries++;
            const expected = applied(follower, index, data);
            assert.deepEqual(applied(leader, index, data, proposed), expected, `entry ${index}`);
            assert.deepEqual(leader.snapshot(), follower.snapshot(), `state after entry ${index}`);
            used += proposals.length;
          }
        },
      ),
      { numRuns: 400 },
    );
    assert.ok(used > 1000, `only ${used} commands applied`);
    // Both kinds of entries, as the encoder tells them apart, were applied the leader's way.
    assert.ok(wellFormedEntries > 100 && lossyEntries > 100, `${wellFormedEntries} / ${lossyEntries}`);
  });

  test("proposed commands of another count than the entry's are ignored (the bytes decide)", () => {
    const follower = new StackMachine({ limits });
    const leader = new StackMachine({ limits });
    const a: Command = { type: "lpush", label: "a", items: ["x"], atMs: 1 };
    const b: Command = { type: "lpush", label: "b", items: ["y"], atMs: 1 };
    const data = encodeBatch([encodeCommandAt(a, 1), encodeCommandAt(a, 2)]);
    const expected = applied(follower, 1, data);
    assert.deepEqual(applied(leader, 1, data, { commands: [b], stampMs: 1 }), expected);
    assert.deepEqual(leader.snapshot(), follower.snapshot());
  });

  test("text led by U+FEFF (dropped by the UTF-8 decoder) is applied as the bytes decode, not as proposed", () => {
    const follower = new StackMachine({ limits });
    const leader = new StackMachine({ limits });
    const commands: Command[] = [
      // A label that is only a byte order mark decodes to "" (label_invalid) on every other replica.
      { type: "lpush", label: "\ufeff", items: ["x"], atMs: 0 },
      { type: "lpush", label: "a", items: ["\ufeffy"], key: "\ufeffk", atMs: 0 },
    ];
    const data = encodeBatch(commands.map((c) => encodeCommandAt(c, 1)));
    const expected = applied(follower, 1, data);
    assert.deepEqual(applied(leader, 1, data, { commands, stampMs: 1 }), expected);
    assert.deepEqual(leader.snapshot(), follower.snapshot());
  });

  test("a command encodesExactly accepts decodes back to itself, stamped", () => {
    const text = fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 6 }),
      fc.string({ unit: "binary", maxLength: 6 }),
      fc.constantFrom("\ufeff", "\ufeffa", "a\ufeff", "\ufeff\ufeff", "\ud800", "é"),
    );
    const cmd = fc.oneof(
      fc.record({ type: fc.constant("create" as const), label: text }),
      fc.record({
        type: fc.constant("lpush" as const),
        label: text,
        items: fc.array(text, { maxLength: 3 }),
      }),
      fc.record({ type: fc.constant("push" as const), id: fc.integer({ min: 1 }), items: fc.array(text) }),
      fc.record({ type: fc.constant("lpop" as const), label: text, count: fc.integer({ min: 1, max: 9 }) }),
      fc.record({ type: fc.constant("del" as const), labels: fc.array(text, { maxLength: 3 }) }),
      fc.record({ type: fc.constant("bpop" as const), labels: fc.array(text, { maxLength: 3 }) }),
      fc.record({ type: fc.constant("bpopId" as const), id: fc.integer({ min: 1 }) }),
    );
    fc.assert(
      fc.property(cmd, fc.option(text, { nil: undefined }), fc.nat(), (op, key, stampMs) => {
        const c = (key === undefined ? { ...op, atMs: 0 } : { ...op, key, atMs: 0 }) as Command;
        if (!encodesExactly(c, stampMs, defaultStackLimits)) return;
        assert.deepEqual(decodeCommand(encodeCommandAt(c, stampMs)), { ...c, atMs: stampMs });
      }),
      { numRuns: 2000 },
    );
  });
});
