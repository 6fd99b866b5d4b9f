import type { NodeId, SnapshotMeta } from "../raft/index.js";

/**
 * The voters a node starts with, given `--cluster` and its latest snapshot: after bootstrap the
 * replicated configuration is the truth (the node logs a `--cluster` that differs, see RaftNode.open).
 */
export function startingVoters(clusterVoters: readonly NodeId[], snapshot: SnapshotMeta): readonly NodeId[] {
  return snapshot.index === 0 ? clusterVoters : snapshot.config.voters;
}
