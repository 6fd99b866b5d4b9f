import {
  type ConfChange,
  type ConfigState,
  confChangeInvalidReason,
  type Entry,
  type Message,
  NONE,
  type NodeId,
  Raft,
  type Ready,
  type Role,
  type Snapshot,
} from "../raft/index.js";
import { type AsciiPushes, type Command, type Outcome, StackMachine } from "../stack/index.js";
import { LogLimiter, REPEAT_LOG_EVERY_MS } from "../transport/index.js";
import { decodeAppSnapshot } from "./app-snapshot.js";
import { applyOne, assertBatchFits, coreRefusal, ProposalBatch, proposalRefusal } from "./batch.js";
import { ConfChanges, confChangeRefusal } from "./conf-changes.js";
import {
  type DriverConfig,
  type DriverDeps,
  type DriverLimits,
  defaultDriverLimits,
} from "./driver-config.js";
import { NodeError } from "./errors.js";
import { reportEvents } from "./event-text.js";
import { handOver } from "./hand-over.js";
import { membershipNote } from "./membership.js";
import type { NodeMetrics } from "./metrics.js";
import type { Clock, DriverHooks, DriverLogger, DriverStorage, PeerNetwork, Reply } from "./ports.js";
import { PendingProposals } from "./proposals.js";
import { PendingReads, refusedRead } from "./reads.js";
import { type MemberSilence, memberSilence } from "./silence.js";
import { LocalSnapshots } from "./snapshots.js";

/**
 * The one driver loop around a Raft peer, used by the node process and the simulator alike: ticks it,
 * runs Ready → send → persist → send → apply → serve reads → advance, turns proposals and linearizable
 * reads into replies with deadlines, snapshots the machine in the background and hands leadership over
 * on request. Clock, storage and network are ports, so both worlds run this same code.
 */
export class Driver {
  readonly id: NodeId;
  readonly raft: Raft;
  private machine_: StackMachine;
  private readonly proposals: PendingProposals;
  /** Proposals of this turn, proposed as one entry when the Ready loop runs (or the batch is full). */
  private readonly batch: ProposalBatch;
  private readonly confChange = new ConfChanges();
  private readonly reads = new PendingReads();
  private readonly limits: DriverLimits;
  private readonly snapshots: LocalSnapshots;
  private readonly clock: Clock;
  private readonly storage: DriverStorage;
  private readonly network: PeerNetwork;
  private readonly hooks: DriverHooks;
  private readonly logger: DriverLogger | undefined;
  private readonly metrics: NodeMetrics | undefined;
  /** Refused pre-votes logged at most once per REPEAT_LOG_EVERY_MS per candidate and reason (event-text.ts). */
  private readonly refusalLog: LogLimiter;
  private cancelTicks: (() => void) | undefined;
  private loopScheduled = false;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private wasLeader = false;
  private prevLeader = NONE;
  /** Ticks this driver has run, and the one at which it last became leader (the core's own are private). */
  private ticks = 0;
  private ledFromTick = 0;

  /** Restores the machine from the storage's snapshot and builds Raft with applied = its index. */
  constructor(
    private readonly config: DriverConfig,
    private readonly deps: DriverDeps,
  ) {
    this.id = config.raft.id;
    this.clock = deps.clock;
    this.storage = deps.storage;
    this.network = deps.network;
    this.hooks = deps.hooks ?? {};
    this.logger = deps.logger;
    this.metrics = deps.metrics;
    this.refusalLog = new LogLimiter(REPEAT_LOG_EVERY_MS, () => this.clock.now());
    const snap = deps.storage.snapshot();
    this.machine_ = snap.meta.index > 0 ? this.restoreApp(snap.data) : new StackMachine(config.machine);
    this.raft = new Raft({
      ...config.raft,
      storage: deps.storage,
      applied: snap.meta.index,
      // Followers refuse with the leader's id (the node forwards to it), so the leader stamps time and keys.
      forwardProposals: false,
    });
    const voters = this.raft.config.voters;
    const note = membershipNote(config.voters, voters);
    if (note !== undefined) deps.logger?.info({ cluster: config.voters, replicated: voters }, note);
    const slot = Math.max(0, voters.indexOf(this.id));
    // Members snapshot at indexes offset by their place, so a quorum never stalls on snapshots at once.
    const phase = Math.floor((slot * config.snapshotEntries) / Math.max(1, voters.length));
    this.snapshots = new LocalSnapshots(snap.meta.index, phase, config.snapshotEntries, {
      clock: deps.clock,
      storage: deps.storage,
      hooks: this.hooks,
      metrics: deps.metrics,
      logger: deps.logger,
      failed: (err) => this.fail(err),
    });
    this.limits = { ...defaultDriverLimits, ...config.limits };
    assertBatchFits(this.limits, config.raft.limits);
    this.batch = new ProposalBatch(this.limits, config.mutations);
    this.proposals = new PendingProposals(deps.metrics);
  }

  /** The state machine; replaced when a snapshot from the leader is installed. */
  get machine(): StackMachine {
    return this.machine_;
  }

  /** Commands waiting for their outcome, proposed or gathered for the next batch (leader only). */
  get proposalsPending(): number {
    return this.proposals.size + this.batch.size;
  }

  /** The applied configuration: voters, learners and removed ids. */
  get membership(): ConfigState {
    return this.raft.config;
  }

  /** This node applied its own removal: it must stop serving as a member. */
  get removed(): boolean {
    return this.raft.config.removed?.includes(this.id) === true;
  }

  /**
   * Leader: how long it has not heard from each member it tracks (itself: 0), and whether the member is
   * cut off (silence.ts); empty on any other node.
   */
  peerSilence(): ReadonlyMap<NodeId, MemberSilence> {
    const silence = new Map<NodeId, MemberSilence>();
    if (this.raft.role !== "leader") return silence;
    const timing = {
      tickMs: this.config.tickMs,
      electionTicks: this.config.raft.electionTicks,
      ticksLed: this.ticks - this.ledFromTick,
    };
    for (const [id, pr] of this.raft.status().progress) {
      silence.set(
        id,
        id === this.id ? { lastHeardMs: 0, cutOff: false } : memberSilence(pr.heardTicksAgo, timing),
      );
    }
    return silence;
  }

  /** Index of the newest snapshot this node holds. */
  get snapshotIndex(): number {
    return this.snapshots.index;
  }

  start(): void {
    this.cancelTicks = this.clock.every(this.config.tickMs, () => this.tick());
    this.schedule();
  }

  // ------------------------------------------------------------ inputs

  private tick(): void {
    if (this.stopped) return;
    this.ticks++;
    if (!this.safely(() => this.raft.tick())) return;
    const now = this.clock.now();
    this.proposals.expire(now, this.raft.leader);
    this.batch.refuseStale(now - this.config.requestTimeoutMs, this.raft.leader, this.metrics);
    this.reads.expire(now, this.raft.leader);
    this.confChange.expire(now, 0, this.raft.leader);
    this.maybePromote();
    this.afterInput();
  }

  receive(m: Message): void {
    if (this.stopped) return;
    if (!this.safely(() => this.raft.step(m))) return;
    this.afterInput();
  }

  /**
   * Runs an input through the core; an impossible state it reports (a log that lost entries it had
   * acknowledged, say) stops the node as a failed write does, instead of escaping into the timer or the
   * socket that brought the input. False once failed.
   */
  private safely(input: () => void): boolean {
    try {
      input();
      return true;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  /** The network could not reach `peer` (a connection closed or was refused). */
  peerUnreachable(peer: NodeId): void {
    if (this.stopped) return;
    this.raft.reportUnreachable(peer);
    this.afterInput();
  }

  /** A snapshot to `peer` was delivered (ok) or abandoned. */
  snapshotSent(peer: NodeId, ok: boolean): void {
    if (this.stopped) return;
    this.raft.reportSnapshot(peer, ok);
    this.afterInput();
  }

  /**
   * Proposes a command (leader only) and answers `reply` with its outcome once applied here. The
   * command carries this leader's clock, whatever the caller stamped, so session time is always the
   * leader's; a proposal forwarded by a follower (membership work) enters here too, with a Reply that
   * sends the result back to it. The commands proposed in one turn (before the Ready loop runs) go
   * into one log entry (stack/batch.ts), each answered with its own outcome or refusal.
   */
  propose(cmd: Command, reply: Reply<Outcome>): void {
    if (this.refused(1, reply)) return;
    // Stamped while encoding: a spread copy of the command costs microseconds per write (stack/command.ts).
    if (!this.batch.add(cmd, reply, this.clock)) {
      this.proposeBatch();
      // A command larger than a batch goes alone (it fits an append: start.ts asserts proposalBytesMax).
      if (!this.batch.add(cmd, reply, this.clock))
        throw new Error("driver: an empty batch refused a command");
    }
    if (this.batch.full) this.proposeBatch();
    this.afterInput();
  }

  /** `propose` for the RESP fast lane's LPUSH commands, in one entry (ProposalBatch.addRun answers `reply`). */
  proposeRun(run: AsciiPushes, reply: Reply<Outcome>): void {
    if (this.refused(run.count, reply)) return;
    this.batch.gatherRun(run, reply, this.clock, this.raft.leader, this.metrics, () => this.proposeBatch());
    if (this.batch.full) this.proposeBatch();
    this.afterInput();
  }

  /** Refuses `count` commands answered by `reply` if they cannot all be taken now; true if it did. */
  private refused(count: number, reply: Reply<Outcome>): boolean {
    const full = this.proposalsPending + count > this.limits.proposalsPendingMax;
    const refused = proposalRefusal(this.stopped, this.raft.role, this.raft.leader, full);
    if (refused !== undefined) ProposalBatch.refuse(refused, count, reply, this.metrics);
    return refused !== undefined;
  }

  /**
   * Proposes the gathered commands as one entry: a single command in its own format (as before
   * batches), several as a batch. A refusal by the core refuses each command: nothing was proposed.
   */
  private proposeBatch(): void {
    const taken = this.batch.take();
    if (taken === undefined) return;
    const { replies, startedMs } = taken;
    const result = this.raft.propose([taken.data]);
    if (!result.ok) {
      const error = coreRefusal(result.error, result.leader);
      this.metrics?.proposalsRefused.inc({ code: error.code }, replies.length);
      for (const reply of replies) reply.reject(error);
      return;
    }
    this.metrics?.proposals.inc(replies.length);
    this.proposals.add(
      result.index,
      result.term,
      startedMs,
      startedMs + this.config.requestTimeoutMs,
      replies,
      taken.proposed,
    );
  }

  /**
   * Waits until this node may serve a linearizable read (ReadIndex, §6.4): the leader confirmed its
   * commit index and this node applied up to it. Then read `machine`.
   */
  read(reply: Reply<void>): void {
    const full = this.reads.size >= this.limits.readsPendingMax;
    if (refusedRead(reply, this.stopped, full, this.raft.leader)) return;
    const startedMs = this.clock.now();
    const context = this.reads.add(startedMs, startedMs + this.config.requestTimeoutMs, reply);
    if (!this.raft.readIndex(context).ok) {
      this.reads.drop(context);
      reply.reject(new NodeError("no_leader", "no leader known; retry", NONE));
      return;
    }
    this.afterInput();
  }

  /**
   * Leader: proposes a configuration change (docs/membership.md). Resolves with the resulting
   * configuration once the change is applied here; rejects with ConfChangeError when the core refuses
   * it (`config_change_pending`, `config_invalid`) and NodeError otherwise (not leader, busy, timeout:
   * outcome unknown, stopped).
   */
  proposeConfChange(cc: ConfChange): Promise<ConfigState> {
    return new Promise<ConfigState>((resolve, reject) => {
      if (this.stopped) {
        reject(new NodeError("stopped", "node is shutting down"));
        return;
      }
      const result = this.raft.proposeConfChange(cc);
      if (!result.ok) {
        const why =
          result.error === "config_invalid" ? confChangeInvalidReason(this.raft.config, cc) : undefined;
        reject(confChangeRefusal(result, why));
        return;
      }
      const deadlineMs = this.clock.now() + this.config.requestTimeoutMs;
      this.confChange.add(result.index, result.term, deadlineMs, { resolve, reject });
      this.logger?.info({ op: cc.op, id: cc.id, index: result.index }, "configuration change proposed");
      this.afterInput();
    });
  }

  /** Leader: promotes a caught-up learner (one change at a time; the core refuses while one is pending). */
  private maybePromote(): void {
    if (this.config.autoPromote === false) return;
    if (this.raft.role !== "leader" || this.raft.config.learners.length === 0) return;
    const lagMax = this.raft.limits.promoteLagEntriesMax;
    const id = this.confChange.learnerToPromote(this.raft.status(), lagMax, this.snapshots.index);
    // Refused or lost: the next tick tries again. Applied, it shows in the core's configApplied event.
    if (id !== undefined)
      this.proposeConfChange({ op: "promote", id, context: new Uint8Array(0) }).catch(() => {});
  }

  /** Asks the leader to hand leadership to `to`; false if this node is not the leader. */
  transferLeadership(to: NodeId): boolean {
    if (this.stopped) return false;
    const ok = this.raft.transferLeadership(to);
    this.afterInput();
    return ok;
  }

  /** If leader, hands leadership over (hand-over.ts) so clients see no election gap when this node stops. */
  handOver(waitMs: number): Promise<boolean> {
    const transfer = (to: NodeId) => this.transferLeadership(to);
    const { raft, clock } = this;
    return handOver(
      { raft, clock, tickMs: this.config.tickMs, transfer, stopped: () => this.stopped },
      waitMs,
    );
  }

  /** Stops ticking and fails every waiter (outcome unknown). Work in flight finishes; see `idle()`. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTicks?.();
    this.failAll(new NodeError("stopped", "node is shutting down"));
  }

  /** Resolves once no Ready is being processed (an in-flight save finished). */
  async idle(): Promise<void> {
    while (this.loop !== undefined) await this.loop;
  }

  private afterInput(): void {
    const leader = this.raft.role === "leader";
    if (leader && !this.wasLeader) {
      this.ledFromTick = this.ticks;
      this.hooks.elected?.();
    }
    this.wasLeader = leader;
    this.schedule();
  }

  // ------------------------------------------------------------ the Ready loop

  /** Coalesces wake-ups: many steps/proposals in one I/O phase become one Ready (group commit). */
  private schedule(): void {
    if (this.loopScheduled || this.loop !== undefined || this.stopped) return;
    this.loopScheduled = true;
    this.clock.defer(() => {
      this.loopScheduled = false;
      if (this.loop === undefined) this.drive();
    });
  }

  /**
   * Handles Readies one after another, synchronously until one must wait for its write; the rest of
   * that one (and the next) continues once it is durable. `loop` is set while a write is awaited.
   */
  private drive(): void {
    try {
      for (;;) {
        this.proposeBatch();
        if (this.stopped || !this.raft.hasReady()) break;
        const rd = this.raft.ready();
        const appliedEarly = this.beforePersist(rd);
        const saving = this.persist(rd);
        if (saving !== undefined) {
          const savedAt = this.clock.now();
          this.loop = saving.then(
            () => {
              this.loop = undefined;
              this.metrics?.fsyncLatency.observe((this.clock.now() - savedAt) / 1000);
              if (this.stopped) return;
              try {
                this.afterPersist(rd, appliedEarly);
              } catch (err) {
                this.fail(err);
                return;
              }
              this.drive();
            },
            (err: unknown) => {
              this.loop = undefined;
              this.fail(err);
            },
          );
          return;
        }
        this.afterPersist(rd, appliedEarly);
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /** A storage failure or an impossible state: stop serving; the process restarts from what is durable. */
  private fail(err: unknown): void {
    if (this.stopped) return;
    this.logger?.fatal({ err }, "driver loop failed; the node stops serving");
    this.stop();
    this.deps.onFatal?.(err);
  }

  /** Sends what may leave before the write and applies what was durable already; true if it applied. */
  private beforePersist(rd: Ready): boolean {
    this.metrics?.readyBatches.inc();
    reportEvents(rd.events, rd.eventsDropped, this.id, this.hooks, this.logger, this.refusalLog);
    if (rd.softState !== undefined) this.onSoftState(rd.softState.role, rd.softState.leader);
    if (rd.committed.length > 0) this.hooks.committed?.(rd.committed);
    this.network.send(rd.sendNow);
    if (this.config.mutations?.ackBeforeFsync === true) this.network.send(rd.sendAfterPersist);
    // Committed entries already durable here (all below the new ones) are applied before this batch's
    // fsync, so a client answer never waits for the next batch's write.
    const lastCommitted = rd.committed[rd.committed.length - 1]?.index ?? 0;
    const applyEarly =
      rd.snapshot === undefined && lastCommitted < (rd.entries[0]?.index ?? Number.MAX_SAFE_INTEGER);
    if (applyEarly && rd.committed.length > 0) {
      this.apply(rd.committed);
      this.releaseReads();
    }
    return applyEarly;
  }

  /** Starts the batch's write, if it has one (one fsync); a commit-only hard state is not written. */
  private persist(rd: Ready): Promise<void> | undefined {
    // A lost commit index is relearned from the leader.
    if (rd.entries.length === 0 && rd.snapshot === undefined && !rd.mustSync) return undefined;
    return this.storage.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot });
  }

  /** Once durable: acknowledgements and votes go out, the rest is applied, reads served, Raft advanced. */
  private afterPersist(rd: Ready, appliedEarly: boolean): void {
    if (this.config.mutations?.ackBeforeFsync !== true) this.network.send(rd.sendAfterPersist);
    if (rd.snapshot !== undefined) this.installSnapshot(rd.snapshot);
    if (!appliedEarly && rd.committed.length > 0) this.apply(rd.committed);
    for (const rs of rd.readStates) this.reads.confirmed(rs.context, rs.index);
    this.releaseReads();
    this.raft.advance();
    // After a restart the core's configuration may come from a committed entry not re-applied yet:
    // a snapshot waits until the machine reaches it, so its metadata is the configuration at its index.
    if (this.raft.configIndex <= this.machine_.appliedIndex) {
      this.snapshots.maybeStart(this.machine_, this.raft.config, this.deps.members);
    }
  }

  private onSoftState(role: Role, leader: NodeId): void {
    if (leader !== this.prevLeader) {
      this.metrics?.leaderChanges.inc();
      this.logger?.info({ role, leader, term: this.raft.term }, "leader changed");
      this.prevLeader = leader;
      this.hooks.leaderChanged?.(leader);
    }
    if (role !== "leader" && this.proposals.size > 0) {
      // Our proposals may still commit under the next leader, or vanish: the outcome is unknown.
      this.proposals.failAll("timeout", "leadership lost; outcome unknown, retry with the same key", leader);
    }
    if (role !== "leader") {
      this.confChange.fail(
        new NodeError("timeout", "leadership lost; the change's outcome is unknown", leader),
      );
    }
    if (leader === NONE) this.reads.leaderLost();
  }

  /** The state machine (and the member table) from snapshot data in either format. */
  private restoreApp(data: Uint8Array): StackMachine {
    const { members, stacks } = decodeAppSnapshot(data);
    this.deps.members?.restore(members);
    return StackMachine.restore(stacks, this.config.machine);
  }

  private installSnapshot(snap: Snapshot): void {
    const started = this.clock.now();
    this.machine_ = this.restoreApp(snap.data);
    this.snapshots.installed(snap.meta.index);
    this.metrics?.snapshotDone("installed", (this.clock.now() - started) / 1000, snap.data.length);
    this.logger?.info({ index: snap.meta.index, term: snap.meta.term }, "installed snapshot from leader");
    this.hooks.restored?.(snap);
    this.proposals.superseded(snap.meta.index, this.raft.leader);
    this.confChange.expire(this.clock.now(), snap.meta.index, this.raft.leader);
    this.hooks.machineChanged?.(this.machine_);
  }

  /** Applies committed entries in order and answers the proposals registered at each index. */
  private apply(entries: readonly Entry[]): void {
    const now = this.clock.now();
    const { applied, commandApplied } = this.hooks;
    const machine = this.machine_;
    let commands = 0;
    for (const e of entries) {
      // Our own proposal at this index and term: its commands as proposed, not decoded again.
      const proposed = e.kind === "normal" ? this.proposals.proposed(e) : undefined;
      const outcomes = applyOne(machine, e, commandApplied, proposed);
      // The core applies the change in advance(); the node's member table and the waiter learn it here.
      if (e.kind === "config") this.confChange.applied(e, this.raft.leader, this.hooks.configApplied);
      applied?.(e, outcomes);
      this.proposals.applied(e, e.kind === "normal" ? outcomes : undefined, now, this.raft.leader);
      commands += outcomes.length;
    }
    this.metrics?.entriesApplied.inc(entries.length);
    this.metrics?.commandsApplied.inc(commands);
    this.hooks.machineChanged?.(machine);
  }

  private releaseReads(): void {
    const metrics = this.metrics;
    const now = this.clock.now();
    this.reads.release(this.machine_.appliedIndex, (startedMs) =>
      metrics?.readLatency.observe((now - startedMs) / 1000),
    );
  }

  private failAll(error: NodeError): void {
    this.batch.rejectAll(error);
    // In the log already: the next leader may still commit them (a keyless write answered "stopped"
    // would be retried and applied twice: review17), so their outcome is unknown.
    this.proposals.failAll("timeout", `${error.message}; outcome unknown, retry with the same key`, NONE);
    this.confChange.fail(error);
    this.reads.failAll(error);
  }
}
