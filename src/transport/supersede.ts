import type { Message } from "../raft/index.js";

/**
 * Vote traffic that a newer message of the same slot, from the same sender to the same peer, makes
 * worthless: a node campaigns again on its own timer, so after an outage only its newest (pre-)vote
 * request, and its newest answer of each kind, still matter. Raft tolerates the loss of any message;
 * nothing else is ever superseded (appends, snapshots and acknowledgements all carry progress).
 */
export type Slot = "voteRequest" | "preVoteAnswer" | "voteAnswer";

export function slotOf(msg: Message): Slot | undefined {
  if (msg.type === "vote") return "voteRequest";
  if (msg.type === "voteResp") return msg.preVote ? "preVoteAnswer" : "voteAnswer";
  return undefined;
}

/**
 * `batch` without the vote messages a later one of the same slot supersedes, in order. Returns
 * `batch` itself when there are none (the usual case: no allocation on the hot path).
 */
export function withoutSuperseded(batch: readonly Message[]): readonly Message[] {
  let voteMessages = 0;
  for (const msg of batch) if (slotOf(msg) !== undefined) voteMessages++;
  if (voteMessages < 2) return batch;
  const seen = new Set<Slot>();
  const kept: Message[] = [];
  for (let i = batch.length - 1; i >= 0; i--) {
    const msg = batch[i]!;
    const slot = slotOf(msg);
    if (slot !== undefined) {
      if (seen.has(slot)) continue;
      seen.add(slot);
    }
    kept.push(msg);
  }
  return kept.reverse();
}
