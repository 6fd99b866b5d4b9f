import { DecodeError, Reader, Writer } from "../codec/index.js";
import { type AsciiPushes, writeAsciiPush } from "./ascii-pushes.js";
import { writeCommand } from "./codec.js";
import type { Command } from "./types.js";

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

/** The body's starting capacity, and the capacity above which it is replaced after a batch instead of kept. */
const BODY_BYTES = 4096;
const BODY_BYTES_KEPT_MAX = 1024 * 1024;

/**
 * Builds one entry's bytes from commands as they arrive, each encoded straight into a reused body in
 * the batch layout, instead of into a buffer of its own that is joined with the others at the end (an
 * allocation and two copies per command on the leader's write path). `take` gives what encodeBatch
 * would for two or more commands, and a single command in its own format.
 */
export class BatchEncoder {
  /** Each command as varint length + bytes, as in the batch layout. */
  #body = new Writer(BODY_BYTES);
  #count = 0;
  /** Bytes of the commands' encodings, without their length prefixes. */
  #commandBytes = 0;
  /** Bytes of the first command's length prefix, skipped when it goes alone. */
  #firstPrefixBytes = 0;

  get count(): number {
    return this.#count;
  }

  get commandBytes(): number {
    return this.#commandBytes;
  }

  /**
   * Every string of the commands added since the last take reads back as it was (no lone surrogate), so
   * their validation may skip the UTF-8 scan (validateCommand's `wellFormed`). A refused command may
   * leave it false: that only costs the scan.
   */
  get wellFormed(): boolean {
    return this.#body.lossless;
  }

  /**
   * Encodes `cmd` stamped `atMs` after the commands already added and returns its encoded length. If it
   * would take a non-empty batch past `commandBytesMax`, the batch is left as it was and -1 returned
   * (an empty batch takes any one command).
   */
  add(cmd: Command, atMs: number, commandBytesMax: number): number {
    const body = this.#body;
    const start = body.length;
    const begun = body.beginPrefixed();
    try {
      writeCommand(body, cmd, atMs);
    } catch (e) {
      // An id or count that is no safe unsigned integer throws midway: take back what was written, or the
      // next command added would carry it into the entry (and a batch of one would no longer be its command).
      body.truncate(start);
      throw e;
    }
    const length = body.endPrefixed(begun);
    if (this.#count > 0 && this.#commandBytes + length > commandBytesMax) {
      body.truncate(start);
      return -1;
    }
    if (this.#count === 0) this.#firstPrefixBytes = body.length - start - length;
    this.#count++;
    this.#commandBytes += length;
    return length;
  }

  /**
   * Encodes every command of `run` stamped `atMs` after the commands already added, all or none: if they
   * would take the batch past `commandBytesMax` (even an empty one: a run is no single command), the
   * batch is left as it was and false returned.
   */
  addAsciiPushes(run: AsciiPushes, atMs: number, commandBytesMax: number): boolean {
    const body = this.#body;
    const start = body.length;
    let bytes = 0;
    let firstPrefixBytes = 0;
    let at = 0;
    for (let j = 0; j < run.count; j++) {
      const commandStart = body.length;
      const begun = body.beginPrefixed();
      at = writeAsciiPush(body, run, j, at, atMs);
      const length = body.endPrefixed(begun);
      if (j === 0) firstPrefixBytes = body.length - commandStart - length;
      bytes += length;
    }
    if (this.#commandBytes + bytes > commandBytesMax) {
      body.truncate(start);
      return false;
    }
    if (this.#count === 0) this.#firstPrefixBytes = firstPrefixBytes;
    this.#count += run.count;
    this.#commandBytes += bytes;
    return true;
  }

  /** The entry's bytes (a copy), emptying the encoder; throws if nothing was added. */
  take(): Uint8Array {
    const count = this.#count;
    if (count === 0) throw new Error("BatchEncoder.take: no command added");
    const body = this.#body.finishView();
    let data: Uint8Array;
    if (count === 1) data = body.slice(this.#firstPrefixBytes);
    else {
      const w = new Writer(1 + varintBytes(count) + body.length);
      w.u8(batchVersion);
      w.varint(count);
      w.raw(body);
      data = w.finishView();
    }
    this.#count = 0;
    this.#commandBytes = 0;
    this.#body.reset();
    // A huge command grew the body: let that memory go rather than hold it for good.
    if (this.#body.capacity > BODY_BYTES_KEPT_MAX) this.#body = new Writer(BODY_BYTES);
    return data;
  }
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
