import { DecodeError, Reader, Writer } from "../codec/index.js";
import { type ErrorCode, errorCodes } from "./errors.js";
import { type StackLimits, validateCommand } from "./limits.js";
import type { Command, Outcome } from "./types.js";

/** Format version of a command entry; a replica refuses (bad_command) versions it does not know. */
const commandVersion = 1;
/** Append new operations with new codes; an existing code's layout never changes. */
const opCodes = {
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

/** A count then strings. Grown, not preallocated: every string takes a byte, so a lying count ends in DecodeError. */
function readStrings(r: Reader): string[] {
  const count = r.varint();
  const list: string[] = [];
  for (let i = 0; i < count; i++) list.push(r.str());
  return list;
}

/**
 * True if `cmd` stamped `atMs` decodes back to itself: decodeCommand(encodeCommandAt(cmd, atMs)) has the same
 * type, fields and timestamp. Encoding is lossy outside what validateCommand accepts (a lone surrogate
 * becomes U+FFFD; unknown types and bad numbers do not round-trip) and for timestamps the decoder refuses,
 * so a command passing these checks may be applied as is by the node that encoded it.
 */
export function encodesExactly(cmd: Command, atMs: number, limits: StackLimits): boolean {
  return (
    atMs >= 0 &&
    atMs <= Number.MAX_VALUE &&
    Object.hasOwn(opCodes, cmd.type) &&
    validateCommand(cmd, limits) === undefined
  );
}

/** An encoded command's timestamp: bytes 2..10 (see encodeCommand). */
const atMsStart = 2;
const atMsEnd = 10;

/**
 * A 30-bit FNV-1a hash of an encoded command without its timestamp (each attempt is stamped anew),
 * so a retry matches its first attempt and another command under the same key almost surely does not
 * (a collision, ~2^-30, answers with the first outcome as before fingerprints existed). 30 bits keep
 * it a small integer in V8: no heap number per remembered session.
 */
export function commandFingerprint(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < Math.min(atMsStart, data.length); i++) h = Math.imul(h ^ data[i]!, 0x01000193);
  for (let i = atMsEnd; i < data.length; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
  return (h >>> 0) & 0x3fffffff;
}

/**
 * Never throws: any malformed input (garbage, truncation, trailing bytes, bad UTF-8, a timestamp that is
 * negative, infinite or NaN) gives undefined.
 */
export function decodeCommand(data: Uint8Array): Command | undefined {
  try {
    const r = new Reader(data);
    if (r.u8() !== commandVersion) return undefined;
    const op = r.u8();
    const atMs = r.f64();
    if (!(atMs >= 0 && atMs <= Number.MAX_VALUE)) return undefined;
    const hasKey = r.u8();
    if (hasKey > 1) return undefined;
    const envelope = hasKey === 1 ? { key: r.str(), atMs } : { atMs };
    let cmd: Command;
    switch (op) {
      case opCodes.create:
        cmd = { type: "create", label: r.str(), ...envelope };
        break;
      case opCodes.delete:
        cmd = { type: "delete", id: r.varint(), ...envelope };
        break;
      case opCodes.pop:
        cmd = { type: "pop", id: r.varint(), ...envelope };
        break;
      case opCodes.push: {
        const id = r.varint();
        cmd = { type: "push", id, items: readStrings(r), ...envelope };
        break;
      }
      case opCodes.lpush: {
        const label = r.str();
        cmd = { type: "lpush", label, items: readStrings(r), ...envelope };
        break;
      }
      case opCodes.lpop: {
        const label = r.str();
        const hasCount = r.u8();
        if (hasCount > 1) return undefined;
        cmd =
          hasCount === 1
            ? { type: "lpop", label, count: r.varint(), ...envelope }
            : { type: "lpop", label, ...envelope };
        break;
      }
      case opCodes.del:
        cmd = { type: "del", labels: readStrings(r), ...envelope };
        break;
      case opCodes.bpop:
        cmd = { type: "bpop", labels: readStrings(r), ...envelope };
        break;
      case opCodes.bpopId:
        cmd = { type: "bpopId", id: r.varint(), ...envelope };
        break;
      default:
        return undefined;
    }
    return r.done ? cmd : undefined;
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
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
