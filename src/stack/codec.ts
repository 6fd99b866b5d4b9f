import { DecodeError, Reader, Writer } from "../codec/index.js";
import { type ErrorCode, errorCodes } from "./errors.js";
import { type StackLimits, validateCommand } from "./limits.js";
import type { Command, Outcome } from "./types.js";

/** Format version of a command entry; a replica refuses (bad_command) versions it does not know. */
export const commandVersion = 1;
/** Append new operations with new codes; an existing code's layout never changes. */
export const opCodes = {
  create: 1,
  delete: 2,
  push: 3,
  pop: 4,
  lpush: 5,
  lpop: 6,
  del: 7,
  bpop: 8,
  bpopId: 9,
} as const;

/** The scratch writer's usual size: most commands (a pipeline's LPUSH of a short item) fit it. */
const SCRATCH_BYTES = 4096;
/** Capacity above which the scratch writer is replaced after use instead of kept. */
const SCRATCH_BYTES_MAX = 64 * 1024;
/**
 * encodeCommandAt encodes into this reused writer and copies the bytes out exactly (finish): a fresh
 * Writer per command is garbage. Encoding is synchronous, so one writer serves every call. (The
 * leader's proposals are written straight into their batch: BatchEncoder.)
 */
let scratch = new Writer(SCRATCH_BYTES);

/**
 * Layout: version u8, op u8, atMs f64 LE at byte offset 2 (fixed: commandFingerprint skips it), key presence u8
 * (+ key string), then the operation's fields.
 */
export function encodeCommand(cmd: Command): Uint8Array {
  return encodeCommandAt(cmd, cmd.atMs);
}

/**
 * `cmd` encoded with timestamp `atMs` instead of its own: the leader stamps its clock this way, without
 * copying the command. (A separate function, not an optional parameter: `list.map(encodeCommand)` would
 * pass the array index as the timestamp.)
 */
export function encodeCommandAt(cmd: Command, atMs: number): Uint8Array {
  const w = scratch;
  w.reset();
  writeCommand(w, cmd, atMs);
  const out = w.finish();
  // A huge command grew the scratch buffer: let that memory go rather than hold it for good.
  if (w.capacity > SCRATCH_BYTES_MAX) scratch = new Writer(SCRATCH_BYTES);
  return out;
}

/** Writes `cmd` stamped `atMs` (the layout of encodeCommand) at the writer's end. */
export function writeCommand(w: Writer, cmd: Command, atMs: number): void {
  w.u8(commandVersion);
  w.u8(opCodes[cmd.type]);
  w.f64(atMs);
  if (cmd.key === undefined) w.u8(0);
  else {
    w.u8(1);
    w.str(cmd.key);
  }
  switch (cmd.type) {
    case "create":
      w.str(cmd.label);
      break;
    case "push":
      w.varint(cmd.id);
      w.varint(cmd.items.length);
      for (const item of cmd.items) w.str(item);
      break;
    case "delete":
    case "pop":
    case "bpopId":
      w.varint(cmd.id);
      break;
    case "lpush":
      w.str(cmd.label);
      writeStrings(w, cmd.items);
      break;
    case "lpop":
      w.str(cmd.label);
      if (cmd.count === undefined) w.u8(0);
      else {
        w.u8(1);
        w.varint(cmd.count);
      }
      break;
    case "del":
    case "bpop":
      writeStrings(w, cmd.labels);
      break;
  }
}

function writeStrings(w: Writer, list: readonly string[]): void {
  w.varint(list.length);
  for (const s of list) w.str(s);
}

/**
 * A count then strings. A count above the bytes left is damage (every string takes a byte), refused
 * before it is allocated.
 */
function readStrings(r: Reader): string[] {
  const count = r.varint();
  if (count > r.remaining) throw new DecodeError(`${count} strings exceed the input`, { code: "truncated" });
  const list = new Array<string>(count);
  for (let i = 0; i < count; i++) list[i] = r.str();
  return list;
}

/**
 * The label decoded last and a copy of its bytes (length prefix included). Consecutive commands of a
 * pipeline name the same stack: reusing the string saves decoding it and lets the label map use the
 * hash cached in it. Equal bytes decode to an equal string, so the reuse never changes a result.
 */
let lastLabel = "";
let lastLabelBytes = new Uint8Array(0);
/** Labels longer than this are not remembered (labels are short; the copy is per miss). */
const LAST_LABEL_BYTES_MAX = 64;

/** The label at `r`'s offset in `data` (the bytes `r` reads): the last one if its bytes are equal. */
export function readLabel(r: Reader, data: Uint8Array): string {
  const start = r.offset;
  const len = data[start];
  const known = lastLabelBytes;
  // Compared from the prefix's byte on: remembered bytes may hold a non-canonical (longer) prefix of
  // another length, and matching only on `len` would take other bytes for that label.
  if (len !== undefined && len + 1 === known.length && known.length <= r.remaining) {
    let i = 0;
    while (i < known.length && data[start + i] === known[i]) i++;
    if (i === known.length) {
      r.skip(known.length);
      return lastLabel;
    }
  }
  const label = r.str();
  const bytes = r.offset - start;
  if (bytes <= LAST_LABEL_BYTES_MAX) {
    lastLabel = label;
    // A copy (Buffer's slice would be a view): the entry's memory may be reused once applied.
    lastLabelBytes = new Uint8Array(data.subarray(start, r.offset));
  }
  return label;
}

/**
 * True if `cmd` stamped `atMs` decodes back to itself: decodeCommand(encodeCommandAt(cmd, atMs)) has the same
 * type, fields and timestamp. Encoding is lossy outside what validateCommand accepts (a lone surrogate
 * becomes U+FFFD; unknown types and bad numbers do not round-trip) and for timestamps the decoder refuses,
 * so a command passing these checks may be applied as is by the node that encoded it. `wellFormed`: the
 * caller knows no string of `cmd` holds a lone surrogate (see validateCommand).
 */
export function encodesExactly(cmd: Command, atMs: number, limits: StackLimits, wellFormed = false): boolean {
  return (
    atMs >= 0 &&
    atMs <= Number.MAX_VALUE &&
    Object.hasOwn(opCodes, cmd.type) &&
    validateCommand(cmd, limits, wellFormed) === undefined
  );
}

/** An encoded command's timestamp: bytes 2..10 (see encodeCommand). */
export const atMsStart = 2;
const atMsEnd = 10;

/**
 * A 30-bit FNV-1a hash of an encoded command without its timestamp (each attempt is stamped anew),
 * so a retry matches its first attempt and another command under the same key almost surely does not
 * (a collision, ~2^-30, answers with the first outcome as before fingerprints existed). 30 bits keep
 * it a small integer in V8: no heap number per remembered session.
 */
export function commandFingerprint(data: Uint8Array, start = 0, end = data.length): number {
  let h = 0x811c9dc5;
  for (let i = start; i < Math.min(start + atMsStart, end); i++) h = Math.imul(h ^ data[i]!, 0x01000193);
  for (let i = start + atMsEnd; i < end; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
  return (h >>> 0) & 0x3fffffff;
}

/**
 * The command encoded in `data[start, end)`. Never throws: any malformed input (garbage, truncation,
 * trailing bytes, bad UTF-8, a timestamp that is negative, infinite or NaN) gives undefined. Its strings
 * are well-formed UTF-16 (decoded with a fatal decoder), which validateCommand's `wellFormed` relies on.
 */
export function decodeCommand(data: Uint8Array, start = 0, end = data.length): Command | undefined {
  try {
    const r = new Reader(data, start, end);
    if (r.u8() !== commandVersion) return undefined;
    const op = r.u8();
    const atMs = r.f64();
    if (!(atMs >= 0 && atMs <= Number.MAX_VALUE)) return undefined;
    const hasKey = r.u8();
    if (hasKey > 1) return undefined;
    const key = hasKey === 1 ? r.str() : undefined;
    const cmd = readOperation(r, data, op, key, atMs);
    return r.done ? cmd : undefined;
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}

/**
 * The operation `op` read from `r`, as a command with `key` (if defined) and `atMs`. One object literal
 * per operation and key presence, never a spread: decode runs for every command a replica applies, and
 * spreads into fresh shapes were most of its cost.
 */
function readOperation(
  r: Reader,
  data: Uint8Array,
  op: number,
  key: string | undefined,
  atMs: number,
): Command | undefined {
  switch (op) {
    case opCodes.create: {
      const label = readLabel(r, data);
      return key === undefined ? { type: "create", label, atMs } : { type: "create", label, key, atMs };
    }
    case opCodes.delete: {
      const id = r.varint();
      return key === undefined ? { type: "delete", id, atMs } : { type: "delete", id, key, atMs };
    }
    case opCodes.pop: {
      const id = r.varint();
      return key === undefined ? { type: "pop", id, atMs } : { type: "pop", id, key, atMs };
    }
    case opCodes.bpopId: {
      const id = r.varint();
      return key === undefined ? { type: "bpopId", id, atMs } : { type: "bpopId", id, key, atMs };
    }
    case opCodes.push: {
      const id = r.varint();
      const items = readStrings(r);
      return key === undefined ? { type: "push", id, items, atMs } : { type: "push", id, items, key, atMs };
    }
    case opCodes.lpush: {
      const label = readLabel(r, data);
      const items = readStrings(r);
      return key === undefined
        ? { type: "lpush", label, items, atMs }
        : { type: "lpush", label, items, key, atMs };
    }
    case opCodes.lpop: {
      const label = readLabel(r, data);
      const hasCount = r.u8();
      if (hasCount > 1) return undefined;
      if (hasCount === 0) {
        return key === undefined ? { type: "lpop", label, atMs } : { type: "lpop", label, key, atMs };
      }
      const count = r.varint();
      return key === undefined
        ? { type: "lpop", label, count, atMs }
        : { type: "lpop", label, count, key, atMs };
    }
    case opCodes.del: {
      const labels = readStrings(r);
      return key === undefined ? { type: "del", labels, atMs } : { type: "del", labels, key, atMs };
    }
    case opCodes.bpop: {
      const labels = readStrings(r);
      return key === undefined ? { type: "bpop", labels, atMs } : { type: "bpop", labels, key, atMs };
    }
    default:
      return undefined;
  }
}

/** Append new kinds with new tags (outcomes are in snapshots); an existing tag's layout never changes. */
const outcomeTags = {
  error: 0,
  created: 1,
  deleted: 2,
  pushed: 3,
  popped: 4,
  poppedItems: 5,
  poppedFrom: 6,
  deletedCount: 7,
} as const;

export function writeOutcome(w: Writer, o: Outcome): void {
  if (!o.ok) {
    w.u8(outcomeTags.error);
    w.u8(errorCodes.indexOf(o.code));
    return;
  }
  w.u8(outcomeTags[o.kind]);
  switch (o.kind) {
    case "created":
    case "deleted":
      w.varint(o.id);
      break;
    case "pushed":
      w.varint(o.size);
      break;
    case "popped":
      w.str(o.item);
      break;
    case "poppedItems":
      writeStrings(w, o.items);
      break;
    case "poppedFrom":
      w.str(o.label);
      w.str(o.item);
      break;
    case "deletedCount":
      w.varint(o.count);
      break;
  }
}

/** Throws DecodeError on malformed input. */
export function readOutcome(r: Reader): Outcome {
  const tag = r.u8();
  switch (tag) {
    case outcomeTags.error: {
      const code: ErrorCode | undefined = errorCodes[r.u8()];
      if (code === undefined) throw new DecodeError("unknown error code");
      return { ok: false, code };
    }
    case outcomeTags.created:
      return { ok: true, kind: "created", id: r.varint() };
    case outcomeTags.deleted:
      return { ok: true, kind: "deleted", id: r.varint() };
    case outcomeTags.pushed:
      return { ok: true, kind: "pushed", size: r.varint() };
    case outcomeTags.popped:
      return { ok: true, kind: "popped", item: r.str() };
    case outcomeTags.poppedItems:
      return { ok: true, kind: "poppedItems", items: readStrings(r) };
    case outcomeTags.poppedFrom:
      return { ok: true, kind: "poppedFrom", label: r.str(), item: r.str() };
    case outcomeTags.deletedCount:
      return { ok: true, kind: "deletedCount", count: r.varint() };
    default:
      throw new DecodeError("unknown outcome tag");
  }
}

export function encodeOutcome(o: Outcome): Uint8Array {
  const w = new Writer(o.ok && o.kind === "popped" ? 8 + o.item.length * 3 : 16);
  writeOutcome(w, o);
  return w.finish();
}

/** Never throws: malformed input gives undefined. */
export function decodeOutcome(data: Uint8Array): Outcome | undefined {
  try {
    const r = new Reader(data);
    const o = readOutcome(r);
    return r.done ? o : undefined;
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}
