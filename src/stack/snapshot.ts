// The state machine's snapshot format: what StackMachine.snapshotSteps writes and StackMachine.restore reads.
import { DecodeError, type Reader, VARINT_BYTES_MAX, Writer } from "../codec/index.js";
import { readOutcome, writeOutcome } from "./codec.js";
import { ItemStack, type ItemsCut } from "./items.js";
import { isStackId } from "./limits.js";
import { anyFingerprint, type Session, type SessionTable } from "./sessions.js";

/** One stack as the machine holds it and a snapshot stores it. */
export interface Stack {
  readonly id: number;
  readonly label: string;
  readonly items: ItemStack;
}

/** One stack as a snapshot cut it (StackMachine.snapshotSteps). */
export interface StackCut {
  readonly id: number;
  readonly label: string;
  readonly items: ItemsCut;
}

/** The machine's scalars a snapshot stores; `applied` is its appliedIndex. */
export interface SnapshotHeader {
  readonly applied: number;
  readonly nowMs: number;
  readonly stampMs: number;
  readonly nextId: number;
}

/**
 * Snapshot format version. Version 2 added the latest timestamp and the sessions' fingerprints;
 * version 1 is still read. Restore refuses others.
 */
const snapshotVersion = 2;

/**
 * The size of writeSnapshot's output, from above for the stacks, so its writer does not grow (a grow
 * copies everything written so far in one step, and the snapshot, a view of the writer's buffer, then
 * holds twice its size): per item its UTF-8 and a length varint (at most 1 byte plus 1 per 64 bytes of
 * the item), per stack 3 varints and its label. Sessions: 24 bytes each, their text as ASCII and a
 * length varint per string (as an item's); only non-ASCII text grows it, once, near the end.
 */
export function snapshotBytesHint(
  stacks: readonly StackCut[],
  sessions: Pick<SessionTable, "size" | "chars" | "strings">,
): number {
  let hint = 64 + sessions.size * 24 + sessions.chars + sessions.strings + Math.ceil(sessions.chars / 64);
  for (const { label, items } of stacks) {
    const bytes = items.byteLength;
    hint += 3 * VARINT_BYTES_MAX + 3 * label.length + items.length + bytes + Math.ceil(bytes / 64);
  }
  return hint;
}

/**
 * Writes a cut of the machine, pausing after every `itemsPerStep` items and sessions. Layout: version u8,
 * appliedIndex, nowMs f64, stampMs f64, nextId, stack count, stacks (id, label, item count, items bottom
 * first), session count, sessions oldest first (key, atMs f64, fingerprint + 1 (0: any), outcome). Version
 * 1 had no stampMs and no fingerprints. Deterministic: equal states give equal bytes. `head`: bytes
 * written before it (a container's, see StackMachine.snapshotSteps). `bytesHint`: the writer's first
 * capacity beyond the head; the result is a view of the writer's buffer, not a copy.
 */
export function* writeSnapshot(
  header: SnapshotHeader,
  stacks: readonly StackCut[],
  sessions: readonly Session[],
  head: Uint8Array,
  bytesHint: number,
  itemsPerStep: number,
): Generator<void, Uint8Array, void> {
  const w = new Writer(head.length + bytesHint);
  w.raw(head);
  w.u8(snapshotVersion);
  w.varint(header.applied);
  w.f64(header.nowMs);
  w.f64(header.stampMs);
  w.varint(header.nextId);
  w.varint(stacks.length);
  let sinceYield = 0;
  for (const st of stacks) {
    w.varint(st.id);
    w.str(st.label);
    w.varint(st.items.length);
    // The stored UTF-8 is what w.str writes for the item: the bytes stay those of every version.
    for (let i = 0; i < st.items.length; i++) {
      w.bytes(st.items.bytesAt(i));
      if (++sinceYield >= itemsPerStep) {
        sinceYield = 0;
        yield;
      }
    }
  }
  w.varint(sessions.length);
  for (const session of sessions) {
    w.str(session.key);
    w.f64(session.atMs);
    w.varint(session.fingerprint + 1);
    writeOutcome(w, session.outcome);
    if (++sinceYield >= itemsPerStep) {
      sinceYield = 0;
      yield;
    }
  }
  // Not finish(): its copy of a multi-MB snapshot took as long as an election timeout, in one turn.
  return w.finishView();
}

/** Where a snapshot's stacks and sessions are read into: an empty machine's. */
export interface SnapshotTarget {
  readonly stacks: Map<number, Stack>;
  readonly idsByLabel: Map<string, number>;
  readonly sessions: SessionTable;
}

/**
 * Reads `writeSnapshot`'s bytes (or version 1's): the stacks and sessions into `into`, the scalars and
 * item totals returned. Throws DecodeError on a malformed snapshot.
 */
export function readSnapshot(
  r: Reader,
  into: SnapshotTarget,
): SnapshotHeader & { readonly itemCount: number; readonly itemChars: number } {
  const version = r.u8();
  if (version !== 1 && version !== snapshotVersion) throw new DecodeError(`unknown version ${version}`);
  const applied = r.varint();
  const nowMs = r.f64();
  // Version 1's clock was the latest timestamp itself.
  const stampMs = version === 1 ? nowMs : r.f64();
  const nextId = r.varint();
  let itemCount = 0;
  let itemChars = 0;
  const stackCount = r.varint();
  for (let i = 0; i < stackCount; i++) {
    const id = r.varint();
    const label = r.str();
    const count = r.varint();
    // Each item takes a byte at least: a larger count is damage, refused before it is allocated.
    if (count > r.remaining) throw new DecodeError(`item count ${count} exceeds the snapshot`);
    const items = new ItemStack();
    for (let j = 0; j < count; j++) items.push(r.str());
    itemChars += items.chars;
    if (!isStackId(id) || id >= nextId || into.stacks.has(id) || into.idsByLabel.has(label)) {
      throw new DecodeError(`bad stack ${id}`);
    }
    into.stacks.set(id, { id, label, items });
    into.idsByLabel.set(label, id);
    itemCount += count;
  }
  const sessionCount = r.varint();
  let lastAtMs = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < sessionCount; i++) {
    const key = r.str();
    const atMs = r.f64();
    const fingerprint = version === 1 ? anyFingerprint : r.varint() - 1;
    const outcome = readOutcome(r);
    if (into.sessions.get(key) !== undefined) throw new DecodeError("duplicate session");
    // Expiry relies on the order; a fingerprint is 30 bits (commandFingerprint).
    if (!(atMs >= lastAtMs) || fingerprint >= 2 ** 30) throw new DecodeError(`bad session ${key}`);
    lastAtMs = atMs;
    into.sessions.add({ key, atMs, fingerprint, outcome });
  }
  if (!r.done) throw new DecodeError("trailing bytes");
  return { applied, nowMs, stampMs, nextId, itemCount, itemChars };
}
