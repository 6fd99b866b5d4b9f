// Fault kinds that act inside a node rather than on its process or its network: a slow or stalled disk and
// a skewed clock (through the node's test-only hooks file, src/node/test-hooks.ts), a full disk (a small
// tmpfs data dir), and a stall that ends in a crash (what an acknowledgement sent before its fsync loses).
import type { Prng } from "../../src/raft/index.js";
import type { DiskFiller } from "./disk-full.js";
import {
  awaitLeader,
  type FaultContext,
  type FaultSpec,
  hooksOf,
  kill,
  leaderOrAny,
  minority,
  restart,
  shuffled,
} from "./fault-steps.js";

/** A stalled disk: no write completes until the fault heals (the delay is re-read while waiting). */
const stallMs = 3_600_000;
const slowDiskMsMin = 20;
const slowDiskMsMax = 250;
const skewOffsetMsMax = 3_600_000;
const skewRateMin = 0.5;
const skewRateMax = 2;
/** How long stall-crash lets the survivors elect a leader before the old leader returns. */
const stallCrashElectionWaitMs = 5_000;
/** What a node prints when it stops on a full disk; any other exit during disk-full stays a crash. */
const diskFullExit = /ENOSPC|no space left/i;
/**
 * After the disk has room again, a node whose last write failed just before may still be on its way out
 * (its exit event lands milliseconds later): wait this long before telling its fail-stop from a crash.
 */
export const diskFullExitGraceMs = 1_000;

function diskOf(ctx: FaultContext): DiskFiller {
  if (ctx.disk === undefined) throw new Error("disk-full ran without a tmpfs data dir");
  return ctx.disk;
}

/** Half the time the leader (where a slow disk hurts most), else a random node. */
async function leaderOrRandom(ctx: FaultContext): Promise<{ node: number; how: string }> {
  return ctx.rng.chance(0.5) ? leaderOrAny(ctx) : { node: ctx.rng.pick(ctx.cluster.ids), how: "random node" };
}

async function diskDelayFor(ctx: FaultContext, delayMs: number, what: string, ms: number): Promise<void> {
  const { node, how } = await leaderOrRandom(ctx);
  ctx.step(`${what} disk on ${node} (${how}): writes wait ${delayMs} ms`, [node]);
  hooksOf(ctx).set(node, { diskDelayMs: delayMs });
  await ctx.hold(ms);
  ctx.step(`disk of ${node} back to normal`);
  hooksOf(ctx).set(node, {});
}

function skewOf(rng: Prng): { clockOffsetMs: number; clockRate: number } {
  const offset = Math.round(rng.range(1_000, skewOffsetMsMax)) * (rng.chance(0.5) ? 1 : -1);
  return { clockOffsetMs: offset, clockRate: Math.round(rng.range(skewRateMin, skewRateMax) * 100) / 100 };
}

export const NODE_FAULTS: readonly FaultSpec[] = [
  {
    kind: "disk-slow",
    group: "disk",
    needs: ["hooks"],
    quorum: "kept",
    summary: `every disk write of one node (often the leader) waits ${slowDiskMsMin}-${slowDiskMsMax} ms`,
    run: (ctx, ms) => diskDelayFor(ctx, Math.round(ctx.rng.range(slowDiskMsMin, slowDiskMsMax)), "slow", ms),
  },
  {
    kind: "disk-stall",
    group: "disk",
    needs: ["hooks"],
    quorum: "kept",
    summary: "no disk write of one node (often the leader) completes until healed",
    run: (ctx, ms) => diskDelayFor(ctx, stallMs, "stalled", ms),
  },
  {
    kind: "stall-crash",
    group: "disk",
    needs: ["hooks"],
    quorum: "lost",
    summary:
      "SIGKILL some followers, stall the others' disks, SIGKILL leader and stalled; all but the leader restart and elect",
    run: async (ctx, ms) => {
      // The stalled followers' acknowledgements are the only way to a quorum: a node that acknowledges
      // an entry before it is durable lets the leader answer a write that the crash then loses. The
      // other followers are killed, not paused: a paused process still receives into its socket buffers
      // and, resumed, would bring the leader's last entries back to the election.
      const hooks = hooksOf(ctx);
      const { node: leader, how } = await leaderOrAny(ctx);
      const followers = shuffled(
        ctx.rng,
        ctx.cluster.ids.filter((n) => n !== leader),
      );
      const stalled = followers.slice(0, minority(ctx));
      const downed = followers.slice(minority(ctx));
      await kill(ctx, downed, `leader ${leader} (${how}) now needs ${stalled.join(",")} for a quorum`);
      ctx.step(`stall disks of ${stalled.join(",")}`, stalled);
      for (const n of stalled) hooks.set(n, { diskDelayMs: stallMs });
      await ctx.hold(ms * 0.6);
      await kill(ctx, [leader, ...stalled], "writes they held in memory are lost");
      for (const n of stalled) hooks.set(n, {});
      restart(ctx, [...stalled, ...downed]);
      const next = await awaitLeader(ctx, Math.max(ms * 0.4, stallCrashElectionWaitMs));
      ctx.step(next === undefined ? "no leader without the old one" : `leader without the old one: ${next}`);
      restart(ctx, [leader]);
    },
  },
  {
    kind: "clock-skew",
    group: "clock",
    needs: ["hooks"],
    quorum: "kept",
    summary: `some nodes' wall clocks off by up to ±${skewOffsetMsMax / 3_600_000} h, their timers ${skewRateMin}-${skewRateMax}x real speed`,
    run: async (ctx, ms) => {
      const hooks = hooksOf(ctx);
      const skewed = ctx.cluster.ids.filter(() => ctx.rng.chance(0.5));
      if (skewed.length === 0) skewed.push(ctx.rng.pick(ctx.cluster.ids));
      for (const n of skewed) {
        const skew = skewOf(ctx.rng);
        ctx.step(
          `clock of ${n}: wall ${skew.clockOffsetMs > 0 ? "+" : ""}${skew.clockOffsetMs} ms, rate ${skew.clockRate}`,
          [n],
        );
        hooks.set(n, skew);
      }
      await ctx.hold(ms);
      ctx.step(`clocks of ${skewed.join(",")} back to real time`);
      for (const n of skewed) hooks.set(n, {});
    },
  },
  {
    kind: "disk-full",
    group: "disk",
    needs: ["tmpfs"],
    quorum: "kept",
    summary:
      "the node with a tmpfs data dir runs out of space: it must fail-stop or refuse writes, not corrupt",
    run: async (ctx, ms) => {
      const disk = diskOf(ctx);
      const node = disk.node;
      const since = ctx.now();
      ctx.step(`disk of ${node} full at ${(disk.fill() / 1e6).toFixed(1)} MB`, [node]);
      await ctx.hold(ms);
      disk.free();
      ctx.step(`disk of ${node} has room again`);
      await ctx.hold(diskFullExitGraceMs);
      for (const c of ctx.cluster.excuseCrashes(node, since, diskFullExit))
        ctx.step(`${node} had stopped (exit ${c.code}): ${lastLine(c.stderrTail)}`, [node]);
      restart(ctx, [node]);
    },
  },
];

function lastLine(text: string): string {
  const lines = text.trim().split("\n");
  return (lines.find((l) => diskFullExit.test(l)) ?? lines[lines.length - 1] ?? "").slice(0, 300);
}
