import type { StackInput, StackOutput } from "../../src/check/index.js";
import type { StackOp } from "./fixtures.js";

/** Seeded PRNG (mulberry32) so every generated history is reproducible from its seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SimOptions {
  readonly seed: number;
  readonly opsTotal: number;
  readonly clients: number;
  readonly stacks: number;
  /** Fraction of operations whose client times out: they take effect late or never. */
  readonly unknownRate: number;
  /** Fraction of unknown-outcome operations that still take effect (the rest never do). */
  readonly landedRate?: number;
  /** Fraction of operations that are size reads. */
  readonly sizeRate?: number;
}

/**
 * A correct concurrent execution: each client runs operations back to back over overlapping intervals;
 * each operation takes effect at a random instant inside its interval against real stacks.
 */
export function simulate(o: SimOptions): StackOp[] {
  const rand = mulberry32(o.seed);
  const pick = (n: number) => Math.floor(rand() * n);
  interface Planned {
    clientId: number;
    input: StackInput;
    call: number;
    ret: number;
    effect: number;
    unknown: boolean;
    output?: StackOutput;
  }
  const planned: Planned[] = [];
  const clock = Array.from({ length: o.clients }, () => rand() * 10);
  for (let n = 0; n < o.opsTotal; n++) {
    const clientId = pick(o.clients);
    const call = clock[clientId]!;
    const ret = call + 1 + rand() * 30;
    clock[clientId] = ret + rand() * 3;
    const stack = `s${pick(o.stacks)}`;
    const sizeRate = o.sizeRate ?? 0.08;
    const r = rand();
    const input: StackInput =
      r < 0.45
        ? { op: "push", stack, value: `v${n}` }
        : r < 0.8
          ? { op: "pop", stack }
          : r < 1 - sizeRate
            ? { op: "top", stack }
            : { op: "size", stack };
    const unknown = rand() < o.unknownRate;
    // A timed-out request may still land long after the client gave up, or be lost (effect Infinity).
    const effect = unknown
      ? rand() >= (o.landedRate ?? 0.5)
        ? Infinity
        : call + rand() * (ret - call) * 4
      : call + rand() * (ret - call);
    planned.push({ clientId, input, call, ret, effect, unknown });
  }
  const stacks = new Map<string, string[]>();
  for (const p of [...planned].sort((a, b) => a.effect - b.effect)) {
    if (p.effect === Infinity) break;
    const s = stacks.get(p.input.stack) ?? [];
    stacks.set(p.input.stack, s);
    switch (p.input.op) {
      case "push":
        s.push(p.input.value);
        p.output = { kind: "ok" };
        break;
      case "pop": {
        const v = s.pop();
        p.output = v === undefined ? { kind: "empty" } : { kind: "value", value: v };
        break;
      }
      case "top": {
        const v = s[s.length - 1];
        p.output = v === undefined ? { kind: "empty" } : { kind: "value", value: v };
        break;
      }
      case "size":
        p.output = { kind: "size", size: s.length };
    }
  }
  return planned.map((p) => ({
    clientId: p.clientId,
    input: p.input,
    call: p.call,
    ret: p.unknown ? Infinity : p.ret,
    output: p.unknown ? undefined : p.output,
  }));
}
