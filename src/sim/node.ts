import { Driver, type DriverMutations, type DriverStorage, type NodeError } from "../node/index.js";
import type { ConfChange, ConfigState, Entry, Message, NodeId, Raft, RaftMutations } from "../raft/index.js";
import { defaultRespLimits, RespParser } from "../resp/index.js";
import {
  decodeCommand,
  defaultStackLimits,
  type Outcome,
  type StackMachine,
  type StackMachineOptions,
} from "../stack/index.js";
import { type ClockSkew, NodeClock } from "./clock.js";
import type { Invariants } from "./invariants.js";
import type { SimParams } from "./params.js";
import { type ClientReply, type ClientRequest, type RunRequest, respLpushes, Violation } from "./protocol.js";
import { createStore, type NodeStore, type StoreHost } from "./store.js";

/** Inputs queued for a paused node (messages, client requests); more are dropped like a full socket buffer. */
const pausedInputsMax = 20_000;

/** What a node needs from the simulation around it. */
export interface NodeHost extends Omit<StoreHost, "whenRunning"> {
  /** Runs `run` at the end of the current event (the process's setImmediate). */
  defer(run: () => void): void;
  sendPeer(m: Message): void;
  reply(r: ClientReply): void;
  raftSeed(): number;
  trace(kind: string, nums: number[], text?: string): void;
  /** A key the simulator watches (the liveness write) was applied by this node. */
  watchApplied(node: NodeId, key: string, index: number): void;
  /** This node just won an election (the nemesis may strike right then). */
  becameLeader(node: SimNode): void;
  /** This node applied a configuration change. */
  configApplied(node: NodeId, cc: ConfChange, config: ConfigState): void;
}

export interface NodeOptions {
  readonly raftMutations: RaftMutations;
  readonly machineOptions: StackMachineOptions;
  readonly driverMutations: DriverMutations;
  readonly readWithoutReadIndex: boolean;
}

/** "starting": replaying its disk after a (re)start; it takes no input until the driver is built. */
export type NodeState = "up" | "down" | "paused" | "starting";

/**
 * One simulated server: the production Driver (and through it the real Raft and StackMachine) over
 * this node's disk model, its skewed clock and the simulated network. The driver's hooks feed the
 * invariant checks; a crash drops the driver and restarts from what the disk kept.
 */
export class SimNode {
  state: NodeState = "down";
  /** Started at least once: a spare node of a membership run is not, until the nemesis adds it. */
  spawned = false;
  /** Bumped by every crash, so work of a previous life never runs. */
  private incarnation = 0;
  private driver_: Driver | undefined;
  private readonly store: NodeStore;
  /** Inputs waiting for a paused node to resume (bounded), and its own deferred work (never dropped). */
  private pausedInputs: (() => void)[] = [];
  private pausedWork: (() => void)[] = [];
  /** Items in the machine after the last apply: a change means a command executed (not a remembered retry). */
  private itemCount = 0;
  /** What the commands of the entry being applied did (see commandApplied). */
  private applying: Applying = emptyApplying();

  constructor(
    readonly id: NodeId,
    private readonly config: ConfigState,
    private readonly params: SimParams,
    private readonly opts: NodeOptions,
    private readonly host: NodeHost,
    private readonly invariants: Invariants,
    private readonly skew: ClockSkew,
  ) {
    // The disk's completions also reach a process replaying its disk; inputs reach only a booted one.
    const whenRunning = (work: () => void) => (this.state === "starting" ? work() : this.runOrKeep(work));
    this.store = createStore(id, config, params, { ...host, whenRunning });
  }

  /** The driver of the current life: the node is up or paused, not down or starting. */
  get live(): boolean {
    return this.state === "up" || this.state === "paused";
  }

  get driver(): Driver {
    if (this.driver_ === undefined) throw new Error(`node ${this.id} is ${this.state}`);
    return this.driver_;
  }

  get raft(): Raft {
    return this.driver.raft;
  }

  get machine(): StackMachine {
    return this.driver.machine;
  }

  // ---------------------------------------------------------------- lifecycle

  /** (Re)starts from durable state only: the log and hard state on disk, the machine from its snapshot. */
  start(tickPhaseMs: number): void {
    this.state = "starting";
    this.spawned = true;
    this.store.open((storage) => {
      try {
        this.boot(storage, tickPhaseMs);
      } catch (error) {
        this.host.fail(error);
      }
    });
  }

  private boot(storage: DriverStorage, tickPhaseMs: number): void {
    this.state = "up";
    const life = this.incarnation;
    const clock = new NodeClock(
      {
        now: () => this.host.now(),
        after: (ms, run) => this.host.after(ms, run),
        defer: (run) => this.host.defer(run),
        alive: () => life === this.incarnation,
        running: () => this.state === "up",
        whenRunning: (work) => this.runOrKeep(work),
      },
      this.skew,
      tickPhaseMs,
    );
    const driver = new Driver(
      {
        raft: {
          id: this.id,
          electionTicks: this.params.electionTicks,
          heartbeatTicks: this.params.heartbeatTicks,
          seed: this.host.raftSeed(),
          mutations: this.opts.raftMutations,
          limits: {
            appendEntriesMax: this.params.appendEntriesMax,
            inflightMax: this.params.inflightMax,
            // 0 in the parameters means promotion by explicit requests, checked against the default bound.
            ...(this.params.promoteLagEntriesMax === 0
              ? {}
              : { promoteLagEntriesMax: this.params.promoteLagEntriesMax }),
          },
        },
        voters: this.config.voters,
        autoPromote: this.params.promoteLagEntriesMax !== 0,
        tickMs: this.params.tickMs,
        snapshotEntries: this.params.snapshotEntries,
        requestTimeoutMs: this.params.opTimeoutMs,
        ...(this.params.commandsPerBatchMax === undefined
          ? {}
          : { limits: { commandsPerBatchMax: this.params.commandsPerBatchMax } }),
        machine: this.opts.machineOptions,
        mutations: this.opts.driverMutations,
      },
      {
        clock,
        storage,
        network: { send: (msgs) => this.send(msgs) },
        hooks: {
          committed: (entries) => {
            for (const e of entries) this.invariants.committedEntry(this.id, e, this.raft.term);
          },
          commandApplied: (command, outcome) => this.commandApplied(command, outcome),
          applied: (e, outcomes) => this.applied(e, outcomes),
          elected: () => this.elected(),
          configApplied: (cc, config) => this.host.configApplied(this.id, cc, config),
          restored: (snap) => {
            this.itemCount = this.machine.itemCount;
            this.host.trace("restore", [this.id, snap.meta.index, snap.meta.term]);
          },
          snapshotTaken: (index, data) => this.invariants.snapshot(this.id, index, hashBytes(data)),
        },
        onFatal: (error) => this.host.fail(error),
      },
    );
    this.driver_ = driver;
    this.itemCount = driver.machine.itemCount;
    driver.start();
  }

  /** Loses everything not yet durable: memory, the fsync in flight, queued work, waiting clients. */
  crash(): void {
    this.incarnation++;
    this.state = "down";
    // The dead process runs nothing more: a save that completed in the same turn as the crash (a
    // graceful stop's hand-over resolving in the same microtask queue) must not continue its Ready.
    // Sim seed 405 with --membership: the driver's loop called the hooks of a node already down.
    this.driver_?.stop();
    this.driver_ = undefined;
    this.store.crash();
    this.pausedInputs = [];
    this.pausedWork = [];
  }

  /** Runs `raftstack repair` on the data dir of this (down) node; false if its disk model has none. */
  repair(): Promise<boolean> {
    return this.store.repair();
  }

  pause(): void {
    if (this.state === "up") this.state = "paused";
  }

  resume(): void {
    if (this.state !== "paused") return;
    this.state = "up";
    const queued = [...this.pausedWork, ...this.pausedInputs];
    this.pausedWork = [];
    this.pausedInputs = [];
    for (const run of queued) {
      if (this.state !== "up") break;
      run();
    }
  }

  /** The process's own work: runs now if up, on resume if paused (never dropped), never if down. */
  private runOrKeep(work: () => void): void {
    if (this.state === "up") work();
    else if (this.state === "paused") this.pausedWork.push(work);
  }

  /** An input from outside: now if up, on resume if paused (bounded), never if down or starting. */
  private whenRunning(work: () => void): void {
    if (this.state === "up") work();
    else if (this.state === "paused" && this.pausedInputs.length < pausedInputsMax)
      this.pausedInputs.push(work);
  }

  // ---------------------------------------------------------------- inputs

  deliver(m: Message): void {
    this.whenRunning(() => this.driver.receive(m));
  }

  /** The network reports `peer` unreachable, as a closed or refused TCP connection does. */
  unreachable(peer: NodeId): void {
    this.whenRunning(() => this.driver.peerUnreachable(peer));
  }

  request(req: ClientRequest): void {
    this.whenRunning(() => {
      if (req.kind === "write") this.write(req);
      else if (req.kind === "run") this.proposeRun(req);
      else this.read(req);
    });
  }

  transferLeadership(to: NodeId): void {
    this.whenRunning(() => this.driver.transferLeadership(to));
  }

  /** An operator's membership change on this node (the leader); undefined if it is not running now. */
  proposeConfChange(cc: ConfChange): Promise<ConfigState> | undefined {
    return this.state === "up" ? this.driver.proposeConfChange(cc) : undefined;
  }

  private write(req: Extract<ClientRequest, { kind: "write" }>): void {
    const life = this.incarnation;
    this.driver.propose(
      { ...req.op, key: req.key, atMs: 0 },
      {
        resolve: (outcome) => this.answer(life, req, outcome, this.id),
        reject: (error) => this.answer(life, req, refusalOf(error), error.leader),
      },
    );
  }

  /**
   * The RESP fast lane: the run's LPUSH requests, read by the listener's own reader into byte offsets,
   * proposed in one entry. The driver answers each command once, in order; an extra answer is a driver bug.
   */
  private proposeRun(req: RunRequest): void {
    const parser = new RespParser(defaultRespLimits);
    parser.push(respLpushes(req.pushes));
    const run = parser.nextRun(req.pushes.length, defaultStackLimits);
    if (run?.count !== req.pushes.length)
      throw new Error(`sim: the RESP reader took ${run?.count ?? 0} of ${req.pushes.length} LPUSH`);
    const life = this.incarnation;
    let next = 0;
    const answer = (result: ClientReply["result"], leader: NodeId) => {
      const push = req.pushes[next++];
      if (push === undefined)
        throw new Violation("run answers", `node ${this.id} answered a run of ${run.count} ${next} times`);
      if (life !== this.incarnation) return;
      const { clientId, attempt } = req;
      this.host.reply({ clientId, opId: push.opId, attempt, result, leader });
    };
    this.driver.proposeRun(run, {
      resolve: (outcome) => answer(outcome, this.id),
      reject: (error) => answer(refusalOf(error), error.leader),
    });
  }

  private read(req: Extract<ClientRequest, { kind: "read" }>): void {
    if (this.opts.readWithoutReadIndex) {
      this.answerRead(req);
      return;
    }
    const life = this.incarnation;
    this.driver.read({
      resolve: () => {
        if (life === this.incarnation) this.answerRead(req);
      },
      reject: (error) => this.answer(life, req, "unavailable", error.leader),
    });
  }

  private answer(
    life: number,
    req: Exclude<ClientRequest, RunRequest>,
    result: ClientReply["result"],
    leader = 0,
  ): void {
    if (life !== this.incarnation) return;
    this.host.reply({ clientId: req.clientId, opId: req.opId, attempt: req.attempt, result, leader });
  }

  private answerRead(req: Extract<ClientRequest, { kind: "read" }>): void {
    const m = this.machine;
    const result = req.op === "top" ? m.top(req.stackId) : m.size(req.stackId);
    const leader = this.driver.raft.leader;
    this.host.reply({ clientId: req.clientId, opId: req.opId, attempt: req.attempt, result, leader });
  }

  // ---------------------------------------------------------------- driver hooks

  private send(msgs: readonly Message[]): void {
    for (const m of msgs) this.host.sendPeer(m);
  }

  /** Election safety (§5.2) and leader completeness (§5.4): a new leader holds every earlier commit. */
  private elected(): void {
    const raft = this.raft;
    this.invariants.leader(raft.term, this.id);
    this.host.trace("elected", [this.id, raft.term, raft.log.lastIndex()]);
    this.invariants.checkLeaderHoldsCommitted(raft, false);
    this.host.becameLeader(this);
  }

  /**
   * One command applied (alone or in a batch): whether it changed the stacks is read from the item
   * count right after it ran; the entry's `applied` hands what its commands did to the invariants.
   */
  private commandApplied(command: Uint8Array, outcome: Outcome): void {
    const items = this.machine.itemCount;
    const executed = items !== this.itemCount;
    this.itemCount = items;
    const cmd = decodeCommand(command);
    const applying = this.applying;
    applying.outcomes.push(describeOutcome(outcome));
    if (cmd?.key !== undefined) {
      applying.keys.push(cmd.key);
      if (executed) applying.executedKeys.push(cmd.key);
    }
    if (executed && (cmd?.type === "push" || cmd?.type === "lpush")) applying.pushed.push(...cmd.items);
  }

  private applied(e: Entry, outcomes: readonly Outcome[]): void {
    const { outcomes: described, keys, executedKeys, pushed } = this.applying;
    this.applying = emptyApplying();
    if (outcomes.length === 0) {
      this.invariants.applied(this.id, this.raft.term, e, noValues, noValues, noValues);
      return;
    }
    this.invariants.applied(this.id, this.raft.term, e, described, executedKeys, pushed);
    this.host.trace("apply", [this.id, e.index, e.term]);
    for (const key of keys) this.host.watchApplied(this.id, key, e.index);
  }
}

/** What the commands of the entry being applied did, gathered by commandApplied. */
interface Applying {
  readonly outcomes: string[];
  readonly keys: string[];
  readonly executedKeys: string[];
  readonly pushed: string[];
}

function emptyApplying(): Applying {
  return { outcomes: [], keys: [], executedKeys: [], pushed: [] };
}

const noValues: readonly string[] = [];

/**
 * A refused request was never proposed ("unavailable": it had no effect); any other failure leaves
 * the outcome unknown (it may still commit).
 */
function refusalOf(error: NodeError): ClientReply["result"] {
  return error.code === "timeout" || error.code === "stopped" ? "unknown" : "unavailable";
}

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
