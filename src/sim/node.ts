import {
  type ConfigState,
  type Entry,
  type LogStorage,
  type Message,
  type NodeId,
  Raft,
  type RaftMutations,
  type Ready,
} from "../raft/index.js";
import {
  decodeCommand,
  encodeCommand,
  type Outcome,
  StackMachine,
  type StackMachineOptions,
} from "../stack/index.js";
import type { Invariants } from "./invariants.js";
import type { SimParams } from "./params.js";
import type { ClientReply, ClientRequest } from "./protocol.js";
import { createStore, type NodeStore, type StoreHost } from "./store.js";

/** Client writes a node waits to see applied; the oldest is forgotten beyond this (its client times out). */
const waitersMax = 4096;
/** ReadIndex requests a node waits on, same policy. */
const readsMax = 4096;
/** Work queued for a paused node (messages, fsync completions); more is dropped like a full socket buffer. */
const pausedQueueMax = 20_000;

/** What a node needs from the simulation around it. */
export interface NodeHost extends Omit<StoreHost, "whenRunning"> {
  sendPeer(m: Message): void;
  reply(r: ClientReply): void;
  raftSeed(): number;
  trace(kind: string, nums: number[], text?: string): void;
  /** A key the simulator watches (the liveness write) was applied by this node. */
  watchApplied(node: NodeId, key: string, index: number): void;
  /** This node just won an election (the nemesis may strike right then). */
  becameLeader(node: SimNode): void;
}

export interface NodeOptions {
  readonly raftMutations: RaftMutations;
  readonly machineOptions: StackMachineOptions;
  readonly ackBeforeFsync: boolean;
  readonly readWithoutReadIndex: boolean;
}

interface ReadWait {
  readonly req: Extract<ClientRequest, { kind: "read" }>;
  index: number;
}

/** "starting": replaying its disk after a (re)start; it takes no input until Raft is built. */
export type NodeState = "up" | "down" | "paused" | "starting";

/**
 * One simulated server: the real Raft and StackMachine driven by the Ready contract, over a NodeStore
 * (the disk model): a Ready is durable only after a simulated fsync, and a crash restarts the node
 * from what the store kept.
 */
export class SimNode {
  state: NodeState = "down";
  /** Bumped by every crash, so events of a previous life (ticks) are ignored. */
  private incarnation = 0;
  raft!: Raft;
  private readonly store: NodeStore;
  machine!: StackMachine;
  /** The Ready waiting for its fsync; Raft hands out no other until it is advanced. */
  private syncing: Ready | undefined;
  /** A snapshot is being written (wal mode: beside the WAL, asynchronously). */
  private snapshotting = false;
  private pausedQueue: (() => void)[] = [];
  private readonly waiters = new Map<string, Extract<ClientRequest, { kind: "write" }>>();
  private readonly reads = new Map<number, ReadWait>();
  private readWaits: ReadWait[] = [];
  private nextReadContext = 1;
  private snapshotIndex = 0;
  private wasLeader = false;

  constructor(
    readonly id: NodeId,
    config: ConfigState,
    private readonly params: SimParams,
    private readonly opts: NodeOptions,
    private readonly host: NodeHost,
    private readonly invariants: Invariants,
  ) {
    // The disk's completions also reach a process replaying its disk; inputs reach only a booted one.
    const whenRunning = (work: () => void) => (this.state === "starting" ? work() : this.whenRunning(work));
    this.store = createStore(id, config, params, { ...host, whenRunning });
  }

  /** Raft and the machine belong to the current life: the node is up or paused, not down or starting. */
  get live(): boolean {
    return this.state === "up" || this.state === "paused";
  }

  // ---------------------------------------------------------------- lifecycle

  /** (Re)starts from durable state only: the log and hard state on disk, the machine from its snapshot. */
  start(tickPhaseMs: number): void {
    this.state = "starting";
    this.wasLeader = false;
    this.snapshotting = false;
    this.store.open((storage) => this.boot(storage, tickPhaseMs));
  }

  private boot(storage: LogStorage, tickPhaseMs: number): void {
    this.state = "up";
    const snap = storage.snapshot();
    this.snapshotIndex = snap.meta.index;
    this.machine =
      snap.meta.index > 0
        ? StackMachine.restore(snap.data, this.opts.machineOptions)
        : new StackMachine(this.opts.machineOptions);
    this.raft = new Raft({
      id: this.id,
      storage,
      electionTicks: this.params.electionTicks,
      heartbeatTicks: this.params.heartbeatTicks,
      seed: this.host.raftSeed(),
      applied: snap.meta.index,
      mutations: this.opts.raftMutations,
      limits: { appendEntriesMax: this.params.appendEntriesMax, inflightMax: this.params.inflightMax },
    });
    const life = this.incarnation;
    const tick = () => {
      if (life !== this.incarnation) return;
      if (this.state === "up") {
        this.raft.tick();
        this.afterInput();
      }
      this.host.after(this.params.tickMs, tick);
    };
    this.host.after(tickPhaseMs, tick);
  }

  /** Loses everything not yet durable: memory, the fsync in flight, queued work, waiting clients. */
  crash(): void {
    this.incarnation++;
    this.state = "down";
    this.syncing = undefined;
    this.snapshotting = false;
    this.store.crash();
    this.pausedQueue = [];
    this.waiters.clear();
    this.reads.clear();
    this.readWaits = [];
  }

  pause(): void {
    if (this.state === "up") this.state = "paused";
  }

  resume(): void {
    if (this.state !== "paused") return;
    this.state = "up";
    const queued = this.pausedQueue;
    this.pausedQueue = [];
    for (const run of queued) {
      if (this.state !== "up") break;
      run();
    }
  }

  /** Runs `work` now if the node is up, later if it is paused, never if it is down or starting. */
  private whenRunning(work: () => void): void {
    if (this.state === "up") work();
    else if (this.state === "paused" && this.pausedQueue.length < pausedQueueMax) this.pausedQueue.push(work);
  }

  // ---------------------------------------------------------------- inputs

  deliver(m: Message): void {
    this.whenRunning(() => {
      this.raft.step(m);
      this.afterInput();
    });
  }

  request(req: ClientRequest): void {
    this.whenRunning(() => {
      if (req.kind === "write") this.write(req);
      else this.read(req);
      this.afterInput();
    });
  }

  transferLeadership(to: NodeId): void {
    this.whenRunning(() => {
      this.raft.transferLeadership(to);
      this.afterInput();
    });
  }

  private write(req: Extract<ClientRequest, { kind: "write" }>): void {
    const data = encodeCommand({ ...req.op, key: req.key, atMs: Math.floor(this.host.now()) });
    const r = this.raft.propose([data]);
    if (!r.ok) {
      this.replyUnavailable(req);
      return;
    }
    if (this.waiters.size >= waitersMax) this.waiters.delete(this.waiters.keys().next().value as string);
    this.waiters.set(req.key, req);
  }

  private read(req: Extract<ClientRequest, { kind: "read" }>): void {
    if (this.opts.readWithoutReadIndex) {
      this.answerRead(req);
      return;
    }
    const context = this.nextReadContext++;
    if (!this.raft.readIndex(context).ok) {
      this.replyUnavailable(req);
      return;
    }
    if (this.reads.size >= readsMax) this.reads.delete(this.reads.keys().next().value as number);
    this.reads.set(context, { req, index: 0 });
  }

  private replyUnavailable(req: ClientRequest): void {
    this.host.reply({ clientId: req.clientId, opId: req.opId, attempt: req.attempt, result: "unavailable" });
  }

  private answerRead(req: Extract<ClientRequest, { kind: "read" }>): void {
    const result = req.op === "top" ? this.machine.top(req.stackId) : this.machine.size(req.stackId);
    this.host.reply({ clientId: req.clientId, opId: req.opId, attempt: req.attempt, result });
  }

  // ---------------------------------------------------------------- the Ready loop

  private afterInput(): void {
    const leader = this.raft.role === "leader";
    if (leader) this.invariants.leader(this.raft.term, this.id);
    const elected = leader && !this.wasLeader;
    this.wasLeader = leader;
    // Leader completeness (§5.4): a new leader holds every entry committed before its election.
    if (elected) {
      this.host.trace("elected", [this.id, this.raft.term, this.raft.log.lastIndex()]);
      this.invariants.checkLeaderHoldsCommitted(this.raft, false);
    }
    this.pump();
    if (elected) this.host.becameLeader(this);
  }

  /** Ready contract: send sendNow; persist; once durable send sendAfterPersist, apply, serve reads, advance. */
  private pump(): void {
    while (this.state === "up" && this.syncing === undefined && this.raft.hasReady()) {
      const rd = this.raft.ready();
      for (const m of rd.sendNow) this.host.sendPeer(m);
      for (const e of rd.committed) this.invariants.committedEntry(this.id, e, this.raft.term);
      // Mutation: votes and acknowledgements leave before the disk has the write; a crash loses them.
      const early = this.opts.ackBeforeFsync;
      if (early) for (const m of rd.sendAfterPersist) this.host.sendPeer(m);
      this.syncing = rd;
      let inline = true;
      this.store.save(rd, () => {
        this.syncing = undefined;
        this.finish(rd, !early);
        if (!inline) this.pump();
      });
      inline = false;
    }
  }

  private finish(rd: Ready, send: boolean): void {
    if (send) for (const m of rd.sendAfterPersist) this.host.sendPeer(m);
    if (rd.snapshot !== undefined) {
      this.machine = StackMachine.restore(rd.snapshot.data, this.opts.machineOptions);
      this.snapshotIndex = rd.snapshot.meta.index;
      this.host.trace("restore", [this.id, rd.snapshot.meta.index, rd.snapshot.meta.term]);
    }
    for (const e of rd.committed) this.apply(e);
    for (const rs of rd.readStates) {
      const wait = this.reads.get(rs.context);
      if (wait === undefined) continue;
      this.reads.delete(rs.context);
      wait.index = rs.index;
      this.readWaits.push(wait);
    }
    this.serveReads();
    this.raft.advance();
    this.maybeSnapshot();
  }

  private apply(e: Entry): void {
    if (e.kind !== "normal" || e.data.length === 0) {
      this.machine.applyNoop(e.index);
      this.invariants.applied(this.id, this.raft.term, e, "", undefined, false, noValues);
      return;
    }
    const itemsBefore = this.machine.itemCount;
    const outcome = this.machine.apply(e.index, e.data);
    const cmd = decodeCommand(e.data);
    const key = cmd?.key;
    const executed = this.machine.itemCount !== itemsBefore;
    const pushed = executed && cmd?.type === "push" ? cmd.items : noValues;
    this.invariants.applied(this.id, this.raft.term, e, describeOutcome(outcome), key, executed, pushed);
    this.host.trace("apply", [this.id, e.index, e.term]);
    if (key === undefined) return;
    this.host.watchApplied(this.id, key, e.index);
    const waiter = this.waiters.get(key);
    if (waiter === undefined) return;
    this.waiters.delete(key);
    this.host.reply({
      clientId: waiter.clientId,
      opId: waiter.opId,
      attempt: waiter.attempt,
      result: outcome,
    });
  }

  private serveReads(): void {
    if (this.readWaits.length === 0) return;
    const applied = this.machine.appliedIndex;
    const still: ReadWait[] = [];
    for (const w of this.readWaits) {
      if (w.index <= applied) this.answerRead(w.req);
      else still.push(w);
    }
    this.readWaits = still;
  }

  /** Snapshots the machine every `snapshotEntries` applied entries and compacts the log behind it. */
  private maybeSnapshot(): void {
    const applied = this.machine.appliedIndex;
    if (this.snapshotting || applied - this.snapshotIndex < this.params.snapshotEntries) return;
    const data = this.machine.snapshot();
    this.invariants.snapshot(this.id, applied, hashBytes(data));
    this.snapshotting = true;
    this.store.snapshot(applied, data, () => {
      this.snapshotting = false;
      this.snapshotIndex = Math.max(this.snapshotIndex, applied);
    });
  }
}

const noValues: readonly string[] = [];

/** An outcome as a short string, compared across replicas. */
function describeOutcome(o: Outcome): string {
  if (!o.ok) return o.code;
  switch (o.kind) {
    case "created":
    case "deleted":
      return `${o.kind}:${o.id}`;
    case "pushed":
      return `pushed:${o.size}`;
    case "popped":
      return `popped:${o.item}`;
    case "poppedItems":
      return `popped:${o.items.join(",")}`;
    case "poppedFrom":
      return `popped:${o.label}:${o.item}`;
    case "deletedCount":
      return `deleted:${o.count}`;
  }
}

function hashBytes(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ (data[i] as number), 0x01000193);
  return h >>> 0;
}
