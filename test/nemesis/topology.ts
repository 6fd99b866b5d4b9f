// Partition shapes as sets of directed cuts between node ids. Pure: the netfilter module turns cuts into rules.

/** Messages from `from` to `to` are dropped: every TCP connection `from` opens to `to`'s peer or client port. */
export interface Cut {
  readonly from: number;
  readonly to: number;
}

/** Cuts in both directions between every node of `a` and every node of `b`. */
export function split(a: readonly number[], b: readonly number[]): Cut[] {
  return [...oneWay(a, b), ...oneWay(b, a)];
}

/** `from` nodes cannot reach `to` nodes; `to` nodes still reach `from` nodes. */
export function oneWay(from: readonly number[], to: readonly number[]): Cut[] {
  const cuts: Cut[] = [];
  for (const f of from) for (const t of to) if (f !== t) cuts.push({ from: f, to: t });
  return cuts;
}

/** `node` alone on one side, everyone else on the other. */
export function isolate(nodes: readonly number[], node: number): Cut[] {
  return split(
    [node],
    nodes.filter((n) => n !== node),
  );
}

/** Only `center` talks to everyone; every other pair is cut both ways. */
export function star(nodes: readonly number[], center: number): Cut[] {
  const cuts: Cut[] = [];
  for (const a of nodes)
    for (const b of nodes) if (a !== b && a !== center && b !== center) cuts.push({ from: a, to: b });
  return cuts;
}

/**
 * `order` is split into two halves around its middle node, which sees both; the halves do not see each
 * other (Jepsen's bridge). With 3 nodes this is a star around the middle node.
 */
export function bridge(order: readonly number[]): { cuts: Cut[]; bridge: number } {
  const mid = Math.floor(order.length / 2);
  const middle = order[mid];
  if (middle === undefined || order.length < 3) throw new RangeError("a bridge needs at least 3 nodes");
  return { cuts: split(order.slice(0, mid), order.slice(mid + 1)), bridge: middle };
}

/** Whether `from` can send to `to` under `cuts`. */
export function reaches(cuts: readonly Cut[], from: number, to: number): boolean {
  return !cuts.some((c) => c.from === from && c.to === to);
}

/**
 * The most nodes one leader can hold a quorum with: itself plus every node it exchanges messages with
 * both ways (requests and answers must both get through). A majority means writes can still commit.
 */
export function quorumSize(nodes: readonly number[], cuts: readonly Cut[]): number {
  let best = 0;
  for (const leader of nodes) {
    const linked = nodes.filter(
      (n) => n === leader || (reaches(cuts, leader, n) && reaches(cuts, n, leader)),
    );
    best = Math.max(best, linked.length);
  }
  return best;
}

/** One line per cut set, e.g. "1-x->2 2-x->1 3-x->1": what the report shows. */
export function describeCuts(cuts: readonly Cut[]): string {
  return cuts.length === 0 ? "none" : cuts.map((c) => `${c.from}-x->${c.to}`).join(" ");
}
