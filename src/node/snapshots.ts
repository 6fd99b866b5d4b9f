import type { ConfigState } from "../raft/index.js";
import type { StackMachine } from "../stack/index.js";
import { appSnapshotHead, type ReplicatedMembers } from "./app-snapshot.js";
import type { NodeMetrics } from "./metrics.js";
import type { Clock, DriverHooks, DriverLogger, DriverStorage } from "./ports.js";

/** Items encoded between yields: well under a millisecond (20,000 took 3-14 ms). */
export const snapshotItemsPerStep = 2_000;

export interface LocalSnapshotDeps {
  readonly clock: Clock;
  readonly storage: DriverStorage;
  readonly hooks: DriverHooks;
  readonly metrics: NodeMetrics | undefined;
  readonly logger: DriverLogger | undefined;
  /** Writing the snapshot failed: the node must stop. */
  readonly failed: (err: unknown) => void;
}

/**
 * This member's own snapshots: one every `every` applied entries, at indexes offset by `phase` so the
 * members of a quorum never all snapshot at once. Taken in the background: the state is cut at once,
 * encoded in steps and written beside the WAL, so heartbeats keep flowing.
 */
export class LocalSnapshots {
  private running = false;

  constructor(
    /** Index of the newest snapshot held (local or from the leader). */
    private index_: number,
    private readonly phase: number,
    private readonly every: number,
    private readonly deps: LocalSnapshotDeps,
  ) {}

  get index(): number {
    return this.index_;
  }

  /** A snapshot from the leader was installed. */
  installed(index: number): void {
    this.index_ = index;
  }

  /**
   * Starts a snapshot of `machine` (and `members`, cut at the same applied index) with `config`, the
   * configuration applied at that index, if one is due and none is being written.
   */
  maybeStart(machine: StackMachine, config: ConfigState, members: ReplicatedMembers | undefined): void {
    const applied = machine.appliedIndex;
    if (this.running || !this.due(applied)) return;
    this.running = true;
    const { clock, storage, hooks, metrics, logger } = this.deps;
    const started = clock.now();
    const head = members === undefined ? undefined : appSnapshotHead(members.encode());
    let bytes = 0;
    encodeInSteps(machine.snapshotSteps(snapshotItemsPerStep, head), clock)
      .then((data) => {
        bytes = data.length;
        hooks.snapshotTaken?.(applied, data);
        return storage.createSnapshot(applied, config, data);
      })
      .then(() => storage.compact(applied))
      .then(() => {
        this.index_ = Math.max(this.index_, applied);
        const ms = clock.now() - started;
        metrics?.snapshotDone("created", ms / 1000, bytes);
        logger?.info({ index: applied, bytes, ms: Math.round(ms) }, "created snapshot and compacted the log");
      })
      .catch(this.deps.failed)
      .finally(() => {
        this.running = false;
      });
  }

  /** True once `applied` has crossed a boundary `phase + k * every` that the held snapshot had not. */
  private due(applied: number): boolean {
    const { phase, every } = this;
    return Math.floor((applied - phase) / every) > Math.floor((this.index_ - phase) / every);
  }
}

/**
 * Runs a machine's snapshotSteps to the end, one step per turn of `clock`. The state is cut at the first
 * step, which runs before this returns its promise.
 */
export async function encodeInSteps(
  steps: Generator<void, Uint8Array, void>,
  clock: Clock,
): Promise<Uint8Array> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await new Promise<void>((resolve) => clock.defer(resolve));
  }
}
