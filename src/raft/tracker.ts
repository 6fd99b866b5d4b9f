import { Progress } from "./progress.js";
import { type ConfigState, InvariantError, type NodeId } from "./types.js";

export type VoteResult = "won" | "lost" | "pending";

/**
 * Who counts toward a quorum: the leader's Progress per member (voters and learners) and a campaign's
 * votes. Only voters count: learners are replicated to but never part of any quorum. Rebuilt on every
 * term or role change; `setConfig` follows an applied configuration change in between.
 */
export class ProgressTracker {
  readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();
  /** Scratch space for the commit computation, so an acknowledgement allocates nothing. */
  private readonly matches: number[] = [];

  constructor(
    private config_: ConfigState,
    next: number,
    private readonly inflightMax: number,
    private readonly inflightBytesMax: number,
    /** Mutation switch (RaftMutations.countLearnersInQuorum): learners count toward commit. */
    private readonly countLearners = false,
  ) {
    for (const id of config_.voters) this.add(id, next);
    for (const id of config_.learners) this.add(id, next);
  }

  get config(): ConfigState {
    return this.config_;
  }

  /**
   * A configuration change was applied: new members start probing at `next`, members that left are
   * forgotten; `keep` (this node: a removed leader still replicates while it hands off) stays.
   */
  setConfig(config: ConfigState, next: number, keep: NodeId): void {
    this.config_ = config;
    for (const id of [...config.voters, ...config.learners]) if (!this.progress.has(id)) this.add(id, next);
    for (const id of this.progress.keys()) {
      if (id !== keep && !config.voters.includes(id) && !config.learners.includes(id))
        this.progress.delete(id);
    }
  }

  private add(id: NodeId, next: number): void {
    this.progress.set(id, new Progress(next, this.inflightMax, this.inflightBytesMax));
  }

  quorum(): number {
    return Math.floor(this.config_.voters.length / 2) + 1;
  }

  isVoter(id: NodeId): boolean {
    return this.config_.voters.includes(id);
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
    for (const id of this.config_.voters) matches.push(this.of(id).match);
    let quorum = this.quorum();
    if (this.countLearners) {
      for (const id of this.config_.learners) matches.push(this.of(id).match);
      quorum = Math.floor(matches.length / 2) + 1;
    }
    matches.sort(descending);
    return matches[quorum - 1] ?? 0;
  }

  /**
   * How many voters (counting `self`) answered since the last call (§6.2 check-quorum); starts a new
   * round for every member, learners too: promotion asks that a learner answered in this round
   * (membership.ts), and a flag never cleared would let a learner that crashed after one answer pass.
   */
  activeVoters(self: NodeId): number {
    let active = 0;
    for (const [id, pr] of this.progress) {
      const answered = pr.takeActive();
      if ((answered || id === self) && this.isVoter(id)) active++;
    }
    return active;
  }

  /** Records a vote (the first answer of each voter counts) and tallies the campaign. */
  poll(from: NodeId, granted: boolean): VoteResult {
    if (!this.votes.has(from)) this.votes.set(from, granted);
    let yes = 0;
    let no = 0;
    for (const id of this.config_.voters) {
      const v = this.votes.get(id);
      if (v === true) yes++;
      else if (v === false) no++;
    }
    const quorum = this.quorum();
    if (yes >= quorum) return "won";
    if (no >= quorum) return "lost";
    return "pending";
  }

  /**
   * Carries over when each member was last heard from the campaign's tracker (votes of this term) to the
   * new leader's: a hand-off right after an election, before any append is answered (a follower answers
   * one only once the entries are on disk), finds the voters that just answered. An unreachable report
   * since carries over too: a voter killed after its vote would otherwise look as fresh as the living
   * until the transport's next failed redial.
   */
  heardAsIn(campaign: ProgressTracker): void {
    for (const [id, pr] of campaign.progress) {
      const lead = this.progress.get(id);
      if (lead === undefined) continue;
      lead.heard(pr.heardAt);
      if (pr.unreachable) lead.unreachableReported();
    }
  }

  /** Starts a new campaign: forgets the votes of the previous one. */
  resetVotes(): void {
    this.votes.clear();
  }
}

function descending(a: number, b: number): number {
  return b - a;
}
