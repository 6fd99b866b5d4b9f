import { type ConfChange, isMember, wasRemoved } from "./confchange.js";
import {
  handleVote,
  handleVoteResp,
  refuseVote,
  reportLeaderUnreachable,
  resumeDeferredTransfer,
  tickElection,
} from "./election.js";
import { stepFollower } from "./follower.js";
import { handOffTarget, requestedSilentTicksMax } from "./hand-off.js";
import type { RaftLog } from "./log.js";
import { applyConfigEntries, proposeConfChange, sayGoodbye } from "./membership.js";
import type { RaftConfig, RaftLimits } from "./options.js";
import { startRead } from "./read-index.js";
import {
  appendProposals,
  dataBytes,
  flush,
  reportFollowerUnreachable,
  reportSnapshot,
  selfPersisted,
  stepLeader,
  tickLeader,
  transferLeadership,
} from "./replication.js";
import { RaftState } from "./state.js";
import {
  type ConfigState,
  type Entry,
  type HardState,
  invariant,
  type Message,
  NONE,
  type NodeId,
  type ProgressStatus,
  type ProposeResult,
  type ReadIndexResult,
  type Ready,
  type Role,
  type SoftState,
  type Status,
  type TransferStatus,
} from "./types.js";

/**
 * One Raft peer as a deterministic state machine. Inputs: tick(), step(), propose(), readIndex(),
 * transferLeadership(), reportUnreachable(), reportSnapshot(). Output: ready()/advance().
 * Term, vote, role and leader are readable here and change only inside the core.
 */
export class Raft {
  readonly id: NodeId;
  private readonly r: RaftState;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private inFlight:
    | {
        lastIndex: number;
        lastTerm: number;
        snapshotIndex: number;
        appliedTo: number;
        configEntries: readonly Entry[];
      }
    | undefined;

  constructor(cfg: RaftConfig) {
    this.r = new RaftState(cfg);
    this.id = this.r.id;
    this.prevSoftState = softStateOf(this.r);
    // A hard state changed while loading (recovery started or dropped) goes out with the first Ready.
    this.prevHardState = this.r.loadedHardState ?? this.r.hardState();
  }

  get term(): number {
    return this.r.term;
  }

  get vote(): NodeId {
    return this.r.vote;
  }

  get role(): Role {
    return this.r.role;
  }

  get leader(): NodeId {
    return this.r.leader;
  }

  /** The node's log was lost and no leader has caught it up yet (docs/recovery.md). */
  get recovering(): boolean {
    return this.r.recovering;
  }

  get log(): RaftLog {
    return this.r.log;
  }

  /** The applied configuration: voters, learners and removed ids. */
  get config(): ConfigState {
    return this.r.config;
  }

  /** Index of the config entry (or snapshot) the applied configuration comes from. */
  get configIndex(): number {
    return this.r.configIndex;
  }

  /** The limits this core enforces (defaults filled in), for drivers that pre-check against them. */
  get limits(): RaftLimits {
    return this.r.opts.limits;
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    this.r.ticks++;
    if (this.r.role === "leader") tickLeader(this.r);
    else tickElection(this.r);
  }

  step(m: Message): void {
    const r = this.r;
    if (m.type === "vote" && wasRemoved(r.config, m.from)) {
      // A removed node (ids are never reused) cannot disrupt, whatever its term. Only removed ids: a
      // node known here as a learner or not at all may be a voter we have not heard of yet, and ignoring
      // it can leave no electable leader (sim seeds 33 and 48 with --membership). Learners and joining
      // nodes never campaign: they are no voters in their own configuration.
      refuseVote(r, m, "removed");
      return;
    }
    if (r.role === "leader" && isResponse(m) && !isMember(r.config, m.from)) {
      if (m.type === "appResp") sayGoodbye(r, m);
      return;
    }
    // Any message of our term shows the member is up; a candidate's votes carry over to its leadership.
    if ((r.role === "leader" || r.role === "candidate") && m.term === r.term)
      r.tracker.progress.get(m.from)?.heard(r.ticks);
    if (m.type === "prop" || m.type === "readIndex") {
      // Forwarded requests carry no term obligations: the leader serves them in its own term or drops them.
      if (r.role === "leader") {
        if (m.type === "prop") appendProposals(r, m.entries);
        else startRead(r, m.from, m.context);
      }
      return;
    }
    if (m.term > r.term) {
      if (m.type === "vote" && !m.transfer && r.inLease()) {
        refuseVote(r, m, "leaderLease"); // §9.6/§4.2.3: a live leader is not disrupted
        return;
      }
      const keepTerm = (m.type === "vote" && m.preVote) || (m.type === "voteResp" && m.preVote && !m.reject);
      if (!keepTerm) {
        const fromLeader = m.type === "app" || m.type === "heartbeat" || m.type === "snap";
        r.becomeFollower(m.term, fromLeader ? m.from : NONE, m.from);
      }
    } else if (m.term < r.term) {
      this.stepStale(m);
      return;
    }

    if (m.type === "vote") {
      handleVote(r, m);
      return;
    }
    switch (r.role) {
      case "leader":
        stepLeader(r, m);
        break;
      case "candidate":
      case "preCandidate":
        this.stepCandidate(m);
        break;
      case "follower":
        stepFollower(r, m);
        break;
    }
  }

  /** A message from an older term. */
  private stepStale(m: Message): void {
    const r = this.r;
    // A stale leader (e.g. back from a partition, or one that counted a recovering node's lost log)
    // learns the newer term and steps down.
    if (
      (r.opts.checkQuorum || r.opts.preVote || r.recovering) &&
      (m.type === "app" || m.type === "heartbeat")
    ) {
      r.send({ type: "appResp", to: m.from, reject: true, index: 0, hintIndex: 0, hintTerm: 0 });
    } else if (m.type === "vote") {
      refuseVote(r, m, "staleTerm");
      if (m.preVote) r.send({ type: "voteResp", to: m.from, preVote: true, reject: true });
    }
  }

  private stepCandidate(m: Message): void {
    const r = this.r;
    switch (m.type) {
      case "app":
      case "heartbeat":
      case "snap":
        // §5.2: a leader of our term exists; we lost.
        r.becomeFollower(r.term, m.from, m.from);
        stepFollower(r, m);
        break;
      case "voteResp":
        handleVoteResp(r, m);
        break;
      default:
        break;
    }
  }

  /** Proposes client commands. On a follower they are forwarded to the leader (or rejected). */
  propose(datas: readonly Uint8Array[]): ProposeResult {
    const r = this.r;
    if (r.role === "leader") return appendProposals(r, datas);
    if (r.leader === NONE) return { ok: false, error: "no_leader", leader: NONE };
    if (!r.opts.forwardProposals) return { ok: false, error: "not_leader", leader: r.leader };
    r.send({ type: "prop", to: r.leader, entries: datas });
    return { ok: true, index: 0, term: r.term, forwarded: true };
  }

  /**
   * Leader: proposes a configuration change (docs/membership.md); never forwarded. It takes effect
   * when applied: once the driver has applied the Ready whose `committed` holds it and calls advance().
   */
  proposeConfChange(cc: ConfChange): ProposeResult {
    return proposeConfChange(this.r, cc);
  }

  /** Requests a linearizable read point (§6.4); the answer arrives as a ReadState with this context. */
  readIndex(context: number): ReadIndexResult {
    const r = this.r;
    if (r.role === "leader") {
      startRead(r, r.id, context);
      return { ok: true };
    }
    if (r.leader === NONE) return { ok: false, error: "no_leader" };
    r.send({ type: "readIndex", to: r.leader, context });
    return { ok: true };
  }

  /** Hands leadership to `to` (§3.10 of the dissertation): catch it up, then send TimeoutNow. */
  transferLeadership(to: NodeId): boolean {
    return transferLeadership(this.r, to);
  }

  /**
   * The transport could not reach `to`. A leader stops pipelining to it until it answers again. A
   * candidate notes it for the hand-off of the leadership it may win (a voter whose connection closed
   * after its vote ranks last: becomeLeader carries the note over). A follower whose leader has also
   * been silent for more than a heartbeat interval campaigns within half an election timeout instead
   * of a whole one (election.ts).
   */
  reportUnreachable(to: NodeId): void {
    const r = this.r;
    if (r.role === "leader") reportFollowerUnreachable(r, to);
    else if (r.role === "candidate") r.tracker.progress.get(to)?.unreachableReported();
    else if (r.role === "follower" && to === r.leader && to !== NONE) reportLeaderUnreachable(r);
  }

  /**
   * Leader: the transfer under way, or the last one of this term it gave up while still leading (why,
   * and whether TimeoutNow had gone out: if not, the target was never told to campaign). Undefined when
   * not leading or no transfer was started in this term; a new transfer replaces it.
   */
  get transfer(): TransferStatus | undefined {
    const r = this.r;
    if (r.role !== "leader") return undefined;
    if (r.leadTransferee === NONE) return r.transferAbandoned;
    return { to: r.leadTransferee, timeoutNowSent: r.timeoutNowSent, abandoned: undefined };
  }

  /** The transport finished (or failed) sending a snapshot to `to`. */
  reportSnapshot(to: NodeId, ok: boolean): void {
    reportSnapshot(this.r, to, ok);
  }

  // ---------------------------------------------------------------- output

  hasReady(): boolean {
    if (this.inFlight) return false;
    const r = this.r;
    return (
      r.broadcastPending ||
      r.heartbeatPending ||
      r.sendNow.length > 0 ||
      r.sendAfterPersist.length > 0 ||
      r.readStates.length > 0 ||
      r.events.pending() ||
      r.log.unstableEntries().length > 0 ||
      r.log.pendingSnapshot() !== undefined ||
      r.log.hasNextCommitted() ||
      r.leader !== this.prevSoftState.leader ||
      r.role !== this.prevSoftState.role ||
      hardStateChanged(r, this.prevHardState)
    );
  }

  ready(): Ready {
    invariant(this.inFlight === undefined, "ready() called before advance() of the previous Ready");
    const r = this.r;
    flush(r);
    const soft = softStateOf(r);
    const hard = r.hardState();
    const prevHard = this.prevHardState;
    const entries = r.log.unstableEntries().slice();
    const snapshot = r.log.pendingSnapshot();
    const committed = r.log.nextCommitted(r.opts.limits.applyBytesMax);
    const last = entries[entries.length - 1];
    const lastCommitted = committed[committed.length - 1];
    const configEntries = committed.filter(isConfigEntry);
    // A config entry applies with this Ready: its commit index goes to disk first, so a restart never
    // falls back to a configuration older than one this node has used (membership.ts).
    const configApplies = configEntries.length > 0;
    this.inFlight = {
      lastIndex: last?.index ?? 0,
      lastTerm: last?.term ?? 0,
      snapshotIndex: snapshot?.meta.index ?? 0,
      appliedTo: lastCommitted?.index ?? snapshot?.meta.index ?? r.log.applied,
      configEntries,
    };
    const ready: Ready = {
      softState: sameSoftState(soft, this.prevSoftState) ? undefined : soft,
      hardState: configApplies || hardStateChanged(r, prevHard) ? hard : undefined,
      entries,
      snapshot,
      committed,
      readStates: r.readStates,
      sendNow: r.sendNow,
      sendAfterPersist: r.sendAfterPersist,
      // A changed commit index or recovering marker alone needs no fsync: losing either is safe.
      mustSync:
        configApplies ||
        entries.length > 0 ||
        snapshot !== undefined ||
        hard.term !== prevHard.term ||
        hard.vote !== prevHard.vote,
      events: r.events.takeEvents(),
      eventsDropped: r.events.takeDropped(),
    };
    this.prevSoftState = soft;
    this.prevHardState = hard;
    r.readStates = [];
    r.sendNow = [];
    r.sendAfterPersist = [];
    if (r.role === "leader") r.uncommittedBytes = Math.max(0, r.uncommittedBytes - dataBytes(committed));
    return ready;
  }

  /** The driver persisted, sent and applied the last Ready. */
  advance(): void {
    const done = this.inFlight;
    invariant(done !== undefined, "advance() without a Ready");
    this.inFlight = undefined;
    const r = this.r;
    if (done.snapshotIndex > 0) r.log.stableSnapshotTo(done.snapshotIndex);
    if (done.lastIndex > 0) r.log.stableTo(done.lastIndex, done.lastTerm);
    if (done.appliedTo > r.log.applied) r.log.appliedTo(done.appliedTo);
    if (r.role === "leader" && done.lastIndex > 0) selfPersisted(r);
    applyConfigEntries(r, done.configEntries);
    resumeDeferredTransfer(r);
  }

  /**
   * Leader: the voter a transfer without a named target goes to (POST /v1/leader without an id, a
   * stopping leader's hand-over): by hand-off.ts's rule, among the voters heard within two election
   * timeouts, other than `except` (a stopping leader's second try passes over the target it gave up).
   * NONE when not leading or no other voter was heard within that.
   */
  handOffTarget(except: NodeId = NONE): NodeId {
    const r = this.r;
    if (r.role !== "leader") return NONE;
    const silentTicksMax = requestedSilentTicksMax(r.opts);
    const voters = except === NONE ? r.config.voters : r.config.voters.filter((id) => id !== except);
    return handOffTarget(r.id, voters, r.tracker.progress, r.ticks, r.opts, silentTicksMax);
  }

  status(): Status {
    const r = this.r;
    const progress = new Map<NodeId, ProgressStatus>();
    if (r.role === "leader") {
      for (const [id, pr] of r.tracker.progress) {
        const { match, next, state, recentActive } = pr;
        progress.set(id, { match, next, state, recentActive, heardTicksAgo: r.ticks - pr.heardAt });
      }
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      role: r.role,
      leader: r.leader,
      recovering: r.recovering,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      config: r.config,
      progress,
    };
  }
}

function isConfigEntry(e: Entry): boolean {
  return e.kind === "config";
}

/** Answers a leader receives; from a node outside its configuration they are ignored. */
function isResponse(m: Message): boolean {
  return m.type === "appResp" || m.type === "heartbeatResp" || m.type === "voteResp";
}

function softStateOf(r: RaftState): SoftState {
  return { leader: r.leader, role: r.role };
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}

function hardStateChanged(r: RaftState, prev: HardState): boolean {
  return (
    r.term !== prev.term ||
    r.vote !== prev.vote ||
    r.log.committed !== prev.commit ||
    r.recovering !== (prev.recovering === true)
  );
}
