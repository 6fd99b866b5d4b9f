/** Counts over positions 0..size-1 with point add and prefix sums, both O(log size). */
export class Fenwick {
  readonly #tree: Int32Array;

  constructor(size: number) {
    this.#tree = new Int32Array(size + 1);
  }

  add(i: number, delta: number): void {
    for (let k = i + 1; k < this.#tree.length; k += k & -k) this.#tree[k]! += delta;
  }

  /** Sum over positions [0, end). */
  prefix(end: number): number {
    let sum = 0;
    for (let k = Math.min(end, this.#tree.length - 1); k > 0; k -= k & -k) sum += this.#tree[k]!;
    return sum;
  }
}
