import type { NodeId, Role, Status } from "../raft/index.js";
import type { ClusterMember, ClusterView } from "../server/index.js";
import { FORWARD_OVERHEAD_BYTES_MAX } from "../transport/index.js";
import { NodeError } from "./errors.js";
import type { MemberSilence } from "./silence.js";

/** Why a member's `match`/`state` are null in a view that is not the leader's. */
export const PROGRESS_LEADER_ONLY = "known only on the leader";
/** Why they are null in the leader's view: the member is in the table but not in its configuration. */
export const PROGRESS_UNTRACKED = "not tracked by the leader (not in its configuration)";

/** A member in a cluster view (GET /v1/cluster; the server layer owns the shape). */
export type MemberStatus = ClusterMember;

/**
 * One node's status with the members' replication progress as node `viewFrom` tracks it: the leader's,
 * or this node's own (then `viewReason` says why, and progress is null but on the leader).
 */
export interface NodeStatus extends ClusterView {
  readonly role: Role;
}

/**
 * Bytes of a leader's view sent to a follower at most: about 200 bytes a member, so hundreds of members.
 * A leader with a bigger one refuses (too_large) and the follower answers its local view.
 */
export const clusterViewBytesMax = 64 * 1024;
/** Throws RangeError if a leader's view of clusterViewBytesMax does not fit one forward-result frame. */
export function assertClusterViewFits(frameBytesMax: number): void {
  const needed = clusterViewBytesMax + FORWARD_OVERHEAD_BYTES_MAX;
  if (needed > frameBytesMax) {
    throw new RangeError(`frameBytesMax ${frameBytesMax} is below a cluster view's answer (${needed} bytes)`);
  }
}

/** How long a follower waits for the leader's view before it answers its own (a status page must not hang). */
export const clusterViewTimeoutMs = 300;

/** `pending`'s outcome, or a NodeError timeout after `timeoutMs` if it has not settled by then. */
export function settleWithin<T>(pending: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NodeError("timeout", `no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([pending, expired]).finally(() => clearTimeout(timer));
}

/**
 * The members as node `s.id` sees them: the leader fills in every member's progress and silence
 * (`silence`: by member id, from Driver.peerSilence), any other node marks them unknown (null, with the
 * reason) instead of a number that reads like "nothing replicated". The node's own entry carries its
 * last index and applied index.
 */
export function memberStatuses(
  s: Status,
  table: readonly { readonly id: NodeId; readonly peerUrl: string; readonly clientUrl: string }[],
  silence: ReadonlyMap<NodeId, MemberSilence>,
): MemberStatus[] {
  return table.map((m) => {
    const own = m.id === s.id ? { lastIndex: s.lastIndex, applied: s.applied } : {};
    const pr = s.progress.get(m.id);
    const quiet = silence.get(m.id);
    if (pr !== undefined) {
      const heard = { lastHeardMs: quiet?.lastHeardMs ?? null, cutOff: quiet?.cutOff ?? null };
      return { ...m, match: pr.match, state: pr.state, ...heard, ...own };
    }
    const progress = s.role === "leader" ? PROGRESS_UNTRACKED : PROGRESS_LEADER_ONLY;
    return { ...m, match: null, state: null, progress, lastHeardMs: null, cutOff: null, ...own };
  });
}

/** What a leader sends a follower that asks for its view: whose view it is and the members as it sees them. */
export interface LeaderView {
  readonly viewFrom: number;
  readonly members: readonly MemberStatus[];
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** Once per request from an operator, not a hot path: JSON keeps the member shape in one place. */
export function encodeLeaderView(view: LeaderView): Uint8Array {
  const bytes = utf8Encoder.encode(JSON.stringify(view));
  if (bytes.length > clusterViewBytesMax) {
    throw new NodeError(
      "too_large",
      `the cluster view is ${bytes.length} bytes, over clusterViewBytesMax ${clusterViewBytesMax}`,
    );
  }
  return bytes;
}

/** The view a leader answered, or undefined if it is too large or not one (another version's answer). */
export function decodeLeaderView(bytes: Uint8Array): LeaderView | undefined {
  if (bytes.length > clusterViewBytesMax) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(utf8Decoder.decode(bytes));
  } catch {
    return undefined;
  }
  if (!isRecord(value) || !isCount(value.viewFrom) || !Array.isArray(value.members)) return undefined;
  const members = value.members as unknown[];
  if (!members.every(isMemberStatus)) return undefined;
  return { viewFrom: value.viewFrom, members };
}

function isMemberStatus(v: unknown): v is MemberStatus {
  if (!isRecord(v)) return false;
  const { id, peerUrl, clientUrl, match, state, progress, lastIndex, applied, lastHeardMs, cutOff } = v;
  return (
    // Absent from an older leader's view.
    (lastHeardMs === undefined || lastHeardMs === null || isCount(lastHeardMs)) &&
    (cutOff === undefined || cutOff === null || typeof cutOff === "boolean") &&
    isCount(id) &&
    typeof peerUrl === "string" &&
    typeof clientUrl === "string" &&
    (match === null ? state === null && typeof progress === "string" : isCount(match)) &&
    (state === null || typeof state === "string") &&
    (progress === undefined || typeof progress === "string") &&
    (lastIndex === undefined || isCount(lastIndex)) &&
    (applied === undefined || isCount(applied))
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}
