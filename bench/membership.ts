// `npm run bench:membership`: the longest gap between acknowledged writes while the membership changes
// (issue 11, item 6). A 3-node cluster takes keyed pushes from WRITERS closed-loop clients spread over
// its nodes (followers forward to the leader); each trial adds a fresh node the way an operator does (the
// change, then the node's process starts, catches up as a learner and is promoted), removes it again,
// transfers leadership, then measures a window of the add's length with no change (the control: on a
// shared 2-core machine the longest of many gaps grows with the window) and an add of a node whose process
// already runs (the change alone). Per-trial numbers, median and max. `--trace`: the nodes log at debug
// (including their event-loop stalls, src/node/loop-stalls.ts) and each trial says where its gap fell.
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, openSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Pool } from "undici";
import { exitOnHelp, http, httpPool, median, round2, table } from "./load.js";
import { PORTS, RaftstackCluster, raftstackBuilt, waitUntil } from "./peers.js";

const NODE_MAIN = fileURLToPath(new URL("../src/node/main.js", import.meta.url));
const WRITERS = 4;
const ATTEMPT_TIMEOUT_MS = 1000;
/** Writes keep going this long after a change is seen done, so a late stall is in the window. */
const SETTLE_MS = 300;

/** A refused or failed write attempt: when it ended, on which node, and what it got. */
interface Failure {
  readonly at: number;
  readonly node: number;
  readonly what: string;
}

/** The longest span between two acknowledgements in a window: its length and its ends. */
interface Gap {
  readonly ms: number;
  readonly start: number;
  readonly end: number;
}

/** Closed-loop writers; `acks` holds every acknowledgement time, `failures` every failed attempt. */
class Writers {
  readonly acks: number[] = [];
  readonly failures: Failure[] = [];
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(pools: readonly Pool[], stackId: number) {
    let seq = 0;
    this.loops = Array.from({ length: WRITERS }, async (_, w) => {
      let node = w % pools.length;
      while (this.running) {
        const key = `m${seq++}`;
        const body = JSON.stringify({ item: key });
        const ok = await http(
          pools[node] as Pool,
          "POST",
          `/v1/stacks/${stackId}/push`,
          body,
          {
            "idempotency-key": key,
          },
          AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
        )
          .then((a) => (a.status === 200 ? true : `${a.status} ${a.text.slice(0, 80)}`))
          .catch((err: Error) => err.name);
        if (ok === true) this.acks.push(performance.now());
        else {
          this.failures.push({ at: performance.now(), node: node + 1, what: ok });
          node = (node + 1) % pools.length;
        }
      }
    });
  }

  /** The longest time between two acknowledgements in [from, to] (the window's ends count as acks). */
  longestGap(from: number, to: number): Gap {
    const inside = this.acks.filter((t) => t >= from && t <= to).sort((a, b) => a - b);
    let gap: Gap = { ms: 0, start: from, end: from };
    let last = from;
    for (const t of [...inside, to]) {
      if (t - last > gap.ms) gap = { ms: t - last, start: last, end: t };
      last = t;
    }
    return gap;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

async function members(pool: Pool): Promise<{ leader: number; members: { id: number; role: string }[] }> {
  const a = await http(pool, "GET", "/v1/members", undefined, undefined, AbortSignal.timeout(1000));
  return JSON.parse(a.text);
}

/**
 * Sends a membership request to node 1 until it is not refused (one change at a time). A 503 may mean
 * "outcome unknown": if the change did happen, the retry is refused as `config_invalid`, and `done`
 * tells whether that refusal is the change already made.
 */
async function change(
  pool: Pool,
  method: "POST" | "DELETE",
  path: string,
  body?: object,
  done?: () => Promise<boolean>,
): Promise<unknown> {
  let unknown = false;
  for (let attempt = 0; attempt < 50; attempt++) {
    const a = await http(
      pool,
      method,
      path,
      body === undefined ? undefined : JSON.stringify(body),
      {
        "content-type": "application/json",
      },
      AbortSignal.timeout(5000),
    );
    if (a.status === 200) return JSON.parse(a.text);
    if (a.status === 409 && unknown && done !== undefined && (await done())) return undefined;
    if (a.status !== 503) throw new Error(`${method} ${path}: ${a.status} ${a.text}`);
    unknown = true;
    await sleep(50);
  }
  throw new Error(`${method} ${path}: refused 50 times`);
}

/** This process's own late wake-ups (≥ 40 ms), so a gap that is the load generator's stall shows as such. */
class BenchStalls {
  readonly stalls: { at: number; lateMs: number; cpuMs: number }[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor() {
    let last = performance.now();
    let cpu = process.cpuUsage();
    this.timer = setInterval(() => {
      const now = performance.now();
      const lateMs = now - last - 10;
      if (lateMs >= 40) {
        const used = process.cpuUsage(cpu);
        this.stalls.push({ at: now, lateMs, cpuMs: (used.user + used.system) / 1000 });
      }
      last = now;
      cpu = process.cpuUsage();
    }, 10);
  }

  within(from: number, to: number): string {
    const inside = this.stalls.filter((s) => s.at >= from && s.at - s.lateMs <= to);
    if (inside.length === 0) return "none";
    return inside.map((s) => `${Math.round(s.lateMs)} ms (cpu ${Math.round(s.cpuMs)})`).join(", ");
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Wall-clock time of a performance.now() reading, to match the nodes' log lines. */
function wall(t: number): string {
  return new Date(performance.timeOrigin + t).toISOString().slice(11, 23);
}

/** One line on where a trial's longest gap fell, relative to the change's steps, and what writers got. */
function describeGap(
  name: string,
  gap: Gap,
  from: number,
  steps: Record<string, number>,
  writers: Writers,
  stalls: BenchStalls,
) {
  const rel = (t: number) => Math.round(t - from);
  const marks = Object.entries(steps)
    .map(([k, t]) => `${k} +${rel(t)}`)
    .join(", ");
  const failed = writers.failures.filter((f) => f.at >= gap.start && f.at <= gap.end);
  const kinds = new Map<string, number>();
  for (const f of failed) kinds.set(`n${f.node} ${f.what}`, (kinds.get(`n${f.node} ${f.what}`) ?? 0) + 1);
  console.error(
    `  ${name}: gap ${Math.round(gap.ms)} ms from +${rel(gap.start)} to +${rel(gap.end)} ` +
      `(${wall(gap.start)}..${wall(gap.end)} UTC); steps: ${marks}; ` +
      `failed writes in the gap: ${failed.length === 0 ? "none" : [...kinds].map(([k, n]) => `${n}x ${k}`).join("; ")}; ` +
      `bench stalls: ${stalls.within(gap.start, gap.end)}`,
  );
}

async function main(): Promise<void> {
  exitOnHelp(`usage: npm run bench:membership -- [--trials N (10)] [--trace]
Longest gap between acknowledged writes while a node is added, removed, leadership transferred (docs/performance.md).`);
  const { values } = parseArgs({
    options: {
      trials: { type: "string", default: "10" },
      // Nodes log at info (leader changes, configuration changes, snapshots) and each trial says where
      // its longest gap fell, to match against the nodes' logs (kept, and named, at the end).
      trace: { type: "boolean", default: false },
    },
  });
  const trials = Number(values.trials);
  const trace = values.trace === true;
  // Debug adds the nodes' own event-loop stalls (src/node/loop-stalls.ts).
  const logLevel = trace ? "debug" : "warn";
  const stalls = new BenchStalls();
  if (!raftstackBuilt()) throw new Error("run npm run build first");
  const c = await RaftstackCluster.start({ nodes: 3, extraArgs: ["--log-level", logLevel] });
  const procs: ChildProcess[] = [];
  const gaps = {
    add: [] as number[],
    remove: [] as number[],
    transfer: [] as number[],
    idle: [] as number[],
    addRunning: [] as number[],
  };
  try {
    // Own pools, so control calls never queue behind writes.
    const control = httpPool(c.clientUrls[0] as string, 2, 10_000);
    const writePools = c.clientUrls.map((u) => httpPool(u, WRITERS, ATTEMPT_TIMEOUT_MS * 2));
    const created = (await change(control, "POST", "/v1/stacks", { label: "membership" })) as { id: number };
    const writers = new Writers(writePools, created.id);
    const peerUrl = (id: number) => `http://127.0.0.1:${PORTS.raftstackPeer + id}`;
    const cluster = [1, 2, 3].map((id) => `${id}=${peerUrl(id)}`).join(",");
    const isMember = async (id: number) => (await members(control)).members.some((m) => m.id === id);
    const spawnJoiner = (id: number): ChildProcess => {
      const log = openSync(`${c.dataDir(0)}/../join-${id}.log`, "a");
      const args = [NODE_MAIN, "--id", String(id), "--cluster", `${cluster},${id}=${peerUrl(id)}`, "--join"];
      args.push("--port", String(PORTS.raftstackClient + id), "--data-dir", `${c.dataDir(0)}/../join-${id}`);
      const proc = spawn(process.execPath, [...args, "--log-level", logLevel], {
        stdio: ["ignore", log, log],
      });
      procs.push(proc);
      return proc;
    };
    const promotedTo = (id: number) =>
      waitUntil(`node ${id} promoted`, 30_000, async () =>
        (await members(control)).members.some((m) => m.id === id && m.role === "voter"),
      );
    const addMember = (id: number) =>
      change(control, "POST", "/v1/members", { peerUrl: peerUrl(id), id }, () => isMember(id));
    const removeMember = (id: number) =>
      change(control, "DELETE", `/v1/members/${id}`, undefined, async () => !(await isMember(id)));
    await sleep(500);
    for (let t = 0; t < trials; t++) {
      // Add as an operator does (raftexample, etcd): the change is made, then the new node is started;
      // it catches up as a learner and is promoted.
      const id = 4 + 2 * t;
      let from = performance.now();
      await addMember(id);
      const added = performance.now();
      const proc = spawnJoiner(id);
      const spawned = performance.now();
      await promotedTo(id);
      const promoted = performance.now();
      await sleep(SETTLE_MS);
      const addWindowMs = performance.now() - from;
      const addGap = writers.longestGap(from, from + addWindowMs);
      gaps.add.push(addGap.ms);
      if (trace) describeGap("add", addGap, from, { added, spawned, promoted }, writers, stalls);
      // Remove it again (the cluster is back to 3 voters).
      from = performance.now();
      await removeMember(id);
      const removed = performance.now();
      await sleep(SETTLE_MS);
      const removeGap = writers.longestGap(from, performance.now());
      gaps.remove.push(removeGap.ms);
      if (trace) describeGap("remove", removeGap, from, { removed }, writers, stalls);
      proc.kill("SIGKILL");
      // Transfer to the most caught-up voter.
      from = performance.now();
      await change(control, "POST", "/v1/leader", {});
      const transferred = performance.now();
      await sleep(SETTLE_MS);
      const transferGap = writers.longestGap(from, performance.now());
      gaps.transfer.push(transferGap.ms);
      if (trace) describeGap("transfer", transferGap, from, { transferred }, writers, stalls);
      // The control: no change at all, for as long as the add's window (the longest of many gaps grows
      // with the window, and this machine is shared).
      from = performance.now();
      await sleep(addWindowMs);
      const idleGap = writers.longestGap(from, performance.now());
      gaps.idle.push(idleGap.ms);
      if (trace) describeGap("no change", idleGap, from, {}, writers, stalls);
      // The same add with the new node's process already running: the window is the change itself
      // (learner catch-up and promotion) without a Node.js process starting on the same cores.
      const runningId = id + 1;
      const running = spawnJoiner(runningId);
      const client = httpPool(`http://127.0.0.1:${PORTS.raftstackClient + runningId}`, 1, 1000);
      await waitUntil(`node ${runningId} listening`, 30_000, async () => {
        const a = await http(client, "GET", "/livez", undefined, undefined, AbortSignal.timeout(1000));
        return a.status === 200;
      });
      await client.destroy();
      from = performance.now();
      await addMember(runningId);
      const addedRunning = performance.now();
      await promotedTo(runningId);
      const promotedRunning = performance.now();
      await sleep(SETTLE_MS);
      const runningGap = writers.longestGap(from, performance.now());
      gaps.addRunning.push(runningGap.ms);
      if (trace)
        describeGap(
          "add running",
          runningGap,
          from,
          { added: addedRunning, promoted: promotedRunning },
          writers,
          stalls,
        );
      await removeMember(runningId);
      running.kill("SIGKILL");
      await sleep(SETTLE_MS);
      console.error(
        `trial ${t + 1}: add ${Math.round(addGap.ms)} ms, remove ${Math.round(removeGap.ms)} ms, ` +
          `transfer ${Math.round(transferGap.ms)} ms, no change ${Math.round(idleGap.ms)} ms, ` +
          `add running ${Math.round(runningGap.ms)} ms`,
      );
    }
    await writers.stop();
    await Promise.all([control, ...writePools].map((p) => p.destroy()));
    const row = (name: string, xs: number[]) => [
      name,
      String(xs.length),
      String(round2(median(xs))),
      String(round2(Math.max(...xs))),
    ];
    console.log(
      table(
        ["change", "trials", "median longest gap ms", "max ms"],
        [
          row("add, node started after it (start → learner → voter)", gaps.add),
          row("add of a running node (learner → voter)", gaps.addRunning),
          row("remove", gaps.remove),
          row("leader transfer", gaps.transfer),
          row("no change (as long as the add's window)", gaps.idle),
        ],
      ),
    );
    const perTrial = (xs: number[]) => xs.map((x) => Math.round(x)).join(" ");
    console.log(
      `per trial (ms): add ${perTrial(gaps.add)}; add running ${perTrial(gaps.addRunning)}; ` +
        `remove ${perTrial(gaps.remove)}; transfer ${perTrial(gaps.transfer)}; no change ${perTrial(gaps.idle)}`,
    );
    console.log(`${writers.acks.length} writes acknowledged by ${WRITERS} closed-loop writers`);
  } finally {
    stalls.stop();
    for (const p of procs) p.kill("SIGKILL");
    if (trace) {
      const kept = mkdtempSync(join(tmpdir(), "raftstack-membership-trace-"));
      const root = join(c.dataDir(0), "..");
      for (const f of readdirSync(root).filter((n) => n.endsWith(".log")))
        copyFileSync(join(root, f), join(kept, f));
      console.error(`node logs kept in ${kept}`);
    }
    await c.close();
  }
}

await main();
