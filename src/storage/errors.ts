export type StorageErrorCode =
  | "wal_corrupt"
  | "snapshot_corrupt"
  | "storage_failed"
  | "batch_too_large"
  | "data_dir_locked"
  | "repair_incomplete"
  | "repair_not_needed"
  | "repair_sole_voter";

/** Operating errors of the storage layer; `code` is stable and maps to one HTTP status. */
export class StorageError extends Error {
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string) {
    super(message);
    this.name = "StorageError";
    this.code = code;
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
