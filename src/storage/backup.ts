// Backup file: [magic "RSBK" u32][version u8][3 zero bytes][payload length u64][sha256 of the payload, 32 bytes]
// [payload]. The payload is the node's snapshot file (snapfile.ts) carried as is, so the backup follows any
// change of the snapshot format and is checked twice: the sha256 here, the snapshot's crc32c inside.
import { createHash, type Hash } from "node:crypto";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { getU64, putU64 } from "../codec/index.js";
import type { NodeId, Snapshot } from "../raft/index.js";
import type { Disk } from "./disk.js";
import { DiskStorage } from "./disk-storage.js";
import { decodeSnapshot, snapshotFileParts } from "./snapfile.js";

const BACKUP_MAGIC = 0x4b425352; // "RSBK" little-endian
const BACKUP_VERSION = 1;
export const BACKUP_HEADER_BYTES = 4 + 1 + 3 + 8 + 32;
/** The term a restored cluster starts from: a new cluster, whatever terms the old one went through. */
export const RESTORED_TERM = 1;

export type BackupErrorCode =
  | "bad_magic"
  | "unsupported_version"
  | "truncated"
  | "trailing_bytes"
  | "checksum_mismatch"
  | "snapshot_invalid"
  | "data_dir_not_empty";

/** A backup that cannot be used (damaged, or not a backup), or a restore that must not overwrite data. */
export class BackupError extends Error {
  override readonly name = "BackupError";
  readonly code: BackupErrorCode;
  constructor(code: BackupErrorCode, message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export interface BackupParts {
  /** The whole file in order: header first, then the payload as views of the snapshot (no copy). */
  readonly parts: readonly Uint8Array[];
  readonly totalBytes: number;
  readonly sha256: string;
}

/**
 * Encodes `s` as a backup file. The payload is hashed before the header can be written, a part
 * (at most a MiB) per event-loop turn, so a large snapshot does not stall the node serving it.
 */
export async function encodeBackup(s: Snapshot): Promise<BackupParts> {
  const hash = createHash("sha256");
  const payload: Uint8Array[] = [];
  let payloadBytes = 0;
  for (const part of snapshotFileParts(s)) {
    hash.update(part);
    payload.push(part);
    payloadBytes += part.length;
    await yieldToLoop();
  }
  const digest = hash.digest();
  const header = Buffer.alloc(BACKUP_HEADER_BYTES);
  header.writeUInt32LE(BACKUP_MAGIC, 0);
  header.writeUInt8(BACKUP_VERSION, 4);
  putU64(header, 8, payloadBytes);
  digest.copy(header, 16);
  return {
    parts: [header, ...payload],
    totalBytes: BACKUP_HEADER_BYTES + payloadBytes,
    sha256: digest.toString("hex"),
  };
}

/**
 * Checks a backup as it streams in (a download, a file read): the header once it has arrived, the
 * payload's length and sha256 at the end. Bytes are only hashed, not kept.
 */
export class BackupVerifier {
  private readonly headerBuf = Buffer.alloc(BACKUP_HEADER_BYTES);
  private headerFill = 0;
  private payloadBytes: number | undefined;
  private expected: Buffer | undefined;
  private readonly hash: Hash = createHash("sha256");
  private seen = 0;

  /** The whole file's size, known once the header has arrived. */
  get totalBytes(): number | undefined {
    return this.payloadBytes === undefined ? undefined : BACKUP_HEADER_BYTES + this.payloadBytes;
  }

  /** Throws BackupError as soon as the header is not a backup's or more bytes came than it announced. */
  push(chunk: Uint8Array): void {
    let rest = chunk;
    if (this.headerFill < BACKUP_HEADER_BYTES) {
      const n = Math.min(BACKUP_HEADER_BYTES - this.headerFill, rest.length);
      this.headerBuf.set(rest.subarray(0, n), this.headerFill);
      this.headerFill += n;
      rest = rest.subarray(n);
      if (this.headerFill === BACKUP_HEADER_BYTES) this.readHeader();
    }
    if (rest.length === 0) return;
    this.seen += rest.length;
    if (this.seen > (this.payloadBytes ?? 0)) {
      throw new BackupError(
        "trailing_bytes",
        `more than the ${this.payloadBytes} payload bytes the header announces`,
      );
    }
    this.hash.update(rest);
  }

  /** The payload's sha256 (hex) once every announced byte arrived and matched; throws BackupError otherwise. */
  finish(): string {
    if (this.payloadBytes === undefined || this.expected === undefined) {
      throw new BackupError("truncated", `file too short for a backup header (${this.headerFill} bytes)`);
    }
    if (this.seen < this.payloadBytes) {
      throw new BackupError(
        "truncated",
        `payload has ${this.seen} of the ${this.payloadBytes} bytes announced`,
      );
    }
    const actual = this.hash.digest();
    if (!actual.equals(this.expected)) {
      throw new BackupError(
        "checksum_mismatch",
        `sha256 of the payload is ${actual.toString("hex")}, the header says ${this.expected.toString("hex")}`,
      );
    }
    return actual.toString("hex");
  }

  private readHeader(): void {
    const h = this.headerBuf;
    if (h.readUInt32LE(0) !== BACKUP_MAGIC)
      throw new BackupError("bad_magic", "not a raftstack backup (bad magic)");
    if (h[4] !== BACKUP_VERSION) {
      throw new BackupError(
        "unsupported_version",
        `backup version ${h[4]} (this raftstack reads ${BACKUP_VERSION})`,
      );
    }
    this.payloadBytes = getU64(h, 8);
    this.expected = Buffer.from(h.subarray(16, 48));
  }
}

/** A whole backup file checked (sha256, then the snapshot's own checks) and decoded to its snapshot. */
export function decodeBackup(bytes: Uint8Array): Snapshot {
  const verifier = new BackupVerifier();
  verifier.push(bytes);
  verifier.finish();
  const decoded = decodeSnapshot(bytes.subarray(BACKUP_HEADER_BYTES));
  if (!decoded.ok) {
    throw new BackupError(
      "snapshot_invalid",
      `the backup's snapshot is invalid: ${decoded.why} at payload byte ${decoded.offset}`,
    );
  }
  return decoded.snapshot;
}

/**
 * Seeds an empty data dir, claimed for node `nodeId` (its node-id file), with `backup` as the first state
 * of a new cluster of `voters`: the snapshot at its index (the state machine's own applied index is inside
 * its data) with a fresh term, and a WAL whose hard state commits it. Every member of the new cluster is
 * seeded the same way, so their logs agree.
 * Refuses a data dir holding anything (BackupError data_dir_not_empty): a restore never overwrites data.
 */
export async function restoreBackup(
  disk: Disk,
  dataDir: string,
  backup: Snapshot,
  voters: readonly NodeId[],
  nodeId: NodeId,
): Promise<Snapshot> {
  const present = await disk.list(dataDir);
  if (present.length > 0) {
    throw new BackupError(
      "data_dir_not_empty",
      `data dir ${dataDir} is not empty (${present.slice(0, 3).join(", ")}${present.length > 3 ? ", ..." : ""}); ` +
        "restore only seeds a new, empty one",
    );
  }
  if (backup.meta.index < 1) throw new BackupError("snapshot_invalid", "the backup's snapshot is at index 0");
  const config = { voters: [...voters], learners: [] };
  const snapshot: Snapshot = { meta: { ...backup.meta, term: RESTORED_TERM, config }, data: backup.data };
  const storage = await DiskStorage.open(disk, dataDir, {
    bootstrapConfig: config,
    lockReason: "raftstack snapshot restore",
    nodeId,
  });
  try {
    await storage.save({
      snapshot,
      entries: [],
      hardState: { term: RESTORED_TERM, vote: 0, commit: snapshot.meta.index },
    });
  } finally {
    await storage.close();
  }
  return snapshot;
}
