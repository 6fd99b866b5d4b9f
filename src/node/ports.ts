import type {
  ConfChange,
  ConfigState,
  Entry,
  LogStorage,
  Message,
  RaftEvent,
  Snapshot,
} from "../raft/index.js";
import type { Outcome, StackMachine } from "../stack/index.js";
import type { SaveBatch } from "../storage/index.js";
import type { NodeError } from "./errors.js";

/**
 * Time and scheduling as the driver sees them. Production: performance.now, Date.now, setImmediate,
 * setInterval. The simulator: its virtual clock with this node's offset and drift.
 */
export interface Clock {
  /** Monotonic milliseconds, for deadlines and latencies. */
  now(): number;
  /** Wall-clock milliseconds: the leader's timestamp in each command (session expiry). */
  wallMs(): number;
  /** Runs `run` once the current input is handled, so many inputs coalesce into one Ready. */
  defer(run: () => void): void;
  /** Runs `run` every `ms` milliseconds until the returned function is called. */
  every(ms: number, run: () => void): () => void;
}

/**
 * The log storage Raft reads, plus the writes the driver makes: DiskStorage in production (and in the
 * simulator's wal mode), the simulator's in-memory disk otherwise. A rejected write stops the node.
 */
export interface DriverStorage extends LogStorage {
  /** Resolves once the batch is durable. */
  save(batch: SaveBatch): Promise<void>;
  /** Records the state machine's snapshot at applied `index`. */
  createSnapshot(index: number, config: ConfigState, data: Uint8Array): Promise<void>;
  /** Drops log entries the snapshot at `index` covers (keeping the storage's tail for slow followers). */
  compact(index: number): Promise<void>;
}

/** Outbound peer messages. Inbound ones enter through Driver.receive / peerUnreachable / snapshotSent. */
export interface PeerNetwork {
  /** Never blocks; may drop (Raft resends). */
  send(msgs: readonly Message[]): void;
}

/** Where the answer to one request goes: a Promise's resolve/reject pair, or a peer's result message. */
export interface Reply<T> {
  resolve(value: T): void;
  reject(error: NodeError): void;
}

/** What the driver reports about its work; the simulator checks its invariants here. */
export interface DriverHooks {
  /** A Ready's committed entries, before they are applied. */
  committed?(entries: readonly Entry[]): void;
  /**
   * One entry applied, with one outcome per command it carries in the entry's order (one for a single
   * command, one per command for a batch, none for a no-op or configuration entry). The array is the
   * hook's to keep.
   */
  applied?(entry: Entry, outcomes: readonly Outcome[]): void;
  /**
   * One command of an entry applied (a single-command entry or one command of a batch): called right
   * after it ran, before the next command of the batch, so the machine shows its effect alone.
   */
  commandApplied?(command: Uint8Array, outcome: Outcome): void;
  /**
   * A configuration change was applied (log order, after every earlier entry): `config` is the
   * resulting configuration. The node updates its member table and transport peers here; `cc.context`
   * carries the member's attributes. Also called again for changes replayed from the log at startup.
   */
  configApplied?(cc: ConfChange, config: ConfigState, index: number): void;
  /** This node just became leader (checked after every input). */
  elected?(): void;
  /** The leader this node knows of changed (NONE: an election is on); called inside the Ready loop. */
  leaderChanged?(leader: number): void;
  /** The machine was replaced by a snapshot from the leader. */
  restored?(snapshot: Snapshot): void;
  /** A batch of entries was applied or a snapshot installed: the machine shows the new state. */
  machineChanged?(machine: StackMachine): void;
  /** A local snapshot of the machine at `index` was encoded (before it is written). */
  snapshotTaken?(index: number, data: Uint8Array): void;
  /** The core's events of one Ready (elections, leader changes, refused votes...) and how many it left out. */
  events?(events: readonly RaftEvent[], dropped: number): void;
}

/** pino-compatible subset. */
export interface DriverLogger {
  info(fields: object, msg: string): void;
  fatal(fields: object, msg: string): void;
}
