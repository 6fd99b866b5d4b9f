import { Progress } from "./progress.js";
import { type ConfigState, InvariantError, type NodeId } from "./types.js";

export type VoteResult = "won" | "lost" | "pending";

/**
 * Who counts toward a quorum: the leader's Progress per peer and a campaign's votes, for one
 * configuration. Rebuilt on every term or role change.
 */
export class ProgressTracker {
  readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();
  /** Scratch space for the commit computation, so an acknowledgement allocates nothing. */
  private readonly matches: number[] = [];

  constructor(
    readonly config: ConfigState,
    next: number,
    inflightMax: number,
    inflightBytesMax: number,
  ) {
    for (const id of config.voters) this.progress.set(id, new Progress(next, inflightMax, inflightBytesMax));
    for (const id of config.learners)
      this.progress.set(id, new Progress(next, inflightMax, inflightBytesMax));
  }

  quorum(): number {
    return Math.floor(this.config.voters.length / 2) + 1;
  }

  isVoter(id: NodeId): boolean {
    return this.config.voters.includes(id);
  }

  of(id: NodeId): Progress {
    const pr = this.progress.get(id);
    if (pr === undefined) throw new InvariantError(`no progress for node ${id}`);
    return pr;
  }

  /** The highest index a quorum of voters has acknowledged (§5.3). */
  quorumMatch(): number {
    const matches = this.matches;
    matches.length = 0;
    for (const id of this.config.voters) matches.push(this.of(id).match);
    matches.sort(descending);
    return matches[this.quorum() - 1] ?? 0;
  }

  /** §6.2 check-quorum: how many voters (counting `self`) answered since the last call; starts a new round. */
  activeVoters(self: NodeId): number {
    let active = 0;
    for (const id of this.config.voters) {
      if (this.of(id).takeActive() || id === self) active++;
    }
    return active;
  }

  /** Records a vote (the first answer of each voter counts) and tallies the campaign. */
  poll(from: NodeId, granted: boolean): VoteResult {
    if (!this.votes.has(from)) this.votes.set(from, granted);
    let yes = 0;
    let no = 0;
    for (const id of this.config.voters) {
      const v = this.votes.get(id);
      if (v === true) yes++;
      else if (v === false) no++;
    }
    const quorum = this.quorum();
    if (yes >= quorum) return "won";
    if (no >= quorum) return "lost";
    return "pending";
  }

  /** Starts a new campaign: forgets the votes of the previous one. */
  resetVotes(): void {
    this.votes.clear();
  }
}

function descending(a: number, b: number): number {
  return b - a;
}
