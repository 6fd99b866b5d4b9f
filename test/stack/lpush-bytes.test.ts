import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Command,
  decodeCommand,
  encodeBatch,
  encodeCommandAt,
  type Outcome,
  StackMachine,
} from "../../src/stack/index.js";
import { readAsciiLpush } from "../../src/stack/lpush-bytes.js";
import fc from "../fast-check.js";
import { limits, Model } from "./model.js";

// A keyless LPUSH of ASCII items is applied from its bytes (the items copied into the store, no strings);
// every other command is decoded. Both must decide exactly as the decoding path would, on any bytes, in
// batch entries as the driver builds them, or replicas of different builds would disagree.

const label = fc.constantFrom("a", "b", "c", "ab", "abc", "é", "");
// ASCII of every length around itemBytesMax (3), and non-ASCII, which takes the decoding path.
const item = fc.constantFrom("", "x", "yy", "zzz", "long", "é", "€", "a\u0080");
const op = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant("lpush" as const),
      label,
      items: fc.array(item, { maxLength: 4 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ type: fc.constant("lpop" as const), label }) },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant("del" as const),
      labels: fc.array(label, { minLength: 1, maxLength: 2 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("create" as const), label }) },
);
const command = fc
  .tuple(
    op,
    fc.option(fc.constantFrom("k1", "k2", "k3"), { freq: 4, nil: undefined }),
    fc.integer({ min: -5, max: 30 }),
  )
  .map(([o, key, dt]) => ({ op: o, key, dt }));

describe("LPUSH applied from its bytes", () => {
  test("batch entries give the model's outcomes, stacks and a snapshot that restores to itself", {
    timeout: 120_000,
  }, () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(command, { minLength: 1, maxLength: 12 }), { maxLength: 25 }),
        (batches) => {
          const m = new StackMachine({ limits });
          const model = new Model();
          let clock = 1_000;
          for (const [b, batch] of batches.entries()) {
            const cmds: Command[] = batch.map(({ op: o, key, dt }) => {
              clock = Math.max(0, clock + dt);
              return (key === undefined ? { ...o, atMs: clock } : { ...o, key, atMs: clock }) as Command;
            });
            const encoded = cmds.map((c) => encodeCommandAt(c, c.atMs));
            const data = encoded.length === 1 ? (encoded[0] as Uint8Array) : encodeBatch(encoded);
            const got: Outcome[] = [];
            m.applyEntry(b + 1, data, (o) => got.push(o));
            const expected = cmds.map((c, i) => model.apply(c, encoded[i] as Uint8Array));
            assert.deepEqual(got, expected, `batch ${b + 1}`);
            assert.deepEqual(
              m.list(),
              model.stacks.map((st) => ({ id: st.id, label: st.label, size: st.items.length })),
            );
            for (const st of model.stacks)
              assert.deepEqual(m.range(st.label, 0, -1), [...st.items].reverse());
          }
          const snapshot = m.snapshot();
          assert.deepEqual(StackMachine.restore(snapshot, { limits }).snapshot(), snapshot);
        },
      ),
      { numRuns: 300 },
    );
  });

  test("bytes read as an ASCII LPUSH are what decodeCommand reads, on damaged input too", () => {
    const latin1 = (data: Uint8Array, from: number, to: number) =>
      String.fromCharCode(...data.subarray(from, to));
    const damage = fc.oneof(
      fc.constant({ kind: "none" as const }),
      fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
      fc.record({ kind: fc.constant("extend" as const), byte: fc.integer({ min: 0, max: 255 }) }),
    );
    fc.assert(
      fc.property(command, fc.array(damage, { maxLength: 3 }), ({ op: o, key, dt }, damages) => {
        const cmd = (key === undefined ? { ...o, atMs: dt + 5 } : { ...o, key, atMs: dt + 5 }) as Command;
        let data = encodeCommandAt(cmd, cmd.atMs);
        for (const d of damages) {
          if (d.kind === "set") data[d.at % data.length] = d.byte;
          else if (d.kind === "cut") data = data.slice(0, d.at % data.length);
          else if (d.kind === "extend") data = Uint8Array.from([...data, d.byte]);
        }
        // At an offset inside a larger buffer, as in a batch entry.
        const framed = Uint8Array.from([7, ...data, 9]);
        const fast = readAsciiLpush(framed, 1, framed.length - 1);
        const decoded = decodeCommand(data);
        const asciiLpush =
          decoded?.type === "lpush" &&
          decoded.key === undefined &&
          decoded.items.every((s) => s.split("").every((c) => c.charCodeAt(0) < 0x80));
        assert.equal(fast !== undefined, asciiLpush, "taken exactly for keyless LPUSH of ASCII items");
        if (fast === undefined || decoded?.type !== "lpush") return;
        const items = Array.from({ length: fast.count }, (_, i) =>
          latin1(framed, fast.bounds[2 * i] as number, fast.bounds[2 * i + 1] as number),
        );
        assert.deepEqual(
          { label: fast.label, atMs: fast.atMs, items },
          {
            label: decoded.label,
            atMs: decoded.atMs,
            items: decoded.items,
          },
        );
        assert.equal(fast.bytes, items.join("").length);
        assert.equal(fast.longest, Math.max(0, ...items.map((s) => s.length)));
      }),
      { numRuns: 3000 },
    );
  });
});
