// Raft's Figure 8 (§5.4.2) played on real processes: an entry of an old term reaches a majority under a
// later leader, that leader dies before its own term's entry is durable anywhere else, and a node holding a
// different entry at that index (from a term in between) wins. A core that commits the old-term entry by
// counting replicas (`commitOldTermByCounting`) has then applied an entry the cluster overwrites: the
// node crashes on the conflict below its commit index when it returns. A correct core never commits it,
// so the same steps are safe.
//
// Timing on real processes comes from slow disks (test hook): the other followers R persist every write
// a good part of an election timeout late, so a vote lands long before the entries that follow it, and
// killing R in between loses exactly those entries. Big entries (each about appendBytesMax) make the new leader catch R
// up in several appends, the first of them old-term entries only.

import type { NodeView } from "./cluster.js";
import { awaitCaughtUp, type FaultContext, type FaultSpec, kill, restart, shuffled } from "./fault-steps.js";

/**
 * Each write of R waits this share of the election timeout: the windows the steps below aim into are this
 * wide (a poll every pollMs must land in them), and a candidate still collects its votes (its own vote's
 * write and the voter's each take one delay) before it times out. With the default 150 ms timeouts the
 * windows are too narrow for the polls and the fault rarely gets past (b); the mutation runs use 1.5 s.
 */
const diskDelayShare = 0.3;
/** One phase (an election, a catch-up) must be seen within the larger of this and 8 election timeouts. */
const phaseWaitMsMin = 5_000;
const pollMs = 40;
/** Big pushes to the leader in (a): each one entry of bigItems × bigItemBytes (about 1 MiB, appendBytesMax). */
const bigPushes = 3;
const bigItems = 14;
const bigItemBytes = 60_000;
/** A stalled disk: no write completes until the delay is lifted (the node re-reads it while waiting). */
const stallMs = 3_600_000;
/** Small pushes to the leader in (a) before the big ones; the side stack shows them once applied. */
const smallPushes = 5;
/** Lets the small pushes reach the log before the big ones. */
const smallFirstMs = 20;
/** Nodes re-read their hooks file every 50 ms: after this a stall is in force. */
const hooksReadMs = 120;
/** Time for the pushes of (a) to reach the leader's log. */
const appendWaitMs = 100;

async function viewOf(ctx: FaultContext, node: number): Promise<NodeView | undefined> {
  return ctx.cluster.view(node);
}

function phaseWaitMs(ctx: FaultContext): number {
  return Math.max(phaseWaitMsMin, 8 * ctx.electionTimeoutMs);
}

function diskDelayMs(ctx: FaultContext): number {
  return Math.round(diskDelayShare * ctx.electionTimeoutMs);
}

/** Polls until `ok` holds for some node of `nodes`; the first such view, or undefined after phaseWaitMs. */
async function pollUntil(
  ctx: FaultContext,
  nodes: readonly number[],
  ok: (v: NodeView) => boolean,
): Promise<NodeView | undefined> {
  const deadline = performance.now() + phaseWaitMs(ctx);
  while (performance.now() < deadline) {
    const views = await Promise.all(nodes.map((n) => viewOf(ctx, n)));
    const hit = views.find((v) => v !== undefined && ok(v));
    if (hit !== undefined) return hit;
    await ctx.hold(pollMs);
  }
  return undefined;
}

/** A stack of its own for the big entries, so the workload's stacks and their checks are untouched. */
async function sideStack(ctx: FaultContext, leader: number): Promise<number | undefined> {
  try {
    const res = await fetch(`${ctx.cluster.url(leader)}/v1/stacks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ label: `figure8-${Math.round(ctx.now())}` }),
      signal: AbortSignal.timeout(3_000),
    });
    return res.ok ? ((await res.json()) as { id: number }).id : undefined;
  } catch {
    return undefined;
  }
}

function push(ctx: FaultContext, node: number, stack: number, items: readonly string[]): void {
  // Never answered (the node is cut off and steps down): only the entry in its log matters.
  fetch(`${ctx.cluster.url(node)}/v1/stacks/${stack}/push`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ items }),
    signal: AbortSignal.timeout(3_000),
  }).then(
    (res) => res.arrayBuffer(),
    () => undefined,
  );
}

async function figure8(ctx: FaultContext): Promise<void> {
  const hooks = ctx.hooks;
  if (hooks === undefined) throw new Error("figure8 needs hooks");
  if (!(await awaitCaughtUp(ctx, phaseWaitMs(ctx)))) {
    ctx.step(`skipped: not every node caught up within ${phaseWaitMs(ctx)} ms`);
    return;
  }
  const s1 = await ctx.cluster.leader();
  if (s1 === undefined) {
    ctx.step("skipped: no leader");
    return;
  }
  const stack = await sideStack(ctx, s1);
  if (stack === undefined) {
    ctx.step("skipped: could not create the side stack");
    return;
  }
  const [s2, ...rest] = shuffled(
    ctx.rng,
    ctx.cluster.ids.filter((n) => n !== s1),
  );
  if (s2 === undefined || rest.length === 0) return;
  const all = [s1, s2, ...rest];

  // (a) The leader alone takes entries of its term T: the others' disks stall (they get the entries
  // but never write them), then everyone is SIGKILLed; the others lose what they did not write.
  // (Cutting s1 off instead does not work: its peers' sends fail at once and it takes no writes.)
  const others = [s2, ...rest];
  for (const n of others) hooks.set(n, { diskDelayMs: stallMs });
  ctx.step(
    `(a) disks of ${others.join(",")} stalled; push ${smallPushes} small and ${bigPushes} big entries to leader ${s1}`,
    all,
  );
  await ctx.hold(hooksReadMs);
  // Small entries first: the first append of the catch-up in (c) carries them (and is old-term only);
  // the big ones behind them push s1's own entry of (c) into later appends.
  for (let k = 0; k < smallPushes; k++) push(ctx, s1, stack, [`small-${k}`]);
  await ctx.hold(smallFirstMs);
  for (let k = 0; k < bigPushes; k++)
    push(
      ctx,
      s1,
      stack,
      Array.from({ length: bigItems }, (_, j) => `big-${k}-${j}-`.padEnd(bigItemBytes, "x")),
    );
  await ctx.hold(appendWaitMs);
  // Nobody else wrote anything since: what s1 has committed now is the line the bug crosses.
  const committedBefore = (await viewOf(ctx, s1))?.commit;
  // SIGKILL, not SIGSTOP: a stopped s1 would still find s2's appends of (b) in its socket buffers when it
  // resumes, and truncate its entries of T to them.
  await kill(
    ctx,
    all,
    `${s1} committed ${committedBefore ?? "?"} and wrote the rest; the others' stalled writes die`,
  );
  if (committedBefore === undefined) {
    ctx.step(`${s1} did not answer: giving up`);
    return;
  }
  for (const n of others) hooks.set(n, {});
  restart(ctx, [s2]);

  // (b) Among the others, s2 wins term T+1; R's disks are slow, so s2's entries reach no disk of R.
  for (const r of rest) hooks.set(r, { diskDelayMs: diskDelayMs(ctx) });
  restart(ctx, rest);
  ctx.step(`(b) disks of ${rest.join(",")} slow (${diskDelayMs(ctx)} ms); waiting for ${s2} to lead`, rest);
  const won = await pollUntil(ctx, [s2, ...rest], (v) => v.role === "leader");
  if (won?.id !== s2) {
    ctx.step(
      won === undefined ? "no leader among the others: giving up" : `${won.id} won instead: giving up`,
    );
    return;
  }
  // s2's own disk is fast: its entry of T+1 is written within this, while R's copy is still delayed.
  await ctx.hold(diskDelayMs(ctx) / 4);
  await kill(
    ctx,
    [s2, ...rest],
    `${s2} leads term ${won.term}; its entries are still on their way to R's disks`,
  );

  // (c) s1 returns with R (still slow) and wins T+2; it catches R up in several appends.
  restart(ctx, rest);
  restart(ctx, [s1]);
  ctx.step(`(c) waiting for ${s1} to lead and apply past ${committedBefore}`, [s1]);
  const past = await pollUntil(
    ctx,
    [s1],
    (v) => v.role === "leader" && v.term > won.term && v.applied > committedBefore,
  );
  // What s1 has applied of the side stack (a stale read shows its own state): applied means committed,
  // so the cluster must never show less.
  const applied = past === undefined ? undefined : await sideSize(ctx, s1, stack, true);
  ctx.step(
    past === undefined
      ? `${s1} did not apply past ${committedBefore} in time`
      : `${s1} leads term ${past.term}, applied ${past.applied} (last ${past.lastIndex}); its side stack holds ${applied ?? "?"} items`,
  );
  // s1's new commit index reaches its (fast) disk within this; R's next write is still delayed.
  await ctx.hold(diskDelayMs(ctx) / 4);
  await kill(ctx, [s1, ...rest], "before R's next write (its own term's entry) is durable");

  // (d) s2 (last term T+1) asks R (last term T unless s1's entry reached R's disk): it may win and
  // overwrite index committedBefore+1.. on R; s1 returns last.
  for (const r of rest) hooks.set(r, {});
  restart(ctx, [s2, ...rest]);
  const next = await pollUntil(ctx, [s2, ...rest], (v) => v.role === "leader");
  ctx.step(
    `(d) ${next === undefined ? "no leader" : `${next.id} leads term ${next.term}`}; restart ${s1}`,
    all,
  );
  restart(ctx, [s1]);
  if (applied === undefined || applied === 0) return;
  const leader = await pollUntil(ctx, ctx.cluster.ids, (v) => v.role === "leader");
  const now = leader === undefined ? undefined : await sideSize(ctx, leader.id, stack, false);
  ctx.step(`side stack on leader ${leader?.id ?? "?"}: ${now ?? "?"} items`);
  if (now !== undefined && now < applied)
    ctx.finding(
      `${s1} applied ${applied} items of side stack ${stack}; the cluster now holds ${now}: committed entries lost`,
    );
}

/** Size of the side stack on `node`: its own applied state (`stale`) or a linearizable read. */
async function sideSize(
  ctx: FaultContext,
  node: number,
  stack: number,
  stale: boolean,
): Promise<number | undefined> {
  try {
    const res = await fetch(`${ctx.cluster.url(node)}/v1/stacks/${stack}/size${stale ? "?stale=1" : ""}`, {
      signal: AbortSignal.timeout(3_000),
    });
    return res.ok ? ((await res.json()) as { size: number }).size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * While the leader is dead every write of the others waits diskDelayShare of an election timeout: a
 * candidate's own vote, and every vote it gets, reach the disk late, so a second node times out and
 * campaigns in the same term meanwhile. A voter that grants two votes in one term (`grantTwoVotesPerTerm`)
 * then makes two leaders; a correct one a split vote at worst. Repeated (kill the new leader, and so on)
 * while the fault lasts: each election is one more chance.
 */
async function slowElection(ctx: FaultContext, ms: number): Promise<void> {
  const hooks = ctx.hooks;
  if (hooks === undefined) throw new Error("election-slow-disks needs hooks");
  const start = ctx.now();
  for (let round = 0; round === 0 || ctx.now() - start < ms; round++) {
    const old = await ctx.cluster.leader();
    if (old === undefined) {
      ctx.step("no leader: round skipped");
      await ctx.hold(ctx.electionTimeoutMs);
      continue;
    }
    const voters = ctx.cluster.ids.filter((n) => n !== old);
    for (const n of voters) hooks.set(n, { diskDelayMs: diskDelayMs(ctx) });
    ctx.step(`round ${round}: disks of ${voters.join(",")} slow (${diskDelayMs(ctx)} ms per write)`, voters);
    await kill(ctx, [old], "leader");
    const next = await pollUntil(ctx, voters, (v) => v.role === "leader");
    ctx.step(next === undefined ? "no leader elected" : `${next.id} leads term ${next.term}`);
    for (const n of voters) hooks.set(n, {});
    restart(ctx, [old]);
  }
}

export const ELECTION_FAULTS: readonly FaultSpec[] = [
  {
    kind: "election-slow-disks",
    group: "election",
    needs: ["hooks"],
    quorum: "kept",
    summary: `the leader is SIGKILLed while the other nodes' writes wait ${diskDelayShare} election timeouts: candidacies of one term overlap (repeated)`,
    run: async (ctx, ms) => {
      try {
        await slowElection(ctx, ms);
      } finally {
        for (const n of ctx.cluster.ids) ctx.hooks?.set(n, {});
        restart(ctx, ctx.cluster.ids);
      }
    },
  },
  {
    kind: "figure8",
    group: "election",
    needs: ["hooks"],
    quorum: "mixed",
    summary:
      "Raft's Figure 8: an old-term entry reaches a majority under a later leader, which dies before its own entry is durable; a node with another entry of a term in between runs",
    run: async (ctx, ms) => {
      const start = ctx.now();
      try {
        await figure8(ctx);
      } finally {
        // Whichever step it stopped at: disks normal, every member running.
        for (const n of ctx.cluster.ids) {
          ctx.hooks?.set(n, {});
          ctx.cluster.resume(n);
        }
        restart(ctx, ctx.cluster.ids);
      }
      await ctx.hold(ms - (ctx.now() - start));
    },
  },
];
