import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import { type Entry, type Message, NONE, Raft, type Ready, type Role, type Snapshot } from "../raft/index.js";
import { type Command, encodeCommand, type Outcome, StackMachine } from "../stack/index.js";
import { COMPACT_KEEP_ENTRIES_DEFAULT, DiskStorage, NodeDisk } from "../storage/index.js";
import { parsePeerUrl, TcpTransport } from "../transport/index.js";
import { NodeError } from "./errors.js";
import { NodeMetrics } from "./metrics.js";
import type { NodeOptions } from "./options.js";

/** Bounds on work waiting inside the driver; past them requests fail fast with 503 instead of queueing. */
export interface DriverLimits {
  readonly proposalsPendingMax: number;
  readonly readsPendingMax: number;
}

export const defaultDriverLimits: DriverLimits = { proposalsPendingMax: 65_536, readsPendingMax: 65_536 };

interface ProposalWaiter {
  readonly term: number;
  readonly startedMs: number;
  /** Checked by the tick's sweep: one timer per proposal was a visible cost on the leader. */
  readonly deadlineMs: number;
  readonly resolve: (o: Outcome) => void;
  readonly reject: (e: NodeError) => void;
}

interface ReadWaiter {
  readonly startedMs: number;
  readonly resolve: () => void;
  readonly reject: (e: NodeError) => void;
  readonly timer: NodeJS.Timeout;
  /** Set once the ReadState arrived: the read is served when applied reaches it. */
  index: number;
}

export interface MemberStatus {
  readonly id: number;
  readonly peerUrl: string;
  readonly clientUrl: string;
  /** Leader's view of the member's replicated index (0 when this node is not the leader). */
  readonly match: number;
  readonly state: string;
}

export interface NodeStatus {
  readonly id: number;
  readonly role: Role;
  readonly leader: number;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly members: readonly MemberStatus[];
}

export interface DriverOptions {
  readonly logger: Logger;
  readonly limits?: Partial<DriverLimits>;
  /** Also collect process metrics (off when several nodes share a process). */
  readonly processMetrics?: boolean;
  /** Storage failed: the node stopped serving and must be restarted (main exits). */
  readonly onFatal?: (err: unknown) => void;
}

/**
 * The driver loop around one Raft peer: ticks it, runs Ready → send → persist → send → apply →
 * advance, and turns proposals and linearizable reads into promises with deadlines.
 */
export class RaftNode {
  readonly id: number;
  readonly metrics: NodeMetrics;
  private machine: StackMachine;
  private readonly proposals = new Map<number, ProposalWaiter>();
  private readonly reads = new Map<number, ReadWaiter>();
  /** Reads whose ReadState arrived, waiting for applied to reach their index (ascending). */
  private readsAwaitingApply: ReadWaiter[] = [];
  private readContext = 0;
  private ticker: NodeJS.Timeout | undefined;
  private loopScheduled = false;
  private loopRunning = false;
  private stopped = false;
  private snapshotIndex: number;
  private snapshotting = false;
  /** Members snapshot at indexes offset by id, so a quorum never stalls on snapshots all at once. */
  private readonly snapshotPhase: number;
  private readonly limits: DriverLimits;
  /** Told after every applied batch and installed snapshot (blocking pops wait on it). */
  private readonly appliedListeners = new Set<(m: StackMachine) => void>();

  private constructor(
    readonly options: NodeOptions,
    private readonly raft: Raft,
    private readonly storage: DiskStorage,
    private readonly transport: TcpTransport,
    machine: StackMachine,
    private readonly log: Logger,
    private readonly driver: DriverOptions,
  ) {
    this.id = options.id;
    this.machine = machine;
    this.snapshotIndex = storage.snapshot().meta.index;
    this.snapshotPhase = Math.floor(
      (((options.id - 1) % options.peerUrls.length) * options.snapshotEntries) / options.peerUrls.length,
    );
    this.limits = { ...defaultDriverLimits, ...driver.limits };
    this.metrics = new NodeMetrics(() => {
      const s = this.raft.status();
      return { applied: s.applied, commit: s.commit, term: s.term, isLeader: s.role === "leader" };
    }, driver.processMetrics ?? false);
  }

  /**
   * Opens storage (throws StorageCorruptionError on damage), restores the machine from the latest
   * snapshot and builds Raft with applied = snapshot index so nothing is applied twice.
   */
  static async open(options: NodeOptions, driver: DriverOptions): Promise<RaftNode> {
    const log = driver.logger;
    const voters = options.peerUrls.map((_, i) => i + 1);
    const storage = await DiskStorage.open(new NodeDisk(), options.dataDir, {
      bootstrapConfig: { voters, learners: [] },
      // Keep a tail no longer than the snapshot interval: followers further behind get a snapshot.
      compactKeepEntries: Math.min(COMPACT_KEEP_ENTRIES_DEFAULT, options.snapshotEntries),
      logger: log,
    });
    log.info({ ...storage.stats, lastIndex: storage.lastIndex() }, "storage opened");
    const snap = storage.snapshot();
    const machine = snap.meta.index > 0 ? StackMachine.restore(snap.data) : new StackMachine();
    const raft = new Raft({
      id: options.id,
      storage,
      electionTicks: options.electionTicks,
      heartbeatTicks: options.heartbeatTicks,
      seed: (Math.random() * 0x7fffffff) | 0,
      applied: snap.meta.index,
      // Followers proxy client writes over HTTP instead, so the leader stamps time and keys.
      forwardProposals: false,
    });
    const peers = new Map(options.peerUrls.map((u, i) => [i + 1, parsePeerUrl(u)] as const));
    const self = peers.get(options.id);
    if (self === undefined) throw new Error(`node id ${options.id} is not in the cluster list`);
    let node: RaftNode | undefined;
    const transport = new TcpTransport({
      id: options.id,
      clusterId: options.peerUrls.join(","),
      listen: self,
      peers,
      logger: log,
      // A restarted peer is back in the cluster within about one election timeout, not after a long backoff.
      limits: { reconnectMaxMs: Math.min(1000, options.electionTicks * options.tickMs) },
      onMessage: (m: Message) => node?.onMessage(m),
      onUnreachable: (peer) => node?.raft.reportUnreachable(peer),
      onSnapshotSent: (peer, ok) => {
        node?.raft.reportSnapshot(peer, ok);
        node?.schedule();
      },
    });
    node = new RaftNode(options, raft, storage, transport, machine, log, driver);
    return node;
  }

  async start(): Promise<void> {
    await this.transport.start();
    this.ticker = setInterval(() => {
      this.raft.tick();
      this.expireProposals(performance.now());
      this.schedule();
    }, this.options.tickMs);
    this.schedule();
  }

  // ------------------------------------------------------------ requests

  /** Proposes a command on the leader and resolves with its outcome once applied here. */
  propose(cmd: Command): Promise<Outcome> {
    if (this.stopped) return Promise.reject(new NodeError("stopped", "node is shutting down"));
    if (this.raft.role !== "leader") {
      const leader = this.raft.leader;
      return Promise.reject(
        leader === NONE
          ? new NodeError("no_leader", "no leader known; retry", NONE)
          : new NodeError("not_leader", `node ${leader} is the leader`, leader),
      );
    }
    if (this.proposals.size >= this.limits.proposalsPendingMax) {
      return Promise.reject(new NodeError("busy", "too many proposals pending; retry", this.raft.leader));
    }
    const result = this.raft.propose([encodeCommand(cmd)]);
    if (!result.ok) {
      const code =
        result.error === "uncommitted_full" || result.error === "transfer_in_progress" ? "busy" : "no_leader";
      return Promise.reject(new NodeError(code, `proposal refused: ${result.error}`, result.leader));
    }
    this.metrics.proposals.inc();
    this.schedule();
    const { index, term } = result;
    const startedMs = performance.now();
    const deadlineMs = startedMs + this.options.requestTimeoutMs;
    return new Promise<Outcome>((resolve, reject) => {
      this.proposals.set(index, { term, startedMs, deadlineMs, resolve, reject });
    });
  }

  /**
   * Fails proposals past their deadline (checked every tick, so a timeout is late by at most tickMs).
   * The map is in proposal order, which is deadline order: a leader's indexes only grow, and every
   * proposal is failed when leadership is lost, so an index is never registered twice.
   */
  private expireProposals(nowMs: number): void {
    for (const [index, w] of this.proposals) {
      if (w.deadlineMs > nowMs) break;
      this.proposals.delete(index);
      this.metrics.proposalsFailed.inc({ code: "timeout" });
      w.reject(
        new NodeError(
          "timeout",
          "not committed within the request timeout; outcome unknown",
          this.raft.leader,
        ),
      );
    }
  }

  /**
   * Runs `fn` on the state machine. Linearizable (ReadIndex, §6.4) unless `stale`: waits for the leader
   * to confirm its commit index, then for this node to apply up to it.
   */
  async read<T>(fn: (m: StackMachine) => T, stale = false): Promise<T> {
    if (stale) return fn(this.machine);
    if (this.stopped) throw new NodeError("stopped", "node is shutting down");
    if (this.reads.size + this.readsAwaitingApply.length >= this.limits.readsPendingMax) {
      throw new NodeError("busy", "too many reads pending; retry", this.raft.leader);
    }
    const context = ++this.readContext;
    const started = performance.now();
    const result = this.raft.readIndex(context);
    if (!result.ok) throw new NodeError("no_leader", "no leader known; retry", NONE);
    this.schedule();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const w = this.reads.get(context);
        this.reads.delete(context);
        if (w !== undefined) {
          const i = this.readsAwaitingApply.indexOf(w);
          if (i >= 0) this.readsAwaitingApply.splice(i, 1);
        }
        reject(new NodeError("timeout", "read not confirmed within the request timeout", this.raft.leader));
      }, this.options.requestTimeoutMs);
      this.reads.set(context, { startedMs: started, resolve, reject, timer, index: 0 });
    });
    this.metrics.readLatency.observe((performance.now() - started) / 1000);
    return fn(this.machine);
  }

  leader(): number {
    return this.raft.leader;
  }

  onApplied(listener: (m: StackMachine) => void): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  private notifyApplied(): void {
    for (const listener of this.appliedListeners) listener(this.machine);
  }

  metricsText(): Promise<string> {
    return this.metrics.registry.metrics();
  }

  get metricsContentType(): string {
    return this.metrics.registry.contentType;
  }

  role(): Role {
    return this.raft.role;
  }

  status(): NodeStatus {
    const s = this.raft.status();
    const members = this.options.peerUrls.map((peerUrl, i) => {
      const id = i + 1;
      const pr = s.progress.get(id);
      return {
        id,
        peerUrl,
        clientUrl: this.options.clientUrls[i] ?? "",
        match: pr?.match ?? 0,
        state: pr?.state ?? (id === s.leader ? "leader" : "unknown"),
      };
    });
    return {
      id: this.id,
      role: s.role,
      leader: s.leader,
      term: s.term,
      commit: s.commit,
      applied: s.applied,
      lastIndex: s.lastIndex,
      snapshotIndex: this.snapshotIndex,
      members,
    };
  }

  /**
   * If leader, hands leadership to the most caught-up follower and waits up to `waitMs` for it, so
   * clients see no election gap when this node stops. Resolves true if this node is no longer leader.
   */
  async transferLeadership(waitMs: number): Promise<boolean> {
    if (this.raft.role !== "leader") return true;
    let best = NONE;
    let bestMatch = -1;
    for (const [id, pr] of this.raft.status().progress) {
      if (id !== this.id && pr.recentActive && pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    if (best === NONE || !this.raft.transferLeadership(best)) return false;
    this.schedule();
    const deadline = performance.now() + waitMs;
    while (this.raft.role === "leader" && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, this.options.tickMs));
    }
    return this.raft.role !== "leader";
  }

  /** Stops ticking, fails every waiter (outcome unknown) and closes transport and storage. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.ticker);
    this.failAll("stopped", "node is shutting down");
    await this.transport.close();
    // Let an in-flight save finish before closing the files under it.
    while (this.loopRunning) await new Promise((r) => setTimeout(r, 1));
    await this.storage.close();
  }

  // ------------------------------------------------------------ driver loop

  private onMessage(m: Message): void {
    if (this.stopped) return;
    const lastIndex = this.raft.log.lastIndex();
    if (m.type === "heartbeat" && m.commit > lastIndex) {
      // A leader that remembers a match index this node no longer has (repair after damage that also
      // hid the node's term) would make the core assert on a commit past its log; committing less is safe.
      this.raft.step({ ...m, commit: lastIndex });
    } else this.raft.step(m);
    this.schedule();
  }

  /** Coalesces wake-ups: many steps/proposals in one I/O phase become one Ready (group commit). */
  schedule(): void {
    if (this.loopScheduled || this.loopRunning || this.stopped) return;
    this.loopScheduled = true;
    setImmediate(() => {
      this.loopScheduled = false;
      void this.runLoop();
    });
  }

  private async runLoop(): Promise<void> {
    if (this.loopRunning || this.stopped) return;
    this.loopRunning = true;
    try {
      while (!this.stopped && this.raft.hasReady()) await this.handleReady(this.raft.ready());
    } catch (err) {
      this.fail(err);
    } finally {
      this.loopRunning = false;
    }
  }

  /** A storage failure: stop serving; main exits so the node restarts from what is durable. */
  private fail(err: unknown): void {
    if (this.stopped) return;
    this.log.fatal({ err }, "driver loop failed; the node stops serving");
    this.stopped = true;
    clearInterval(this.ticker);
    this.failAll("stopped", "node failed");
    void this.transport.close();
    this.driver.onFatal?.(err);
  }

  private async handleReady(rd: Ready): Promise<void> {
    this.metrics.readyBatches.inc();
    if (rd.softState !== undefined) this.onSoftState(rd.softState.role, rd.softState.leader);
    this.transport.send(rd.sendNow);
    // Committed entries already durable here (all below the new ones) are applied before this batch's
    // fsync, so a client answer never waits for the next batch's write.
    const lastCommitted = rd.committed[rd.committed.length - 1]?.index ?? 0;
    const applyEarly =
      rd.snapshot === undefined && lastCommitted < (rd.entries[0]?.index ?? Number.MAX_SAFE_INTEGER);
    if (applyEarly && rd.committed.length > 0) {
      this.apply(rd.committed);
      this.releaseReads();
    }
    if (rd.entries.length > 0 || rd.snapshot !== undefined || rd.mustSync) {
      const started = performance.now();
      await this.storage.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot });
      this.metrics.fsyncLatency.observe((performance.now() - started) / 1000);
    }
    // A commit-only hard state is not fsynced: a lost commit index is relearned from the leader.
    if (this.stopped) return;
    this.transport.send(rd.sendAfterPersist);
    if (rd.snapshot !== undefined) this.installSnapshot(rd.snapshot);
    if (!applyEarly && rd.committed.length > 0) this.apply(rd.committed);
    for (const rs of rd.readStates) {
      const w = this.reads.get(rs.context);
      if (w === undefined) continue;
      this.reads.delete(rs.context);
      w.index = rs.index;
      insertByIndex(this.readsAwaitingApply, w);
    }
    this.releaseReads();
    this.raft.advance();
    this.maybeSnapshot();
  }

  private onSoftState(role: Role, leader: number): void {
    if (leader !== this.prevLeader) {
      this.metrics.leaderChanges.inc();
      this.log.info({ role, leader, term: this.raft.term }, "leader changed");
      this.prevLeader = leader;
    }
    if (role !== "leader" && this.proposals.size > 0) {
      // Our proposals may still commit under the next leader, or vanish: the outcome is unknown.
      this.failProposals("timeout", "leadership lost; outcome unknown, retry with the same key", leader);
    }
    if (leader === NONE && this.reads.size > 0) {
      for (const w of this.reads.values()) {
        clearTimeout(w.timer);
        w.reject(new NodeError("no_leader", "leader lost; retry", NONE));
      }
      this.reads.clear();
    }
  }

  private prevLeader = NONE;

  private installSnapshot(snap: Snapshot): void {
    this.machine = StackMachine.restore(snap.data);
    this.snapshotIndex = snap.meta.index;
    this.metrics.snapshots.inc({ kind: "installed" });
    this.log.info({ index: snap.meta.index, term: snap.meta.term }, "installed snapshot from leader");
    for (const [index, w] of this.proposals) {
      if (index > snap.meta.index) continue;
      this.proposals.delete(index);
      w.reject(new NodeError("timeout", "superseded by a snapshot; outcome unknown", this.raft.leader));
    }
    this.notifyApplied();
  }

  /** Applies committed entries in order and answers the proposal registered at each index. */
  private apply(entries: readonly Entry[]): void {
    const now = performance.now();
    for (const e of entries) {
      const outcome = e.kind === "normal" ? this.machine.apply(e.index, e.data) : undefined;
      if (outcome === undefined) this.machine.applyNoop(e.index);
      const w = this.proposals.get(e.index);
      if (w === undefined) continue;
      this.proposals.delete(e.index);
      if (w.term === e.term && outcome !== undefined) {
        this.metrics.commitLatency.observe((now - w.startedMs) / 1000);
        w.resolve(outcome);
      } else {
        // Another leader's entry replaced ours at this index: it was never applied.
        this.metrics.proposalsFailed.inc({ code: "lost" });
        w.reject(new NodeError("timeout", "proposal lost in a leader change; retry", this.raft.leader));
      }
    }
    this.metrics.entriesApplied.inc(entries.length);
    this.notifyApplied();
  }

  private releaseReads(): void {
    const applied = this.machine.appliedIndex;
    let n = 0;
    for (const w of this.readsAwaitingApply) {
      if (w.index > applied) break;
      clearTimeout(w.timer);
      w.resolve();
      n++;
    }
    if (n > 0) this.readsAwaitingApply = this.readsAwaitingApply.slice(n);
  }

  /**
   * Snapshots the machine every `snapshotEntries` applied entries (at this member's phase), in the
   * background: the state is cut at once, encoded in steps and written beside the WAL, so heartbeats flow.
   */
  private maybeSnapshot(): void {
    const applied = this.machine.appliedIndex;
    if (
      this.snapshotting ||
      !snapshotDue(this.snapshotIndex, applied, this.snapshotPhase, this.options.snapshotEntries)
    )
      return;
    this.snapshotting = true;
    const started = performance.now();
    const config = this.raft.status().config;
    let bytes = 0;
    encodeInSteps(this.machine.snapshotSteps(snapshotItemsPerStep))
      .then((data) => {
        bytes = data.length;
        return this.storage.createSnapshot(applied, config, data);
      })
      .then(() => this.storage.compact(applied))
      .then(() => {
        this.snapshotIndex = Math.max(this.snapshotIndex, applied);
        this.metrics.snapshots.inc({ kind: "created" });
        this.log.info(
          { index: applied, bytes, ms: Math.round(performance.now() - started) },
          "created snapshot and compacted the log",
        );
      })
      .catch((err: unknown) => this.fail(err))
      .finally(() => {
        this.snapshotting = false;
      });
  }

  private failProposals(code: "timeout" | "stopped", message: string, leader: number): void {
    for (const w of this.proposals.values()) {
      w.reject(new NodeError(code, message, leader));
    }
    this.metrics.proposalsFailed.inc({ code }, this.proposals.size);
    this.proposals.clear();
  }

  private failAll(code: "stopped", message: string): void {
    this.failProposals(code, message, NONE);
    for (const w of [...this.reads.values(), ...this.readsAwaitingApply]) {
      clearTimeout(w.timer);
      w.reject(new NodeError(code, message, NONE));
    }
    this.reads.clear();
    this.readsAwaitingApply = [];
  }
}

/** True once `applied` has crossed a boundary `phase + k * every` that `snapshotIndex` had not. */
function snapshotDue(snapshotIndex: number, applied: number, phase: number, every: number): boolean {
  return Math.floor((applied - phase) / every) > Math.floor((snapshotIndex - phase) / every);
}

/** Items encoded between yields to the event loop: well under a millisecond (20,000 took 3-14 ms). */
const snapshotItemsPerStep = 2_000;

async function encodeInSteps(steps: Generator<void, Uint8Array, void>): Promise<Uint8Array> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** Keeps `list` ascending by index; ReadStates mostly arrive in order, so this is usually a push. */
function insertByIndex(list: ReadWaiter[], w: ReadWaiter): void {
  let i = list.length;
  while (i > 0 && (list[i - 1]?.index ?? 0) > w.index) i--;
  list.splice(i, 0, w);
}
