import type { ConfChange, ConfChangeOp, ConfigState, NodeId, Prng } from "../raft/index.js";
import type { SimNode } from "./node.js";
import type { SimParams } from "./params.js";

export interface MembershipHost {
  after(delayMs: number, run: () => void): void;
  trace(kind: string, nums: number[], text?: string): void;
  /** Starts a spare node for the first time: empty configuration, as `--join` starts one. */
  spawn(node: SimNode): void;
  /** The live leader of the highest term, if any. */
  leader(): SimNode | undefined;
  /** True once the fault phase is over. */
  stopped(): boolean;
  /** Heals every link, then cuts `a` off from `b` (a partition). */
  split(a: readonly NodeId[], b: readonly NodeId[]): void;
}

/** A replacement waits this long for its new node to be promoted before removing the old one. */
const replaceWaitMs = 5_000;
const replacePollMs = 100;
/**
 * With automatic promotion off, the nemesis promotes a learner up to this long after adding it (caught
 * up or not), so several learners may wait side by side.
 */
const manualPromoteMaxMs = 5_000;
/** learnerSplit gives up after this long without two learners; it checks this often. */
const learnerSplitWaitMs = 5_000;
const learnerSplitPollMs = 5;
/** Share of replacements whose removal is proposed at once, as an impatient operator would: refused. */
const hastyReplaceRate = 0.3;

/**
 * The membership half of the nemesis: adds spare nodes (learner, then promotion by the leader's driver
 * or, with automatic promotion off, by the nemesis), removes followers and leaders, and replaces a voter
 * with a new node, all through the leader's Driver.proposeConfChange as an operator would. Changes the
 * core refuses (one pending, invalid) are simply skipped.
 */
export class MembershipOps {
  counts = { adds: 0, removes: 0, leaderRemoves: 0, replaces: 0, applied: 0, refused: 0 };
  /**
   * The fewest voters a removal may leave. Never one: removing a voter from two can leave the survivor
   * unable to learn that the removal committed (docs/membership.md, "Two voters"; sim seed 741).
   */
  private readonly votersMin: number;
  /** Spare nodes whose addition is in flight. */
  private readonly adding = new Set<NodeId>();

  constructor(
    private readonly params: SimParams,
    private readonly rng: Prng,
    private readonly nodes: readonly SimNode[],
    private readonly host: MembershipHost,
  ) {
    this.votersMin = Math.max(2, params.nodes - 1);
  }

  /** Adds the next spare node as a learner and starts it; `then` runs with its id once it was added. */
  add(then?: (id: NodeId) => void): void {
    const spare = this.nodes.find((n) => !n.spawned && !this.adding.has(n.id));
    const leader = this.host.leader();
    if (spare === undefined || leader === undefined) return;
    this.adding.add(spare.id);
    this.counts.adds++;
    this.change(leader, "addLearner", spare.id, (added) => {
      this.adding.delete(spare.id);
      if (!added || this.host.stopped()) return;
      this.host.spawn(spare);
      if (this.params.promoteLagEntriesMax === 0) {
        this.host.after(this.rng.float() * manualPromoteMaxMs, () => {
          const now = this.host.leader();
          if (now !== undefined && !this.host.stopped()) this.change(now, "promote", spare.id);
        });
      }
      then?.(spare.id);
    });
  }

  /** Removes a random member other than the leader (a voter only if enough voters remain). */
  removeFollower(): void {
    const leader = this.host.leader();
    if (leader === undefined) return;
    const config = leader.raft.config;
    const candidates = [
      ...(config.voters.length > this.votersMin ? config.voters : []),
      ...config.learners,
    ].filter((id) => id !== leader.id);
    if (candidates.length === 0) return;
    this.counts.removes++;
    this.change(leader, "remove", this.rng.pick(candidates));
  }

  /** The leader removes itself: it must hand leadership over once the change applies. */
  removeLeader(): void {
    const leader = this.host.leader();
    if (leader === undefined || leader.raft.config.voters.length <= this.votersMin) return;
    this.counts.leaderRemoves++;
    this.change(leader, "remove", leader.id);
  }

  /**
   * Grows by learners until the leader has two, then cuts the leader and its learners off from the
   * other voters: a leader and new nodes in one zone, the rest of the voters in another. Nothing may
   * commit on the leader's side (one voter of three), while the others elect among themselves; a
   * quorum that counted learners (mutation countLearnersInQuorum) commits there with two learners, and
   * the two sides then commit different entries at one index. Polls every few milliseconds, because
   * the leader's driver promotes a caught-up learner soon after it joins.
   */
  learnerSplit(waitMs = learnerSplitWaitMs): void {
    if (this.host.stopped() || waitMs <= 0) return;
    if (waitMs === learnerSplitWaitMs) this.host.trace("learnerSplit", []);
    const leader = this.host.leader();
    if (leader !== undefined) {
      const { voters, learners } = leader.raft.config;
      const progress = leader.raft.status().progress;
      const holding = learners.filter((id) => (progress.get(id)?.match ?? 0) >= leader.raft.configIndex);
      if (holding.length >= 2) {
        this.host.split(
          [leader.id, ...learners],
          voters.filter((id) => id !== leader.id),
        );
        return;
      }
      if (this.adding.size === 0) this.add();
    }
    this.host.after(learnerSplitPollMs, () => this.learnerSplit(waitMs - learnerSplitPollMs));
  }

  /** Replace: add a new node, wait until it is a voter, then remove a random old voter (maybe the leader). */
  replace(): void {
    const leader = this.host.leader();
    if (leader === undefined) return;
    const old = this.rng.pick(leader.raft.config.voters);
    this.counts.replaces++;
    this.host.trace("replace", [old]);
    if (this.rng.chance(hastyReplaceRate)) {
      // The core takes one change at a time: the removal is refused while the addition is pending; but
      // with no spare left it goes through alone, so it must leave enough voters.
      if (leader.raft.config.voters.length <= this.votersMin) return;
      this.add();
      this.change(leader, "remove", old);
      return;
    }
    this.add((id) => this.removeOnceVoter(old, id, replaceWaitMs));
  }

  private removeOnceVoter(old: NodeId, id: NodeId, waitMs: number): void {
    if (this.host.stopped() || waitMs <= 0) return;
    const leader = this.host.leader();
    if (leader?.raft.config.voters.includes(id)) {
      this.change(leader, "remove", old);
      return;
    }
    this.host.after(replacePollMs, () => this.removeOnceVoter(old, id, waitMs - replacePollMs));
  }

  /** Proposes on `leader`; `done(true)` once applied there or with an unknown outcome (it may apply). */
  private change(
    leader: SimNode,
    op: ConfChangeOp,
    id: NodeId,
    done?: (maybeApplied: boolean) => void,
  ): void {
    const cc: ConfChange = { op, id, context: new Uint8Array(0) };
    this.host.trace("confChange", [leader.id, id], op);
    const proposed = leader.proposeConfChange(cc);
    if (proposed === undefined) {
      done?.(false);
      return;
    }
    proposed.then(
      (config: ConfigState) => {
        this.counts.applied++;
        this.host.trace("confApplied", [leader.id, id, ...config.voters], op);
        done?.(true);
      },
      (error: { code?: string }) => {
        const unknown = error.code === "timeout";
        if (!unknown) this.counts.refused++;
        this.host.trace("confFailed", [leader.id, id], `${op} ${error.code ?? "?"}`);
        done?.(unknown);
      },
    );
  }
}
