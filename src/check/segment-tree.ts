/**
 * Numbers over positions 0..size-1 with range add, point set, range minimum, and the first/last
 * position in a range whose value is at most a threshold, each O(log size). The stack checker keeps its
 * "how many values are surely in the stack at this instant" counts and its depth queries in it.
 *
 * Node n covers a power-of-two block; `#min[n]` is the minimum of its block counting the adds applied
 * at n and below (`#lazy[n]` holds those applied at n), so a position's value is its leaf plus the
 * lazies of its ancestors. Adds go bottom-up; searches walk top-down with an explicit stack.
 */
export class MinTree {
  readonly size: number;
  readonly #leaves: number;
  readonly #min: Float64Array;
  readonly #lazy: Float64Array;
  /** Search stack: node, and the sum of lazies above it. */
  readonly #nodes: Int32Array;
  readonly #above: Float64Array;

  constructor(initial: ArrayLike<number>) {
    this.size = initial.length;
    let leaves = 1;
    let depth = 1;
    while (leaves < Math.max(1, this.size)) {
      leaves *= 2;
      depth++;
    }
    this.#leaves = leaves;
    this.#min = new Float64Array(2 * leaves).fill(Infinity);
    this.#lazy = new Float64Array(2 * leaves);
    for (let i = 0; i < this.size; i++) this.#min[leaves + i] = initial[i]!;
    for (let n = leaves - 1; n >= 1; n--) this.#min[n] = Math.min(this.#min[2 * n]!, this.#min[2 * n + 1]!);
    this.#nodes = new Int32Array(2 * depth + 2);
    this.#above = new Float64Array(2 * depth + 2);
  }

  /** Adds `delta` to every position in [l, r]. */
  add(l: number, r: number, delta: number): void {
    l = Math.max(0, l);
    r = Math.min(this.size - 1, r);
    if (l > r) return;
    const min = this.#min;
    const lazy = this.#lazy;
    let a = l + this.#leaves;
    let b = r + this.#leaves + 1;
    const left = a;
    const right = b - 1;
    while (a < b) {
      if (a & 1) {
        min[a]! += delta;
        lazy[a++]! += delta;
      }
      if (b & 1) {
        min[--b]! += delta;
        lazy[b]! += delta;
      }
      a >>= 1;
      b >>= 1;
    }
    this.#refresh(left);
    this.#refresh(right);
  }

  /** Sets position i to `value` (Infinity takes it out of every minimum). */
  set(i: number, value: number): void {
    const leaf = i + this.#leaves;
    let above = 0;
    for (let n = leaf >> 1; n >= 1; n >>= 1) above += this.#lazy[n]!;
    this.#min[leaf] = value - above;
    this.#lazy[leaf] = 0;
    this.#refresh(leaf);
  }

  /** Minimum over [l, r] (Infinity when the range is empty). */
  min(l: number, r: number): number {
    return this.#walk(l, r, Infinity, true, true);
  }

  /** The first position in [l, r] whose value is <= `threshold`, or -1. */
  findFirst(l: number, r: number, threshold: number): number {
    return this.#walk(l, r, threshold, true, false);
  }

  /** The last position in [l, r] whose value is <= `threshold`, or -1. */
  findLast(l: number, r: number, threshold: number): number {
    return this.#walk(l, r, threshold, false, false);
  }

  /**
   * Depth-first walk over the nodes intersecting [l, r], leftmost (or rightmost) first, skipping
   * subtrees whose minimum cannot matter. Finds the first/last position with value <= `bound`, or with
   * `minimum`, the minimum over the range (then `bound` shrinks to the best value seen).
   */
  #walk(l: number, r: number, bound: number, leftFirst: boolean, minimum: boolean): number {
    l = Math.max(0, l);
    r = Math.min(this.size - 1, r);
    if (l > r) return minimum ? Infinity : -1;
    const nodes = this.#nodes;
    const aboveOf = this.#above;
    const leaves = this.#leaves;
    let best = Infinity;
    nodes[0] = 1;
    aboveOf[0] = 0;
    let sp = 1;
    while (sp > 0) {
      sp--;
      const n = nodes[sp]!;
      const above = aboveOf[sp]!;
      // Node n's block: its level is the bit length of n minus one.
      const level = 31 - Math.clz32(n);
      const width = leaves >>> level;
      const lo = (n - (1 << level)) * width;
      const hi = lo + width - 1;
      if (r < lo || hi < l) continue;
      const value = this.#min[n]! + above;
      if (minimum) {
        if (value >= best) continue;
        if (l <= lo && hi <= r) {
          best = value;
          continue;
        }
      } else {
        if (value > bound) continue;
        if (lo === hi) return lo;
      }
      const inner = above + this.#lazy[n]!;
      nodes[sp] = leftFirst ? 2 * n + 1 : 2 * n;
      aboveOf[sp++] = inner;
      nodes[sp] = leftFirst ? 2 * n : 2 * n + 1;
      aboveOf[sp++] = inner;
    }
    return minimum ? best : -1;
  }

  /** Recomputes the ancestors of `leaf` from their children. */
  #refresh(leaf: number): void {
    const min = this.#min;
    for (let n = leaf >> 1; n >= 1; n >>= 1) min[n] = Math.min(min[2 * n]!, min[2 * n + 1]!) + this.#lazy[n]!;
  }
}
