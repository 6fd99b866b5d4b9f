// `npm run bench -- --resp-cpu`: CPU time per pipelined LPUSH on each process of a 3-node cluster. Runs
// `redis-benchmark -t lpush -c 64 -P 16 -d 16` against the leader's RESP port and reads utime + stime of
// the leader, each follower and redis-benchmark from /proc around it. Throughput on 2 shared cores moves
// with the machine's load; CPU per write moves less, so before/after comparisons use this.
import { readFileSync } from "node:fs";
import { fmtInt, median, round2, table } from "./load.js";
import { onPath, RaftstackCluster } from "./peers.js";
import { redisBenchmark, WARM_UP_REQUESTS } from "./resp.js";

/** Writes per run: a few seconds at this machine's rates. */
const REQUESTS_DEFAULT = 300_000;
const CONCURRENCY = 64;
const PIPELINE = 16;

export interface RespCpuOptions {
  readonly runs: number;
  readonly requests?: number;
}

/**
 * utime + stime, and stime alone, of process `pid`, or of this process's children that were waited for
 * ("children": redis-benchmark once it exited; the running nodes are not in it), in seconds.
 */
function cpuSeconds(pid: number | "children"): { total: number; system: number } {
  const path = pid === "children" ? "/proc/self/stat" : `/proc/${pid}/stat`;
  const fields = (readFileSync(path, "utf8").split(") ")[1] as string).split(" ");
  // After the command: utime, stime are fields 11, 12 (0-based); cutime, cstime 13, 14.
  const [u, s] = pid === "children" ? [13, 14] : [11, 12];
  const ticks = 100; // USER_HZ on Linux
  const user = Number(fields[u]) / ticks;
  const system = Number(fields[s]) / ticks;
  return { total: user + system, system };
}

interface RunResult {
  readonly rps: number;
  /** µs of CPU per write. */
  readonly leader: number;
  readonly leaderSystem: number;
  readonly followers: readonly number[];
  readonly nodes: number;
  readonly benchmark: number;
}

/** Silence resets and reconnects of every node's peer links, summed from their /metrics. */
async function peerLinkCounts(
  urls: readonly string[],
): Promise<{ silenceResets: number; reconnects: number }> {
  const sum = (text: string, name: string) =>
    text
      .split("\n")
      .filter((l) => l.startsWith(`${name}{`))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
  let silenceResets = 0;
  let reconnects = 0;
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    silenceResets += sum(text, "raftstack_peer_silence_resets_total");
    reconnects += sum(text, "raftstack_peer_reconnects_total");
  }
  return { silenceResets, reconnects };
}

export async function respCpuBench(o: RespCpuOptions): Promise<void> {
  if (!onPath("redis-benchmark")) throw new Error("redis-benchmark is not installed (Debian redis-tools)");
  const n = o.requests ?? REQUESTS_DEFAULT;
  const cluster = await RaftstackCluster.start({ nodes: 3, resp: true });
  const results: RunResult[] = [];
  try {
    const first = await cluster.leader();
    if (first === undefined) throw new Error("raftstack has no leader");
    // Not measured (see WARM_UP_REQUESTS): the nodes' code is compiled and their heaps grown first.
    await redisBenchmark(cluster.respPort(first), CONCURRENCY, PIPELINE, WARM_UP_REQUESTS);
    for (let run = 0; run < o.runs; run++) {
      const leader = await cluster.leader();
      if (leader === undefined) throw new Error("raftstack has no leader");
      const pids = [0, 1, 2].map((i) => cluster.pid(i));
      const before = pids.map((p) => cpuSeconds(p));
      const benchBefore = cpuSeconds("children");
      const rows = await redisBenchmark(cluster.respPort(leader), CONCURRENCY, PIPELINE, n, "lpush");
      const after = pids.map((p) => cpuSeconds(p));
      const benchAfter = cpuSeconds("children");
      const perWrite = (s: number) => round2((s * 1e6) / n);
      const used = after.map((a, i) => perWrite(a.total - (before[i] as { total: number }).total));
      const r: RunResult = {
        rps: rows.get("LPUSH")?.rps ?? Number.NaN,
        leader: used[leader] as number,
        leaderSystem: perWrite((after[leader]?.system ?? 0) - (before[leader]?.system ?? 0)),
        followers: used.filter((_, i) => i !== leader),
        nodes: round2(used.reduce((a, b) => a + b, 0)),
        benchmark: perWrite(benchAfter.total - benchBefore.total),
      };
      results.push(r);
      console.error(`  run ${run + 1}: ${JSON.stringify(r)}`);
    }
    // A saturated leader and followers must keep their peer links: liveness must not mistake load for silence.
    const links = await peerLinkCounts(cluster.clientUrls);
    console.log(`peer links over the whole run (3 nodes): ${JSON.stringify(links)}`);
  } finally {
    await cluster.close();
  }
  const med = (f: (r: RunResult) => number) => String(round2(median(results.map(f))));
  console.log(
    `\nCPU µs per LPUSH (redis-benchmark -c ${CONCURRENCY} -P ${PIPELINE} -d 16, ${fmtInt(n)} writes per run, 3 nodes, fsync), medians of ${o.runs} run(s)`,
  );
  console.log(
    table(
      ["LPUSH/s", "leader", "of it system", "follower a", "follower b", "3 nodes", "redis-benchmark"],
      [
        [
          fmtInt(median(results.map((r) => r.rps))),
          med((r) => r.leader),
          med((r) => r.leaderSystem),
          med((r) => r.followers[0] ?? Number.NaN),
          med((r) => r.followers[1] ?? Number.NaN),
          med((r) => r.nodes),
          med((r) => r.benchmark),
        ],
      ],
    ),
  );
  console.log(JSON.stringify({ bench: "resp-cpu", requests: n, runs: results }));
}
