import { invariant } from "../raft/index.js";

/**
 * The node's replicated state besides the stacks: the member table (peer and client URLs, next member
 * id). It changes only through config entries (Driver hooks `configApplied`) and travels in snapshots
 * next to the stack machine.
 */
export interface ReplicatedMembers {
  /** The table as of the applied index, cut synchronously when a snapshot is taken. */
  encode(): Uint8Array;
  /** Replaces the table with a snapshot's; undefined for a snapshot in the pre-membership format. */
  restore(data: Uint8Array | undefined): void;
}

/**
 * Snapshot data as `{ members, stacks }`: a marker byte no stack snapshot starts with (those begin
 * with their version, 1 or 2), the members' length and bytes, then the stack snapshot. Data without
 * the marker is the pre-membership format: a bare stack snapshot.
 */
const NODE_SNAPSHOT_V1 = 0x80;
const headBytes = 5;

/**
 * The bytes of `{ members, stacks }` data before the stack snapshot: the machine writes its snapshot
 * right after them (StackMachine.snapshotSteps), as copying a multi-MB snapshot behind them stalled
 * the event loop.
 */
export function appSnapshotHead(members: Uint8Array): Uint8Array {
  const out = new Uint8Array(headBytes + members.length);
  out[0] = NODE_SNAPSHOT_V1;
  new DataView(out.buffer).setUint32(1, members.length);
  out.set(members, headBytes);
  return out;
}

export function decodeAppSnapshot(data: Uint8Array): { members: Uint8Array | undefined; stacks: Uint8Array } {
  if (data[0] !== NODE_SNAPSHOT_V1) return { members: undefined, stacks: data };
  invariant(data.length >= headBytes, "node snapshot: truncated header");
  const membersBytes = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(1);
  invariant(headBytes + membersBytes <= data.length, "node snapshot: truncated member table");
  return {
    members: data.subarray(headBytes, headBytes + membersBytes),
    stacks: data.subarray(headBytes + membersBytes),
  };
}
