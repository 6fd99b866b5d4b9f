// Snapshot file: [magic u32][version u8][index u64][term u64][voter count u32][voters u64...]
// [learner count u32][learners u64...][removed count u32][removed u64...][data length u64][data]
// [crc32c u32 of everything before]. Version 1 had no removed ids (membership was fixed); still read.
import { join } from "node:path";
import { DecodeError, getU64, putU64 } from "../codec/index.js";
import type { Snapshot } from "../raft/index.js";
import { crc32cUpdate } from "./crc32c.js";
import { ATOMIC_TMP_SUFFIX, type Disk, writeFileAtomically } from "./disk.js";
import { asBuffer } from "./wal.js";

const SNAP_MAGIC = 0x504e5352; // "RSNP"
const SNAP_VERSION = 2;
const SNAP_RE = /^snap-([0-9a-f]{16})\.snap$/;
const CORRUPT_SUFFIX = ".corrupt";
/** Snapshot bytes checksummed and written per step: about a millisecond of CRC between yields. */
const SNAP_CHUNK_BYTES = 1 << 20;

export function snapshotName(index: number): string {
  return `snap-${index.toString(16).padStart(16, "0")}.snap`;
}

/** Everything before the data: magic, version, meta and the data length. */
function encodeSnapshotHead(s: Snapshot): Buffer {
  const { voters, learners, removed = [] } = s.meta.config;
  const lists = [voters, learners, removed];
  const idBytes = lists.reduce((n, ids) => n + 4 + 8 * ids.length, 0);
  const buf = Buffer.allocUnsafe(4 + 1 + 16 + idBytes + 8);
  buf.writeUInt32LE(SNAP_MAGIC, 0);
  buf.writeUInt8(SNAP_VERSION, 4);
  putU64(buf, 5, s.meta.index);
  putU64(buf, 13, s.meta.term);
  let p = 21;
  for (const ids of lists) {
    buf.writeUInt32LE(ids.length, p);
    p += 4;
    for (const id of ids) {
      putU64(buf, p, id);
      p += 8;
    }
  }
  putU64(buf, p, s.data.length);
  return buf;
}

export type DecodedSnapshot =
  | { readonly ok: true; readonly snapshot: Snapshot }
  | { readonly ok: false; readonly offset: number; readonly why: string };

export function decodeSnapshot(bytes: Uint8Array): DecodedSnapshot {
  const buf = asBuffer(bytes);
  const fail = (offset: number, why: string): DecodedSnapshot => ({ ok: false, offset, why });
  if (buf.length < 4 + 1 + 16 + 4 + 4 + 8 + 4) return fail(0, "file too short");
  const crcAt = buf.length - 4;
  if (crc32cUpdate(0, buf, 0, crcAt) !== buf.readUInt32LE(crcAt)) return fail(crcAt, "checksum mismatch");
  if (buf.readUInt32LE(0) !== SNAP_MAGIC) return fail(0, "bad magic");
  const version = buf[4];
  if (version !== 1 && version !== SNAP_VERSION) return fail(4, `unsupported version ${version}`);
  const index = u64Below2p53(buf, 5);
  if (index === undefined) return fail(5, "index not below 2^53");
  const term = u64Below2p53(buf, 13);
  if (term === undefined) return fail(13, "term not below 2^53");
  let p = 21;
  const lists: number[][] = [];
  for (let k = 0; k < (version === 1 ? 2 : 3); k++) {
    if (p + 4 > crcAt) return fail(p, "truncated config");
    const n = buf.readUInt32LE(p);
    p += 4;
    if (p + 8 * n > crcAt) return fail(p, "truncated config");
    const ids: number[] = [];
    for (let i = 0; i < n; i++, p += 8) {
      const id = u64Below2p53(buf, p);
      if (id === undefined) return fail(p, "member id not below 2^53");
      ids.push(id);
    }
    lists.push(ids);
  }
  if (p + 8 > crcAt) return fail(p, "truncated data length");
  const dataBytes = u64Below2p53(buf, p);
  if (dataBytes === undefined || p + 8 + dataBytes !== crcAt)
    return fail(p, "data length does not match file size");
  const removed = lists[2] ?? [];
  const config = { voters: lists[0]!, learners: lists[1]!, ...(removed.length > 0 ? { removed } : {}) };
  return { ok: true, snapshot: { meta: { index, term, config }, data: buf.subarray(p + 8, crcAt) } };
}

/**
 * A u64 field, or undefined at 2^53 or more: a checksummed file this build did not write (a number cannot
 * hold it). decodeSnapshot answers such a file as it answers any malformed one, so `repair` and start-up
 * treat it alike, instead of a DecodeError escaping from the middle of the header.
 */
function u64Below2p53(buf: Uint8Array, at: number): number | undefined {
  try {
    return getU64(buf, at);
  } catch (err) {
    if (err instanceof DecodeError) return undefined;
    throw err;
  }
}

/**
 * The snapshot file's bytes in order: head, the data a chunk at a time (views, never copied whole),
 * then the checksum, computed a chunk at a time too: a multi-MB snapshot in one synchronous CRC and
 * copy stalled the event loop (and every node snapshots at the same index). Also the payload of a backup.
 */
export function* snapshotFileParts(s: Snapshot): Generator<Uint8Array, void, void> {
  const head = encodeSnapshotHead(s);
  yield head;
  let crc = crc32cUpdate(0, head, 0, head.length);
  for (let off = 0; off < s.data.length; off += SNAP_CHUNK_BYTES) {
    const end = Math.min(off + SNAP_CHUNK_BYTES, s.data.length);
    crc = crc32cUpdate(crc, s.data, off, end);
    yield s.data.subarray(off, end);
  }
  const tail = Buffer.allocUnsafe(4);
  tail.writeUInt32LE(crc, 0);
  yield tail;
}

/** Atomic: a crash leaves either the old set of snapshots or the new file complete and durable. */
export async function writeSnapshotFile(disk: Disk, dir: string, s: Snapshot): Promise<void> {
  await writeFileAtomically(disk, join(dir, snapshotName(s.meta.index)), snapshotFileParts(s));
}

/** Indexes of the snapshot files in `dir`, newest first (leftovers of interrupted writes are not). */
export async function listSnapshots(disk: Disk, dir: string): Promise<number[]> {
  const indexes: number[] = [];
  for (const name of await disk.list(dir)) {
    const m = SNAP_RE.exec(name);
    if (m !== null) indexes.push(Number.parseInt(m[1]!, 16));
  }
  return indexes.sort((a, b) => b - a);
}

/** Removes the leftovers of interrupted snapshot writes. */
export async function removeSnapshotLeftovers(disk: Disk, dir: string): Promise<void> {
  for (const name of await disk.list(dir)) {
    if (name.endsWith(ATOMIC_TMP_SUFFIX)) await disk.remove(join(dir, name));
  }
}

export async function readSnapshotFile(disk: Disk, dir: string, index: number): Promise<DecodedSnapshot> {
  return decodeSnapshot(await disk.readFile(join(dir, snapshotName(index))));
}

/** The snapshots in `dir` as start-up and repair read them, writing nothing. */
export interface SnapshotsRead {
  /** Every snapshot file's index, newest first. */
  readonly indexes: readonly number[];
  /** The newest snapshot that decodes, if any. */
  readonly newest: Snapshot | undefined;
  /** Snapshots newer than `newest` that do not decode. */
  readonly damaged: readonly { readonly index: number; readonly offset: number; readonly why: string }[];
}

export async function readSnapshots(disk: Disk, dir: string): Promise<SnapshotsRead> {
  const damaged: { index: number; offset: number; why: string }[] = [];
  const indexes = await listSnapshots(disk, dir);
  for (const index of indexes) {
    const decoded = await readSnapshotFile(disk, dir, index);
    if (decoded.ok) return { indexes, newest: decoded.snapshot, damaged };
    damaged.push({ index, offset: decoded.offset, why: decoded.why });
  }
  return { indexes, newest: undefined, damaged };
}

/** Renames a damaged snapshot so it no longer counts as one of the kept snapshots. */
export async function setAsideSnapshot(disk: Disk, dir: string, index: number): Promise<void> {
  const name = join(dir, snapshotName(index));
  await disk.rename(name, name + CORRUPT_SUFFIX);
  await disk.syncDir(dir);
}

/** Keeps the newest `keep` snapshots; losing a removal in a crash only brings an old one back. */
export async function pruneSnapshots(
  disk: Disk,
  dir: string,
  indexes: number[],
  keep: number,
): Promise<number[]> {
  const kept = [...indexes].sort((a, b) => b - a);
  for (const index of kept.splice(keep)) await disk.remove(join(dir, snapshotName(index)));
  return kept;
}
