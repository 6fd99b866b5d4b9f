// `npm run bench -- --resp`: redis-benchmark (LPUSH, LPOP; c = 1/16/64, without and with -P 16) against
// raftstack's RESP listener on the leader of 3 nodes and against one Redis with appendfsync always; etcd
// puts (3 members) at the same concurrencies with the shared load generator. Rows alternate systems.
import { spawn } from "node:child_process";
import { expectStatus, fmtInt, fmtRatio, http, httpPool, median, round2, runLoad, table } from "./load.js";
import { EtcdCluster, onPath, RaftstackCluster, RedisServer } from "./peers.js";

const ITEM_BYTES = 16;
const PIPELINE = 16;
/** Requests of one redis-benchmark row, sized for a few seconds of raftstack at this machine's rates. */
const REQUESTS: Record<string, number> = {
  "1/1": 3_000,
  "16/1": 15_000,
  "64/1": 30_000,
  "1/16": 20_000,
  "16/16": 80_000,
  "64/16": 120_000,
};
const BENCH_TIMEOUT_MS = 120_000;
/**
 * Pipelined LPUSH and as many LPOP (-c 64 -P 16) each system serves before the first measured row, not
 * recorded: a server runs for hours, so its rows should not include V8 compiling the per-batch code
 * paths (measured: after 50k writes a follower still spent 16 % of its CPU in the compiler; after 1.5M,
 * three nodes took 14.2 instead of ~18 µs per write). Redis gets the same warm-up.
 */
export const WARM_UP_REQUESTS = 1_000_000;
const ETCD_OP_TIMEOUT_MS = 10_000;

export interface RespBenchOptions {
  readonly runs: number;
  readonly durationS: number;
  readonly concurrencies: readonly number[];
  /** Default WARM_UP_REQUESTS; 0 measures cold servers. */
  readonly warmUpRequests?: number;
}

interface Result {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** One redis-benchmark run of `-t tests` (default lpush,lpop); its CSV rows by test name. */
export function redisBenchmark(
  port: number,
  c: number,
  pipeline: number,
  n: number,
  tests = "lpush,lpop",
): Promise<Map<string, Result>> {
  const args = ["-h", "127.0.0.1", "-p", String(port), "-t", tests, "-c", String(c), "-n", String(n)];
  args.push("-P", String(pipeline), "-d", String(ITEM_BYTES), "--csv");
  return new Promise((resolve, reject) => {
    const child = spawn("redis-benchmark", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), BENCH_TIMEOUT_MS);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`redis-benchmark ${args.join(" ")}: exit ${code} ${err}`));
      const rows = new Map<string, Result>();
      for (const line of out.split("\n").slice(1)) {
        const cells = line.split(",").map((x) => x.replace(/"/g, ""));
        if (cells.length < 7) continue;
        rows.set(cells[0] as string, {
          rps: Number(cells[1]),
          p50Ms: Number(cells[4]),
          p99Ms: Number(cells[6]),
        });
      }
      resolve(rows);
    });
  });
}

/** Distinct-key puts of a 16-byte value through etcd's JSON gateway, as in the main bench. */
async function etcdPuts(etcd: EtcdCluster, c: number, durationS: number, tag: string): Promise<Result> {
  const leader = await etcd.leader();
  if (leader === undefined) throw new Error("etcd has no leader");
  const pool = httpPool(etcd.clientUrls[leader] as string, c, ETCD_OP_TIMEOUT_MS);
  const value = Buffer.from("v".repeat(ITEM_BYTES)).toString("base64");
  try {
    const r = await runLoad({
      concurrency: c,
      durationMs: durationS * 1000,
      opsPerWorkerMax: 1_000_000,
      errorsMax: 1000,
      op: async (w, seq) => {
        const key = Buffer.from(`${tag}/w${w}/${seq}`).toString("base64");
        expectStatus(await http(pool, "POST", "/v3/kv/put", `{"key":"${key}","value":"${value}"}`), 200);
      },
    });
    return { rps: r.opsPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms };
  } finally {
    await pool.close();
  }
}

type Row = { readonly name: string; readonly results: Map<string, Result[]> };

export async function respBench(o: RespBenchOptions): Promise<void> {
  if (!onPath("redis-benchmark")) throw new Error("redis-benchmark is not installed (Debian redis-tools)");
  const raftstack = await RaftstackCluster.start({ nodes: 3, resp: true });
  const redis = onPath("redis-server") ? await RedisServer.start() : undefined;
  const etcd = onPath("etcd") ? await EtcdCluster.start({ nodes: 3 }) : undefined;
  const rows = new Map<string, Row>();
  const record = (name: string, system: string, r: Result) => {
    const row = rows.get(name) ?? { name, results: new Map() };
    row.results.set(system, [...(row.results.get(system) ?? []), r]);
    rows.set(name, row);
    console.error(
      `  ${name.padEnd(16)} ${system.padEnd(9)} ${fmtInt(r.rps).padStart(8)} /s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms`,
    );
  };
  try {
    const warmUp = o.warmUpRequests ?? WARM_UP_REQUESTS;
    if (warmUp > 0) {
      const leader = await raftstack.leader();
      if (leader === undefined) throw new Error("raftstack has no leader");
      console.error(
        `warm-up: ${fmtInt(warmUp)} LPUSH and LPOP (-c 64 -P ${PIPELINE}) per system, not recorded`,
      );
      await redisBenchmark(raftstack.respPort(leader), 64, PIPELINE, warmUp);
      if (redis !== undefined) await redisBenchmark(redis.port, 64, PIPELINE, warmUp);
    }
    for (let run = 0; run < o.runs; run++) {
      for (const pipeline of [1, PIPELINE]) {
        for (const c of o.concurrencies) {
          const n = REQUESTS[`${c}/${pipeline}`] ?? 20_000;
          const suffix = pipeline > 1 ? ` P${pipeline}` : "";
          // The leader can move between rows (rarely): ask each time.
          const leader = await raftstack.leader();
          if (leader === undefined) throw new Error("raftstack has no leader");
          const systems: [string, number][] = [["raftstack", raftstack.respPort(leader)]];
          if (redis !== undefined) systems.push(["redis", redis.port]);
          for (const [system, port] of systems) {
            const res = await redisBenchmark(port, c, pipeline, n);
            for (const [test, r] of res) record(`${test.toLowerCase()} c=${c}${suffix}`, system, r);
          }
          if (etcd !== undefined && pipeline === 1) {
            record(`etcd put c=${c}`, "etcd", await etcdPuts(etcd, c, o.durationS, `r${run}c${c}`));
          }
        }
      }
    }
  } finally {
    await raftstack.close();
    await redis?.close();
    await etcd?.close();
  }
  report([...rows.values()], o.runs);
}

function report(rows: readonly Row[], runs: number): void {
  const med = (row: Row | undefined, system: string, k: keyof Result): number =>
    median((row?.results.get(system) ?? []).map((r) => r[k]));
  const etcdOf = (name: string): number => {
    const c = /c=(\d+)/.exec(name)?.[1];
    return med(
      rows.find((r) => r.name === `etcd put c=${c}`),
      "etcd",
      "rps",
    );
  };
  const lines = rows
    .filter((r) => !r.name.startsWith("etcd"))
    .map((r) => [
      r.name,
      fmtInt(med(r, "raftstack", "rps")),
      String(round2(med(r, "raftstack", "p50Ms"))),
      String(round2(med(r, "raftstack", "p99Ms"))),
      fmtInt(med(r, "redis", "rps")),
      String(round2(med(r, "redis", "p50Ms"))),
      fmtRatio(med(r, "raftstack", "rps"), med(r, "redis", "rps")),
      r.name.includes(" P") ? "-" : fmtInt(etcdOf(r.name)),
      r.name.includes(" P") ? "-" : fmtRatio(med(r, "raftstack", "rps"), etcdOf(r.name)),
    ]);
  console.log(
    `\nredis-benchmark (${ITEM_BYTES}-byte values) against raftstack's leader (3 nodes, fsync) and Redis (1 node, appendfsync always); etcd puts (3 members) by the shared generator; medians of ${runs} run(s)`,
  );
  console.log(
    table(
      ["row", "raftstack /s", "p50 ms", "p99 ms", "redis /s", "p50 ms", "rs/redis", "etcd put /s", "rs/etcd"],
      lines,
    ),
  );
  console.log(
    JSON.stringify({
      bench: "resp",
      runs,
      rows: rows.map((r) => ({ name: r.name, results: Object.fromEntries(r.results) })),
    }),
  );
}
