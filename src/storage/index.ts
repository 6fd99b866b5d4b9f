// Durable storage: WAL segments with checksummed records and group-commit fsync, atomic snapshots.

export type { BackupErrorCode, BackupParts } from "./backup.js";
export {
  BACKUP_HEADER_BYTES,
  BackupError,
  BackupVerifier,
  decodeBackup,
  encodeBackup,
  RESTORED_TERM,
  restoreBackup,
} from "./backup.js";
export { crc32c, crc32cUpdate } from "./crc32c.js";
export type { DirLockHolder, DirLockResult, Disk, DiskFile } from "./disk.js";
export { NodeDisk } from "./disk.js";
export type { DiskStorageOptions, OpenStats, SaveBatch, StorageLogger } from "./disk-storage.js";
export {
  COMPACT_KEEP_ENTRIES_DEFAULT,
  DiskStorage,
  RECORD_BYTES_MAX_DEFAULT,
  SEGMENT_BYTES_MAX_DEFAULT,
} from "./disk-storage.js";
export type { StorageErrorCode } from "./errors.js";
export { DataDirLockedError, NodeIdMismatchError, StorageCorruptionError, StorageError } from "./errors.js";
export type { RandomInt } from "./memdisk.js";
export { MemDisk } from "./memdisk.js";
export { NODE_ID_FILE } from "./node-id-file.js";
export type { RepairOptions, RepairRefusalCode, RepairResult } from "./repair.js";
export { RepairRefusedError, repair, repairRefusal } from "./repair.js";
