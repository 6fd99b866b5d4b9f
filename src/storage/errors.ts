export type StorageErrorCode = "wal_corrupt" | "snapshot_corrupt" | "storage_failed" | "batch_too_large";

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
  constructor(
    code: "wal_corrupt" | "snapshot_corrupt",
    file: string,
    offset: number,
    why: string,
    dataDir: string,
  ) {
    super(
      code,
      `${code === "wal_corrupt" ? "WAL" : "snapshot"} corrupt: ${why} in ${file} at byte ${offset}; ` +
        `to move the damaged data aside and rejoin empty (restored by the leader) run: ` +
        `raftstack repair --data-dir ${dataDir}`,
    );
    this.name = "StorageCorruptionError";
    this.file = file;
    this.offset = offset;
  }
}
