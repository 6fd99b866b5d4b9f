import type { NodeId, SnapshotMeta } from "../raft/index.js";
import { MembershipMismatchError } from "./errors.js";

/**
 * The voters a node starts with, given `--cluster` and its latest snapshot. The one place that decides:
 * today a snapshot recording other voters is refused; once membership is replicated, the recorded
 * voters win here (with a warning).
 */
export function startingVoters(clusterVoters: readonly NodeId[], snapshot: SnapshotMeta): readonly NodeId[] {
  if (snapshot.index === 0) return clusterVoters;
  const stored = snapshot.config.voters;
  const same = stored.length === clusterVoters.length && stored.every((id) => clusterVoters.includes(id));
  if (!same) throw new MembershipMismatchError(clusterVoters, stored, snapshot.index);
  return stored;
}
