import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type CheckResult,
  checkHistory,
  type StackInput,
  type StackOutput,
  stackModel,
} from "../../src/check/index.js";
import type { StackOp } from "./fixtures.js";
import { type GenOptions, generate } from "./generate.js";
import { mulberry32 } from "./simulate.js";

/**
 * The hot case of issue 16: 100,000 operations by 16 clients on one stack, each lasting a random time
 * (so ~16 are in flight at once), 1% with unknown outcome. Prints the time to decide; asserts verdicts
 * only. The illegal variants are built so that they are illegal for certain (no oracle scales to this).
 */
const hot: GenOptions = {
  ops: 100_000,
  clients: 16,
  unknownRate: 0.01,
  landedRate: 0.5,
  sizeRate: 0,
  topRate: 0.2,
  durationMax: 30,
  mutation: "none",
};

function timed(label: string, history: readonly StackOp[]): CheckResult<StackInput, StackOutput> {
  const start = performance.now();
  const r = checkHistory(stackModel, history);
  const detail = r.result === "unknown" ? ` (${r.reason})` : "";
  console.log(`${label}: ${r.result}${detail} in ${(performance.now() - start).toFixed(0)} ms`);
  return r;
}

const valueOf = (op: StackOp): string | undefined =>
  op.output?.kind === "value" ? op.output.value : undefined;
const isRead = (op: StackOp) => op.input.op !== "push" && valueOf(op) !== undefined;

describe("hot stack: 100,000 ops, 16 clients, one stack", { timeout: 300_000 }, () => {
  const base = generate(mulberry32(16), hot);

  test("legal, 1% unknown outcomes: ok", () => {
    const r = timed("legal", base);
    assert.equal(r.result, "ok");
  });

  test("stale read (a value read after its pop returned): illegal", () => {
    const history = [...base];
    const pop = history.findIndex((op, i) => i > 50_000 && op.input.op === "pop" && isRead(op));
    const popped = history[pop]!;
    const read = history.findIndex((op) => isRead(op) && op.call > popped.ret + 100);
    history[read] = { ...history[read]!, output: popped.output };
    const r = timed("stale read", history);
    assert.equal(r.result, "illegal");
    if (r.result === "illegal") assert.ok(r.stuck.includes(history[read]!), r.explanation.slice(0, 3000));
  });

  test("duplicate pop: illegal", () => {
    const history = [...base];
    const pops = history.flatMap((op, i) => (op.input.op === "pop" && isRead(op) ? [i] : []));
    const [first, again] = [pops[Math.floor(pops.length / 2)]!, pops[Math.floor((pops.length * 3) / 4)]!];
    history[again] = { ...history[again]!, output: history[first]!.output };
    assert.equal(timed("duplicate pop", history).result, "illegal");
  });

  test("lost push (acknowledged, never applied; no unknown outcomes to explain it): illegal", () => {
    const history = generate(mulberry32(17), { ...hot, unknownRate: 0, mutation: "lostPush" });
    assert.equal(timed("lost push", history).result, "illegal");
  });

  test("value reappears after an unknown pop removed it: illegal", () => {
    // x: a value no known pop returned, surely pushed after y; a read after x's push saw y (so x was
    // gone); a read called after that one returns x again.
    const history = [...base];
    const pushes = new Map(history.flatMap((op) => (op.input.op === "push" ? [[op.input.value, op]] : [])));
    const popped = new Set(history.flatMap((op) => (op.input.op === "pop" ? [valueOf(op)] : [])));
    let found: { proof: StackOp; x: string } | undefined;
    for (const proof of history.slice(60_000)) {
      const y = pushes.get(valueOf(proof) ?? "");
      if (y === undefined || y.output === undefined) continue;
      const x = [...pushes.values()].find(
        (p) =>
          p.output !== undefined &&
          p.input.op === "push" &&
          !popped.has(p.input.value) &&
          p.call > y.ret &&
          p.ret < proof.call &&
          !history.some((o) => valueOf(o) === (p.input as { value: string }).value),
      );
      if (x !== undefined && x.input.op === "push") {
        found = { proof, x: x.input.value };
        break;
      }
    }
    assert.ok(found !== undefined, "no place for the mutation");
    const { proof, x } = found;
    const read = history.findIndex((op) => isRead(op) && op.call > proof.ret);
    history[read] = { ...history[read]!, output: { kind: "value", value: x } };
    assert.equal(timed("reappearing value", history).result, "illegal");
  });

  test("with 8% size reads: never a wrong verdict (prints whether it was decided)", () => {
    const history = generate(mulberry32(18), { ...hot, sizeRate: 0.08 });
    assert.notEqual(timed("legal with size reads, one stack", history).result, "illegal");
    // The same load over 4 stacks: 4 independent executions of 4 clients each.
    const spread = [0, 1, 2, 3].flatMap((k) =>
      generate(mulberry32(19 + k), { ...hot, ops: hot.ops / 4, clients: 4, sizeRate: 0.08 }).map((op) => ({
        ...op,
        clientId: op.clientId + 4 * k,
        input: { ...op.input, stack: `s${k}` },
      })),
    );
    assert.notEqual(timed("legal with size reads, 4 stacks", spread).result, "illegal");
  });
});
