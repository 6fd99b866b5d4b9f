import type { NodeId, Prng } from "../raft/index.js";
import type { SimParams } from "./params.js";

/**
 * Links between nodes with latency, loss, duplication and reordering (random latency), plus directed
 * cuts for partitions. Ids are 1..n; `cut[from * (n + 1) + to]` blocks from → to.
 */
export class Network {
  private readonly cut: Uint8Array;
  dropRate: number;
  duplicateRate: number;

  constructor(
    private readonly params: SimParams,
    private readonly rng: Prng,
  ) {
    this.cut = new Uint8Array((params.nodes + 1) * (params.nodes + 1));
    this.dropRate = params.dropRate;
    this.duplicateRate = params.duplicateRate;
  }

  blocked(from: NodeId, to: NodeId): boolean {
    return this.cut[from * (this.params.nodes + 1) + to] === 1;
  }

  setBlocked(from: NodeId, to: NodeId, blocked: boolean): void {
    this.cut[from * (this.params.nodes + 1) + to] = blocked ? 1 : 0;
  }

  healAll(): void {
    this.cut.fill(0);
  }

  /** Cuts every link between the two groups, both ways. */
  split(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.setBlocked(x, y, true);
        this.setBlocked(y, x, true);
      }
    }
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
