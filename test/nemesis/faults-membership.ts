// Membership churn on real processes: a fresh node joins (`--join`, new data dir, added as a learner and
// promoted by the leader's driver), a member is removed (its process stopped), or one is replaced (add,
// then remove; the old one often SIGKILLed first, as a dead machine would be). The voters stay between
// votersMin and votersMax; every change goes through the cluster's own API (docs/membership.md).
import { setTimeout as sleep } from "node:timers/promises";
import { awaitLeader, type FaultContext, type FaultSpec, kill, leaderOrAny } from "./fault-steps.js";

export const votersMin = 3;
export const votersMax = 5;
/** Time for one membership change to be applied, retries on config_change_pending and unknown outcomes included. */
const changeWaitMs = 20_000;
/** Time for a joined learner to catch up and be promoted by the leader's driver. */
const promoteWaitMs = 15_000;
const retryMs = 200;
/** One membership request; a change answers once applied, so this is above the node's request timeout. */
const requestTimeoutMs = 5_000;

interface MemberRow {
  readonly id: number;
  readonly role: "voter" | "learner";
}

/** The member table of the current leader (the applied one, which every change goes through). */
async function leaderMembers(ctx: FaultContext): Promise<MemberRow[] | undefined> {
  const leader = await ctx.cluster.leader();
  if (leader === undefined) return undefined;
  try {
    const res = await fetch(`${ctx.cluster.url(leader)}/v1/members`, {
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    return res.ok ? ((await res.json()) as { members: MemberRow[] }).members : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sends one change to live members in turn until the leader's table shows it done (`done`), then resolves;
 * an answer of any kind (applied, refused as already done, pending, timeout) is only a hint, the table
 * decides. Throws after changeWaitMs.
 */
async function change(
  ctx: FaultContext,
  what: string,
  send: (url: string) => Promise<Response>,
  done: (members: readonly MemberRow[]) => boolean,
): Promise<void> {
  const deadline = performance.now() + changeWaitMs;
  for (let k = 0; performance.now() < deadline; k++) {
    const live = ctx.cluster.ids.filter((i) => ctx.cluster.state(i) === "up");
    const target = (await ctx.cluster.leader()) ?? live[k % Math.max(1, live.length)];
    if (target !== undefined) {
      try {
        await (await send(ctx.cluster.url(target))).arrayBuffer();
      } catch {
        // unreachable or timed out: the table below says whether it happened
      }
    }
    const members = await leaderMembers(ctx);
    if (members !== undefined && done(members)) return;
    await sleep(retryMs);
  }
  throw new Error(`${what}: not applied within ${changeWaitMs} ms`);
}

async function removeMember(ctx: FaultContext, id: number, why: string): Promise<void> {
  ctx.step(`remove ${id} (${why})`, [id]);
  await change(
    ctx,
    `remove ${id}`,
    (url) =>
      fetch(`${url}/v1/members/${id}`, { method: "DELETE", signal: AbortSignal.timeout(requestTimeoutMs) }),
    (members) => !members.some((m) => m.id === id),
  );
  await ctx.cluster.dropMember(id);
  ctx.step(`removed ${id}, its process stopped; members ${ctx.cluster.ids.join(",")}`, [id]);
}

/** Adds a fresh node and waits for its promotion; false (nothing changed) when no fresh id is left. */
async function addMember(ctx: FaultContext): Promise<boolean> {
  const id = ctx.cluster.takeJoinId();
  if (id === undefined) {
    ctx.step("no fresh node id left (--joins-max): no join");
    return false;
  }
  const body = JSON.stringify({
    id,
    peerUrl: `http://127.0.0.1:${ctx.cluster.peerPort(id)}`,
    clientUrl: ctx.cluster.url(id),
  });
  ctx.step(`add ${id} as a learner`, [id]);
  await change(
    ctx,
    `add ${id}`,
    (url) =>
      fetch(`${url}/v1/members`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(requestTimeoutMs),
      }),
    (members) => members.some((m) => m.id === id),
  );
  ctx.cluster.startJoining(id);
  ctx.step(`started ${id} with --join and an empty data dir`, [id]);
  const deadline = performance.now() + promoteWaitMs;
  while (performance.now() < deadline) {
    const members = await leaderMembers(ctx);
    if (members?.some((m) => m.id === id && m.role === "voter")) {
      ctx.step(`${id} promoted to voter; members ${ctx.cluster.ids.join(",")}`, [id]);
      return true;
    }
    await ctx.hold(retryMs);
  }
  // A learner left behind would skew every later fault's idea of a majority: take it out again.
  await removeMember(ctx, id, `not promoted within ${promoteWaitMs} ms`);
  return true;
}

/** Members a removal may take: not the tmpfs node of disk-full (that fault needs it), not `keep`. */
function removable(ctx: FaultContext, keep: readonly number[] = []): number[] {
  return ctx.cluster.ids.filter((i) => i !== ctx.disk?.node && !keep.includes(i));
}

/** A member to remove: the leader half of the time (it hands leadership over first), else a random one. */
async function victim(
  ctx: FaultContext,
  keep: readonly number[] = [],
): Promise<{ node: number; how: string }> {
  const candidates = removable(ctx, keep);
  if (ctx.rng.chance(0.5)) {
    const { node, how } = await leaderOrAny(ctx);
    if (candidates.includes(node)) return { node, how };
  }
  return { node: ctx.rng.pick(candidates), how: "random member" };
}

async function settle(ctx: FaultContext, startedAt: number, activeMs: number): Promise<void> {
  await ctx.hold(activeMs - (ctx.now() - startedAt));
  // The next fault computes majorities from the member list: let an election after a removal finish.
  await awaitLeader(ctx, promoteWaitMs);
}

export const MEMBERSHIP_FAULTS: readonly FaultSpec[] = [
  {
    kind: "member-add",
    group: "membership",
    needs: [],
    quorum: "kept",
    summary: `a fresh node joins (--join, empty data dir) and is promoted; at ${votersMax} voters one is removed first`,
    run: async (ctx, ms) => {
      const start = ctx.now();
      if (ctx.cluster.ids.length >= votersMax) {
        const v = await victim(ctx);
        await removeMember(ctx, v.node, `${v.how}; at ${votersMax} voters, to make room`);
      }
      await addMember(ctx);
      await settle(ctx, start, ms);
    },
  },
  {
    kind: "member-remove",
    group: "membership",
    needs: [],
    quorum: "kept",
    summary: `remove a member (often the leader) and stop its process; at ${votersMin} voters a fresh one joins first`,
    run: async (ctx, ms) => {
      const start = ctx.now();
      const before = ctx.cluster.ids;
      if (before.length <= votersMin && !(await addMember(ctx))) {
        ctx.step(`skipped: ${votersMin} voters and no fresh node to add`);
        return;
      }
      const added = ctx.cluster.ids.filter((i) => !before.includes(i));
      const v = await victim(ctx, added);
      await removeMember(ctx, v.node, v.how);
      await settle(ctx, start, ms);
    },
  },
  {
    kind: "member-replace",
    group: "membership",
    needs: [],
    quorum: "kept",
    summary:
      "replace a member by a fresh node (add, then remove the old one, often SIGKILLed first as a dead machine)",
    run: async (ctx, ms) => {
      const start = ctx.now();
      const old = ctx.rng.pick(removable(ctx));
      const dead = ctx.rng.chance(0.5);
      if (dead) await kill(ctx, [old], "the member to replace is dead");
      if (ctx.cluster.ids.length >= votersMax) {
        await removeMember(ctx, old, `${dead ? "dead; " : ""}at ${votersMax} voters: remove before adding`);
        await addMember(ctx);
      } else {
        if (!(await addMember(ctx))) {
          // No fresh node: bring the dead one back rather than shrinking the cluster here.
          if (dead) {
            ctx.step(`restart ${old}`, [old]);
            ctx.cluster.start(old);
          }
          return;
        }
        await removeMember(ctx, old, dead ? "dead, replaced" : "replaced");
      }
      await settle(ctx, start, ms);
    },
  },
];
