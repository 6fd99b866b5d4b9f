export type StorageErrorCode =
  | "wal_corrupt"
  | "snapshot_corrupt"
  | "node_id_mismatch"
  | "node_id_corrupt"
  | "storage_failed"
  | "batch_too_large"
  | "data_dir_locked"
  | "repair_incomplete"
  | "repair_not_needed"
  | "repair_sole_voter";

/** Operating errors of the storage layer; `code` is stable and maps to one HTTP status. */
export class StorageError extends Error {
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.name = "StorageError";
    this.code = code;
  }
}

/** The data dir was claimed by another node id (its `node-id` file): starting would mix two nodes' Raft state. */
export class NodeIdMismatchError extends StorageError {
  readonly dataDir: string;
  readonly claimedBy: number;
  readonly nodeId: number;
  constructor(dataDir: string, claimedBy: number, nodeId: number) {
    super(
      "node_id_mismatch",
      `data dir ${dataDir} belongs to node ${claimedBy}, not node ${nodeId} (its node-id file says so): ` +
        `start node ${nodeId} with its own --data-dir, or start node ${claimedBy} on this one`,
    );
    this.name = "NodeIdMismatchError";
    this.dataDir = dataDir;
    this.claimedBy = claimedBy;
    this.nodeId = nodeId;
  }
}

/** Damaged data the node must not start from; the message names the repair command. */
export class StorageCorruptionError extends StorageError {
  readonly file: string;
  readonly offset: number;
  /** What is damaged and where, without the advice (a caller that knows more may advise otherwise). */
  readonly damage: string;
  constructor(
    code: "wal_corrupt" | "snapshot_corrupt",
    file: string,
    offset: number,
    why: string,
    dataDir: string,
  ) {
    const damage = `${code === "wal_corrupt" ? "WAL" : "snapshot"} corrupt: ${why} in ${file} at byte ${offset}`;
    super(
      code,
      `${damage}; to move the damaged data aside and rejoin empty (restored by the leader) run: ` +
        `raftstack repair --data-dir ${dataDir}`,
    );
    this.damage = damage;
    this.name = "StorageCorruptionError";
    this.file = file;
    this.offset = offset;
  }
}

/** Another live process (a node, or repair) has the data dir open. */
export class DataDirLockedError extends StorageError {
  readonly dataDir: string;
  readonly holderPid: number;
  readonly holderReason: string;
  constructor(dataDir: string, holder: { readonly pid: number; readonly reason: string }) {
    super(
      "data_dir_locked",
      `data dir ${dataDir} is in use by process ${holder.pid} (${holder.reason}); ` +
        `two processes on one data dir would corrupt it: stop that process first`,
    );
    this.name = "DataDirLockedError";
    this.dataDir = dataDir;
    this.holderPid = holder.pid;
    this.holderReason = holder.reason;
  }
}
