import type { NodeId } from "../raft/index.js";

/**
 * After bootstrap the replicated configuration is the source of truth (docs/membership.md): a node
 * restarted with another `--cluster` list starts anyway, with the replicated voters, and says so.
 * Returns that message, or undefined when the lists agree.
 */
export function membershipNote(
  clusterVoters: readonly NodeId[],
  replicated: readonly NodeId[],
): string | undefined {
  const same =
    replicated.length === clusterVoters.length && replicated.every((id) => clusterVoters.includes(id));
  if (same || replicated.length === 0) return undefined;
  return `--cluster names voters [${clusterVoters.join(", ")}] but the replicated configuration has [${replicated.join(", ")}]; using the replicated one`;
}
