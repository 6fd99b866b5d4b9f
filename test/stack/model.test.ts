import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  type Command,
  decodeCommand,
  encodeCommand,
  type Outcome,
  StackMachine,
} from "../../src/stack/index.js";

const limits = {
  itemBytesMax: 3,
  labelBytesMax: 2,
  keyBytesMax: 2,
  pushItemsMax: 3,
  popItemsMax: 2,
  labelsPerCommandMax: 2,
  stacksMax: 4,
  itemsMax: 8,
  itemCharsMax: 100,
  sessionsMax: 3,
  sessionCharsMax: 100,
  sessionRetentionMs: 50,
  clockStepMaxMs: 20,
};
const utf8 = new TextEncoder();

/** The obvious, slow implementation the machine must agree with. */
class Model {
  stacks: { id: number; label: string; items: string[] }[] = [];
  nextId = 1;
  now = 0;
  latestStamp = 0;
  sessions: { key: string; atMs: number; command: string; outcome: Outcome }[] = [];

  /** `data` is the encoded command: the same command is the same bytes apart from the timestamp. */
  apply(cmd: Command, data: Uint8Array): Outcome {
    if (cmd.atMs > this.latestStamp) {
      this.now += Math.min(cmd.atMs - this.latestStamp, limits.clockStepMaxMs);
      this.latestStamp = cmd.atMs;
    }
    this.sessions = this.sessions.filter((s) => this.now - s.atMs < limits.sessionRetentionMs);
    if (cmd.key === undefined) return this.execute(cmd);
    if (cmd.key === "" || utf8.encode(cmd.key).length > limits.keyBytesMax)
      return { ok: false, code: "key_invalid" };
    const command = [...data.subarray(0, 2), ...data.subarray(10)].join(",");
    const known = this.sessions.find((s) => s.key === cmd.key);
    if (known)
      return known.command === command ? known.outcome : { ok: false, code: "idempotency_key_reused" };
    const popped = (o: Outcome) => (o.ok && o.kind === "popped" ? o.item.length : 0);
    const top = cmd.type === "pop" ? this.stacks.find((s) => s.id === cmd.id)?.items.at(-1) : undefined;
    const chars = this.sessions.reduce((n, s) => n + s.key.length + popped(s.outcome), 0);
    if (
      this.sessions.length >= limits.sessionsMax ||
      chars + cmd.key.length + (top?.length ?? 0) > limits.sessionCharsMax
    ) {
      return { ok: false, code: "idempotency_keys_full" };
    }
    const outcome = this.execute(cmd);
    // A blocking pop that found nothing is not remembered: its waiter retries under the same key.
    if ((cmd.type === "bpop" || cmd.type === "bpopId") && !outcome.ok && outcome.code === "stack_empty")
      return outcome;
    this.sessions.push({ key: cmd.key, atMs: this.now, command, outcome });
    return outcome;
  }

  execute(cmd: Command): Outcome {
    if ("id" in cmd && !(Number.isSafeInteger(cmd.id) && cmd.id > 0))
      return { ok: false, code: "bad_command" };
    const stack = "id" in cmd ? this.stacks.find((s) => s.id === cmd.id) : undefined;
    switch (cmd.type) {
      case "create": {
        if (cmd.label === "") return { ok: false, code: "label_invalid" };
        if (utf8.encode(cmd.label).length > limits.labelBytesMax)
          return { ok: false, code: "label_too_large" };
        const existing = this.stacks.find((s) => s.label === cmd.label);
        if (existing) return { ok: true, kind: "created", id: existing.id };
        if (this.stacks.length >= limits.stacksMax) return { ok: false, code: "capacity_exceeded" };
        this.stacks.push({ id: this.nextId, label: cmd.label, items: [] });
        return { ok: true, kind: "created", id: this.nextId++ };
      }
      case "delete":
        if (!stack) return { ok: false, code: "stack_not_found" };
        this.stacks = this.stacks.filter((s) => s !== stack);
        return { ok: true, kind: "deleted", id: cmd.id };
      case "push": {
        if (cmd.items.length === 0) return { ok: false, code: "bad_command" };
        if (cmd.items.length > limits.pushItemsMax) return { ok: false, code: "too_many_items" };
        if (cmd.items.some((i) => utf8.encode(i).length > limits.itemBytesMax)) {
          return { ok: false, code: "item_too_large" };
        }
        if (!stack) return { ok: false, code: "stack_not_found" };
        const total = this.stacks.reduce((n, s) => n + s.items.length, 0);
        if (total + cmd.items.length > limits.itemsMax) return { ok: false, code: "capacity_exceeded" };
        stack.items.push(...cmd.items);
        return { ok: true, kind: "pushed", size: stack.items.length };
      }
      case "pop":
      case "bpopId": {
        if (!stack) return { ok: false, code: "stack_not_found" };
        const item = stack.items.pop();
        return item === undefined ? { ok: false, code: "stack_empty" } : { ok: true, kind: "popped", item };
      }
      case "lpush": {
        const bad = labelError(cmd.label) ?? itemsError(cmd.items);
        if (bad) return { ok: false, code: bad };
        let target = this.stacks.find((s) => s.label === cmd.label);
        const total = this.stacks.reduce((n, s) => n + s.items.length, 0);
        if (total + cmd.items.length > limits.itemsMax) return { ok: false, code: "capacity_exceeded" };
        if (!target) {
          if (this.stacks.length >= limits.stacksMax) return { ok: false, code: "capacity_exceeded" };
          target = { id: this.nextId++, label: cmd.label, items: [] };
          this.stacks.push(target);
        }
        target.items.push(...cmd.items);
        return { ok: true, kind: "pushed", size: target.items.length };
      }
      case "lpop": {
        if (cmd.count !== undefined && cmd.count < 1) return { ok: false, code: "bad_command" };
        if (cmd.count !== undefined && cmd.count > limits.popItemsMax)
          return { ok: false, code: "too_many_items" };
        const bad = labelError(cmd.label);
        if (bad) return { ok: false, code: bad };
        const target = this.stacks.find((s) => s.label === cmd.label);
        if (!target) return { ok: false, code: "stack_not_found" };
        if (target.items.length === 0) return { ok: false, code: "stack_empty" };
        if (cmd.count === undefined) return { ok: true, kind: "popped", item: target.items.pop() as string };
        const items = target.items.splice(-cmd.count).reverse();
        return { ok: true, kind: "poppedItems", items };
      }
      case "del":
      case "bpop": {
        if (cmd.labels.length === 0) return { ok: false, code: "bad_command" };
        if (cmd.labels.length > limits.labelsPerCommandMax) return { ok: false, code: "too_many_items" };
        for (const l of cmd.labels) {
          const bad = labelError(l);
          if (bad) return { ok: false, code: bad };
        }
        if (cmd.type === "del") {
          const before = this.stacks.length;
          this.stacks = this.stacks.filter((s) => !cmd.labels.includes(s.label));
          return { ok: true, kind: "deletedCount", count: before - this.stacks.length };
        }
        for (const l of cmd.labels) {
          const target = this.stacks.find((s) => s.label === l && s.items.length > 0);
          if (target) return { ok: true, kind: "poppedFrom", label: l, item: target.items.pop() as string };
        }
        return { ok: false, code: "stack_empty" };
      }
    }
  }
}

function labelError(l: string): "label_invalid" | "label_too_large" | undefined {
  if (l === "") return "label_invalid";
  return utf8.encode(l).length > limits.labelBytesMax ? "label_too_large" : undefined;
}

function itemsError(
  items: readonly string[],
): "bad_command" | "too_many_items" | "item_too_large" | undefined {
  if (items.length === 0) return "bad_command";
  if (items.length > limits.pushItemsMax) return "too_many_items";
  return items.some((i) => utf8.encode(i).length > limits.itemBytesMax) ? "item_too_large" : undefined;
}

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
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
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
