/** A binary min-heap of ids ordered by a fixed numeric key per id (ties by id). */
export class IdHeap {
  readonly #ids: number[] = [];

  constructor(private readonly key: ArrayLike<number>) {}

  get size(): number {
    return this.#ids.length;
  }

  push(id: number): void {
    const ids = this.#ids;
    ids.push(id);
    let i = ids.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(ids[i]!, ids[parent]!)) break;
      [ids[i], ids[parent]] = [ids[parent]!, ids[i]!];
      i = parent;
    }
  }

  /** Removes and returns the id with the smallest key; undefined when empty. */
  pop(): number | undefined {
    const ids = this.#ids;
    const top = ids[0];
    const last = ids.pop();
    if (ids.length === 0 || last === undefined) return top;
    ids[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < ids.length && this.#less(ids[l]!, ids[m]!)) m = l;
      if (r < ids.length && this.#less(ids[r]!, ids[m]!)) m = r;
      if (m === i) break;
      [ids[i], ids[m]] = [ids[m]!, ids[i]!];
      i = m;
    }
    return top;
  }

  #less(a: number, b: number): boolean {
    return this.key[a]! < this.key[b]! || (this.key[a] === this.key[b] && a < b);
  }
}
