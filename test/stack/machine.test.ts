import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  encodeCommand,
  errorCodes,
  httpStatusOf,
  StackMachine,
  validateCommand,
  validateItem,
  validateLabel,
} from "../../src/stack/index.js";
import { Driver } from "./helpers.js";

describe("stack machine commands", () => {
  test("create assigns ids 1, 2, 3 and the same label gives the same id", () => {
    const d = new Driver();
    assert.deepEqual(d.run({ type: "create", label: "1" }), { ok: true, kind: "created", id: 1 });
    assert.deepEqual(d.run({ type: "create", label: "b" }), { ok: true, kind: "created", id: 2 });
    assert.deepEqual(d.run({ type: "create", label: "1" }), { ok: true, kind: "created", id: 1 });
    assert.deepEqual(d.run({ type: "create", label: "c" }), { ok: true, kind: "created", id: 3 });
    assert.equal(d.machine.id("b"), 2);
    assert.equal(d.machine.id("zzz"), undefined);
  });

  test("push, top, size, pop in LIFO order; errors for empty and missing stacks", () => {
    const d = new Driver();
    d.run({ type: "create", label: "1" });
    assert.deepEqual(d.run({ type: "push", id: 1, items: ["10"] }), { ok: true, kind: "pushed", size: 1 });
    assert.deepEqual(d.run({ type: "push", id: 1, items: ["11", "12"] }), {
      ok: true,
      kind: "pushed",
      size: 3,
    });
    assert.deepEqual(d.machine.top(1), { ok: true, kind: "top", item: "12" });
    assert.deepEqual(d.machine.size(1), { ok: true, kind: "size", size: 3 });
    assert.deepEqual(d.machine.get(1), {
      ok: true,
      kind: "stack",
      id: 1,
      label: "1",
      items: ["10", "11", "12"],
    });
    assert.deepEqual(d.machine.info(1), { ok: true, kind: "info", id: 1, label: "1", size: 3 });
    for (const expected of ["12", "11", "10"]) {
      assert.deepEqual(d.run({ type: "pop", id: 1 }), { ok: true, kind: "popped", item: expected });
    }
    assert.deepEqual(d.run({ type: "pop", id: 1 }), { ok: false, code: "stack_empty" });
    assert.deepEqual(d.machine.top(1), { ok: false, code: "stack_empty" });
    assert.deepEqual(d.run({ type: "pop", id: 9 }), { ok: false, code: "stack_not_found" });
    assert.deepEqual(d.run({ type: "push", id: 9, items: ["x"] }), { ok: false, code: "stack_not_found" });
    assert.deepEqual(d.machine.top(9), { ok: false, code: "stack_not_found" });
    assert.deepEqual(d.machine.size(9), { ok: false, code: "stack_not_found" });
    assert.deepEqual(d.machine.get(9), { ok: false, code: "stack_not_found" });
    assert.deepEqual(d.machine.info(9), { ok: false, code: "stack_not_found" });
  });

  test("get returns a copy that does not alias state", () => {
    const d = new Driver();
    d.run({ type: "create", label: "a" });
    d.run({ type: "push", id: 1, items: ["x"] });
    const got = d.machine.get(1);
    assert.ok(got.ok);
    got.items.push("y");
    assert.deepEqual(d.machine.size(1), { ok: true, kind: "size", size: 1 });
  });

  test("delete removes the stack and its label; the label then gets a new id", () => {
    const d = new Driver();
    d.run({ type: "create", label: "a" });
    d.run({ type: "create", label: "b" });
    d.run({ type: "push", id: 1, items: ["x", "y"] });
    assert.equal(d.machine.itemCount, 2);
    assert.deepEqual(d.run({ type: "delete", id: 1 }), { ok: true, kind: "deleted", id: 1 });
    assert.equal(d.machine.itemCount, 0);
    assert.deepEqual(d.run({ type: "delete", id: 1 }), { ok: false, code: "stack_not_found" });
    assert.equal(d.machine.id("a"), undefined);
    assert.deepEqual(d.machine.list(), [{ id: 2, label: "b", size: 0 }]);
    assert.deepEqual(d.run({ type: "create", label: "a" }), { ok: true, kind: "created", id: 3 });
    assert.deepEqual(d.machine.list(), [
      { id: 2, label: "b", size: 0 },
      { id: 3, label: "a", size: 0 },
    ]);
  });

  test("limits give error outcomes on apply, and push is all-or-nothing", () => {
    const limits = { itemBytesMax: 4, labelBytesMax: 3, keyBytesMax: 2, pushItemsMax: 3 };
    const d = new Driver(new StackMachine({ limits }));
    assert.deepEqual(d.run({ type: "create", label: "abcd" }), { ok: false, code: "label_too_large" });
    assert.deepEqual(d.run({ type: "create", label: "" }), { ok: false, code: "label_invalid" });
    assert.deepEqual(d.run({ type: "create", label: "é" }), { ok: true, kind: "created", id: 1 });
    assert.deepEqual(d.run({ type: "create", label: "éé" }), { ok: false, code: "label_too_large" });
    assert.deepEqual(d.run({ type: "push", id: 1, items: ["ok", "12345"] }), {
      ok: false,
      code: "item_too_large",
    });
    // "€€" is 2 UTF-16 units but 6 UTF-8 bytes.
    assert.deepEqual(d.run({ type: "push", id: 1, items: ["€€"] }), { ok: false, code: "item_too_large" });
    assert.deepEqual(d.run({ type: "push", id: 1, items: ["a", "b", "c", "d"] }), {
      ok: false,
      code: "too_many_items",
    });
    assert.deepEqual(d.run({ type: "push", id: 1, items: [] }), { ok: false, code: "bad_command" });
    assert.deepEqual(d.machine.size(1), { ok: true, kind: "size", size: 0 });
    assert.deepEqual(d.run({ type: "push", id: 1, items: ["", "abcd"] }), {
      ok: true,
      kind: "pushed",
      size: 2,
    });
    assert.deepEqual(d.run({ type: "pop", id: 1 }, { key: "abc" }), { ok: false, code: "key_invalid" });
    assert.deepEqual(d.run({ type: "pop", id: 1 }, { key: "" }), { ok: false, code: "key_invalid" });
    assert.deepEqual(d.machine.size(1), { ok: true, kind: "size", size: 2 });
    assert.equal(d.machine.sessionCount, 0);
  });

  test("capacity limits on stacks, items and item chars", () => {
    const d = new Driver(new StackMachine({ limits: { stacksMax: 2, itemsMax: 3, itemCharsMax: 10 } }));
    d.run({ type: "create", label: "a" });
    d.run({ type: "create", label: "b" });
    assert.deepEqual(d.run({ type: "create", label: "c" }), { ok: false, code: "capacity_exceeded" });
    assert.deepEqual(d.run({ type: "create", label: "a" }), { ok: true, kind: "created", id: 1 });
    assert.deepEqual(d.run({ type: "push", id: 1, items: ["1", "2", "3", "4"] }), {
      ok: false,
      code: "capacity_exceeded",
    });
    assert.deepEqual(d.run({ type: "push", id: 2, items: ["123456789", "12"] }), {
      ok: false,
      code: "capacity_exceeded",
    });
    assert.deepEqual(d.run({ type: "push", id: 2, items: ["123456789", "1"] }), {
      ok: true,
      kind: "pushed",
      size: 2,
    });
    assert.deepEqual(d.run({ type: "pop", id: 2 }), { ok: true, kind: "popped", item: "1" });
    assert.deepEqual(d.run({ type: "push", id: 1, items: ["x"] }), { ok: true, kind: "pushed", size: 1 });
    d.run({ type: "delete", id: 2 });
    assert.deepEqual(d.run({ type: "create", label: "c" }), { ok: true, kind: "created", id: 3 });
    assert.deepEqual(d.run({ type: "push", id: 3, items: ["123456789"] }), {
      ok: true,
      kind: "pushed",
      size: 1,
    });
  });

  test("apply asserts log order; skip advances past non-command entries", () => {
    const m = new StackMachine();
    const data = encodeCommand({ type: "create", label: "a", atMs: 1 });
    assert.throws(() => m.apply(2, data), /entry 2 applied after 0/);
    m.applyNoop(1);
    assert.throws(() => m.applyNoop(1), /entry 1 applied after 1/);
    assert.deepEqual(m.apply(2, data), { ok: true, kind: "created", id: 1 });
    assert.equal(m.appliedIndex, 2);
  });

  test("garbage entries give bad_command, advance the index and change nothing", () => {
    const m = new StackMachine();
    assert.deepEqual(m.apply(1, new Uint8Array()), { ok: false, code: "bad_command" });
    assert.deepEqual(m.apply(2, new Uint8Array([1, 3, 0xff])), { ok: false, code: "bad_command" });
    assert.equal(m.appliedIndex, 2);
    assert.deepEqual(m.list(), []);
  });

  test("timestamps never move the clock backwards", () => {
    const d = new Driver();
    d.run({ type: "create", label: "a" }, { atMs: 500 });
    d.run({ type: "create", label: "b" }, { atMs: 200 });
    assert.equal(d.machine.nowMs, 500);
  });
});

describe("validation helpers", () => {
  test("reject before proposing with the same codes as apply", () => {
    assert.equal(validateItem("x".repeat(64 * 1024)), undefined);
    assert.equal(validateItem("x".repeat(64 * 1024 + 1)), "item_too_large");
    assert.equal(validateItem("\ud800"), "item_invalid");
    assert.equal(validateItem("\ud83d\ude00"), undefined);
    assert.equal(validateLabel("x".repeat(257)), "label_too_large");
    assert.equal(validateLabel(""), "label_invalid");
    assert.equal(validateCommand({ type: "pop", id: 0, atMs: 1 }), "bad_command");
    assert.equal(validateCommand({ type: "pop", id: 1.5, atMs: 1 }), "bad_command");
    assert.equal(validateCommand({ type: "pop", id: 1, atMs: Number.NaN }), "bad_command");
    assert.equal(validateCommand({ type: "pop", id: 1, key: "k".repeat(129), atMs: 1 }), "key_invalid");
    assert.equal(validateCommand({ type: "push", id: 1, items: ["a", "\udc00"], atMs: 1 }), "item_invalid");
    assert.equal(validateCommand({ type: "push", id: 1, items: ["a"], key: "k", atMs: 1 }), undefined);
  });

  test("every error code maps to an HTTP status", () => {
    const expected: Record<string, number> = {
      bad_command: 400,
      stack_not_found: 404,
      stack_empty: 409,
      item_too_large: 413,
      capacity_exceeded: 507,
    };
    for (const code of errorCodes) {
      const status = httpStatusOf(code);
      assert.ok(status >= 400 && status < 600, `${code} -> ${status}`);
      if (expected[code] !== undefined) assert.equal(status, expected[code]);
    }
  });
});
