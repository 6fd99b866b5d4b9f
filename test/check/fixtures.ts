import type { Operation, StackInput, StackOutput } from "../../src/check/index.js";

export type StackOp = Operation<StackInput, StackOutput>;

export const push = (value: string, stack = "s"): StackInput => ({ op: "push", stack, value });
export const pop = (stack = "s"): StackInput => ({ op: "pop", stack });
export const top = (stack = "s"): StackInput => ({ op: "top", stack });
export const size = (stack = "s"): StackInput => ({ op: "size", stack });
export const ok: StackOutput = { kind: "ok" };
export const empty: StackOutput = { kind: "empty" };
export const val = (value: string): StackOutput => ({ kind: "value", value });
export const sz = (n: number): StackOutput => ({ kind: "size", size: n });

/** A completed operation on client `c` over [call, ret]. */
export const done = (
  c: number,
  call: number,
  ret: number,
  input: StackInput,
  output: StackOutput,
): StackOp => ({
  clientId: c,
  input,
  call,
  ret,
  output,
});

/** An operation called at `call` whose outcome the client never learned. */
export const lost = (c: number, call: number, input: StackInput): StackOp => ({
  clientId: c,
  input,
  call,
  ret: Infinity,
  output: undefined,
});

export interface Fixture {
  readonly name: string;
  readonly history: readonly StackOp[];
}

export const linearizable: readonly Fixture[] = [
  { name: "empty history", history: [] },
  {
    name: "sequential push/pop/top/size",
    history: [
      done(1, 0, 1, push("a"), ok),
      done(1, 2, 3, push("b"), ok),
      done(2, 4, 5, size(), sz(2)),
      done(2, 6, 7, top(), val("b")),
      done(1, 8, 9, pop(), val("b")),
      done(1, 10, 11, pop(), val("a")),
      done(2, 12, 13, pop(), empty),
      done(2, 14, 15, top(), empty),
      done(2, 16, 17, size(), sz(0)),
    ],
  },
  {
    name: "concurrent pushes popped in the order opposite to their calls",
    history: [
      done(1, 0, 10, push("a"), ok),
      done(2, 1, 9, push("b"), ok),
      done(3, 11, 12, pop(), val("a")),
      done(3, 13, 14, pop(), val("b")),
    ],
  },
  {
    name: "pop overlapping a push may see it or not",
    history: [
      done(1, 0, 1, push("a"), ok),
      done(1, 2, 8, push("b"), ok),
      done(2, 3, 4, pop(), val("a")),
      done(2, 5, 6, pop(), empty),
      done(3, 9, 10, pop(), val("b")),
    ],
  },
  {
    name: "touching intervals count as concurrent",
    history: [done(1, 0, 5, pop(), val("x")), done(2, 5, 6, push("x"), ok)],
  },
  {
    name: "independent stacks interleave freely",
    history: [
      done(1, 0, 1, push("a", "s1"), ok),
      done(2, 0, 1, push("b", "s2"), ok),
      done(1, 2, 3, pop("s2"), val("b")),
      done(2, 2, 3, pop("s1"), val("a")),
    ],
  },
  {
    name: "unknown push observed later (it took effect)",
    history: [lost(1, 0, push("x")), done(2, 5, 6, top(), empty), done(2, 7, 8, pop(), val("x"))],
  },
  {
    name: "unknown push never observed (it never happened)",
    history: [
      lost(1, 0, push("x")),
      done(2, 1, 2, push("y"), ok),
      done(2, 3, 4, pop(), val("y")),
      done(2, 5, 6, pop(), empty),
      done(2, 7, 8, size(), sz(0)),
    ],
  },
  {
    name: "unknown pop that never happened",
    history: [
      done(1, 0, 1, push("x"), ok),
      lost(2, 2, pop()),
      done(1, 3, 4, top(), val("x")),
      done(1, 5, 6, size(), sz(1)),
    ],
  },
  {
    name: "unknown pop takes effect late, removing a value pushed after its call",
    history: [
      done(1, 0, 1, push("x"), ok),
      lost(2, 2, pop()),
      done(1, 3, 4, push("y"), ok),
      done(1, 5, 6, top(), val("x")),
      done(1, 7, 8, size(), sz(1)),
    ],
  },
  {
    name: "unknown pop takes effect between two reads",
    history: [
      done(1, 0, 1, push("x"), ok),
      done(1, 2, 3, push("y"), ok),
      lost(2, 4, pop()),
      done(1, 5, 6, top(), val("y")),
      done(1, 7, 8, top(), val("x")),
    ],
  },
  {
    name: "unknown reads constrain nothing",
    history: [
      done(1, 0, 1, push("x"), ok),
      lost(2, 0, top()),
      lost(2, 2, size()),
      done(1, 3, 4, pop(), val("x")),
    ],
  },
];

export interface IllegalFixture extends Fixture {
  /** Indices (in `history`) of operations the report must list as impossible to linearize next. */
  readonly stuck: readonly number[];
}

export const illegal: readonly IllegalFixture[] = [
  {
    name: "lost write: acknowledged push never observed",
    history: [done(1, 0, 1, push("x"), ok), done(2, 2, 3, pop(), empty)],
    stuck: [1],
  },
  {
    name: "lost write: acknowledged push missing under a later value",
    history: [
      done(1, 0, 1, push("x"), ok),
      done(1, 2, 3, push("y"), ok),
      done(2, 4, 5, pop(), val("y")),
      done(2, 6, 7, size(), sz(0)),
    ],
    stuck: [3],
  },
  {
    name: "duplicate pop: same value popped twice",
    history: [
      done(1, 0, 1, push("x"), ok),
      done(1, 2, 3, push("y"), ok),
      done(2, 4, 6, pop(), val("y")),
      done(3, 5, 7, pop(), val("y")),
    ],
    stuck: [3],
  },
  {
    name: "stale read: top returns a value overwritten before the read began",
    history: [done(1, 0, 1, push("x"), ok), done(1, 2, 3, push("y"), ok), done(2, 4, 5, top(), val("x"))],
    stuck: [2],
  },
  {
    name: "phantom value: pop returns a value never pushed",
    history: [done(1, 0, 1, push("x"), ok), done(2, 2, 3, pop(), val("z"))],
    stuck: [1],
  },
  {
    name: "value reappears after an unknown pop removed it",
    history: [
      done(1, 0, 1, push("x"), ok),
      done(1, 2, 3, push("y"), ok),
      lost(2, 4, pop()),
      done(1, 5, 6, top(), val("x")),
      done(1, 7, 8, top(), val("y")),
    ],
    stuck: [4],
  },
  {
    name: "unknown push seen, then gone without a pop",
    history: [lost(1, 0, push("x")), done(2, 1, 2, top(), val("x")), done(2, 3, 4, top(), empty)],
    stuck: [2],
  },
];
