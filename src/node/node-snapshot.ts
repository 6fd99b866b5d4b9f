import { DecodeError, Reader, Writer } from "../codec/index.js";
import { MemberTable } from "./members.js";

/**
 * First byte of a node snapshot. The pre-membership format is the stack machine's snapshot alone,
 * whose first byte is its version (1 or 2): a tag of 0x80 and up can never be mistaken for one.
 */
const NODE_SNAPSHOT_TAG = 0x80;
const nodeSnapshotVersion = 1;

/** The node's replicated state in a snapshot: the member table (`MemberTable.encode`), then the stacks. */
export function encodeNodeSnapshot(table: Uint8Array, stacks: Uint8Array): Uint8Array {
  const w = new Writer(16 + table.length + stacks.length);
  w.u8(NODE_SNAPSHOT_TAG);
  w.u8(nodeSnapshotVersion);
  w.bytes(table);
  w.raw(stacks);
  return w.finish();
}

/**
 * The parts of a snapshot; `members` is undefined for the pre-membership format (the stack machine's
 * snapshot alone), which still restores: the table then comes from `--cluster`.
 */
export function decodeNodeSnapshot(data: Uint8Array): {
  members: MemberTable | undefined;
  stacks: Uint8Array;
} {
  if (data[0] !== NODE_SNAPSHOT_TAG) return { members: undefined, stacks: data };
  try {
    const r = new Reader(data, 1);
    const version = r.u8();
    if (version !== nodeSnapshotVersion) throw new DecodeError(`unknown version ${version}`);
    const table = new Reader(r.bytes());
    const members = MemberTable.decode(table);
    if (!table.done) throw new DecodeError("trailing bytes after the member table");
    return { members, stacks: r.rest() };
  } catch (e) {
    if (e instanceof DecodeError) throw new Error(`node snapshot: ${e.message}`, { cause: e });
    throw e;
  }
}
