// `npm run bench:membership`: the longest gap between acknowledged writes while the membership changes
// (issue 11, item 6). A 3-node cluster takes keyed pushes from WRITERS closed-loop clients spread over
// its nodes (followers forward to the leader); each trial adds a fresh node (learner → caught up →
// promoted voter), removes it again, and transfers leadership. Median and max of the trials' gaps.
import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Pool } from "undici";
import { http, httpPool, median, round2, table } from "./load.js";
import { PORTS, RaftstackCluster, raftstackBuilt, waitUntil } from "./peers.js";

const NODE_MAIN = fileURLToPath(new URL("../src/node/main.js", import.meta.url));
const WRITERS = 4;
const ATTEMPT_TIMEOUT_MS = 1000;
/** Writes keep going this long after a change is seen done, so a late stall is in the window. */
const SETTLE_MS = 300;

/** Closed-loop writers; `acks` holds every acknowledgement time. */
class Writers {
  readonly acks: number[] = [];
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
          .then((a) => a.status === 200)
          .catch(() => false);
        if (ok) this.acks.push(performance.now());
        else node = (node + 1) % pools.length;
      }
    });
  }

  /** The longest time between two acknowledgements in [from, to] (the window's ends count as acks). */
  longestGap(from: number, to: number): number {
    const inside = this.acks.filter((t) => t >= from && t <= to).sort((a, b) => a - b);
    let gap = 0;
    let last = from;
    for (const t of [...inside, to]) {
      gap = Math.max(gap, t - last);
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

/** POSTs a membership request to node 1 until it is not refused (one change at a time). */
async function change(pool: Pool, method: "POST" | "DELETE", path: string, body?: object): Promise<unknown> {
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
    if (a.status !== 503) throw new Error(`${method} ${path}: ${a.status} ${a.text}`);
    await sleep(50);
  }
  throw new Error(`${method} ${path}: refused 50 times`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { trials: { type: "string", default: "10" } } });
  const trials = Number(values.trials);
  if (!raftstackBuilt()) throw new Error("run npm run build first");
  const c = await RaftstackCluster.start({ nodes: 3 });
  const procs: ChildProcess[] = [];
  const gaps = { add: [] as number[], remove: [] as number[], transfer: [] as number[] };
  try {
    // Own pools, so control calls never queue behind writes.
    const control = httpPool(c.clientUrls[0] as string, 2, 10_000);
    const writePools = c.clientUrls.map((u) => httpPool(u, WRITERS, ATTEMPT_TIMEOUT_MS * 2));
    const created = (await change(control, "POST", "/v1/stacks", { label: "membership" })) as { id: number };
    const writers = new Writers(writePools, created.id);
    const peerUrl = (id: number) => `http://127.0.0.1:${PORTS.raftstackPeer + id}`;
    const cluster = [1, 2, 3].map((id) => `${id}=${peerUrl(id)}`).join(",");
    await sleep(500);
    for (let t = 0; t < trials; t++) {
      const id = 4 + t;
      // Add: the change is proposed, the new node starts and is promoted once caught up.
      let from = performance.now();
      await change(control, "POST", "/v1/members", { peerUrl: peerUrl(id), id });
      const log = openSync(`${c.dataDir(0)}/../join-${id}.log`, "a");
      const args = [NODE_MAIN, "--id", String(id), "--cluster", `${cluster},${id}=${peerUrl(id)}`, "--join"];
      args.push("--port", String(PORTS.raftstackClient + id), "--data-dir", `${c.dataDir(0)}/../join-${id}`);
      const proc = spawn(process.execPath, [...args, "--log-level", "warn"], { stdio: ["ignore", log, log] });
      procs.push(proc);
      await waitUntil(`node ${id} promoted`, 30_000, async () =>
        (await members(control)).members.some((m) => m.id === id && m.role === "voter"),
      );
      await sleep(SETTLE_MS);
      gaps.add.push(writers.longestGap(from, performance.now()));
      // Remove it again (the cluster is back to 3 voters).
      from = performance.now();
      await change(control, "DELETE", `/v1/members/${id}`);
      await sleep(SETTLE_MS);
      gaps.remove.push(writers.longestGap(from, performance.now()));
      proc.kill("SIGKILL");
      // Transfer to the most caught-up voter.
      from = performance.now();
      await change(control, "POST", "/v1/leader", {});
      await sleep(SETTLE_MS);
      gaps.transfer.push(writers.longestGap(from, performance.now()));
      console.error(
        `trial ${t + 1}: add ${Math.round(gaps.add.at(-1) ?? 0)} ms, remove ${Math.round(gaps.remove.at(-1) ?? 0)} ms, ` +
          `transfer ${Math.round(gaps.transfer.at(-1) ?? 0)} ms`,
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
          row("add (learner → voter)", gaps.add),
          row("remove", gaps.remove),
          row("leader transfer", gaps.transfer),
        ],
      ),
    );
    console.log(`${writers.acks.length} writes acknowledged by ${WRITERS} closed-loop writers`);
  } finally {
    for (const p of procs) p.kill("SIGKILL");
    await c.close();
  }
}

await main();
