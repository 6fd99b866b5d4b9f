import { DecodeError, Reader, Writer } from "../codec/index.js";

/**
 * Format version of a batch entry: several commands in one log entry, so the per-entry costs of Raft,
 * the WAL, peer frames and apply are paid once per batch. Byte 0 tells it from a single command
 * (version 1), which stays valid: logs and snapshots written before batches still apply.
 */
const batchVersion = 2;

/**
 * How large a batch may grow. The driver closes a batch when the next command would pass either; a
 * command larger than `batchBytesMax` on its own goes alone, as a single-command entry.
 */
export interface BatchLimits {
  /** Commands in one batch entry. */
  readonly commandsPerBatchMax: number;
  /** Bytes of the commands' encodings in one batch entry (the entry is at most batchEntryBytesMax). */
  readonly batchBytesMax: number;
}

/**
 * 256 commands: redis-benchmark's -P 16 at c=64 puts up to 1,024 writes in one turn; four entries of 256
 * keep each apply step and each reply burst short. 256 KiB: a quarter of the core's appendBytesMax, so
 * an append still carries several batches, and far below its uncommittedBytesMax.
 */
export const defaultBatchLimits: BatchLimits = { commandsPerBatchMax: 256, batchBytesMax: 256 * 1024 };

/** Bytes a varint of `v` takes. */
function varintBytes(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Bytes of the largest batch entry under `limits`: header, then a length before each command. */
export function batchEntryBytesMax(limits: BatchLimits): number {
  return (
    1 +
    varintBytes(limits.commandsPerBatchMax) +
    limits.batchBytesMax +
    limits.commandsPerBatchMax * varintBytes(limits.batchBytesMax)
  );
}

/** Layout: version u8 (2), command count varint, then each command as varint length + its encoding. */
export function encodeBatch(commands: readonly Uint8Array[]): Uint8Array {
  let bytes = 1 + varintBytes(commands.length);
  for (const c of commands) bytes += varintBytes(c.length) + c.length;
  const w = new Writer(bytes);
  w.u8(batchVersion);
  w.varint(commands.length);
  for (const c of commands) w.bytes(c);
  return w.finish();
}

/** True if `data` is a batch entry (decodeBatch reads it), false for a single command or anything else. */
export function isBatch(data: Uint8Array): boolean {
  return data.length > 0 && data[0] === batchVersion;
}

/**
 * Where the commands of a batch entry lie: command i is `data[bounds[2i], bounds[2i + 1])`. Offsets, not
 * views: a view per command cost more than decoding its header. Never throws: a malformed batch
 * (truncated, trailing bytes, an empty batch) gives undefined; each command is decoded on its own later.
 */
export function batchBounds(data: Uint8Array): number[] | undefined {
  try {
    const r = new Reader(data);
    if (r.u8() !== batchVersion) return undefined;
    const count = r.varint();
    // Each command takes a byte at least: a larger count is damage, refused before it is allocated.
    if (count === 0 || count > r.remaining) return undefined;
    const bounds = new Array<number>(2 * count);
    for (let i = 0; i < count; i++) {
      const length = r.varint();
      bounds[2 * i] = r.offset;
      r.skip(length);
      bounds[2 * i + 1] = r.offset;
    }
    return r.done ? bounds : undefined;
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}

/**
 * The commands of a batch entry, as plain Uint8Array views into `data` (no copies, no Buffer even over a
 * Buffer); undefined as batchBounds.
 */
export function decodeBatch(data: Uint8Array): Uint8Array[] | undefined {
  const bounds = batchBounds(data);
  if (bounds === undefined) return undefined;
  const commands = new Array<Uint8Array>(bounds.length / 2);
  for (let i = 0; i < commands.length; i++) {
    const start = bounds[2 * i]!;
    commands[i] = new Uint8Array(data.buffer, data.byteOffset + start, bounds[2 * i + 1]! - start);
  }
  return commands;
}
