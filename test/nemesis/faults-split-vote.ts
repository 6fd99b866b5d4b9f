// Two candidates in one term, both asking the same voters at the same moment: the race a voter that grants
// two votes per term (`grantTwoVotesPerTerm`) loses, staged instead of hoped for. Random timeouts make two
// candidacies of one term rare on real processes (election-slow-disks caught the bug in 1 of 4 runs); here
// the nemesis holds each candidate's vote requests back until both stand, then lets them go together.
//
// Candidates A and B cannot hear each other (iptables), so neither learns of the other's candidacy; every
// other node is a voter that reaches both. A's and B's disks stall after the leader dies: each wins its
// pre-vote (pre-votes change no state, so the voters grant both while no real vote is cast yet), becomes a
// candidate of the next term, and waits for its own vote to be durable before its requests leave (the
// driver sends votes after the write). Once both are candidates of the same term the stalls are lifted at
// once; the voters' writes are slow, so each voter has granted one of them in memory and still holds that
// answer when the other's request arrives (the hooks files are re-read every 50 ms: the two requests land
// well within one slow write). A correct voter refuses the second request; one that grants it makes two
// leaders of one term, which the nodes' logs show (and a voter that hears both leaders crashes).

import {
  awaitLeader,
  type FaultContext,
  type FaultSpec,
  hooksOf,
  kill,
  netfilterOf,
  restart,
  shuffled,
} from "./fault-steps.js";

/** Stalled disk: no write completes until the delay is lifted (the node re-reads it while waiting). */
const stallMs = 3_600_000;
/**
 * Each voter write waits this share of the election timeout, at least voterDelayMsMin: the second request
 * must arrive while the voter's answer to the first is still waiting for its write. The two candidates'
 * stalls end up to one hooks poll (50 ms) plus one delay re-read (10 ms) apart.
 */
const voterDelayShare = 0.3;
const voterDelayMsMin = 300;
/**
 * Clock rate of the voters and of a candidate once it stands: their timers run at a tenth of real speed, so
 * no voter campaigns itself and a waiting candidacy does not expire (and fall back to pre-vote) before the
 * other candidate stands.
 */
const slowClockRate = 0.1;
/** Nodes re-read their hooks file every 50 ms: after this the new hooks are in force. */
const hooksReadMs = 120;
const pollMs = 40;
/** Waiting for both candidacies, or for a leader after they are released: the larger of this and 8 timeouts. */
const phaseWaitMsMin = 6_000;
/** After the release: time for each candidate to collect its (delayed) votes and log its leadership. */
const leadersSettleVoterDelays = 4;

function voterDelayMs(ctx: FaultContext): number {
  return Math.max(voterDelayMsMin, Math.round(voterDelayShare * ctx.electionTimeoutMs));
}

function phaseWaitMs(ctx: FaultContext): number {
  return Math.max(phaseWaitMsMin, 8 * ctx.electionTimeoutMs);
}

/**
 * Polls A and B until both are candidates of one term. Each is slowed as soon as it stands, so it keeps
 * standing while the other gets there. The term both stand in, or undefined after phaseWaitMs.
 */
async function awaitBothCandidates(
  ctx: FaultContext,
  pair: readonly [number, number],
): Promise<number | undefined> {
  const hooks = hooksOf(ctx);
  const slowed = new Set<number>();
  const deadline = performance.now() + phaseWaitMs(ctx);
  while (performance.now() < deadline) {
    const views = await Promise.all(pair.map((n) => ctx.cluster.view(n)));
    for (const v of views)
      if (v?.role === "candidate" && !slowed.has(v.id)) {
        slowed.add(v.id);
        hooks.set(v.id, { diskDelayMs: stallMs, clockRate: slowClockRate });
        ctx.step(`${v.id} is a candidate of term ${v.term}; its timers slowed`, [v.id]);
      }
    const [a, b] = views;
    if (a?.role === "candidate" && b?.role === "candidate" && a.term === b.term) return a.term;
    await ctx.hold(pollMs);
  }
  return undefined;
}

/** Nodes that say they lead `term`, polled until one does or the wait ends; then after a settling time. */
async function leadersOf(ctx: FaultContext, term: number): Promise<number[]> {
  const deadline = performance.now() + phaseWaitMs(ctx);
  while (performance.now() < deadline) {
    const views = await Promise.all(ctx.cluster.ids.map((n) => ctx.cluster.view(n)));
    if (views.some((v) => v?.role === "leader" && v.term >= term)) break;
    await ctx.hold(pollMs);
  }
  await ctx.hold(leadersSettleVoterDelays * voterDelayMs(ctx));
  const views = await Promise.all(ctx.cluster.ids.map((n) => ctx.cluster.view(n)));
  return views.flatMap((v) => (v?.role === "leader" && v.term === term ? [v.id] : []));
}

async function splitVoteRound(ctx: FaultContext, round: number): Promise<void> {
  const hooks = hooksOf(ctx);
  const old = await awaitLeader(ctx, phaseWaitMs(ctx));
  if (old === undefined) {
    ctx.step(`round ${round}: no leader, skipped`);
    return;
  }
  const [a, b, ...others] = shuffled(
    ctx.rng,
    ctx.cluster.ids.filter((n) => n !== old),
  );
  if (a === undefined || b === undefined) return;
  const pair = [a, b] as const;
  // The old leader comes back as one more voter (with 3 nodes it is the only one).
  const voters = [...others, old];
  const delay = voterDelayMs(ctx);
  await netfilterOf(ctx).apply([
    { from: a, to: b },
    { from: b, to: a },
  ]);
  const voterHooks = { diskDelayMs: delay, clockRate: slowClockRate };
  for (const v of others) hooks.set(v, voterHooks);
  // A and B slowed first, so that neither campaigns before its stall below is in force.
  for (const n of pair) hooks.set(n, { clockRate: slowClockRate });
  ctx.step(
    `round ${round}: candidates ${a} and ${b} cut from each other; voters ${voters.join(",")}: writes wait ${delay} ms, timers at ${slowClockRate}x`,
    [...pair, ...voters],
  );
  await ctx.hold(hooksReadMs);
  // Stalled after the leader is gone: until then A and B hold every entry it sent (in memory), so its
  // restarted log is no longer than theirs and it grants their pre-votes.
  await kill(ctx, [old], "leader");
  hooks.set(old, voterHooks); // read when it restarts below
  for (const n of pair) hooks.set(n, { diskDelayMs: stallMs, clockRate: slowClockRate });
  await ctx.hold(hooksReadMs);
  for (const n of pair) hooks.set(n, { diskDelayMs: stallMs });
  restart(ctx, [old]);
  ctx.step(`disks of ${a},${b} stalled: each waits to stand as a candidate`, [...pair]);
  const term = await awaitBothCandidates(ctx, pair);
  // Released together whether or not both stood (the round then just ends with one leader or none).
  for (const n of pair) hooks.set(n, { clockRate: slowClockRate });
  if (term === undefined) {
    ctx.step(`${a} and ${b} were not candidates of one term within ${phaseWaitMs(ctx)} ms; released`, [
      ...pair,
    ]);
    return;
  }
  ctx.step(`${a} and ${b} both candidates of term ${term}: their vote requests released together`, [...pair]);
  const leaders = await leadersOf(ctx, term);
  ctx.step(
    leaders.length === 0
      ? `no leader of term ${term}`
      : `${leaders.join(" and ")} lead${leaders.length === 1 ? "s" : ""} term ${term}`,
  );
}

export const SPLIT_VOTE_FAULT: FaultSpec = {
  kind: "election-split-vote",
  group: "election",
  needs: ["hooks", "netfilter"],
  quorum: "mixed",
  summary:
    "two followers cut from each other stand as candidates of one term (their disks stall until both do), then ask the slow-disk voters at once; repeated",
  run: async (ctx, ms) => {
    const start = ctx.now();
    for (let round = 0; round === 0 || ctx.now() - start < ms; round++) {
      try {
        await splitVoteRound(ctx, round);
      } finally {
        for (const n of ctx.cluster.ids) ctx.hooks?.set(n, {});
        ctx.step("heal network; disks and clocks normal");
        await ctx.netfilter?.heal();
        restart(ctx, ctx.cluster.ids);
      }
    }
  },
};
