import { EventBuffer, type RaftEvent } from "./events.js";
import { RaftLog } from "./log.js";
import { committedConfig } from "./membership.js";
import { type RaftConfig, type RaftOptions, validateConfig } from "./options.js";
import { Prng } from "./prng.js";
import { ReadIndexQueue } from "./read-index.js";
import { ProgressTracker } from "./tracker.js";
import {
  type ConfigState,
  type Entry,
  type EntryKind,
  type HardState,
  InvariantError,
  invariant,
  type Message,
  NONE,
  type NodeId,
  type ReadState,
  type Role,
  type TransferStatus,
  type VoteMsg,
  type VoteRespMsg,
} from "./types.js";

type Unstamped<M> = M extends VoteMsg | VoteRespMsg
  ? Omit<M, "from" | "term"> & { readonly term?: number }
  : Omit<M, "from" | "term">;

/**
 * A message as its sender writes it: send() stamps `from` and `term`. Only vote messages may name a
 * term: a pre-vote asks for the next one, a granted vote answers in the candidate's.
 */
export type OutgoingMessage = Unstamped<Message>;

/**
 * Everything one Raft peer knows, shared by the modules that implement its roles (election.ts,
 * replication.ts, follower.ts, read-index.ts). Internal to src/raft: `Raft` exposes it read-only.
 * Role changes happen only here, so each one is reported as an event.
 */
export class RaftState {
  readonly id: NodeId;
  readonly opts: RaftOptions;
  readonly log: RaftLog;
  readonly rng: Prng;
  readonly events: EventBuffer;

  term = 0;
  vote: NodeId = NONE;
  role: Role = "follower";
  leader: NodeId = NONE;
  /**
   * The log was lost (repair) and no leader has caught it up yet: no votes, no campaigns, no leadership.
   * Durable in HardState.recovering; see docs/recovery.md.
   */
  recovering = false;
  /**
   * The term in which this node, in this process life, left recovery: a leader of that term may still
   * believe the lost entries are here, so heartbeats claiming them are expected, not impossible.
   * 0 when it never recovered (no leader has term 0).
   */
  recoveredInTerm = 0;
  /** The applied configuration (docs/membership.md); change it only through setConfig(). */
  config: ConfigState;
  /** Index of the config entry (or snapshot) `config` comes from: entries up to it are not applied again. */
  configIndex = 0;
  /**
   * Leader: index of the last config entry appended, or of this leader's no-op. A new change waits
   * until it is applied: one change at a time, and none before the first commit of this term.
   */
  pendingConfIndex = 0;
  tracker: ProgressTracker;

  /**
   * Ticks in this process life, never reset (a term change rebuilds the tracker, whose `heardAt` it
   * clocks, but the campaign's answers carry over to the leader's: becomeLeader).
   */
  ticks = 0;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  /**
   * Pre-vote campaigns since this node last knew a leader: an election storm shows as a rising count,
   * and deference to a higher id (election.ts) applies only in the first.
   */
  preVoteRounds = 0;

  /** Follower: the leader's log is known to match ours up to here, in this term and this process life. */
  confirmedMatch = 0;
  /** Follower: the transport could not reach the leader; acted on once the leader is also silent. */
  leaderUnreachable = false;

  /** Leader: the follower leadership is being handed to. */
  leadTransferee: NodeId = NONE;
  /**
   * Leader: ticks since the transfer to leadTransferee began or last sent TimeoutNow; it is given up
   * after an election timeout.
   */
  transferElapsed = 0;
  /**
   * Leader: TimeoutNow went out in this transfer (or in one it replaced), so a target may be campaigning
   * and the transfer is not given up early (replication.ts).
   */
  timeoutNowSent = false;
  /** Leader: the last transfer of this term given up with this node still leading, for the driver to answer. */
  transferAbandoned: TransferStatus | undefined = undefined;
  /**
   * Follower: ticks left to act on a TimeoutNow that arrived while committed config entries were still
   * unapplied (no campaign then, see canCampaign); it campaigns once they are applied. 0: none.
   */
  transferDeferredTicks = 0;
  /** Leader: data bytes appended beyond the commit index. */
  uncommittedBytes = 0;
  /**
   * Leader: members it removed this term → the index of their removal entry, until one acknowledges it
   * (membership.ts, `sayGoodbye`). At most `config.removed` ids; cleared with the term's leadership.
   */
  goodbyes = new Map<NodeId, number>();
  readonly reads: ReadIndexQueue;

  sendNow: Message[] = [];
  sendAfterPersist: Message[] = [];
  readStates: ReadState[] = [];
  /** Leader: new entries wait to go out with the next Ready, so proposals arriving together share appends. */
  broadcastPending = false;
  /**
   * Leader: the commit index advanced and followers have not been told. It rides on the next append;
   * without one, the next tick sends it, so a follower learns it within a tick instead of costing an
   * extra message (and its reply) per commit.
   */
  commitPending = false;
  heartbeatPending = false;

  /** The hard state as loaded, when it must be rewritten at once (recovery started or dropped). */
  readonly loadedHardState: HardState | undefined;

  constructor(cfg: RaftConfig) {
    this.opts = validateConfig(cfg);
    this.id = cfg.id;
    this.events = new EventBuffer(this.opts.limits.eventsMax);
    this.rng = new Prng(cfg.seed ^ Math.imul(cfg.id, 0x85ebca6b));
    this.reads = new ReadIndexQueue();
    this.log = new RaftLog(cfg.storage, cfg.applied ?? 0);
    const { hardState, config } = cfg.storage.initialState();
    const committed = committedConfig(this.log, config);
    this.config = committed.config;
    this.configIndex = committed.index;
    if (hardState.term > 0) {
      this.term = hardState.term;
      this.vote = hardState.vote;
    }
    this.loadedHardState = hardState.recovering === true ? hardState : undefined;
    if (hardState.recovering === true) this.startRecovery();
    this.tracker = this.newTracker();
    this.becomeFollower(this.term, NONE, this.id);
  }

  /**
   * A node whose log was lost starts one term above the term repair recovered, with no vote: any
   * acknowledgement from its previous life carries an older term, so no leader of the new term counts
   * it. Kept also when it counts itself the only voter: that configuration is its --cluster list (repair
   * moved the snapshot aside), and a cluster started alone may have grown since (docs/recovery.md).
   */
  private startRecovery(): void {
    this.recovering = true;
    this.term++;
    this.vote = NONE;
    this.emit({ type: "recoveryStarted", term: this.term });
  }

  emit(event: RaftEvent): void {
    this.events.add(event);
  }

  /**
   * The one place a message gets its envelope: `from` is always this node, `term` the current term
   * unless a vote message names another. Takes ownership of `m` and stamps it in place (no copy on
   * the replication path). Leader replication goes out before the local write (§10.2.1 of the
   * dissertation); everything else waits until the Ready is durable.
   */
  send(m: OutgoingMessage): void {
    // Checks on the hot path test first and build their message only on failure.
    const stamped = m as { from?: NodeId; term?: number };
    if (stamped.from !== undefined) throw new InvariantError(`a ${m.type} message names its sender`);
    if (stamped.term === undefined) stamped.term = this.term;
    else if (
      m.type === "vote"
        ? !m.preVote || stamped.term !== this.term + 1
        : m.type !== "voteResp" || stamped.term < this.term
    ) {
      throw new InvariantError(`a ${m.type} names term ${stamped.term}, current ${this.term}`);
    }
    stamped.from = this.id;
    const out = m as Message;
    const immediate =
      this.role === "leader" &&
      (out.type === "app" || out.type === "heartbeat" || out.type === "snap" || out.type === "timeoutNow");
    if (immediate) this.sendNow.push(out);
    else this.sendAfterPersist.push(out);
  }

  // ---------------------------------------------------------------- role transitions

  /** `source`: the node whose message made us follow (or this node's id), for the term event. */
  becomeFollower(term: number, leader: NodeId, source: NodeId): void {
    const from = this.role;
    this.reset(term, source);
    this.role = "follower";
    this.setLeader(leader);
    this.roleChanged(from);
  }

  becomePreCandidate(): void {
    invariant(this.role !== "leader", "a leader cannot become a pre-candidate");
    invariant(!this.recovering, "a recovering node cannot campaign");
    const from = this.role;
    // A pre-vote changes neither term nor vote, so a partitioned node cannot inflate terms (§9.6).
    this.role = "preCandidate";
    this.setLeader(NONE);
    this.tracker.resetVotes();
    this.roleChanged(from);
  }

  becomeCandidate(): void {
    invariant(this.role !== "leader", "a leader cannot become a candidate");
    invariant(!this.recovering, "a recovering node cannot campaign");
    const from = this.role;
    this.reset(this.term + 1, this.id);
    this.role = "candidate";
    this.vote = this.id;
    this.setLeader(NONE);
    this.roleChanged(from);
  }

  becomeLeader(): void {
    invariant(this.role === "candidate", `only a candidate can become leader, not a ${this.role}`);
    invariant(!this.recovering, "a recovering node cannot lead");
    const campaign = this.tracker;
    this.reset(this.term, this.id);
    this.tracker.heardAsIn(campaign);
    this.role = "leader";
    this.setLeader(this.id);
    this.roleChanged("candidate");
    const self = this.tracker.of(this.id);
    self.maybeUpdate(this.log.stableLastIndex());
    self.becomeReplicate();
    // §5.4.2: a no-op of the new term lets earlier entries commit; reads also wait for it (§6.4), and
    // so do configuration changes (membership.ts).
    this.pendingConfIndex = this.appendEntries("noop", noopDatas);
    this.broadcastPending = true;
  }

  setLeader(leader: NodeId): void {
    if (leader === this.leader) return;
    this.emit({ type: "leaderChanged", term: this.term, from: this.leader, to: leader });
    this.leader = leader;
    if (leader !== NONE) this.preVoteRounds = 0;
  }

  private roleChanged(from: Role): void {
    if (from !== this.role) this.emit({ type: "roleChanged", term: this.term, from, to: this.role });
  }

  private reset(term: number, source: NodeId): void {
    if (term !== this.term) {
      this.emit({ type: "termChanged", from: this.term, to: term, source });
      this.term = term;
      this.vote = NONE;
    }
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.opts.electionTicks + this.rng.int(this.opts.electionTicks);
    this.leadTransferee = NONE;
    this.transferElapsed = 0;
    this.timeoutNowSent = false;
    this.transferAbandoned = undefined;
    this.transferDeferredTicks = 0;
    this.uncommittedBytes = 0;
    this.goodbyes.clear();
    this.reads.reset();
    this.broadcastPending = false;
    this.commitPending = false;
    this.heartbeatPending = false;
    this.confirmedMatch = 0;
    this.leaderUnreachable = false;
    this.tracker = this.newTracker();
  }

  private newTracker(): ProgressTracker {
    const { inflightMax, inflightBytesMax } = this.opts.limits;
    const countLearners = this.opts.mutations.countLearnersInQuorum === true;
    return new ProgressTracker(
      this.config,
      this.log.lastIndex() + 1,
      inflightMax,
      inflightBytesMax,
      countLearners,
    );
  }

  // ---------------------------------------------------------------- helpers

  /** Applies a configuration (from a config entry or a snapshot at `index`). */
  setConfig(config: ConfigState, index: number): void {
    this.config = config;
    this.configIndex = index;
    this.tracker.setConfig(config, this.log.lastIndex() + 1, this.id);
    if (this.role === "leader") this.broadcastPending = true; // a new member hears from us at once
  }

  /** Leader: appends entries of the current term at the tail and returns the index of the last one. */
  appendEntries(kind: EntryKind, datas: readonly Uint8Array[]): number {
    let index = this.log.lastIndex();
    const entries: Entry[] = [];
    for (const data of datas) entries.push({ term: this.term, index: ++index, kind, data });
    this.log.append(entries);
    return index;
  }

  /** §4.2.3: we heard from a leader within the election timeout, so a vote request is not answered. */
  inLease(): boolean {
    return this.opts.checkQuorum && this.leader !== NONE && this.electionElapsed < this.opts.electionTicks;
  }

  /**
   * May start a campaign: a voter whose log is intact and who has applied every committed configuration
   * change. A node with committed changes still unapplied may be two or more changes behind, so its
   * majorities need not overlap the cluster's (etcd's hup refuses the same way); it waits until its
   * apply catches up.
   */
  canCampaign(): boolean {
    return this.tracker.isVoter(this.id) && !this.recovering && !this.hasUnappliedConfig();
  }

  /** A configuration entry is committed but not applied yet (or a received snapshot is not applied). */
  hasUnappliedConfig(): boolean {
    const lo = this.log.applied + 1;
    const hi = this.log.committed + 1;
    if (lo >= hi) return false;
    const entries = this.log.slice(lo, hi, Number.POSITIVE_INFINITY);
    return entries === undefined || entries.some((e) => e.kind === "config");
  }

  hardState(): HardState {
    return this.recovering
      ? { term: this.term, vote: this.vote, commit: this.log.committed, recovering: true }
      : { term: this.term, vote: this.vote, commit: this.log.committed };
  }
}

const noopDatas: readonly Uint8Array[] = [new Uint8Array(0)];
