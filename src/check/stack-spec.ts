export type StackInput =
  | { readonly op: "push"; readonly stack: string; readonly value: string }
  | { readonly op: "pop"; readonly stack: string }
  | { readonly op: "top"; readonly stack: string }
  | { readonly op: "size"; readonly stack: string };

export type StackOutput =
  | { readonly kind: "ok" }
  | { readonly kind: "value"; readonly value: string }
  | { readonly kind: "empty" }
  | { readonly kind: "size"; readonly size: number };

/**
 * One stack as an immutable cons list; each cell carries the hash and size of the whole stack below and
 * including it, so hashing is O(1) and equality usually stops at a shared cell.
 */
export interface StackCell {
  readonly value: string;
  readonly below: StackCell | null;
  readonly size: number;
  readonly hash: number;
}

export type StackState = StackCell | null;

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function pushCell(below: StackState, value: string): StackCell {
  const size = (below?.size ?? 0) + 1;
  const hash = (Math.imul((below?.hash ?? 0) ^ size, 0x9e3779b1) + hashString(value)) >>> 0;
  return { value, below, size, hash };
}

export function stackEqual(a: StackState, b: StackState): boolean {
  while (a !== b) {
    if (a === null || b === null || a.size !== b.size || a.hash !== b.hash || a.value !== b.value)
      return false;
    a = a.below;
    b = b.below;
  }
  return true;
}

const reject = (state: StackState) => ({ ok: false, state });
const accept = (state: StackState) => ({ ok: true, state });

/** The sequential specification of one LIFO stack; `output === undefined` (unknown outcome) matches anything. */
export function stepStack(state: StackState, input: StackInput, output: StackOutput | undefined) {
  switch (input.op) {
    case "push":
      return output === undefined || output.kind === "ok"
        ? accept(pushCell(state, input.value))
        : reject(state);
    case "pop":
      if (state === null)
        return output === undefined || output.kind === "empty" ? accept(state) : reject(state);
      return output === undefined || (output.kind === "value" && output.value === state.value)
        ? accept(state.below)
        : reject(state);
    case "top":
      if (output === undefined) return accept(state);
      if (state === null) return output.kind === "empty" ? accept(state) : reject(state);
      return output.kind === "value" && output.value === state.value ? accept(state) : reject(state);
    case "size":
      return output === undefined || (output.kind === "size" && output.size === (state?.size ?? 0))
        ? accept(state)
        : reject(state);
  }
}
