/**
 * Registrations of slot ranges, each woken at most once: `wake(slot)` returns the owners of every live
 * registration whose ranges contain `slot` and retires them. A segment tree keeps each range in O(log n)
 * nodes; a woken node's list is cleared, so every stored entry is visited once.
 */
export class SlotWatch {
  readonly #leaves: number;
  /** Registration ids per tree node; only nodes in use have an entry. */
  readonly #nodes = new Map<number, number[]>();
  readonly #owner: number[] = [];
  readonly #live: boolean[] = [];

  constructor(slots: number) {
    let leaves = 1;
    while (leaves < Math.max(1, slots)) leaves *= 2;
    this.#leaves = leaves;
  }

  /** Watches the union of `ranges` (inclusive, empty ones ignored) on behalf of `owner`. */
  watch(owner: number, ranges: readonly (readonly [number, number])[]): void {
    const id = this.#owner.length;
    this.#owner.push(owner);
    this.#live.push(true);
    for (const [l, r] of ranges) {
      let lo = Math.max(0, l) + this.#leaves;
      let hi = Math.min(this.#leaves - 1, r) + this.#leaves + 1;
      // Bottom-up canonical cover of [lo, hi).
      while (lo < hi) {
        if (lo & 1) this.#add(lo++, id);
        if (hi & 1) this.#add(--hi, id);
        lo >>= 1;
        hi >>= 1;
      }
    }
  }

  /** Owners of the live registrations covering `slot`, which stop being live. */
  wake(slot: number, out: number[]): void {
    for (let n = slot + this.#leaves; n >= 1; n >>= 1) {
      const ids = this.#nodes.get(n);
      if (ids === undefined) continue;
      this.#nodes.delete(n);
      for (const id of ids) {
        if (!this.#live[id]) continue;
        this.#live[id] = false;
        out.push(this.#owner[id]!);
      }
    }
  }

  #add(node: number, id: number): void {
    const ids = this.#nodes.get(node);
    if (ids === undefined) this.#nodes.set(node, [id]);
    else ids.push(id);
  }
}
