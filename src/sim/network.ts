import type { NodeId, Prng } from "../raft/index.js";
import type { SimParams } from "./params.js";

/**
 * Links between nodes with latency, loss, duplication and reordering (random latency), plus directed
 * cuts for partitions. Ids are 1..n (n counting spare nodes); `cut[from * (n + 1) + to]` blocks from → to. A cut either drops
 * silently (a black hole: TCP notices nothing for minutes) or resets connections (a firewall that
 * rejects: the sender's transport reports the peer unreachable).
 */
export class Network {
  private readonly cut: Uint8Array;
  private readonly resets: Uint8Array;
  /** Virtual time of the last unreachable report per directed link. */
  private readonly reportedAt: Float64Array;
  dropRate: number;
  duplicateRate: number;

  constructor(
    private readonly params: SimParams,
    private readonly rng: Prng,
  ) {
    const links = (this.idMax() + 1) * (this.idMax() + 1);
    this.cut = new Uint8Array(links);
    this.resets = new Uint8Array(links);
    this.reportedAt = new Float64Array(links).fill(Number.NEGATIVE_INFINITY);
    this.dropRate = params.dropRate;
    this.duplicateRate = params.duplicateRate;
  }

  /** Spare nodes (membership runs) have ids above the initial members'. */
  private idMax(): number {
    return this.params.nodes + this.params.spareNodes;
  }

  private link(from: NodeId, to: NodeId): number {
    return from * (this.idMax() + 1) + to;
  }

  blocked(from: NodeId, to: NodeId): boolean {
    return this.cut[this.link(from, to)] === 1;
  }

  /** Blocks or unblocks from → to; a block with `reset` refuses connections instead of dropping silently. */
  setBlocked(from: NodeId, to: NodeId, blocked: boolean, reset = false): void {
    const link = this.link(from, to);
    this.cut[link] = blocked ? 1 : 0;
    this.resets[link] = blocked && reset ? 1 : 0;
  }

  healAll(): void {
    this.cut.fill(0);
    this.resets.fill(0);
  }

  /** Cuts every link between the two groups, both ways. */
  split(a: readonly NodeId[], b: readonly NodeId[], reset = false): void {
    for (const x of a) {
      for (const y of b) {
        this.setBlocked(x, y, true, reset);
        this.setBlocked(y, x, true, reset);
      }
    }
  }

  /**
   * Whether a sender on from → to should now be told the peer is unreachable: the peer is down (connection
   * refused) or the link resets connections, and no report went out within `unreachableEveryMs`.
   */
  reportUnreachable(from: NodeId, to: NodeId, peerDown: boolean, nowMs: number): boolean {
    const link = this.link(from, to);
    if (!peerDown && this.resets[link] !== 1) return false;
    if (nowMs - (this.reportedAt[link] as number) < this.params.unreachableEveryMs) return false;
    this.reportedAt[link] = nowMs;
    return true;
  }

  /** Delivery delays for one message: none when lost, two when duplicated. */
  delays(): number[] {
    if (this.rng.chance(this.dropRate)) return [];
    const first = this.latency();
    return this.rng.chance(this.duplicateRate) ? [first, this.latency()] : [first];
  }

  latency(): number {
    const { latencyMinMs, latencyMaxMs } = this.params;
    return latencyMinMs + this.rng.float() * (latencyMaxMs - latencyMinMs);
  }
}
