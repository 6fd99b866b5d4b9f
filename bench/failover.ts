// `npm run bench:failover`: SIGKILL the leader under light write load and time kill → first acknowledged write,
// for raftstack (shipped defaults) and etcd (its defaults, and raftstack's timings); then elections under steady load.
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import type { Pool } from "undici";
import { exitOnHelp, fmtInt, http, httpPool, median, round2, table } from "./load.js";
import { type Cluster, EtcdCluster, onPath, RaftstackCluster, raftstackBuilt, waitUntil } from "./peers.js";

const ITEM = "v0123456789abcde";
/** The light writer: one new write every WRITE_EVERY_MS, each attempt given ATTEMPT_TIMEOUT_MS. */
const WRITE_EVERY_MS = 5;
const ATTEMPT_TIMEOUT_MS = 250;
/** Writes outstanding at once; beyond it the writer skips a beat rather than pile up. */
const WRITES_IN_FLIGHT_MAX = 200;
/** A trial that sees no acknowledged write within this is reported as failed. */
const TRIAL_TIMEOUT_MS = 15_000;
const CATCH_UP_TIMEOUT_MS = 60_000;

type WriteFn = (pool: Pool, seq: number, signal: AbortSignal) => Promise<boolean>;

/** Open-loop writer that moves to the next node on timeout, 503 or connection error, like a client would. */
class Writer {
  private seq = 0;
  private inFlight = 0;
  private preferred = 0;
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private waiter: { since: number; resolve: (t: number) => void } | undefined;
  acked = 0;
  failedAttempts = 0;

  constructor(
    private readonly c: Cluster,
    private readonly pools: readonly Pool[],
    private readonly write: WriteFn,
  ) {}

  start(preferred: number, writesMax: number): void {
    this.preferred = preferred;
    this.running = true;
    this.loop = (async () => {
      for (let n = 0; this.running && n < writesMax; n++) {
        if (this.inFlight < WRITES_IN_FLIGHT_MAX) void this.one(performance.now());
        await sleep(WRITE_EVERY_MS);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await waitUntil("writes in flight to end", 10_000, async () => this.inFlight === 0);
  }

  /** Resolves with the ack time of the first write started at or after `since`. */
  firstAckSince(since: number): Promise<number> {
    return new Promise((resolve) => {
      this.waiter = { since, resolve };
    });
  }

  private async one(startedAt: number): Promise<void> {
    this.inFlight++;
    const seq = this.seq++;
    try {
      for (let attempt = 0; attempt < this.c.size * 4 && this.running; attempt++) {
        const node = this.preferred;
        const ok = await this.write(
          this.pools[node] as Pool,
          seq,
          AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
        ).catch(() => false);
        if (ok) {
          this.acked++;
          const w = this.waiter;
          if (w !== undefined && startedAt >= w.since) {
            this.waiter = undefined;
            w.resolve(performance.now());
          }
          return;
        }
        this.failedAttempts++;
        if (this.preferred === node) this.preferred = (node + 1) % this.c.size;
      }
    } finally {
      this.inFlight--;
    }
  }
}

interface Setup {
  readonly label: string;
  start(): Promise<Cluster>;
  writeFn(c: Cluster): Promise<WriteFn>;
}

async function raftstackWrite(c: Cluster): Promise<WriteFn> {
  const leader = (await c.leader()) as number;
  const a = await http(c.pools[leader] as Pool, "POST", "/v1/stacks", JSON.stringify({ label: "failover" }));
  const id = (JSON.parse(a.text) as { id: number }).id;
  const body = JSON.stringify({ item: ITEM });
  return async (pool, seq, signal) =>
    (await http(pool, "POST", `/v1/stacks/${id}/push`, body, { "idempotency-key": `f${seq}` }, signal))
      .status === 200;
}

async function etcdWrite(): Promise<WriteFn> {
  const value = Buffer.from(ITEM).toString("base64");
  return async (pool, seq, signal) => {
    const key = Buffer.from(`failover/${seq}`).toString("base64");
    return (
      (await http(pool, "POST", "/v3/kv/put", `{"key":"${key}","value":"${value}"}`, undefined, signal))
        .status === 200
    );
  };
}

interface Outcome {
  readonly label: string;
  readonly trialsMs: number[];
  readonly failedTrials: number;
  readonly steadyS: number;
  readonly steadyElections?: number;
  readonly steadyWrites?: number;
}

async function waitCaughtUp(c: Cluster, i: number): Promise<void> {
  const leader = await c.leader();
  if (leader === undefined) throw new Error("no leader after restart");
  const target = await c.applied(leader);
  await waitUntil(
    `${c.name} node ${i + 1} to catch up`,
    CATCH_UP_TIMEOUT_MS,
    async () => (await c.applied(i)) >= target,
  );
}

async function runSetup(s: Setup, trials: number, steadyS: number): Promise<Outcome> {
  const c = await s.start();
  const trialsMs: number[] = [];
  let failedTrials = 0;
  try {
    const write = await s.writeFn(c);
    for (let t = 0; t < trials; t++) {
      await waitUntil(`${c.name} leader`, 30_000, async () => (await c.leader()) !== undefined);
      const leader = (await c.leader()) as number;
      const pools = c.clientUrls.map((u) => httpPool(u, WRITES_IN_FLIGHT_MAX, ATTEMPT_TIMEOUT_MS * 4));
      const w = new Writer(c, pools, write);
      w.start(leader, (TRIAL_TIMEOUT_MS * 4) / WRITE_EVERY_MS);
      await sleep(300);
      // Only writes started after the leader is seen dead count, so none of them can be acked by it.
      const killAt = performance.now();
      await c.kill(leader);
      const acked = w.firstAckSince(performance.now());
      const ackAt = await Promise.race([acked, sleep(TRIAL_TIMEOUT_MS).then(() => Number.NaN)]);
      await w.stop();
      await Promise.all(pools.map((p) => p.destroy()));
      if (Number.isNaN(ackAt)) failedTrials++;
      else trialsMs.push(ackAt - killAt);
      console.error(
        `  ${s.label} trial ${t + 1}: ${Number.isNaN(ackAt) ? "no ack" : `${Math.round(ackAt - killAt)} ms`}`,
      );
      await c.restart(leader);
      await waitUntil(`${c.name} node ${leader + 1} to answer`, 30_000, async () => {
        await c.applied(leader);
        return true;
      });
      await waitCaughtUp(c, leader);
    }
    if (steadyS <= 0) return { label: s.label, trialsMs, failedTrials, steadyS };
    const leader = (await c.leader()) as number;
    const termBefore = await c.term();
    const pools = c.clientUrls.map((u) => httpPool(u, WRITES_IN_FLIGHT_MAX, ATTEMPT_TIMEOUT_MS * 4));
    const w = new Writer(c, pools, write);
    w.start(leader, (steadyS * 1000) / WRITE_EVERY_MS);
    // Term changes are sampled every second, so an election that comes and goes is still seen.
    let elections = 0;
    let last = termBefore;
    for (let k = 0; k < steadyS; k++) {
      await sleep(1000);
      const term = await c.term();
      if (term > last) elections += term - last;
      last = Math.max(last, term);
    }
    await w.stop();
    await Promise.all(pools.map((p) => p.destroy()));
    return {
      label: s.label,
      trialsMs,
      failedTrials,
      steadyS,
      steadyElections: elections,
      steadyWrites: w.acked,
    };
  } finally {
    await c.close();
  }
}

async function main(): Promise<void> {
  exitOnHelp(`usage: npm run bench:failover -- [--trials N (20)] [--steady-s S (60)] [--nodes 3|5] [--peers etcd]
SIGKILL the leader under light write load: kill → first acknowledged write, raftstack and etcd.`);
  const { values } = parseArgs({
    options: {
      trials: { type: "string", default: "20" },
      "steady-s": { type: "string", default: "60" },
      nodes: { type: "string", default: "3" },
      peers: { type: "string" },
    },
  });
  const trials = Number(values.trials);
  const steadyS = Number(values["steady-s"]);
  const nodes = Number(values.nodes);
  const setups: Setup[] = [];
  if (raftstackBuilt()) {
    setups.push({
      label: "raftstack (tick 10 ms, heartbeat 3, election 15)",
      start: () => RaftstackCluster.start({ nodes }),
      writeFn: raftstackWrite,
    });
  } else console.error("raftstack node not built (dist/src/node/main.js missing): peers only");
  const wantEtcd = values.peers === undefined ? true : values.peers.split(",").includes("etcd");
  if (wantEtcd && onPath("etcd")) {
    setups.push({
      label: "etcd defaults (100/1000 ms)",
      start: () => EtcdCluster.start({ nodes }),
      writeFn: etcdWrite,
    });
    setups.push({
      label: "etcd 30/150 ms",
      start: () => EtcdCluster.start({ nodes, heartbeatMs: 30, electionMs: 150 }),
      writeFn: etcdWrite,
    });
  } else if (wantEtcd) console.error("etcd: not installed, skipped");
  const outcomes: Outcome[] = [];
  for (const s of setups) outcomes.push(await runSetup(s, trials, steadyS));
  const rows = outcomes.map((o) => [
    o.label,
    `${o.trialsMs.length}/${o.trialsMs.length + o.failedTrials}`,
    String(Math.round(median(o.trialsMs))),
    String(Math.round(Math.max(...o.trialsMs))),
    String(Math.round(Math.min(...o.trialsMs))),
    o.steadyElections === undefined ? "-" : String(o.steadyElections),
    o.steadyWrites === undefined ? "-" : fmtInt(o.steadyWrites),
  ]);
  console.log(
    `\nleader SIGKILL → first acknowledged write (writer: one write / ${WRITE_EVERY_MS} ms, ${ATTEMPT_TIMEOUT_MS} ms attempt timeout), ${nodes} nodes`,
  );
  console.log(
    table(
      [
        "setup",
        "trials ok",
        "median ms",
        "max ms",
        "min ms",
        `elections in ${steadyS} s steady`,
        "steady writes",
      ],
      rows,
    ),
  );
  console.log(
    JSON.stringify({
      bench: "failover",
      nodes,
      outcomes: outcomes.map((o) => ({ ...o, trialsMs: o.trialsMs.map(round2) })),
    }),
  );
}

await main();
