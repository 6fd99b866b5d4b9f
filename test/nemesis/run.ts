// One nemesis run: cluster up, workload and scheduled faults, heal, settle unknown writes, drain, check.
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { nodeDefaults } from "../../src/node/index.js";
import type { NodeMutation } from "../../src/node/test-hooks.js";
import { Prng } from "../../src/raft/index.js";
import { findFreeBasePort, NemesisCluster } from "./cluster.js";
import { DiskFiller, DiskUnavailableError } from "./disk-full.js";
import { type FaultContext, type FaultSpec, selectFaults } from "./faults.js";
import { NodeHooks } from "./hooks.js";
import { sharedLeaderTerms } from "./leaders.js";
import { Netfilter, NetfilterUnavailableError } from "./netfilter.js";
import type { FaultRecord } from "./record.js";
import { NodeRequests } from "./requests.js";
import { RespRequests } from "./resp-requests.js";
import { checkRun, type RunOutcome, type RunResult, writeRunFiles } from "./result.js";
import { makeSchedule } from "./schedule.js";
import { type StackRef, Workload } from "./workload.js";

export interface NemesisOptions {
  readonly seed: number;
  readonly nodes: number;
  readonly durationMs: number;
  readonly outDir: string;
  readonly faults: readonly string[];
  /** Fixed ports (tests); otherwise a free block below the ephemeral range is found. */
  readonly basePort: number | undefined;
  readonly clients: number;
  /** Operations started per second by all clients together; 0 = unlimited. */
  readonly rate: number;
  readonly stacks: number;
  /** Budget of the linearizability checker; past it the verdict is "unknown". */
  readonly checkMs: number;
  /** The nodes' --request-timeout-ms: a 503 must come within it while a majority is gone. */
  readonly requestTimeoutMs: number;
  /** Extra flags for every node. */
  readonly nodeArgs: readonly string[];
  /** A deliberate bug every node runs with (test hooks): the run is expected to find a violation. */
  readonly mutation: NodeMutation | undefined;
  /** Share of the clients that speak RESP instead of HTTP (0..1); the nodes then open their RESP port. */
  readonly respShare: number;
  readonly keepData: boolean;
  /** Fresh node ids the membership faults may use over the run (node ids and ports go up to nodes + this). */
  readonly joinsMax: number;
  /** The command line, for the report. */
  readonly command: string;
}

/** Time for the cluster to elect its first leader, and again after everything is healed. */
const leaderWaitMs = 20_000;
/** Time to settle every unknown write after healing, and to drain the stacks. */
const settleMs = 30_000;
const drainMs = 60_000;
/** Nodes' applied index catching up with the leader's commit before replicas are compared. */
const catchUpMs = 15_000;
/** Client timings: above the node's request timeout plus one proxy hop (request timeout + 1 s). */
const attemptSlackMs = 500;
const opDeadlineMs = 6_000;
const opsMax = 2_000_000;

/** Runs the whole thing; never leaves a process, a rule or a cgroup behind. */
export async function runNemesis(o: NemesisOptions, say: (line: string) => void): Promise<RunResult> {
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  mkdirSync(o.outDir, { recursive: true });
  const dataRoot = join(o.outDir, "data");
  const basePort = o.basePort ?? (await findFreeBasePort(o.nodes + o.joinsMax));
  // Cgroups and hooks files for every id a run may use, so a node that joins later has its own too.
  const ids = NemesisCluster.allIds(o.nodes, o.joinsMax);
  const portsOf = (i: number) => [basePort + 10 * i, basePort + 10 * i + 1];

  let specs = selectFaults(o.faults);
  let netfilter: Netfilter | undefined;
  let partitions = "not requested";
  if (specs.some((s) => s.needs.includes("netfilter"))) {
    try {
      netfilter = await Netfilter.create(ids, portsOf);
      partitions = `iptables (cgroup match, chain ${netfilter.chain})`;
    } catch (err) {
      if (!(err instanceof NetfilterUnavailableError)) throw err;
      partitions = `skipped: ${err.message}`;
      say(`nemesis: partition faults skipped: ${err.message}`);
      specs = specs.filter((s) => !s.needs.includes("netfilter"));
    }
  }
  // Nodes get hooks files only when something uses them: a normal node never sees the variables.
  const hooks =
    o.mutation !== undefined || specs.some((s) => s.needs.includes("hooks"))
      ? new NodeHooks(join(o.outDir, "hooks"), ids, o.mutation === undefined ? undefined : [o.mutation])
      : undefined;
  let disk: DiskFiller | undefined;
  if (specs.some((s) => s.needs.includes("tmpfs"))) {
    const node = 1 + (o.seed % o.nodes);
    try {
      disk = DiskFiller.mount(node, join(dataRoot, `node-${node}`));
    } catch (err) {
      if (!(err instanceof DiskUnavailableError)) throw err;
      say(`nemesis: disk-full skipped: ${err.message}`);
      specs = specs.filter((s) => !s.needs.includes("tmpfs"));
    }
  }
  const cluster = new NemesisCluster({
    size: o.nodes,
    joinsMax: o.joinsMax,
    basePort,
    dataRoot,
    logDir: join(o.outDir, "logs"),
    netfilter,
    ...(hooks === undefined ? {} : { nodeEnv: (i: number) => hooks.env(i) }),
    resp: o.respShare > 0,
    nodeArgs: ["--request-timeout-ms", String(o.requestTimeoutMs), "--log-level", "info", ...o.nodeArgs],
    now,
  });
  const emergency = () => {
    cluster.killAllSync();
    netfilter?.cleanupSync();
    disk?.unmount();
  };
  process.once("exit", emergency);
  const requests = new NodeRequests((i) => cluster.url(i), now);
  const faults: FaultRecord[] = [];
  const seedRng = new Prng(o.seed);
  let workload: Workload | undefined;
  let respRequests: RespRequests | undefined;
  let outcome: RunOutcome = { kind: "aborted", why: "not started" };
  try {
    for (const i of cluster.ids) cluster.start(i);
    if ((await cluster.waitLeader(leaderWaitMs)) === undefined) {
      outcome = { kind: "setup-failed", why: `no leader within ${leaderWaitMs} ms of starting` };
      return await finish();
    }
    const stacks = await createStacks(cluster, o.stacks, o.seed);
    say(`nemesis: seed ${o.seed}, ${o.nodes} nodes on ports ${basePort}+, partitions ${partitions}`);
    if (o.mutation !== undefined) say(`nemesis: every node runs with the deliberate bug ${o.mutation}`);
    if (disk !== undefined) say(`nemesis: node ${disk.node}'s data dir is a tmpfs (disk-full)`);
    say(`nemesis: faults ${specs.map((s) => s.kind).join(", ") || "none"}`);
    const labels = new Map(stacks.map((s) => [s.id, s.label]));
    const respClients = Math.round(o.clients * o.respShare);
    if (respClients > 0)
      respRequests = new RespRequests(
        (i) => cluster.respPort(i),
        (id) => labels.get(id) ?? "?",
        now,
      );
    workload = new Workload({
      nodes: () => cluster.ids,
      requests,
      ...(respRequests === undefined ? {} : { respRequests }),
      respClients,
      stacks,
      clients: o.clients,
      rng: seedRng.fork(),
      now,
      attemptTimeoutMs: o.requestTimeoutMs + 1000 + attemptSlackMs,
      opDeadlineMs,
      echoChance: 0.05,
      rate: o.rate,
      keyPrefix: `nem-${o.seed}-${randomBytes(4).toString("hex")}`,
      opsMax,
    });
    const workStart = now();
    workload.start();
    await runSchedule(
      o,
      specs,
      { cluster, netfilter, hooks, disk },
      faults,
      abort.signal,
      say,
      () => now() - workStart,
      now,
    );
    if (abort.signal.aborted) {
      outcome = { kind: "aborted", why: "interrupted" };
      return await finish();
    }
    await healAll(cluster, netfilter, hooks, disk, say);
    const leader = await cluster.waitLeader(leaderWaitMs);
    await workload.stop();
    if (leader === undefined) {
      outcome = { kind: "unavailable", why: `no leader within ${leaderWaitMs} ms of healing` };
      return await finish();
    }
    say(`nemesis: healed, leader ${leader}; settling ${workload.unknownCount} unknown writes, draining`);
    await workload.settleAll(settleMs);
    const drained = await workload.drain(drainMs);
    const replicas = drained ? await compareReplicas(cluster, requests, stacks) : undefined;
    outcome = drained
      ? { kind: "drained", replicas: replicas! }
      : { kind: "unavailable", why: `stacks not drained within ${drainMs} ms` };
    return await finish();
  } finally {
    await workload?.stop();
    await cluster.stopAll();
    await requests.close();
    await respRequests?.close();
    netfilter?.cleanupSync();
    disk?.unmount();
    process.off("exit", emergency);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }

  async function finish(): Promise<RunResult> {
    await workload?.stop();
    await cluster.stopAll();
    const result = checkRun({
      options: o,
      partitions,
      ops: workload?.ops ?? [],
      faults,
      crashes: cluster.crashes,
      sharedLeaderTerms: sharedLeaderTerms(join(o.outDir, "logs")),
      outcome,
      elapsedMs: now(),
    });
    writeRunFiles(o.outDir, result, workload?.ops ?? [], faults);
    const keep = o.keepData || result.verdict !== "pass";
    disk?.unmount(keep ? `${disk.dir}-tmpfs-copy` : undefined);
    if (!keep) rmSync(dataRoot, { recursive: true, force: true });
    return result;
  }
}

async function createStacks(cluster: NemesisCluster, count: number, seed: number): Promise<StackRef[]> {
  const stacks: StackRef[] = [];
  for (let k = 1; k <= count; k++) {
    const label = `s${k}`;
    const deadline = performance.now() + leaderWaitMs;
    for (let attempt = 0; ; attempt++) {
      const node = cluster.ids[attempt % cluster.ids.length]!;
      try {
        const res = await fetch(`${cluster.url(node)}/v1/stacks`, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": `nem-${seed}-create-${label}` },
          body: JSON.stringify({ label }),
          signal: AbortSignal.timeout(3000),
        });
        if (res.ok) {
          stacks.push({ label, id: ((await res.json()) as { id: number }).id });
          break;
        }
      } catch {
        // try the next node
      }
      if (performance.now() > deadline) throw new Error(`could not create stack ${label}`);
      await sleep(100);
    }
  }
  return stacks;
}

async function runSchedule(
  o: NemesisOptions,
  specs: readonly FaultSpec[],
  env: Pick<FaultContext, "cluster" | "netfilter" | "hooks" | "disk">,
  faults: FaultRecord[],
  signal: AbortSignal,
  say: (line: string) => void,
  elapsed: () => number,
  now: () => number,
): Promise<void> {
  const byKind = new Map(specs.map((s) => [s.kind, s]));
  const schedule = makeSchedule({ seed: o.seed, kinds: [...byKind.keys()], durationMs: o.durationMs });
  const hold = (ms: number) =>
    signal.aborted ? Promise.resolve() : sleep(Math.max(0, ms), undefined, { signal }).catch(() => undefined);
  for (const planned of schedule) {
    await hold(planned.at - elapsed());
    if (signal.aborted) return;
    const spec = byKind.get(planned.kind)!;
    const record: FaultRecord = {
      type: "fault",
      id: faults.length,
      kind: spec.kind,
      start: now(),
      end: Infinity,
      quorum: spec.quorum,
      nodes: [],
      steps: [],
      findings: [],
    };
    const findings = record.findings!;
    faults.push(record);
    const ctx: FaultContext = {
      ...env,
      electionTimeoutMs: electionTimeoutMsOf(o.nodeArgs),
      rng: new Prng(planned.seed),
      now,
      hold,
      step: (what, nodes = []) => {
        record.steps.push({ at: now(), what });
        for (const n of nodes) if (!record.nodes.includes(n)) record.nodes.push(n);
        say(`  ${(elapsed() / 1000).toFixed(1).padStart(6)} s  ${spec.kind}: ${what}`);
      },
      finding: (what) => {
        findings.push(what);
        say(`  ${(elapsed() / 1000).toFixed(1).padStart(6)} s  ${spec.kind}: VIOLATION ${what}`);
      },
    };
    try {
      await spec.run(ctx, planned.activeMs);
    } catch (err) {
      ctx.step(`fault failed: ${(err as Error).message}`);
      await healAll(env.cluster, env.netfilter, env.hooks, env.disk, say);
    }
    record.end = now();
  }
  await hold(o.durationMs - elapsed());
}

/** The nodes' minimum election timeout: --tick-ms × --election-ticks from the extra node flags, else the defaults. */
export function electionTimeoutMsOf(nodeArgs: readonly string[]): number {
  const flag = (name: string, fallback: number) => {
    const k = nodeArgs.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (k < 0) return fallback;
    const text = nodeArgs[k]!.includes("=") ? nodeArgs[k]!.split("=")[1] : nodeArgs[k + 1];
    const n = Number(text);
    return Number.isFinite(n) && n > 0 ? n : fallback;
  };
  return flag("tick-ms", nodeDefaults.tickMs) * flag("election-ticks", nodeDefaults.electionTicks);
}

/** Network whole again, paused nodes resumed, stopped nodes started. */
async function healAll(
  cluster: NemesisCluster,
  netfilter: Netfilter | undefined,
  hooks: NodeHooks | undefined,
  disk: DiskFiller | undefined,
  say: (line: string) => void,
) {
  await netfilter?.heal();
  hooks?.clearAll();
  disk?.free();
  for (const i of cluster.ids) {
    if (cluster.state(i) === "paused") cluster.resume(i);
    if (cluster.state(i) === "down") {
      say(`nemesis: heal: restart ${i}`);
      cluster.start(i);
    }
  }
}

/**
 * Once every node has applied the leader's commit index, each must hold the same (empty) stacks:
 * stale reads there show what each replica has applied. Nodes that never catch up are reported apart.
 */
async function compareReplicas(
  cluster: NemesisCluster,
  requests: NodeRequests,
  stacks: readonly StackRef[],
): Promise<{ behind: number[]; diverged: string[] }> {
  const leader = await cluster.leader();
  const commit = leader === undefined ? 0 : ((await cluster.view(leader))?.commit ?? 0);
  const behind: number[] = [];
  const diverged: string[] = [];
  for (const i of cluster.ids) {
    const deadline = performance.now() + catchUpMs;
    let applied = -1;
    while (performance.now() < deadline) {
      applied = (await cluster.view(i))?.applied ?? -1;
      if (applied >= commit) break;
      await sleep(100);
    }
    if (applied < commit) {
      behind.push(i);
      continue;
    }
    for (const s of stacks) {
      const size = await requests.staleSize(i, s.id);
      if (size !== 0) diverged.push(`node ${i} holds ${size} items in ${s.label} after the drain`);
    }
  }
  return { behind, diverged };
}
