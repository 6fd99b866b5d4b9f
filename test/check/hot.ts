import type { StackOp } from "./fixtures.js";
import { type GenOptions, generate } from "./generate.js";
import { mulberry32 } from "./simulate.js";

/**
 * The hot case of issue 16: 100,000 operations by 16 clients on one stack, each lasting a random time
 * (so ~16 are in flight at once), 1% with unknown outcome; and variants made illegal for certain (no
 * oracle scales to this size, so each is built so that a short argument proves it).
 */
export const hot: GenOptions = {
  ops: 100_000,
  clients: 16,
  unknownRate: 0.01,
  landedRate: 0.5,
  sizeRate: 0,
  topRate: 0.2,
  durationMax: 30,
  mutation: "none",
};

const returned = (op: StackOp): string | undefined =>
  op.output?.kind === "value" ? op.output.value : undefined;
const isRead = (op: StackOp) => op.input.op !== "push" && returned(op) !== undefined;

export function legal(): StackOp[] {
  return generate(mulberry32(16), hot);
}

/** A read returns a value whose (known) pop returned before the read was called. */
export function staleRead(base: readonly StackOp[]): { history: StackOp[]; read: number } {
  const history = [...base];
  const pop = history.findIndex((op, i) => i > 50_000 && op.input.op === "pop" && isRead(op));
  const popped = history[pop]!;
  const read = history.findIndex((op) => isRead(op) && op.call > popped.ret + 100);
  history[read] = { ...history[read]!, output: popped.output };
  return { history, read };
}

/** A pop returns the value another pop already returned. */
export function duplicatePop(base: readonly StackOp[]): StackOp[] {
  const history = [...base];
  const pops = history.flatMap((op, i) => (op.input.op === "pop" && isRead(op) ? [i] : []));
  const [first, again] = [pops[Math.floor(pops.length / 2)]!, pops[Math.floor((pops.length * 3) / 4)]!];
  history[again] = { ...history[again]!, output: history[first]!.output };
  return history;
}

/** An acknowledged push never applied, with no unknown outcomes that could explain it away. */
export function lostPush(): StackOp[] {
  return generate(mulberry32(17), { ...hot, unknownRate: 0, mutation: "lostPush" });
}

/**
 * x, a value no known pop returned, surely pushed after y; a read after x's push saw y (so x was gone,
 * only an unknown pop could have taken it); a read called after that one returns x again.
 */
export function reappearing(base: readonly StackOp[]): StackOp[] {
  const history = [...base];
  const pushes = new Map(history.flatMap((op) => (op.input.op === "push" ? [[op.input.value, op]] : [])));
  const seen = new Set(history.flatMap((op) => (op.input.op === "push" ? [] : [returned(op)])));
  for (const proof of history.slice(60_000)) {
    const y = pushes.get(returned(proof) ?? "");
    if (y?.output === undefined) continue;
    const x = [...pushes].find(
      ([value, p]) => p.output !== undefined && !seen.has(value) && p.call > y.ret && p.ret < proof.call,
    );
    if (x === undefined) continue;
    const read = history.findIndex((op) => isRead(op) && op.call > proof.ret);
    history[read] = { ...history[read]!, output: { kind: "value", value: x[0] } };
    return history;
  }
  throw new Error("no place for the mutation");
}

/** The legal load with 8% size reads: on one stack, or as 4 independent stacks of 4 clients each. */
export function withSizes(stacks: 1 | 4): StackOp[] {
  if (stacks === 1) return generate(mulberry32(18), { ...hot, sizeRate: 0.08 });
  return [0, 1, 2, 3].flatMap((k) =>
    generate(mulberry32(19 + k), { ...hot, ops: hot.ops / 4, clients: 4, sizeRate: 0.08 }).map((op) => ({
      ...op,
      clientId: op.clientId + 4 * k,
      input: { ...op.input, stack: `s${k}` },
    })),
  );
}
