// Each explicit check of the nemesis catches the kind of wrong it names, and the checker input is right.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkHistory, stackModel } from "../../src/check/index.js";
import { availabilityByKind, degradation } from "./availability.js";
import type { Answer, Attempt, FaultRecord, OpRecord } from "./record.js";
import { toCheckerHistory } from "./record.js";
import { explicitChecks } from "./verify.js";

let nextId = 0;
let clock = 0;

/** One operation on stack "s" over the next 10 ms, answered by one attempt unless `answer` is undefined. */
function op(f: OpRecord["f"], answer: Answer | undefined, extra: Partial<OpRecord> = {}): OpRecord {
  const id = nextId++;
  clock += 10;
  const call = clock;
  const attempt: Attempt =
    answer === undefined
      ? { node: 1, start: call, end: call + 5, result: "timeout", status: 0 }
      : { node: 1, start: call, end: call + 5, result: "answer", status: 200, answer };
  return {
    type: "op",
    id,
    process: 0,
    f,
    stack: "s",
    ...(f === "push" || f === "pop" ? { key: `k${id}` } : {}),
    phase: "run",
    call,
    ...(answer === undefined ? {} : { ret: call + 5, answer }),
    inDeadline: answer !== undefined,
    attempts: [attempt],
    ...extra,
  };
}

const ok = (size: number): Answer => ({ kind: "ok", size });
const value = (v: string): Answer => ({ kind: "value", value: v });
const empty: Answer = { kind: "empty" };

function verdict(ops: OpRecord[]) {
  return checkHistory(stackModel, toCheckerHistory(ops)).result;
}

describe("nemesis explicit checks", () => {
  test("a clean drained history has zero of everything and is linearizable", () => {
    const ops = [
      op("push", ok(1), { value: "a" }),
      op("push", ok(2), { value: "b" }),
      op("top", value("b")),
      op("size", { kind: "size", size: 2 }),
      op("pop", value("b")),
      op("pop", value("a")),
      op("pop", empty),
    ];
    const f = explicitChecks(ops, true);
    assert.deepEqual(f.counts, {
      lostWrites: 0,
      duplicatePops: 0,
      phantomValues: 0,
      duplicateApplies: 0,
      unexpectedAnswers: 0,
    });
    assert.equal(verdict(ops), "ok");
  });

  test("an acknowledged push never popped is lost; not before the drain; not if an unknown pop took it", () => {
    const lost = [op("push", ok(1), { value: "a" }), op("pop", empty)];
    assert.equal(explicitChecks(lost, true).counts.lostWrites, 1);
    assert.match(explicitChecks(lost, true).examples.lostWrites[0] ?? "", /"a".*never popped/);
    assert.equal(explicitChecks(lost, false).counts.lostWrites, 0);
    assert.equal(verdict(lost), "illegal");
    const excused = [op("push", ok(1), { value: "a" }), op("pop", undefined), op("pop", empty)];
    const f = explicitChecks(excused, true);
    assert.equal(f.counts.lostWrites, 0);
    assert.equal(f.lostExcusedByUnknownPops, 1);
    assert.equal(verdict(excused), "ok");
  });

  test("a value popped twice", () => {
    const ops = [op("push", ok(1), { value: "a" }), op("pop", value("a")), op("pop", value("a"))];
    assert.equal(explicitChecks(ops, true).counts.duplicatePops, 1);
    assert.equal(verdict(ops), "illegal");
  });

  test("phantom values: never pushed, pushed elsewhere, or pushed by a request that never arrived", () => {
    const never = [op("pop", value("zz"))];
    assert.equal(explicitChecks(never, false).counts.phantomValues, 1);
    const elsewhere = [op("push", ok(1), { value: "a", stack: "t" }), op("top", value("a"))];
    assert.equal(explicitChecks(elsewhere, false).counts.phantomValues, 1);
    const refused: OpRecord = {
      ...op("push", undefined, { value: "b" }),
      notApplied: true,
      attempts: [{ node: 2, start: 0, end: 1, result: "refused", status: 0 }],
    };
    const fromRefused = [refused, op("pop", value("b"))];
    assert.equal(explicitChecks(fromRefused, false).counts.phantomValues, 1);
    assert.equal(verdict(fromRefused), "illegal");
  });

  test("a key whose answers disagree was applied twice; equal answers are fine", () => {
    const twice = op("push", ok(1), { value: "a" });
    twice.attempts.push({
      node: 2,
      start: 50,
      end: 51,
      result: "answer",
      status: 200,
      answer: ok(2),
      echo: true,
    });
    const f = explicitChecks([twice], false);
    assert.equal(f.counts.duplicateApplies, 1);
    assert.equal(f.echoesAnswered, 1);
    assert.match(f.examples.duplicateApplies[0] ?? "", /answered .*"size":1.* then .*"size":2/);
    const once = op("pop", value("a"));
    once.attempts.unshift({
      node: 3,
      start: once.call,
      end: once.call + 1,
      result: "retryable",
      status: 503,
    });
    once.attempts.push({
      node: 2,
      start: 80,
      end: 81,
      result: "answer",
      status: 200,
      answer: value("a"),
      echo: true,
    });
    const g = explicitChecks([op("push", ok(1), { value: "a" }), once], false);
    assert.equal(g.counts.duplicateApplies, 0);
    assert.equal(g.retriedKeys, 1);
  });

  test("an answer the API never gives is counted", () => {
    const ops = [op("push", { kind: "error", status: 500, code: "internal" }, { value: "a" })];
    assert.equal(explicitChecks(ops, false).counts.unexpectedAnswers, 1);
  });

  test("checker input: refused operations left out, unknown ones open forever", () => {
    const unknown = op("push", undefined, { value: "u" });
    const refused: OpRecord = { ...op("pop", undefined), notApplied: true };
    const h = toCheckerHistory([unknown, refused, op("pop", empty)]);
    assert.equal(h.length, 2);
    assert.equal(h[0]?.ret, Infinity);
    assert.equal(h[0]?.output, undefined);
    assert.deepEqual(h[1]?.output, { kind: "empty" });
  });
});

describe("nemesis availability", () => {
  const fault = (kind: string, start: number, end: number, quorum: FaultRecord["quorum"], nodes: number[]) =>
    ({ type: "fault", id: 0, kind, start, end, quorum, nodes, steps: [] }) satisfies FaultRecord;

  test("operations count against the fault active when they started", () => {
    clock = 0;
    const ops = [
      op("push", ok(1), { value: "a" }),
      op("push", undefined, { value: "b" }),
      op("top", value("a")),
    ];
    const a = availabilityByKind(ops, [fault("kill-one", 15, 25, "kept", [1])]);
    assert.equal(a["kill-one"]?.ops, 1);
    assert.equal(a["kill-one"]?.share, 0);
    assert.equal(a["none"]?.ops, 2);
    assert.equal(a["none"]?.share, 1);
    assert.deepEqual([a["kill-one"]?.attempts, a["kill-one"]?.attemptsAnswered], [1, 0]);
    assert.equal(degradation(ops, [fault("kill-one", 15, 25, "kept", [1])], 1000).minorityWriteShare, 0);
  });

  test("majority loss: 503s from live nodes within the request timeout; killed nodes do not count", () => {
    const slow = op("pop", undefined);
    slow.attempts.splice(0, 1, { node: 2, start: 100, end: 1400, result: "retryable", status: 503 });
    const fast = op("pop", undefined);
    fast.attempts.splice(0, 1, { node: 3, start: 100, end: 130, result: "retryable", status: 503 });
    const dead = op("pop", undefined);
    dead.attempts.splice(0, 1, { node: 1, start: 100, end: 101, result: "broken", status: 0 });
    const starting = op("pop", undefined);
    starting.attempts.splice(0, 1, { node: 2, start: 300, end: 301, result: "refused", status: 0 });
    const all = [slow, fast, dead, starting];
    const m = degradation(all, [fault("majority-down", 0, 2000, "lost", [1])], 1000).majority;
    assert.equal(m.attempts, 2);
    assert.equal(m.answered503, 2);
    assert.equal(m.answered503InTimeout, 1);
    assert.equal(m.maxMs, 1300);
  });
});
