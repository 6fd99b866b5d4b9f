import { MinTree } from "./segment-tree.js";
import type { IndexedStack, Placed } from "./stack-history.js";

/**
 * Pops with unknown outcome ("tokens") are the only way a value that no known pop returned can leave the
 * stack: each removes at most one value, at any instant after its call. So the values that must be gone
 * by some instant can be no more than the unknown pops called before it.
 */

/** Why an unmatched value must be gone by a slot: an operation that could not happen while it was there. */
export interface Deadline {
  readonly value: number;
  /** The value must be popped in a slot <= this one. */
  readonly slot: number;
  readonly witness: Placed;
  /** The value the witness saw on top (below the unmatched one), undefined for an empty read. */
  readonly below: number | undefined;
}

const far = 1e15;

/**
 * Definite deadlines of unmatched values, valid in every linearization: an empty read called after the
 * value surely was pushed; or a pop/top of a value x that surely was pushed before it, called after it
 * surely was pushed (x was in the stack under it, so it was gone when x was on top). Transitive
 * consequences are ignored: this is a necessary condition, not the whole story.
 */
export function deadlines(stack: IndexedStack): Deadline[] {
  const { values } = stack;
  // Best empty read called at or after each event (an index into empties, -1 for none): suffix
  // minimum of return slots over calls.
  const { empties } = stack;
  const emptyByCall = new Int32Array(stack.events + 1).fill(-1);
  const earlier = (a: number, b: number) => b === -1 || (a !== -1 && empties[a]!.last < empties[b]!.last);
  empties.forEach((e, i) => {
    if (earlier(i, emptyByCall[e.call]!)) emptyByCall[e.call] = i;
  });
  for (let k = stack.events - 1; k >= 0; k--)
    if (earlier(emptyByCall[k + 1]!, emptyByCall[k]!)) emptyByCall[k] = emptyByCall[k + 1]!;
  // Reads of values, indexed by call event, entered once their value is surely pushed before the
  // unmatched value's push is called (sweep over unmatched values by push call).
  const accesses: { readonly read: Placed; readonly owner: number }[] = [];
  values.forEach((v, i) => {
    if (v.pop !== undefined) accesses.push({ read: v.pop, owner: i });
    for (const t of v.tops) accesses.push({ read: t, owner: i });
  });
  accesses.sort((a, b) => values[a.owner]!.firstReturn - values[b.owner]!.firstReturn);
  const readAt = new Map<number, { readonly read: Placed; readonly owner: number }>();
  const tree = new MinTree(new Float64Array(stack.events + 1).fill(far));
  const unmatched = values
    .map((_, i) => i)
    .filter((i) => values[i]!.pop === undefined)
    .sort((a, b) => values[a]!.push.call - values[b]!.push.call);
  const found: Deadline[] = [];
  let entered = 0;
  for (const i of unmatched) {
    const v = values[i]!;
    while (entered < accesses.length && values[accesses[entered]!.owner]!.firstReturn <= v.push.call) {
      const a = accesses[entered++]!;
      tree.add(a.read.call, a.read.call, a.read.last - far);
      readAt.set(a.read.call, a);
    }
    let best: Deadline | undefined;
    const e = empties[emptyByCall[v.firstReturn]!];
    if (e !== undefined) best = { value: i, slot: e.last, witness: e, below: undefined };
    const slot = tree.min(v.firstReturn, stack.events);
    if (slot < far && (best === undefined || slot < best.slot)) {
      const at = tree.findFirst(v.firstReturn, stack.events, slot);
      const a = readAt.get(at)!;
      best = { value: i, slot, witness: a.read, below: a.owner };
    }
    if (best !== undefined) found.push(best);
  }
  return found.sort((a, b) => a.slot - b.slot);
}

/** The first prefix of `byDeadline` that needs more unknown pops than were called in time, if any. */
export function tokenShortage(
  byDeadline: readonly Deadline[],
  unknownPops: readonly Placed[],
): { readonly needed: readonly Deadline[]; readonly available: readonly Placed[] } | undefined {
  const calls = [...unknownPops].sort((a, b) => a.call - b.call);
  let available = 0;
  for (let k = 0; k < byDeadline.length; k++) {
    const d = byDeadline[k]!;
    // A pop in slot <= d.slot needs its call event before that slot: call < d.slot.
    while (available < calls.length && calls[available]!.call < d.slot) available++;
    if (available < k + 1)
      return { needed: byDeadline.slice(0, k + 1), available: calls.slice(0, available) };
  }
  return undefined;
}
