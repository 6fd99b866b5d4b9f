// What every fault kind is made of: the context a fault runs in, and the steps faults share (kill, restart,
// pause, waiting for a leader or for every node to catch up).
import type { Prng } from "../../src/raft/index.js";
import type { NemesisCluster } from "./cluster.js";
import type { DiskFiller } from "./disk-full.js";
import type { NodeHooks } from "./hooks.js";
import type { Netfilter } from "./netfilter.js";
import type { QuorumEffect } from "./record.js";

export const leaderPollMs = 100;
/** How long a fault aimed at the leader waits for one to be elected. */
export const leaderWaitMs = 3_000;
/** What a fault needs from the host; kinds whose needs are missing are left out with one line. */
export type Capability = "netfilter" | "tmpfs" | "hooks";

export interface FaultContext {
  readonly cluster: NemesisCluster;
  readonly netfilter: Netfilter | undefined;
  /** The test-only hooks files of the nodes, when the run started its nodes with them. */
  readonly hooks: NodeHooks | undefined;
  /** The node whose data dir is a small tmpfs, when the run has one (disk-full). */
  readonly disk: DiskFiller | undefined;
  /** The nodes' minimum election timeout (their --tick-ms × --election-ticks): faults that race elections scale by it. */
  readonly electionTimeoutMs: number;
  /** This fault's own random stream, derived from the run's seed and the fault's place in the schedule. */
  readonly rng: Prng;
  /** Waits `ms`, or less when the run is being stopped. */
  hold(ms: number): Promise<void>;
  /** Milliseconds since the run started (the clock of crash records). */
  now(): number;
  /** Records one action of the fault (shown in history.jsonl and the report). */
  step(what: string, nodes?: readonly number[]): void;
  /** Records a safety violation the fault saw itself: the run's verdict becomes "violation". */
  finding(what: string): void;
}

export interface FaultSpec {
  readonly kind: string;
  /** `--faults` accepts a kind, a group or "all". */
  readonly group: string;
  readonly needs: readonly Capability[];
  /** Whether a majority can still commit while the fault is active (availability is judged by this). */
  readonly quorum: QuorumEffect;
  readonly summary: string;
  /** Applies the fault, holds it `activeMs`, and heals everything it did. */
  run(ctx: FaultContext, activeMs: number): Promise<void>;
}

export function shuffled(rng: Prng, items: readonly number[]): number[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export function minority(ctx: FaultContext): number {
  return Math.floor((ctx.cluster.ids.length - 1) / 2);
}

/** Polls for a node that says it leads, for up to `timeoutMs` (a fault may start amid an election). */
export async function awaitLeader(ctx: FaultContext, timeoutMs: number): Promise<number | undefined> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const leader = await ctx.cluster.leader();
    if (leader !== undefined || performance.now() >= deadline) return leader;
    await ctx.hold(leaderPollMs);
  }
}

/**
 * Waits until a leader is known and every node has applied what it had committed when first seen; false
 * after `timeoutMs`. A node restored by `repair` counts once it has caught up this way.
 */
export async function awaitCaughtUp(ctx: FaultContext, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  let commit: number | undefined;
  while (performance.now() < deadline) {
    const leader = await ctx.cluster.leader();
    const views = await Promise.all(ctx.cluster.ids.map((i) => ctx.cluster.view(i)));
    commit ??= views.find((v) => v?.id === leader)?.commit;
    if (commit !== undefined && views.every((v) => v !== undefined && v.applied >= commit!)) return true;
    await ctx.hold(leaderPollMs);
  }
  return false;
}

/** The current leader, or a random node when none shows up in time (the step says which it was). */
export async function leaderOrAny(ctx: FaultContext): Promise<{ node: number; how: string }> {
  const leader = await awaitLeader(ctx, leaderWaitMs);
  return leader === undefined
    ? { node: ctx.rng.pick(ctx.cluster.ids), how: `no leader within ${leaderWaitMs} ms; random node` }
    : { node: leader, how: "leader" };
}

/** The run's hooks files; a fault that needs them declares `needs: ["hooks"]`, so none means a harness bug. */
export function hooksOf(ctx: FaultContext): NodeHooks {
  if (ctx.hooks === undefined) throw new Error("a node-hook fault ran without hooks files");
  return ctx.hooks;
}

/** The run's packet filter; a fault that cuts the network declares it, so none means a harness bug. */
export function netfilterOf(ctx: FaultContext): Netfilter {
  if (ctx.netfilter === undefined) throw new Error("a partition fault ran without netfilter");
  return ctx.netfilter;
}

export async function kill(ctx: FaultContext, nodes: readonly number[], why: string): Promise<void> {
  ctx.step(`SIGKILL ${nodes.join(",")} (${why})`, nodes);
  await Promise.all(nodes.map((n) => ctx.cluster.kill(n)));
}

export function restart(ctx: FaultContext, nodes: readonly number[]): void {
  const down = nodes.filter((n) => ctx.cluster.state(n) === "down");
  if (down.length === 0) return;
  ctx.step(`restart ${down.join(",")}`, down);
  for (const n of down) ctx.cluster.start(n);
}

export async function killFor(ctx: FaultContext, nodes: readonly number[], why: string, activeMs: number) {
  await kill(ctx, nodes, why);
  await ctx.hold(activeMs);
  restart(ctx, nodes);
}

export async function pauseFor(ctx: FaultContext, node: number, why: string, activeMs: number) {
  ctx.step(`SIGSTOP ${node} (${why})`, [node]);
  ctx.cluster.pause(node);
  await ctx.hold(activeMs);
  ctx.step(`SIGCONT ${node}`, [node]);
  ctx.cluster.resume(node);
}
