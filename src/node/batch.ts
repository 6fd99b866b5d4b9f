import {
  defaultRaftLimits,
  type Entry,
  NONE,
  type NodeId,
  type RaftLimits,
  type Role,
} from "../raft/index.js";
import {
  type AsciiPushes,
  BatchEncoder,
  type BatchLimits,
  batchEntryBytesMax,
  type Command,
  type Outcome,
  type ProposedCommands,
  type StackMachine,
} from "../stack/index.js";
import type { DriverMutations } from "./driver-config.js";
import { NodeError } from "./errors.js";
import type { NodeMetrics } from "./metrics.js";
import type { Clock, DriverHooks, Reply } from "./ports.js";
import { mutateRun } from "./run-mutations.js";

/**
 * Throws RangeError unless a full batch under `limits` fits the core's limits: one append
 * (appendBytesMax) and the uncommitted bytes a leader accepts. Asserted where the driver meets the core;
 * the peer frame is asserted where the node meets the transport (start.ts).
 */
export function assertBatchFits(limits: BatchLimits, raft: Partial<RaftLimits> | undefined): void {
  const { appendBytesMax, uncommittedBytesMax } = { ...defaultRaftLimits, ...raft };
  const entryBytes = batchEntryBytesMax(limits);
  if (!(limits.commandsPerBatchMax >= 1 && limits.batchBytesMax >= 1)) {
    throw new RangeError("commandsPerBatchMax and batchBytesMax must be at least 1");
  }
  if (entryBytes > Math.min(appendBytesMax, uncommittedBytesMax)) {
    throw new RangeError(
      `a batch entry of up to ${entryBytes} bytes (commandsPerBatchMax ${limits.commandsPerBatchMax}, ` +
        `batchBytesMax ${limits.batchBytesMax}) must fit appendBytesMax ${appendBytesMax} ` +
        `and uncommittedBytesMax ${uncommittedBytesMax}`,
    );
  }
}

/** One log entry's worth of encoded commands and the replies waiting for their outcomes. */
export interface TakenBatch {
  readonly data: Uint8Array;
  /** The commands as proposed, applied on this leader instead of decoding `data` again. */
  readonly proposed: ProposedCommands;
  readonly replies: readonly Reply<Outcome>[];
  /** When the first command was gathered: the commit latency starts there. */
  readonly startedMs: number;
}

/** What ProposalBatch.addRun did. */
export type AddRun = "added" | "full" | "too_large";

/**
 * The leader's proposals gathered in one turn, before the Ready loop proposes them as one entry. Bounded
 * by `limits`: a refused `add` or `full` tells the driver to propose what it has before gathering more.
 */
export class ProposalBatch {
  private readonly encoder = new BatchEncoder();
  private proposed: (Command | undefined)[] = [];
  private replies: Reply<Outcome>[] = [];
  private startedMs = 0;
  /** The wall-clock stamp of every command of the batch (see `add`). */
  private stampMs = 0;

  constructor(
    private readonly limits: BatchLimits,
    /** Test-only switches (the run mutations); undefined in a node. */
    private readonly mutations?: DriverMutations,
  ) {}

  get size(): number {
    return this.encoder.count;
  }

  /** Proposed at once: no further command may join (commandsPerBatchMax, or one command over batchBytesMax). */
  get full(): boolean {
    const n = this.encoder.count;
    return (
      n > 0 && (n >= this.limits.commandsPerBatchMax || this.encoder.commandBytes > this.limits.batchBytesMax)
    );
  }

  /**
   * Adds `cmd`, stamped with the leader's wall clock as read for the batch's first command, unless its
   * bytes would take a non-empty batch past batchBytesMax: then false, and the batch is unchanged (an
   * empty batch takes any one command). The commands of one batch were gathered in one turn: one
   * reading of each clock serves them all (a reading per command was a visible cost under pipelines).
   */
  add(cmd: Command, reply: Reply<Outcome>, clock: Pick<Clock, "now" | "wallMs">): boolean {
    const first = this.encoder.count === 0;
    if (first) this.stampMs = clock.wallMs();
    if (this.encoder.add(cmd, this.stampMs, this.limits.batchBytesMax) < 0) return false;
    if (first) this.startedMs = clock.now();
    this.proposed.push(cmd);
    this.replies.push(reply);
    return true;
  }

  /**
   * Adds every command of `run` (stamped as `add` stamps) or none: "full" if they do not fit what is
   * gathered (propose it, then add again), "too_large" if they would not fit an empty batch either.
   * `reply` stands in the replies once per command, so it is answered once per command, in order and
   * together: the commands of a run share one entry.
   */
  addRun(run: AsciiPushes, reply: Reply<Outcome>, clock: Pick<Clock, "now" | "wallMs">): AddRun {
    const n = this.encoder.count;
    const { commandsPerBatchMax, batchBytesMax } = this.limits;
    if (run.count > commandsPerBatchMax) return "too_large";
    if (n + run.count > commandsPerBatchMax) return "full";
    const stampMs = n === 0 ? clock.wallMs() : this.stampMs;
    if (!this.encoder.addAsciiPushes(run, stampMs, batchBytesMax)) return n === 0 ? "too_large" : "full";
    if (n === 0) {
      this.stampMs = stampMs;
      this.startedMs = clock.now();
    }
    for (let i = 0; i < run.count; i++) {
      // No Command on the leader: the machine applies these from the entry's bytes.
      this.proposed.push(undefined);
      this.replies.push(reply);
    }
    return "added";
  }

  /**
   * Adds `run` (addRun), after `proposeGathered` made room if it did not fit; refuses it if it fits no
   * batch (the RESP listener bounds its runs far below one: only a driver configured with tiny batches).
   * A run mutation (test-only) breaks the run and its reply first.
   */
  gatherRun(
    run: AsciiPushes,
    reply: Reply<Outcome>,
    clock: Pick<Clock, "now" | "wallMs">,
    leader: NodeId,
    metrics: NodeMetrics | undefined,
    proposeGathered: () => void,
  ): void {
    const broken = this.mutations === undefined ? undefined : mutateRun(this.mutations, run, reply);
    const taken = broken?.run ?? run;
    const answer = broken?.reply ?? reply;
    let added = this.addRun(taken, answer, clock);
    if (added === "full") {
      proposeGathered();
      added = this.addRun(taken, answer, clock);
    }
    if (added === "added") return;
    const refused = new NodeError("bad_request", "a run of writes exceeds a batch", leader);
    ProposalBatch.refuse(refused, taken.count, answer, metrics);
  }

  /**
   * The gathered commands as one entry's data, emptying the batch: a single command in its own format
   * (as before batches), several as a batch entry. Undefined if nothing was gathered.
   */
  take(): TakenBatch | undefined {
    if (this.encoder.count === 0) return undefined;
    const { proposed, stampMs, replies, startedMs } = this;
    this.proposed = [];
    this.replies = [];
    const wellFormed = this.encoder.wellFormed;
    const data = this.encoder.take();
    return { data, proposed: { commands: proposed, stampMs, wellFormed }, replies, startedMs };
  }

  /**
   * Refuses the gathered commands if the first was gathered at or before `startedBeforeMs` (its request
   * deadline passed): they wait for the Ready loop, and a save that hangs would keep them waiting with
   * no answer. Nothing was proposed, so a refusal (busy) is the truth and a retry is safe.
   */
  refuseStale(startedBeforeMs: number, leader: NodeId, metrics: NodeMetrics | undefined): void {
    const n = this.encoder.count;
    if (n === 0 || this.startedMs > startedBeforeMs) return;
    metrics?.proposalsRefused.inc({ code: "busy" }, n);
    this.rejectAll(
      new NodeError("busy", "not proposed within the request timeout (storage slow); retry", leader),
    );
  }

  /** Refuses `count` commands answered by `reply` (a run's, or one) that joined no batch, counted as refused. */
  static refuse(
    error: NodeError,
    count: number,
    reply: Reply<Outcome>,
    metrics: NodeMetrics | undefined,
  ): void {
    metrics?.proposalsRefused.inc({ code: error.code }, count);
    for (let i = 0; i < count; i++) reply.reject(error);
  }

  /** Refuses every gathered command (none was proposed). */
  rejectAll(error: NodeError): void {
    const replies = this.take()?.replies ?? [];
    for (const reply of replies) reply.reject(error);
  }
}

/**
 * The core's refusal of a proposal (its ProposeError) as the node's error. Leadership moving away is a
 * refusal like not_leader: nothing was proposed; the client tries the next leader. The core says
 * not_leader when this node stepped down between gathering a batch and proposing it (a higher term
 * arrived in the same turn): that stays not_leader with the leader's id, so the leader's own write
 * path (LeaderRequests) forwards the write there instead of failing it with no_leader.
 */
export function coreRefusal(error: string, leader: NodeId): NodeError {
  const code =
    error === "uncommitted_full"
      ? "busy"
      : error === "transfer_in_progress" || error === "not_leader"
        ? "not_leader"
        : "no_leader";
  return new NodeError(code, `proposal refused: ${error}`, leader);
}

/** Why a proposal cannot be taken now (stopped, not the leader, too many pending), if it cannot. */
export function proposalRefusal(
  stopped: boolean,
  role: Role,
  leader: NodeId,
  pendingFull: boolean,
): NodeError | undefined {
  if (stopped) return new NodeError("stopped", "node is shutting down");
  if (role !== "leader") {
    return leader === NONE
      ? new NodeError("no_leader", "no leader known; retry", NONE)
      : new NodeError("not_leader", `node ${leader} is the leader`, leader);
  }
  return pendingFull ? new NodeError("busy", "too many proposals pending; retry", leader) : undefined;
}

/**
 * Applies committed entry `e` to `machine` and returns its commands' outcomes in order (one for a single
 * command, one per command of a batch, none for a no-op or configuration entry), telling
 * `commandApplied` about each right after it ran. `proposed`: the entry's commands as this node
 * proposed them, when it did (StackMachine.applyEntry).
 */
export function applyOne(
  machine: StackMachine,
  e: Entry,
  commandApplied: DriverHooks["commandApplied"],
  proposed?: ProposedCommands,
): Outcome[] {
  const outcomes: Outcome[] = [];
  if (e.kind !== "normal") {
    machine.applyNoop(e.index);
    return outcomes;
  }
  machine.applyEntry(
    e.index,
    e.data,
    (outcome, data, start, end) => {
      outcomes.push(outcome);
      // A view only for the hook (the simulator's): one per command cost the apply path measurably.
      commandApplied?.(data.subarray(start, end), outcome);
    },
    proposed,
  );
  return outcomes;
}
