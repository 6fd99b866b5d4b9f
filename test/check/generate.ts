import type { StackInput, StackOutput } from "../../src/check/index.js";
import type { StackOp } from "./fixtures.js";

/** Ways to break a correct execution, each a classic stack violation. */
export const mutations = [
  "none",
  "lostPush",
  "duplicatePop",
  "staleTop",
  "phantom",
  "reappear",
  "wrongSize",
] as const;
export type Mutation = (typeof mutations)[number];

export interface GenOptions {
  readonly ops: number;
  readonly clients: number;
  /** Share of operations whose client never learns the outcome. */
  readonly unknownRate: number;
  /** Share of those that still take effect (late); the rest never do. */
  readonly landedRate: number;
  readonly sizeRate: number;
  readonly topRate: number;
  /** Operations last 0..durationMax time units; whole numbers make touching intervals common. */
  readonly durationMax: number;
  readonly mutation: Mutation;
}

interface Planned {
  readonly input: StackInput;
  readonly clientId: number;
  readonly call: number;
  readonly ret: number;
  readonly effect: number;
  readonly unknown: boolean;
  output: StackOutput | undefined;
  /** For pops: the value removed (undefined on an empty stack). */
  removed?: string | undefined;
}

/**
 * A concurrent execution on one stack "s" with unique pushed values: each client runs operations back to
 * back, each takes effect at a random instant of its interval (an unknown one possibly much later, or
 * never), outputs are what a real stack returned; then one mutation breaks it (or none). Whether the
 * result is linearizable is left to an oracle: a mutation does not always make it illegal.
 */
export function generate(rand: () => number, o: GenOptions): StackOp[] {
  // Some executions offer no place for the mutation (no unknown pop removed anything, say): redraw.
  for (let attempt = 1; ; attempt++) {
    const history = attemptOnce(rand, o);
    if (history !== undefined || attempt === attemptsMax)
      return history ?? attemptOnce(rand, { ...o, mutation: "none" })!;
  }
}

/** Executions drawn per history before giving up on its mutation. */
const attemptsMax = 50;

function attemptOnce(rand: () => number, o: GenOptions): StackOp[] | undefined {
  const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(rand() * xs.length)];
  const clock = Array.from({ length: o.clients }, () => Math.floor(rand() * 3));
  const planned: Planned[] = [];
  for (let i = 0; i < o.ops; i++) {
    const clientId = Math.floor(rand() * o.clients);
    const call = clock[clientId]!;
    const ret = call + Math.floor(rand() * (o.durationMax + 1));
    clock[clientId] = ret + Math.floor(rand() * 2);
    const r = rand();
    const input: StackInput =
      r < o.sizeRate
        ? { op: "size", stack: "s" }
        : r < o.sizeRate + o.topRate
          ? { op: "top", stack: "s" }
          : r < o.sizeRate + o.topRate + (1 - o.sizeRate - o.topRate) / 2
            ? { op: "push", stack: "s", value: `v${i}` }
            : { op: "pop", stack: "s" };
    const unknown = rand() < o.unknownRate;
    const effect = unknown
      ? rand() < o.landedRate
        ? call + rand() * (ret - call + 1) * 3
        : Infinity
      : call + rand() * (ret - call);
    planned.push({ input, clientId, call, ret, effect: effect + i * 1e-9, unknown, output: undefined });
  }
  const lost =
    o.mutation === "lostPush" ? pick(planned.filter((p) => p.input.op === "push" && !p.unknown)) : undefined;
  const stack: string[] = [];
  for (const p of [...planned].sort((a, b) => a.effect - b.effect)) {
    if (p.effect === Infinity) break;
    const top = stack[stack.length - 1];
    const seen: StackOutput = top === undefined ? { kind: "empty" } : { kind: "value", value: top };
    switch (p.input.op) {
      case "push":
        if (p !== lost) stack.push(p.input.value);
        p.output = { kind: "ok" };
        break;
      case "pop":
        p.removed = stack.pop();
        p.output = seen;
        break;
      case "top":
        p.output = seen;
        break;
      case "size":
        p.output = { kind: "size", size: stack.length };
    }
  }
  if (!mutate(planned, o.mutation, pick, lost !== undefined)) return undefined;
  return planned.map((p) => ({
    clientId: p.clientId,
    input: p.input,
    call: p.call,
    ret: p.unknown ? Infinity : p.ret,
    output: p.unknown ? undefined : p.output,
  }));
}

/** Applies the mutation; false when this execution offers no place for it. */
function mutate(
  planned: Planned[],
  mutation: Mutation,
  pick: <T>(xs: readonly T[]) => T | undefined,
  lostOne: boolean,
): boolean {
  const known = planned.filter((p) => !p.unknown && p.output !== undefined);
  const reads = known.filter((p) => p.input.op === "pop" || p.input.op === "top");
  const pushed = planned.flatMap((p) => (p.input.op === "push" ? [p.input.value] : []));
  const setValue = (p: Planned | undefined, value: string | undefined): boolean => {
    if (p === undefined || value === undefined) return false;
    p.output = { kind: "value", value };
    return true;
  };
  switch (mutation) {
    case "none":
      return true;
    case "lostPush":
      return lostOne;
    case "duplicatePop": {
      const popped = known.filter((p) => p.input.op === "pop" && p.output?.kind === "value");
      const a = pick(popped);
      if (a?.output?.kind !== "value") return false;
      return setValue(pick(known.filter((p) => p !== a && p.input.op === "pop")), a.output.value);
    }
    case "staleTop": {
      const r = pick(reads);
      const current = r?.output?.kind === "value" ? r.output.value : undefined;
      return setValue(r, pick(pushed.filter((v) => v !== current)));
    }
    case "phantom":
      return setValue(pick(reads), "never-pushed");
    case "reappear": {
      // An unknown pop removed x; a later read proved it gone (saw the stack empty, or a value pushed
      // before x); a read called after that one returned x again.
      const gone = planned.filter((p) => p.unknown && p.input.op === "pop" && p.removed !== undefined);
      const u = pick(gone);
      const x = u?.removed;
      if (u === undefined || x === undefined) return false;
      const pushedAt = new Map(
        planned.flatMap((p) => (p.input.op === "push" ? [[p.input.value, p.effect]] : [])),
      );
      const proofs = reads.filter((p) => {
        const out = p.output;
        if (p.effect <= u.effect || out === undefined) return false;
        return (
          out.kind === "empty" ||
          (out.kind === "value" && (pushedAt.get(out.value) ?? Infinity) < pushedAt.get(x)!)
        );
      });
      const proof = pick(proofs);
      return proof !== undefined && setValue(pick(reads.filter((p) => p.call > proof.ret)), x);
    }
    case "wrongSize": {
      const s = pick(known.filter((p) => p.output?.kind === "size"));
      if (s?.output?.kind !== "size") return false;
      s.output = { kind: "size", size: s.output.size + (s.call % 2 ? 1 : -1) };
      return true;
    }
  }
}
