import { RaftLog } from "./log.js";
import { Prng } from "./prng.js";
import { Progress } from "./progress.js";
import {
  type AppendMsg,
  type AppendRespMsg,
  type ConfigState,
  type Entry,
  type HardState,
  type HeartbeatMsg,
  type HeartbeatRespMsg,
  invariant,
  type LogStorage,
  type Message,
  NONE,
  type NodeId,
  type ProgressStatus,
  type ProposeResult,
  type ReadIndexResult,
  type ReadState,
  type Ready,
  type Role,
  type SnapshotMsg,
  type SoftState,
  type Status,
  type VoteMsg,
  type VoteRespMsg,
} from "./types.js";

export interface RaftLimits {
  /** Entries in one AppendEntries message. */
  readonly appendEntriesMax: number;
  /** Entry data bytes in one AppendEntries message (at least one entry is always sent). */
  readonly appendBytesMax: number;
  /** Appends in flight to one follower in replicate state. */
  readonly inflightMax: number;
  readonly inflightBytesMax: number;
  /** Data bytes a leader accepts beyond its commit index, so it cannot fill memory while cut off. */
  readonly uncommittedBytesMax: number;
  /** ReadIndex requests waiting for confirmation at the leader. */
  readonly readsPendingMax: number;
  /** Entry data bytes handed to the driver for applying in one Ready. */
  readonly applyBytesMax: number;
}

export const defaultRaftLimits: RaftLimits = {
  appendEntriesMax: 4096,
  appendBytesMax: 1 << 20,
  inflightMax: 256,
  inflightBytesMax: 32 << 20,
  uncommittedBytesMax: 64 << 20,
  readsPendingMax: 65536,
  applyBytesMax: 16 << 20,
};

/** Test-only switches that break one rule on purpose, so tests and the simulator can prove they notice. */
export interface RaftMutations {
  readonly grantTwoVotesPerTerm?: boolean;
  readonly commitOldTermByCounting?: boolean;
  readonly skipLogMatchingCheck?: boolean;
}

export interface RaftConfig {
  readonly id: NodeId;
  readonly storage: LogStorage;
  /** Election timeout T in ticks; each node draws its timeout from [T, 2T). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly seed: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  /** Followers forward proposals to the leader; when false they fail with the leader's id. */
  readonly forwardProposals?: boolean;
  /** The index the state machine already contains (e.g. its snapshot), so it is not applied again. */
  readonly applied?: number;
  /** Ticks a follower may spend in snapshot state before the leader retries. */
  readonly snapshotTimeoutTicks?: number;
  readonly limits?: Partial<RaftLimits>;
  readonly mutations?: RaftMutations;
}

interface PendingRead {
  readonly index: number;
  readonly context: number;
  readonly from: NodeId;
  readonly seq: number;
}

type CampaignKind = "preVote" | "election" | "transfer";

const noopData = new Uint8Array(0);

/**
 * One Raft peer as a deterministic state machine. Inputs: tick(), step(), propose(), readIndex(),
 * transferLeadership(). Output: ready()/advance().
 */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  role: Role = "follower";
  leader: NodeId = NONE;
  readonly log: RaftLog;
  private config: ConfigState;
  private readonly limits: RaftLimits;
  private readonly mutations: RaftMutations;
  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly snapshotTimeoutTicks: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly forwardProposals: boolean;
  private readonly rng: Prng;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private progress = new Map<NodeId, Progress>();
  private votes = new Map<NodeId, boolean>();
  private leadTransferee: NodeId = NONE;
  private uncommittedBytes = 0;

  private pendingReads: PendingRead[] = [];
  /** Reads that arrived before this leader committed an entry of its term (§6.4 step 1). */
  private readsAwaitingCommit: Omit<PendingRead, "index" | "seq">[] = [];
  private readSeq = 0;
  private readAcks = new Map<NodeId, number>();

  private sendNow: Message[] = [];
  private sendAfterPersist: Message[] = [];
  private readStates: ReadState[] = [];
  private broadcastPending = false;
  /**
   * The commit index advanced and followers have not been told. It rides on the next append; without
   * one, the next tick sends it, so a follower learns it within a tick instead of costing an extra
   * message (and its reply) per commit.
   */
  private commitPending = false;
  private heartbeatPending = false;

  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private inFlight:
    | { lastIndex: number; lastTerm: number; snapshotIndex: number; appliedTo: number }
    | undefined;

  constructor(cfg: RaftConfig) {
    invariant(cfg.id > 0, "node ids are positive");
    invariant(
      cfg.heartbeatTicks > 0 && cfg.electionTicks > cfg.heartbeatTicks,
      "need electionTicks > heartbeatTicks > 0",
    );
    this.id = cfg.id;
    this.limits = { ...defaultRaftLimits, ...cfg.limits };
    this.mutations = cfg.mutations ?? {};
    this.electionTicks = cfg.electionTicks;
    this.heartbeatTicks = cfg.heartbeatTicks;
    this.snapshotTimeoutTicks = cfg.snapshotTimeoutTicks ?? cfg.electionTicks * 10;
    this.preVote = cfg.preVote ?? true;
    this.checkQuorum = cfg.checkQuorum ?? true;
    this.forwardProposals = cfg.forwardProposals ?? true;
    this.rng = new Prng(cfg.seed ^ Math.imul(cfg.id, 0x85ebca6b));
    this.log = new RaftLog(cfg.storage, cfg.applied ?? 0);
    const { hardState, config } = cfg.storage.initialState();
    this.config = config;
    if (hardState.term > 0) {
      this.term = hardState.term;
      this.vote = hardState.vote;
    }
    this.becomeFollower(this.term, NONE);
    this.prevSoftState = this.softState();
    this.prevHardState = this.hardState();
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    if (this.role === "leader") this.tickLeader();
    else this.tickElection();
  }

  step(m: Message): void {
    if (m.type === "prop" || m.type === "readIndex") {
      // Forwarded requests carry no term obligations: the leader serves them in its own term or drops them.
      if (this.role === "leader") {
        if (m.type === "prop") this.appendProposals(m.entries);
        else this.startRead(m.from, m.context);
      }
      return;
    }
    if (m.term > this.term) {
      if (m.type === "vote" && !m.transfer && this.inLease()) return; // §9.6/§4.2.3: a live leader is not disrupted
      const keepTerm = (m.type === "vote" && m.preVote) || (m.type === "voteResp" && m.preVote && !m.reject);
      if (!keepTerm) {
        const fromLeader = m.type === "app" || m.type === "heartbeat" || m.type === "snap";
        this.becomeFollower(m.term, fromLeader ? m.from : NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === "app" || m.type === "heartbeat")) {
        // A stale leader (e.g. back from a partition) learns the newer term and steps down.
        this.send({
          type: "appResp",
          from: this.id,
          to: m.from,
          term: this.term,
          reject: true,
          index: 0,
          hintIndex: 0,
          hintTerm: 0,
        });
      } else if (m.type === "vote" && m.preVote) {
        this.send({
          type: "voteResp",
          from: this.id,
          to: m.from,
          term: this.term,
          preVote: true,
          reject: true,
        });
      }
      return;
    }

    if (m.type === "vote") {
      this.handleVote(m);
      return;
    }
    switch (this.role) {
      case "leader":
        this.stepLeader(m);
        break;
      case "candidate":
      case "preCandidate":
        this.stepCandidate(m);
        break;
      case "follower":
        this.stepFollower(m);
        break;
    }
  }

  /** Proposes client commands. On a follower they are forwarded to the leader (or rejected). */
  propose(datas: readonly Uint8Array[]): ProposeResult {
    if (this.role === "leader") return this.appendProposals(datas);
    if (this.leader === NONE) return { ok: false, error: "no_leader", leader: NONE };
    if (!this.forwardProposals) return { ok: false, error: "not_leader", leader: this.leader };
    this.send({ type: "prop", from: this.id, to: this.leader, term: this.term, entries: datas });
    return { ok: true, index: 0, term: this.term, forwarded: true };
  }

  /** Requests a linearizable read point (§6.4); the answer arrives as a ReadState with this context. */
  readIndex(context: number): ReadIndexResult {
    if (this.role === "leader") {
      this.startRead(this.id, context);
      return { ok: true };
    }
    if (this.leader === NONE) return { ok: false, error: "no_leader" };
    this.send({ type: "readIndex", from: this.id, to: this.leader, term: this.term, context });
    return { ok: true };
  }

  /** Hands leadership to `to` (§3.10 of the dissertation): catch it up, then send TimeoutNow. */
  transferLeadership(to: NodeId): boolean {
    if (this.role !== "leader" || to === this.id || !this.config.voters.includes(to)) return false;
    if (this.leadTransferee === to) return true;
    this.leadTransferee = to;
    this.electionElapsed = 0; // the transfer must finish within one election timeout
    const pr = this.progressOf(to);
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to, true);
    return true;
  }

  /**
   * The transport could not reach `to`. A leader stops pipelining to it until it answers again. A
   * follower that cannot reach its leader (a crashed process refuses connections at once) stops
   * deferring to it and campaigns within half an election timeout instead of a whole one; pre-vote
   * keeps this from disrupting a leader that is in fact alive for the others.
   */
  reportUnreachable(to: NodeId): void {
    if (this.role === "leader") {
      const pr = this.progress.get(to);
      if (pr && pr.state === "replicate") pr.becomeProbe();
    } else if (this.role === "follower" && to === this.leader && to !== NONE) {
      this.leader = NONE;
      const soon = this.randomizedElectionTimeout - 1 - this.rng.int(Math.ceil(this.electionTicks / 2));
      this.electionElapsed = Math.max(this.electionElapsed, soon);
    }
  }

  /** The transport finished (or failed) sending a snapshot to `to`. */
  reportSnapshot(to: NodeId, ok: boolean): void {
    const pr = this.progress.get(to);
    if (this.role !== "leader" || !pr || pr.state !== "snapshot") return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    pr.probeSent = ok; // wait for the follower's reply to the snapshot before probing again
  }

  // ---------------------------------------------------------------- output

  hasReady(): boolean {
    if (this.inFlight) return false;
    const soft = this.softState();
    const hard = this.hardState();
    return (
      this.broadcastPending ||
      this.heartbeatPending ||
      this.sendNow.length > 0 ||
      this.sendAfterPersist.length > 0 ||
      this.readStates.length > 0 ||
      this.log.unstableEntries().length > 0 ||
      this.log.pendingSnapshot() !== undefined ||
      this.log.hasNextCommitted() ||
      !sameSoftState(soft, this.prevSoftState) ||
      !sameHardState(hard, this.prevHardState)
    );
  }

  ready(): Ready {
    invariant(this.inFlight === undefined, "ready() called before advance() of the previous Ready");
    this.flush();
    const soft = this.softState();
    const hard = this.hardState();
    const entries = this.log.unstableEntries().slice();
    const snapshot = this.log.pendingSnapshot();
    const committed = this.log.nextCommitted(this.limits.applyBytesMax);
    const hardChanged = !sameHardState(hard, this.prevHardState);
    const last = entries[entries.length - 1];
    const lastCommitted = committed[committed.length - 1];
    this.inFlight = {
      lastIndex: last?.index ?? 0,
      lastTerm: last?.term ?? 0,
      snapshotIndex: snapshot?.meta.index ?? 0,
      appliedTo: lastCommitted?.index ?? snapshot?.meta.index ?? this.log.applied,
    };
    const ready: Ready = {
      softState: sameSoftState(soft, this.prevSoftState) ? undefined : soft,
      hardState: hardChanged ? hard : undefined,
      entries,
      snapshot,
      committed,
      readStates: this.readStates,
      sendNow: this.sendNow,
      sendAfterPersist: this.sendAfterPersist,
      mustSync:
        entries.length > 0 ||
        snapshot !== undefined ||
        hard.term !== this.prevHardState.term ||
        hard.vote !== this.prevHardState.vote,
    };
    this.prevSoftState = soft;
    this.prevHardState = hard;
    this.readStates = [];
    this.sendNow = [];
    this.sendAfterPersist = [];
    if (this.role === "leader")
      this.uncommittedBytes = Math.max(0, this.uncommittedBytes - dataBytes(committed));
    return ready;
  }

  /** The driver persisted, sent and applied the last Ready. */
  advance(): void {
    const done = this.inFlight;
    invariant(done !== undefined, "advance() without a Ready");
    this.inFlight = undefined;
    if (done.snapshotIndex > 0) this.log.stableSnapshotTo(done.snapshotIndex);
    if (done.lastIndex > 0) this.log.stableTo(done.lastIndex, done.lastTerm);
    if (done.appliedTo > this.log.applied) this.log.appliedTo(done.appliedTo);
    if (this.role === "leader" && done.lastIndex > 0) {
      // The leader's own entries count toward commit only once durable here.
      const self = this.progressOf(this.id);
      if (self.maybeUpdate(this.log.stableLastIndex()) && this.maybeCommit()) this.commitPending = true;
    }
  }

  status(): Status {
    const progress = new Map<NodeId, ProgressStatus>();
    if (this.role === "leader") {
      for (const [id, pr] of this.progress) {
        progress.set(id, { match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive });
      }
    }
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      role: this.role,
      leader: this.leader,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      config: this.config,
      progress,
    };
  }

  // ---------------------------------------------------------------- roles

  private becomeFollower(term: number, leader: NodeId): void {
    this.reset(term);
    this.role = "follower";
    this.leader = leader;
  }

  private becomePreCandidate(): void {
    invariant(this.role !== "leader", "a leader cannot become a pre-candidate");
    // A pre-vote changes neither term nor vote, so a partitioned node cannot inflate terms (§9.6).
    this.role = "preCandidate";
    this.leader = NONE;
    this.votes = new Map();
  }

  private becomeCandidate(): void {
    invariant(this.role !== "leader", "a leader cannot become a candidate");
    this.reset(this.term + 1);
    this.role = "candidate";
    this.vote = this.id;
  }

  private becomeLeader(): void {
    invariant(this.role === "candidate", `only a candidate can become leader, not a ${this.role}`);
    this.reset(this.term);
    this.role = "leader";
    this.leader = this.id;
    const self = this.progressOf(this.id);
    self.maybeUpdate(this.log.stableLastIndex());
    self.becomeReplicate();
    // §5.4.2: a no-op of the new term lets earlier entries commit; reads also wait for it (§6.4).
    this.appendEntries([{ kind: "noop", data: noopData }]);
    this.broadcastPending = true;
  }

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = NONE;
    }
    this.leader = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTicks + this.rng.int(this.electionTicks);
    this.votes = new Map();
    this.leadTransferee = NONE;
    this.uncommittedBytes = 0;
    this.pendingReads = [];
    this.readsAwaitingCommit = [];
    this.readAcks = new Map();
    this.broadcastPending = false;
    this.commitPending = false;
    this.heartbeatPending = false;
    this.progress = new Map();
    const next = this.log.lastIndex() + 1;
    for (const id of [...this.config.voters, ...this.config.learners]) {
      this.progress.set(id, new Progress(next, this.limits.inflightMax, this.limits.inflightBytesMax));
    }
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign(this.preVote ? "preVote" : "election");
    }
  }

  private tickLeader(): void {
    if (this.commitPending) this.broadcastPending = true;
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !this.quorumActive()) {
        // §6.2 check-quorum: a leader that cannot hear a majority steps down instead of serving stale reads.
        this.becomeFollower(this.term, NONE);
        return;
      }
      this.leadTransferee = NONE;
    }
    for (const [id, pr] of this.progress) {
      if (pr.state === "snapshot" && ++pr.snapshotTicks >= this.snapshotTimeoutTicks)
        this.reportSnapshot(id, false);
    }
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.heartbeatPending = true;
    }
  }

  private campaign(kind: CampaignKind): void {
    if (!this.promotable()) return;
    if (kind === "preVote") this.becomePreCandidate();
    else this.becomeCandidate();
    const preVote = kind === "preVote";
    const voteTerm = preVote ? this.term + 1 : this.term;
    if (this.poll(this.id, true) === "won") {
      this.winCampaign();
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const to of this.config.voters) {
      if (to === this.id) continue;
      this.send({
        type: "vote",
        from: this.id,
        to,
        term: voteTerm,
        preVote,
        transfer: kind === "transfer",
        lastIndex,
        lastTerm,
      });
    }
  }

  private winCampaign(): void {
    if (this.role === "preCandidate") this.campaign("election");
    else this.becomeLeader();
  }

  private poll(from: NodeId, granted: boolean): "won" | "lost" | "pending" {
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

  /** §5.2, §5.4.1: one vote per term, only for a log at least as up-to-date as ours. */
  private handleVote(m: VoteMsg): void {
    const alreadyVotedForIt = this.vote === m.from;
    const free = this.vote === NONE && this.leader === NONE;
    const futureTerm = m.preVote && m.term > this.term;
    const canVote = alreadyVotedForIt || free || futureTerm || this.mutations.grantTwoVotesPerTerm === true;
    if (canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm) && !this.outranksPreVoter(m)) {
      this.send({
        type: "voteResp",
        from: this.id,
        to: m.from,
        term: m.term,
        preVote: m.preVote,
        reject: false,
      });
      if (!m.preVote) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({
        type: "voteResp",
        from: this.id,
        to: m.from,
        term: this.term,
        preVote: m.preVote,
        reject: true,
      });
    }
  }

  /**
   * Two pre-candidates with equally up-to-date logs would grant each other and split the real vote;
   * only the one with the higher id gets the other's pre-vote. Denying a pre-vote costs only liveness,
   * and only while both campaign at once.
   */
  private outranksPreVoter(m: VoteMsg): boolean {
    if (!m.preVote || this.role !== "preCandidate") return false;
    const sameLog = m.lastTerm === this.log.lastTerm() && m.lastIndex === this.log.lastIndex();
    return sameLog && this.id > m.from;
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case "app":
      case "heartbeat":
      case "snap":
        // §5.2: a leader of our term exists; we lost.
        this.becomeFollower(this.term, m.from);
        this.stepFollower(m);
        break;
      case "voteResp":
        this.handleVoteResp(m);
        break;
      default:
        break;
    }
  }

  private handleVoteResp(m: VoteRespMsg): void {
    if (m.preVote !== (this.role === "preCandidate")) return;
    const result = this.poll(m.from, !m.reject);
    if (result === "won") this.winCampaign();
    else if (result === "lost") this.becomeFollower(this.term, NONE);
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case "app":
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleAppend(m);
        break;
      case "heartbeat":
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleHeartbeat(m);
        break;
      case "snap":
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleSnapshot(m);
        break;
      case "timeoutNow":
        this.campaign("transfer");
        break;
      case "readIndexResp":
        if (m.index > 0) this.readStates.push({ index: m.index, context: m.context });
        break;
      default:
        break;
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case "app":
      case "heartbeat":
      case "snap":
        invariant(false, `two leaders in term ${this.term}: ${this.id} and ${m.from}`);
        break;
      case "appResp":
        this.handleAppendResp(m);
        break;
      case "heartbeatResp":
        this.handleHeartbeatResp(m);
        break;
      default:
        break;
    }
  }

  // ---------------------------------------------------------------- replication (follower side)

  private handleAppend(m: AppendMsg): void {
    const reply = (fields: Pick<AppendRespMsg, "reject" | "index" | "hintIndex" | "hintTerm">) =>
      this.send({ type: "appResp", from: this.id, to: m.from, term: this.term, ...fields });
    if (m.prevIndex < this.log.committed) {
      // Everything up to our commit index already matches the leader's log (Log Matching)...
      for (const e of m.entries) {
        if (e.index > this.log.committed) break;
        const term = this.log.term(e.index);
        invariant(
          term === undefined || term === e.term,
          `leader ${m.from} sent entry ${e.index}/${e.term} over committed term ${term}`,
        );
      }
      reply({ reject: false, index: this.log.committed, hintIndex: 0, hintTerm: 0 });
      return;
    }
    const lastNew = this.log.maybeAppend(
      m.prevIndex,
      m.prevTerm,
      m.entries,
      this.mutations.skipLogMatchingCheck === true,
    );
    if (lastNew !== undefined) {
      this.log.commitTo(Math.min(m.commit, lastNew));
      reply({ reject: false, index: lastNew, hintIndex: 0, hintTerm: 0 });
      return;
    }
    // §5.3 fast backtracking: name the conflicting term and where it starts, or where our log ends.
    const lastIndex = this.log.lastIndex();
    if (m.prevIndex > lastIndex) {
      reply({ reject: true, index: m.prevIndex, hintIndex: lastIndex + 1, hintTerm: 0 });
    } else {
      const hintTerm = this.log.term(m.prevIndex) ?? 0;
      reply({
        reject: true,
        index: m.prevIndex,
        hintIndex: this.log.firstIndexOfTerm(m.prevIndex),
        hintTerm,
      });
    }
  }

  private handleHeartbeat(m: HeartbeatMsg): void {
    this.log.commitTo(m.commit);
    this.send({ type: "heartbeatResp", from: this.id, to: m.from, term: this.term, readSeq: m.readSeq });
  }

  private handleSnapshot(m: SnapshotMsg): void {
    const { index, term, config } = m.snapshot.meta;
    const reply = (at: number) =>
      this.send({
        type: "appResp",
        from: this.id,
        to: m.from,
        term: this.term,
        reject: false,
        index: at,
        hintIndex: 0,
        hintTerm: 0,
      });
    if (index <= this.log.committed) {
      reply(this.log.committed);
      return;
    }
    if (this.log.matchTerm(index, term)) {
      // We already hold the snapshot's last entry, hence (Log Matching) everything before it.
      this.log.commitTo(index);
      reply(this.log.committed);
      return;
    }
    this.log.restore(m.snapshot);
    this.config = config;
    reply(index);
  }

  // ---------------------------------------------------------------- replication (leader side)

  private appendProposals(datas: readonly Uint8Array[]): ProposeResult {
    if (this.leadTransferee !== NONE)
      return { ok: false, error: "transfer_in_progress", leader: this.leader };
    const bytes = datas.reduce((sum, d) => sum + d.length, 0);
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.limits.uncommittedBytesMax) {
      return { ok: false, error: "uncommitted_full", leader: this.id };
    }
    this.uncommittedBytes += bytes;
    const index = this.appendEntries(datas.map((data) => ({ kind: "normal" as const, data })));
    this.broadcastPending = true;
    return { ok: true, index, term: this.term, forwarded: false };
  }

  /** Appends at the leader's tail and returns the index of the last entry. */
  private appendEntries(items: readonly Pick<Entry, "kind" | "data">[]): number {
    let index = this.log.lastIndex();
    const entries = items.map((item) => ({
      term: this.term,
      index: ++index,
      kind: item.kind,
      data: item.data,
    }));
    this.log.append(entries);
    return index;
  }

  /** Sends the follower its next batch; false if nothing was sent. */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progressOf(to);
    if (pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const lastIndex = this.log.lastIndex();
    const hi = Math.min(lastIndex + 1, pr.next + this.limits.appendEntriesMax);
    const entries =
      prevTerm === undefined ? undefined : this.log.slice(pr.next, hi, this.limits.appendBytesMax);
    if (prevTerm === undefined || entries === undefined) return this.sendSnapshot(to, pr);
    if (entries.length === 0 && !sendIfEmpty) return false;
    const commit = Math.min(this.log.committed, prevIndex + entries.length);
    this.send({ type: "app", from: this.id, to, term: this.term, prevIndex, prevTerm, entries, commit });
    const last = entries[entries.length - 1];
    if (pr.state === "replicate") {
      if (last !== undefined) {
        pr.next = last.index + 1;
        pr.inflights.add(last.index, dataBytes(entries));
      }
    } else {
      pr.probeSent = true;
    }
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) return false; // don't ship a snapshot to a node that may be down
    const snapshot = this.log.pendingSnapshot() ?? this.log.storageSnapshot();
    invariant(snapshot.meta.index > 0, `follower ${to} needs a snapshot but none exists`);
    pr.becomeSnapshot(snapshot.meta.index);
    this.send({ type: "snap", from: this.id, to, term: this.term, snapshot });
    return true;
  }

  private handleAppendResp(m: AppendRespMsg): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (m.reject) {
      if (pr.maybeDecrTo(m.index, this.nextAfterRejection(m))) this.sendAppend(m.from, true);
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) {
      if (wasPaused && pr.state === "probe") this.sendAppend(m.from, false);
      return;
    }
    if (pr.state === "probe") pr.becomeReplicate();
    else if (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot) pr.becomeProbe();
    else if (pr.state === "replicate") pr.inflights.freeTo(m.index);
    if (this.maybeCommit()) this.commitPending = true;
    // A follower that was paused may have missed the commit index: tell it even without new entries.
    if (this.sendAppend(m.from, wasPaused)) while (this.sendAppend(m.from, false)) {}
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
  }

  /** §5.3 optimization: from the follower's hint, the first index that may match. */
  private nextAfterRejection(m: AppendRespMsg): number {
    if (m.hintTerm === 0) return m.hintIndex;
    const lastOfTerm = this.log.lastIndexOfTerm(m.hintTerm, m.index);
    return lastOfTerm === undefined ? m.hintIndex : lastOfTerm + 1;
  }

  private handleHeartbeatResp(m: HeartbeatRespMsg): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (pr.state === "probe") pr.probeSent = false;
    // A live follower with a full window may have lost appends: one more append finds out (a rejection
    // restarts probing) without resending the whole window; without it replication can stall forever.
    else if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirstOne();
    // Even an empty append helps: if earlier ones were lost, the follower's rejection restarts probing.
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from, true);
    if (m.readSeq > (this.readAcks.get(m.from) ?? 0)) {
      this.readAcks.set(m.from, m.readSeq);
      this.releaseConfirmedReads();
    }
  }

  /** §5.4.2 Figure 8: commit by counting replicas only for an entry of the current term. */
  private maybeCommit(): boolean {
    const matches = this.config.voters.map((id) => this.progressOf(id).match).sort((a, b) => b - a);
    const quorumIndex = matches[this.quorum() - 1] ?? 0;
    if (quorumIndex <= this.log.committed) return false;
    if (this.log.term(quorumIndex) !== this.term && this.mutations.commitOldTermByCounting !== true)
      return false;
    this.log.commitTo(quorumIndex);
    if (this.readsAwaitingCommit.length > 0 && this.log.term(this.log.committed) === this.term) {
      const waiting = this.readsAwaitingCommit;
      this.readsAwaitingCommit = [];
      for (const r of waiting) this.startRead(r.from, r.context);
    }
    return true;
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: "timeoutNow", from: this.id, to, term: this.term });
  }

  /** Deferred broadcasts go out once per Ready, so proposals arriving together share appends. */
  private flush(): void {
    if (this.role !== "leader") return;
    if (this.broadcastPending) {
      this.broadcastPending = false;
      this.commitPending = false;
      for (const id of this.progress.keys()) {
        if (id !== this.id && this.sendAppend(id, true)) while (this.sendAppend(id, false)) {}
      }
    }
    if (this.heartbeatPending) {
      this.heartbeatPending = false;
      for (const [id, pr] of this.progress) {
        if (id === this.id) continue;
        const commit = Math.min(pr.match, this.log.committed);
        this.send({
          type: "heartbeat",
          from: this.id,
          to: id,
          term: this.term,
          commit,
          readSeq: this.readSeq,
        });
      }
    }
  }

  // ---------------------------------------------------------------- ReadIndex (§6.4)

  private startRead(from: NodeId, context: number): void {
    if (this.pendingReads.length + this.readsAwaitingCommit.length >= this.limits.readsPendingMax) return;
    if (this.log.term(this.log.committed) !== this.term) {
      this.readsAwaitingCommit.push({ from, context });
      return;
    }
    const read = { index: this.log.committed, context, from, seq: ++this.readSeq };
    this.pendingReads.push(read);
    if (this.quorum() === 1) this.releaseConfirmedReads();
    else this.heartbeatPending = true;
  }

  private releaseConfirmedReads(): void {
    let released = 0;
    for (const read of this.pendingReads) {
      if (!this.readConfirmed(read.seq)) break;
      released++;
      if (read.from === this.id) this.readStates.push({ index: read.index, context: read.context });
      else
        this.send({
          type: "readIndexResp",
          from: this.id,
          to: read.from,
          term: this.term,
          context: read.context,
          index: read.index,
        });
    }
    if (released > 0) this.pendingReads = this.pendingReads.slice(released);
  }

  private readConfirmed(seq: number): boolean {
    let acks = 0;
    for (const id of this.config.voters) {
      if (id === this.id || (this.readAcks.get(id) ?? 0) >= seq) acks++;
    }
    return acks >= this.quorum();
  }

  // ---------------------------------------------------------------- helpers

  private send(m: Message): void {
    const immediate =
      this.role === "leader" &&
      (m.type === "app" || m.type === "heartbeat" || m.type === "snap" || m.type === "timeoutNow");
    if (immediate) this.sendNow.push(m);
    else this.sendAfterPersist.push(m);
  }

  private inLease(): boolean {
    return this.checkQuorum && this.leader !== NONE && this.electionElapsed < this.electionTicks;
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.config.voters) {
      const pr = this.progressOf(id);
      if (id === this.id || pr.recentActive) active++;
      pr.recentActive = false;
    }
    return active >= this.quorum();
  }

  private quorum(): number {
    return Math.floor(this.config.voters.length / 2) + 1;
  }

  private promotable(): boolean {
    return this.config.voters.includes(this.id);
  }

  private progressOf(id: NodeId): Progress {
    const pr = this.progress.get(id);
    invariant(pr !== undefined, `no progress for node ${id}`);
    return pr;
  }

  private softState(): SoftState {
    return { leader: this.leader, role: this.role };
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function dataBytes(entries: readonly Entry[]): number {
  let bytes = 0;
  for (const entry of entries) bytes += entry.data.length;
  return bytes;
}
