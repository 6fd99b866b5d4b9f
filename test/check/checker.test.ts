import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  checkHistory,
  describeHistory,
  HistoryRecorder,
  type Model,
  type StackInput,
  type StackOutput,
  stackModel,
} from "../../src/check/index.js";
import {
  done,
  empty,
  illegal,
  linearizable,
  lost,
  ok,
  pop,
  push,
  type StackOp,
  top,
  val,
} from "./fixtures.js";

describe("checkHistory on fixtures", { timeout: 10_000 }, () => {
  for (const f of linearizable) {
    test(`ok: ${f.name}`, () => {
      const r = checkHistory(stackModel, f.history);
      assert.equal(r.result, "ok", r.result === "illegal" ? r.explanation : "");
    });
  }
  for (const f of illegal) {
    test(`illegal: ${f.name}`, () => {
      const r = checkHistory(stackModel, f.history);
      assert.equal(r.result, "illegal");
      if (r.result !== "illegal") return;
      assert.deepEqual(
        r.stuck,
        f.stuck.map((i) => f.history[i]),
      );
      for (const i of f.stuck) assert.match(r.explanation, new RegExp(`#${i} c`));
      assert.match(r.explanation, /longest linearizable prefix/);
    });
  }
});

describe("illegal report", { timeout: 10_000 }, () => {
  test("reports the smallest failing partition with its prefix and stuck ops", () => {
    const history: StackOp[] = [
      done(1, 0, 1, push("a", "big"), ok),
      done(1, 2, 3, push("b", "big"), ok),
      done(1, 4, 5, pop("big"), val("b")),
      done(1, 6, 7, pop("big"), val("b")),
      done(2, 0, 1, push("x", "fine"), ok),
      done(2, 2, 3, pop("fine"), val("x")),
      done(3, 0, 1, push("y", "small"), ok),
      done(3, 2, 3, top("small"), empty),
    ];
    const r = checkHistory(stackModel, history);
    assert.equal(r.result, "illegal");
    if (r.result !== "illegal") return;
    assert.deepEqual(r.partition, [history[6], history[7]]);
    assert.deepEqual(r.linearized, [history[6]]);
    assert.deepEqual(r.stuck, [history[7]]);
    assert.match(r.explanation, /#7 c3 \[2, 3\] top\(small\) -> empty/);
    assert.match(r.explanation, /state after prefix: \["y"\]/);
    assert.match(r.explanation, /output not allowed in this state/);
  });

  test("describeHistory prints times, client, input and output sorted by call", () => {
    const text = describeHistory([done(2, 5, 6, pop(), val("x")), lost(1, 0, push("x"))], {
      describe: stackModel.describeOperation!,
    });
    assert.equal(text, '#1 c1 [0, ?] push(s, "x") -> ? (unknown)\n#0 c2 [5, 6] pop(s) -> "x"');
  });
});

describe("search budget", { timeout: 10_000 }, () => {
  // Many concurrent pushes read back in an impossible order: the search must explore many subsets.
  // Values repeat, so the fast decision for unique values does not apply and the search runs.
  const hard: StackOp[] = [];
  for (let i = 0; i < 8; i++) hard.push(done(i, 0, 100, push(`v${i % 4}`), ok));
  for (let i = 0; i < 9; i++) hard.push(done(0, 200 + 2 * i, 201 + 2 * i, pop(), val(`v${i % 4}`)));

  test("the fast decision leaves repeated values to the search", () => {
    assert.equal(stackModel.decide!(hard, () => "").kind, "undecided");
  });

  test("exhausted step budget gives unknown, not a verdict", () => {
    const r = checkHistory(stackModel, hard, { stepsMax: 50 });
    assert.equal(r.result, "unknown");
    assert.equal(r.steps, 51);
  });

  test("exhausted time budget gives unknown (clock supplied by the caller)", () => {
    let t = 0;
    const r = checkHistory(stackModel, hard, { timeMsMax: 5, now: () => (t += 1) });
    assert.equal(r.result, "unknown");
    if (r.result === "unknown") assert.match(r.reason, /timeMsMax/);
  });

  test("with enough budget the same history is illegal", () => {
    const r = checkHistory(stackModel, hard, { stepsMax: 10_000_000 });
    assert.equal(r.result, "illegal");
    assert.ok(r.steps > 50, `needed ${r.steps} steps`);
  });
});

describe("generic model", { timeout: 10_000 }, () => {
  // A register proves the checker is not tied to stacks: write(v) / read() -> v.
  type RegIn = { w: number } | { r: true };
  const register: Model<number, RegIn, number> = {
    init: () => 0,
    step: (s, i, o) => ("w" in i ? { ok: true, state: i.w } : { ok: o === undefined || o === s, state: s }),
    equal: (a, b) => a === b,
    hash: (s) => s | 0,
  };
  const op = (c: number, call: number, ret: number, input: RegIn, output: number) => ({
    clientId: c,
    input,
    call,
    ret,
    output,
  });

  test("register: concurrent write may be seen by one read and not by an earlier one", () => {
    const h = [op(1, 0, 10, { w: 1 }, 0), op(2, 1, 2, { r: true }, 0), op(2, 3, 4, { r: true }, 1)];
    assert.equal(checkHistory(register, h).result, "ok");
  });

  test("register: a read cannot go back in time", () => {
    const h = [op(1, 0, 10, { w: 1 }, 0), op(2, 1, 2, { r: true }, 1), op(2, 3, 4, { r: true }, 0)];
    assert.equal(checkHistory(register, h).result, "illegal");
  });
});

describe("HistoryRecorder", { timeout: 10_000 }, () => {
  test("records completed, unknown and still-open operations", () => {
    const rec = new HistoryRecorder<StackInput, StackOutput>();
    const a = rec.call(1, push("x"), 0);
    const b = rec.call(2, pop(), 1);
    const c = rec.call(3, push("y"), 2);
    rec.ret(a, ok, 3);
    rec.unknown(b);
    rec.call(1, top(), 4);
    const h = rec.history();
    assert.equal(h.length, 4);
    assert.deepEqual(h[0], { clientId: 1, input: push("x"), call: 0, ret: 3, output: ok });
    assert.equal(h[1]?.output, undefined);
    assert.equal(h[1]?.ret, Infinity);
    assert.equal(h[3]?.ret, Infinity);
    assert.throws(() => rec.ret(a, ok, 5), /already completed/);
    assert.throws(() => rec.ret(c, ok, 1), /before call/);
    assert.equal(checkHistory(stackModel, h).result, "ok");
  });

  test("enforces opsMax", () => {
    const rec = new HistoryRecorder<StackInput, StackOutput>(1);
    rec.call(1, pop(), 0);
    assert.throws(() => rec.call(1, pop(), 1), /opsMax/);
  });

  test("checkHistory rejects a return before its call", () => {
    assert.throws(() => checkHistory(stackModel, [done(1, 5, 4, pop(), empty)]), RangeError);
  });
});
