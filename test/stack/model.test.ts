import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Command,
  decodeCommand,
  encodeCommand,
  type Outcome,
  StackMachine,
} from "../../src/stack/index.js";
import fc from "../fast-check.js";

import { limits, Model } from "./model.js";

const label = fc.constantFrom("a", "b", "c", "d", "e", "ab", "abc", "é");
const id = fc.integer({ min: 1, max: 7 });
const item = fc.constantFrom("x", "y", "zz", "", "é", "long", "€");
type Step = { kind: "cmd"; cmd: Command } | { kind: "garbage"; bytes: Uint8Array } | { kind: "skip" };
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 20,
    arbitrary: fc
      .tuple(
        fc.oneof(
          fc.record({ type: fc.constant("create" as const), label }),
          fc.record({ type: fc.constant("delete" as const), id }),
          fc.record({ type: fc.constant("pop" as const), id }),
          fc.record({
            type: fc.constant("push" as const),
            id,
            items: fc.array(item, { minLength: 1, maxLength: 4 }),
          }),
          fc.record({
            type: fc.constant("lpush" as const),
            label,
            items: fc.array(item, { minLength: 0, maxLength: 4 }),
          }),
          fc.record({ type: fc.constant("lpop" as const), label }),
          fc.record({ type: fc.constant("lpop" as const), label, count: fc.integer({ min: 0, max: 3 }) }),
          fc.record({ type: fc.constant("del" as const), labels: fc.array(label, { maxLength: 3 }) }),
          fc.record({ type: fc.constant("bpop" as const), labels: fc.array(label, { maxLength: 3 }) }),
          fc.record({ type: fc.constant("bpopId" as const), id }),
        ),
        fc.option(fc.constantFrom("k1", "k2", "k3", "k4", "k5", "kkk"), { nil: undefined }),
        fc.integer({ min: -30, max: 40 }),
      )
      .map(([op, key, dt]) => ({
        kind: "cmd" as const,
        cmd: { ...op, ...(key === undefined ? {} : { key }), atMs: dt },
      })),
  },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ maxLength: 12 }).map((bytes) => ({ kind: "garbage" as const, bytes })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "skip" as const }) },
);

describe("stack machine against a model", () => {
  test("random command sequences give the model's outcomes and reads", { timeout: 120_000 }, () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120, size: "max" }), (steps) => {
        const m = new StackMachine({ limits });
        const model = new Model();
        let clock = 1_000;
        for (const [i, s] of steps.entries()) {
          const index = i + 1;
          if (s.kind === "skip") {
            m.applyNoop(index);
            continue;
          }
          if (s.kind === "garbage") {
            // Random bytes rarely form a valid command; when they do the model must see it too.
            const decoded = decodeCommand(s.bytes);
            const expected: Outcome = decoded
              ? model.apply(decoded, s.bytes)
              : { ok: false, code: "bad_command" };
            assert.deepEqual(m.apply(index, s.bytes), expected);
            continue;
          }
          // Steps carry a time delta so time mostly advances but sometimes runs backwards (leader change).
          clock += s.cmd.atMs;
          const cmd = { ...s.cmd, atMs: Math.max(0, clock) };
          const data = encodeCommand(cmd);
          assert.deepEqual(m.apply(index, data), model.apply(cmd, data), `step ${index}`);
          assert.deepEqual(
            m.list(),
            model.stacks.map((st) => ({ id: st.id, label: st.label, size: st.items.length })),
          );
          for (const st of model.stacks) {
            const items = st.items;
            assert.deepEqual(
              m.top(st.id),
              items.length
                ? { ok: true, kind: "top", item: items.at(-1) }
                : { ok: false, code: "stack_empty" },
            );
            assert.equal(m.id(st.label), st.id);
            assert.equal(m.sizeOf(st.label), items.length);
            assert.deepEqual(m.range(st.label, 0, -1), [...items].reverse());
            assert.deepEqual(
              m.range(st.label, -2, 1),
              [...items].reverse().slice(Math.max(0, items.length - 2), 2),
            );
            assert.equal(m.at(st.label, 0), items.at(-1));
            assert.equal(m.at(st.label, -1), items[0]);
          }
          assert.equal(m.sessionCount, model.sessions.length);
        }
        assert.equal(m.appliedIndex, steps.length);
      }),
      { numRuns: 400 },
    );
  });
});
