import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DecodeError, Reader } from "../../src/codec/index.js";
import {
  type Command,
  decodeCommand,
  encodeBatch,
  encodeCommandAt,
  type Outcome,
  type StackLimits,
  StackMachine,
  validateCommand,
} from "../../src/stack/index.js";
import fc from "../fast-check.js";

// Every replica decodes and validates each command it applies; the fast decoder (one literal per
// operation, the last label reused when its bytes repeat, validation that trusts decoded text to be
// well-formed) must decide exactly as the straightforward one below, on any bytes. A difference would
// let replicas that decoded different commands before disagree, or disagree with older builds.

/** The straightforward decoder: a Reader, spreads, a fresh string for every label. */
function referenceDecode(data: Uint8Array): Command | undefined {
  const readStrings = (r: Reader) => {
    const count = r.varint();
    const list: string[] = [];
    for (let i = 0; i < count; i++) list.push(r.str());
    return list;
  };
  try {
    const r = new Reader(data);
    if (r.u8() !== 1) return undefined;
    const op = r.u8();
    const atMs = r.f64();
    if (!(atMs >= 0 && atMs <= Number.MAX_VALUE)) return undefined;
    const hasKey = r.u8();
    if (hasKey > 1) return undefined;
    const envelope = hasKey === 1 ? { key: r.str(), atMs } : { atMs };
    let cmd: Command;
    if (op === 1) cmd = { type: "create", label: r.str(), ...envelope };
    else if (op === 2) cmd = { type: "delete", id: r.varint(), ...envelope };
    else if (op === 3) {
      const id = r.varint();
      cmd = { type: "push", id, items: readStrings(r), ...envelope };
    } else if (op === 4) cmd = { type: "pop", id: r.varint(), ...envelope };
    else if (op === 5) {
      const label = r.str();
      cmd = { type: "lpush", label, items: readStrings(r), ...envelope };
    } else if (op === 6) {
      const label = r.str();
      const hasCount = r.u8();
      if (hasCount > 1) return undefined;
      cmd =
        hasCount === 1
          ? { type: "lpop", label, count: r.varint(), ...envelope }
          : { type: "lpop", label, ...envelope };
    } else if (op === 7) cmd = { type: "del", labels: readStrings(r), ...envelope };
    else if (op === 8) cmd = { type: "bpop", labels: readStrings(r), ...envelope };
    else if (op === 9) cmd = { type: "bpopId", id: r.varint(), ...envelope };
    else return undefined;
    return r.done ? cmd : undefined;
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}

// Texts around the limits below (1..7 bytes): multi-byte characters whose UTF-8 is 2, 3 and 4 bytes per
// 1 or 2 UTF-16 units, a byte order mark, lone surrogates (encoded as U+FFFD), labels sharing lengths.
const text = fc.oneof(
  fc.constantFrom("", "a", "b", "ab", "ac", "abc", "abcd", "abcdefg", "é", "éé", "€", "€€", "€a", "😀"),
  fc.constantFrom("a😀", "\ufeff", "a\ufeff", "\ud800", "x\udfff"),
  fc.string({ unit: "binary", maxLength: 4 }),
);
const id = fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant(2 ** 40));
const op = fc.oneof(
  fc.record({ type: fc.constant("create" as const), label: text }),
  fc.record({ type: fc.constant("delete" as const), id }),
  fc.record({ type: fc.constant("pop" as const), id }),
  fc.record({ type: fc.constant("push" as const), id, items: fc.array(text, { maxLength: 4 }) }),
  fc.record({ type: fc.constant("lpush" as const), label: text, items: fc.array(text, { maxLength: 4 }) }),
  fc.record({ type: fc.constant("lpop" as const), label: text }),
  fc.record({ type: fc.constant("lpop" as const), label: text, count: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ type: fc.constant("del" as const), labels: fc.array(text, { maxLength: 3 }) }),
  fc.record({ type: fc.constant("bpop" as const), labels: fc.array(text, { maxLength: 3 }) }),
  fc.record({ type: fc.constant("bpopId" as const), id }),
);
/** Damage done to an encoded command: bytes that are not UTF-8 (a stray continuation, an encoded surrogate, a
 * truncated sequence), a flipped byte, a cut, a byte more. */
const damage = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: "none" as const }) },
  fc.record({
    kind: fc.constant("splice" as const),
    at: fc.nat(),
    bytes: fc.constantFrom(
      [0x80],
      [0xc3, 0x28],
      [0xed, 0xa0, 0x80],
      [0xe2, 0x82],
      [0xff],
      [0xef, 0xbb, 0xbf],
    ),
  }),
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
  // A byte below 0x80 in two (b | 0x80, 0): where it is a length prefix, the same length, non-canonical.
  fc.record({ kind: fc.constant("overlong" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("extend" as const), value: fc.integer({ min: 0, max: 255 }) }),
);
const commandBytes = fc
  .tuple(op, fc.option(text, { nil: undefined }), fc.integer({ min: 0, max: 300 }), damage)
  .map(([o, key, stampMs, d]) => {
    const cmd = (key === undefined ? { ...o, atMs: 0 } : { ...o, key, atMs: 0 }) as Command;
    const bytes = [...encodeCommandAt(cmd, stampMs)];
    // Same-length splices keep the length prefixes right, so the damage reaches the text decoder.
    if (d.kind === "splice") bytes.splice(d.at % bytes.length, d.bytes.length, ...d.bytes);
    if (d.kind === "flip") bytes[d.at % bytes.length] = d.value;
    if (d.kind === "cut") bytes.length = d.at % bytes.length;
    if (d.kind === "overlong" && bytes[d.at % bytes.length]! < 0x80) {
      bytes.splice(d.at % bytes.length, 1, bytes[d.at % bytes.length]! | 0x80, 0);
    }
    if (d.kind === "extend") bytes.push(d.value);
    return Uint8Array.from(bytes);
  });
const limits = fc.record({
  itemBytesMax: fc.integer({ min: 1, max: 7 }),
  labelBytesMax: fc.integer({ min: 1, max: 7 }),
  keyBytesMax: fc.integer({ min: 1, max: 7 }),
  pushItemsMax: fc.integer({ min: 1, max: 4 }),
  popItemsMax: fc.integer({ min: 1, max: 3 }),
  labelsPerCommandMax: fc.integer({ min: 1, max: 3 }),
  stacksMax: fc.constant(4),
  itemsMax: fc.constant(12),
  itemCharsMax: fc.constant(40),
  sessionsMax: fc.constant(3),
  sessionCharsMax: fc.constant(40),
  sessionRetentionMs: fc.constant(50),
  clockStepMaxMs: fc.constant(20),
}) satisfies fc.Arbitrary<StackLimits>;

/** Applies `commands` as one entry (a batch, or a single command alone) at `index`. */
function applyAsEntry(m: StackMachine, index: number, commands: readonly Uint8Array[]): Outcome[] {
  const outcomes: Outcome[] = [];
  const data = commands.length === 1 ? commands[0]! : encodeBatch(commands);
  m.applyEntry(index, data, (o) => outcomes.push(o));
  return outcomes;
}

describe("the decoder and validation against the straightforward ones", () => {
  test("random and damaged commands, in random order: the same command and the same validation", () => {
    fc.assert(
      fc.property(fc.array(commandBytes, { minLength: 1, maxLength: 30 }), limits, (list, lim) => {
        for (const bytes of list) {
          const expected = referenceDecode(bytes);
          const decoded = decodeCommand(bytes);
          assert.deepEqual(decoded, expected);
          // Also inside a larger buffer, as a batch's commands are decoded.
          const padded = Uint8Array.from([9, ...bytes, 9]);
          assert.deepEqual(decodeCommand(padded, 1, padded.length - 1), expected);
          if (decoded !== undefined) {
            assert.equal(validateCommand(decoded, lim, true), validateCommand(decoded, lim));
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  test("a repeated label is the previous label only when its bytes are equal and inside the command", () => {
    const a = encodeCommandAt({ type: "lpop", label: "ab", atMs: 0 }, 1);
    const b = encodeCommandAt({ type: "lpop", label: "ac", atMs: 0 }, 1);
    assert.equal((decodeCommand(a) as { label: string }).label, "ab");
    assert.equal((decodeCommand(b) as { label: string }).label, "ac");
    assert.equal((decodeCommand(a) as { label: string }).label, "ab");
    // The label's bytes run past the command's end: the next command's bytes must not complete it.
    assert.equal(decodeCommand(a, 0, a.length - 2), undefined);
    // Invalid UTF-8 of the same length after a valid label is refused, not taken for it.
    const bad = Uint8Array.from(a);
    bad.set([0xc3, 0x28], a.length - 3);
    assert.equal(decodeCommand(bad), undefined);
  });

  test("a remembered label with a non-canonical length prefix is not taken for other bytes of its length", () => {
    // The log holds canonical varints (the leader encodes), but decodeCommand also reads forwarded payloads
    // and must decode the same bytes to the same command whatever it decoded before. Prefix 0x83 0x00 is
    // length 3 in two bytes: remembered as [0x83, 0x00, "abc"], five bytes, as long as the canonical
    // [0x04, 0x00, "abc"] of the label "\0abc".
    const canon = encodeCommandAt({ type: "lpop", label: "abc", atMs: 0 }, 1);
    const at = canon.length - 5; // the label's length prefix (then "abc", then hasCount)
    assert.equal(canon[at], 3);
    const nonCanonical = Uint8Array.from([...canon.subarray(0, at), 0x83, 0x00, ...canon.subarray(at + 1)]);
    assert.deepEqual(decodeCommand(nonCanonical), referenceDecode(nonCanonical));
    const nul = encodeCommandAt({ type: "lpop", label: "\0abc", atMs: 0 }, 1);
    assert.equal((decodeCommand(nul) as { label: string }).label, "\0abc");
  });

  test("the remembered label bytes are a copy: bytes changed after decoding (a reused Buffer) do not alias them", () => {
    const label = (data: Uint8Array) => (decodeCommand(data) as { label: string }).label;
    assert.equal(label(encodeCommandAt({ type: "lpop", label: "other", atMs: 0 }, 1)), "other");
    const xy = Buffer.from(encodeCommandAt({ type: "lpop", label: "xy", atMs: 0 }, 1));
    assert.equal(label(xy), "xy");
    xy.set([0x78, 0x7a], xy.length - 3); // the same memory now holds "xz"
    assert.equal(label(encodeCommandAt({ type: "lpop", label: "xz", atMs: 0 }, 1)), "xz");
  });

  test("applied in batches or one command per entry, with limits at their edges: the reference's refusals, one state", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(commandBytes, { minLength: 1, maxLength: 4 }), { maxLength: 25 }),
        limits,
        (entries, lim) => {
          const batched = new StackMachine({ limits: lim });
          const single = new StackMachine({ limits: lim });
          let index = 0;
          for (const commands of entries) {
            const outcomes = applyAsEntry(batched, index + 1, commands);
            const alone = commands.flatMap((c, i) => applyAsEntry(single, index + 1 + i, [c]));
            for (let i = 1; i < commands.length; i++) batched.applyNoop(index + 1 + i);
            index += commands.length;
            assert.deepEqual(outcomes, alone);
            for (const [i, bytes] of commands.entries()) {
              const cmd = referenceDecode(bytes);
              if (cmd === undefined) assert.deepEqual(outcomes[i], { ok: false, code: "bad_command" });
              else if (cmd.key === undefined) {
                const code = validateCommand(cmd, lim);
                if (code !== undefined) assert.deepEqual(outcomes[i], { ok: false, code });
                else assert.notDeepEqual(outcomes[i], { ok: false, code: "bad_command" });
              }
            }
            assert.deepEqual(batched.snapshot(), single.snapshot());
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
