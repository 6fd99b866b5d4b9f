// `npm run bench`: raftstack against etcd (and Redis, informational) on 127.0.0.1, same generator, rows alternated.
// `--recovery`: restart time of a node holding 1M pushes, catch-up after 100k writes, RSS per node.
// `--resp`: redis-benchmark against the RESP listener, Redis and etcd puts (bench/resp.ts).
// `--tls`: push c=64 with client HTTPS and peer mTLS next to plain (bench/tls.ts).
// `--resp-cpu`: CPU per pipelined LPUSH on the leader, each follower and redis-benchmark (bench/resp-cpu.ts).
import { parseArgs } from "node:util";
import type { Pool } from "undici";
import {
  exitOnHelp,
  expectStatus,
  fmtInt,
  fmtRatio,
  http,
  httpPool,
  type LoadResult,
  median,
  type Op,
  round2,
  runLoad,
  table,
} from "./load.js";
import {
  EtcdCluster,
  installPeers,
  onPath,
  RaftstackCluster,
  RedisServer,
  RespConn,
  raftstackBuilt,
  rssBytes,
  waitUntil,
} from "./peers.js";
import { respBench } from "./resp.js";
import { respCpuBench } from "./resp-cpu.js";
import { tlsBench } from "./tls.js";

/** Every pushed item / value is this many bytes, for all systems. */
const ITEM = "v0123456789abcde";
const ITEM_B64 = Buffer.from(ITEM).toString("base64");
/** One request of a prefill carries this many items (JSON push items / txn puts / RPUSH values). */
const PREFILL_ITEMS_PER_REQUEST = { raftstack: 500, etcd: 128, redis: 1000 };
const OP_TIMEOUT_MS = 10_000;
const ROW_ERRORS_MAX = 1000;
const OPS = ["push", "top", "pop"] as const;
type OpName = (typeof OPS)[number];

interface Workload {
  readonly ops: Record<OpName, Op>;
  /** Puts `perWorker` items where worker w's pops will find them. */
  prefill(perWorker: number): Promise<void>;
  close(): Promise<void>;
}

interface System {
  readonly name: string;
  workload(concurrency: number, tag: string): Promise<Workload>;
  close(): Promise<void>;
}

async function inBatches(
  total: number,
  perRequest: number,
  parallel: number,
  send: (n: number) => Promise<void>,
) {
  let left = total;
  const lane = async (): Promise<void> => {
    while (left > 0) {
      const n = Math.min(perRequest, left);
      left -= n;
      await send(n);
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
}

async function raftstackSystem(c: RaftstackCluster): Promise<System> {
  return {
    name: "raftstack",
    close: () => c.close(),
    async workload(concurrency, tag) {
      const leader = await c.leader();
      if (leader === undefined) throw new Error("raftstack has no leader");
      const pool = httpPool(c.clientUrls[leader] as string, concurrency, OP_TIMEOUT_MS);
      const ids: number[] = [];
      for (let w = 0; w < concurrency; w++) {
        const a = expectStatus(
          await http(pool, "POST", "/v1/stacks", JSON.stringify({ label: `${tag}-w${w}` })),
          200,
        );
        ids.push((JSON.parse(a.text) as { id: number }).id);
      }
      const pushBody = JSON.stringify({ item: ITEM });
      return {
        ops: {
          push: async (w) =>
            void expectStatus(await http(pool, "POST", `/v1/stacks/${ids[w]}/push`, pushBody), 200),
          top: async (w) => void expectStatus(await http(pool, "GET", `/v1/stacks/${ids[w]}/top`), 200),
          pop: async (w) => void expectStatus(await http(pool, "POST", `/v1/stacks/${ids[w]}/pop`), 200),
        },
        async prefill(perWorker) {
          const body = (n: number): string =>
            JSON.stringify({ items: Array.from({ length: n }, () => ITEM) });
          await Promise.all(
            ids.map((id) =>
              inBatches(perWorker, PREFILL_ITEMS_PER_REQUEST.raftstack, 1, async (n) => {
                expectStatus(await http(pool, "POST", `/v1/stacks/${id}/push`, body(n)), 200);
              }),
            ),
          );
        },
        close: () => pool.close(),
      };
    },
  };
}

function b64(s: string): string {
  return Buffer.from(s).toString("base64");
}

async function etcdSystem(c: EtcdCluster): Promise<System> {
  return {
    name: "etcd",
    close: () => c.close(),
    async workload(concurrency, tag) {
      const leader = await c.leader();
      if (leader === undefined) throw new Error("etcd has no leader");
      const pool = httpPool(c.clientUrls[leader] as string, concurrency, OP_TIMEOUT_MS);
      // Distinct keys per write, as a stack push never overwrites; pops delete keys the prefill wrote.
      const put = async (w: number, seq: number): Promise<void> => {
        const body = `{"key":"${b64(`${tag}/w${w}/${seq}`)}","value":"${ITEM_B64}"}`;
        expectStatus(await http(pool, "POST", "/v3/kv/put", body), 200);
      };
      const range = async (w: number): Promise<void> => {
        expectStatus(await http(pool, "POST", "/v3/kv/range", `{"key":"${b64(`${tag}/w${w}/0`)}"}`), 200);
      };
      const del = async (w: number, seq: number): Promise<void> => {
        const a = expectStatus(
          await http(
            pool,
            "POST",
            "/v3/kv/deleterange",
            `{"key":"${b64(`${tag}/p${w}/${seq}`)}","prev_kv":true}`,
          ),
          200,
        );
        if (!a.text.includes('"deleted"')) throw new Error("etcd pop found no key (prefill too small)");
      };
      return {
        ops: { push: put, top: range, pop: del },
        async prefill(perWorker) {
          await Promise.all(
            Array.from({ length: concurrency }, (_, w) => {
              let seq = 0;
              return inBatches(perWorker, PREFILL_ITEMS_PER_REQUEST.etcd, 1, async (n) => {
                const puts = Array.from({ length: n }, () => ({
                  request_put: { key: b64(`${tag}/p${w}/${seq++}`), value: ITEM_B64 },
                }));
                expectStatus(await http(pool, "POST", "/v3/kv/txn", JSON.stringify({ success: puts })), 200);
              });
            }),
          );
        },
        close: () => pool.close(),
      };
    },
  };
}

async function redisSystem(r: RedisServer): Promise<System> {
  return {
    name: "redis",
    close: () => r.close(),
    async workload(concurrency, tag) {
      const conns = await Promise.all(Array.from({ length: concurrency }, () => RespConn.open(r.port)));
      const conn = (w: number): RespConn => conns[w] as RespConn;
      return {
        ops: {
          push: async (w) => void (await conn(w).command(["LPUSH", `${tag}:w${w}`, ITEM])),
          top: async (w) => void (await conn(w).command(["LINDEX", `${tag}:w${w}`, "0"])),
          pop: async (w) => {
            if ((await conn(w).command(["LPOP", `${tag}:w${w}`])) === null)
              throw new Error("redis pop: empty");
          },
        },
        async prefill(perWorker) {
          await Promise.all(
            conns.map((cn, w) =>
              inBatches(perWorker, PREFILL_ITEMS_PER_REQUEST.redis, 1, async (n) => {
                await cn.command(["RPUSH", `${tag}:w${w}`, ...Array.from({ length: n }, () => ITEM)]);
              }),
            ),
          );
        },
        close: async () => {
          for (const cn of conns) cn.close();
        },
      };
    },
  };
}

interface Row {
  readonly nodes: number;
  readonly op: OpName;
  readonly concurrency: number;
  readonly system: string;
  readonly runs: LoadResult[];
}

function medianOf(rs: readonly LoadResult[], k: "opsPerSec" | "p50Ms" | "p99Ms" | "p999Ms"): number {
  return median(rs.map((r) => r[k]));
}

async function sideBySide(o: {
  nodes: number;
  durationS: number;
  runs: number;
  concurrencies: number[];
  peers: Set<string>;
  /** Count bound of one row, spread over its workers. */
  opsMax: number;
}): Promise<Row[]> {
  const systems: System[] = [];
  const pids: { name: string; pid: () => number[] }[] = [];
  try {
    if (raftstackBuilt()) {
      const c = await RaftstackCluster.start({ nodes: o.nodes });
      systems.push(await raftstackSystem(c));
      pids.push({ name: "raftstack", pid: () => Array.from({ length: c.size }, (_, i) => c.pid(i)) });
    } else console.error("raftstack node not built (dist/src/node/main.js missing): peers only");
    if (o.peers.has("etcd")) {
      const c = await EtcdCluster.start({ nodes: o.nodes });
      systems.push(await etcdSystem(c));
      pids.push({ name: "etcd", pid: () => Array.from({ length: c.size }, (_, i) => c.pid(i)) });
    }
    if (o.peers.has("redis")) {
      const r = await RedisServer.start();
      systems.push(await redisSystem(r));
      pids.push({ name: "redis", pid: () => [r.pid] });
    }
    const rows = new Map<string, Row>();
    for (let run = 0; run < o.runs; run++) {
      for (const c of o.concurrencies) {
        const loads = new Map<string, Workload>();
        for (const s of systems) loads.set(s.name, await s.workload(c, `r${run}c${c}`));
        for (const op of OPS) {
          // Rows alternate between systems so that drift of this machine hits them alike.
          for (const s of systems) {
            const wl = loads.get(s.name) as Workload;
            const key = `${op}/${c}/${s.name}`;
            let perWorker = Math.ceil(o.opsMax / c);
            if (op === "pop") {
              // Prefill three times what the measured push rate could pop, so pops never meet an empty stack.
              const pushed = rows.get(`push/${c}/${s.name}`)?.runs[run]?.opsPerSec ?? 1000;
              perWorker = Math.min(perWorker, Math.ceil((pushed * o.durationS * 3) / c) + 10);
              await wl.prefill(perWorker);
            }
            const r = await runLoad({
              concurrency: c,
              durationMs: o.durationS * 1000,
              opsPerWorkerMax: perWorker,
              errorsMax: ROW_ERRORS_MAX,
              op: wl.ops[op],
            });
            const row = rows.get(key) ?? { nodes: o.nodes, op, concurrency: c, system: s.name, runs: [] };
            row.runs.push(r);
            rows.set(key, row);
            const err = r.errors > 0 ? `  errors ${r.errors} (${r.firstError})` : "";
            console.error(
              `  run ${run + 1} ${s.name.padEnd(9)} ${op.padEnd(4)} c=${String(c).padEnd(2)} ${fmtInt(r.opsPerSec).padStart(7)} ops/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms${err}`,
            );
          }
        }
        for (const wl of loads.values()) await wl.close();
      }
    }
    for (const p of pids) {
      const mb = p.pid().map((pid) => (pid > 0 ? Math.round(rssBytes(pid) / 2 ** 20) : Number.NaN));
      console.log(`RSS after the run, ${p.name}: ${mb.map((m) => `${m} MB`).join(", ")}`);
    }
    return [...rows.values()];
  } finally {
    for (const s of systems) await s.close().catch(() => {});
  }
}

function report(rows: readonly Row[], nodes: number, runs: number): void {
  const get = (op: string, c: number, sys: string): Row | undefined =>
    rows.find((r) => r.op === op && r.concurrency === c && r.system === sys);
  const header = [
    "row",
    "raftstack ops/s",
    "p50 ms",
    "p99 ms",
    "p99.9 ms",
    "etcd ops/s",
    "p50 ms",
    "p99 ms",
    "p99.9 ms",
  ];
  header.push("ops ratio rs/etcd", "p50 ratio rs/etcd", "redis ops/s", "p50 ms", "ops ratio rs/redis");
  const cells = (r: Row | undefined): string[] =>
    r === undefined
      ? ["-", "-", "-", "-"]
      : [
          fmtInt(medianOf(r.runs, "opsPerSec")),
          ...(["p50Ms", "p99Ms", "p999Ms"] as const).map((k) => String(round2(medianOf(r.runs, k)))),
        ];
  const lines: string[][] = [];
  const seen = [...new Set(rows.map((r) => `${r.op}/${r.concurrency}`))];
  for (const k of seen) {
    const [op, cs] = k.split("/") as [string, string];
    const c = Number(cs);
    const rs = get(op, c, "raftstack");
    const et = get(op, c, "etcd");
    const rd = get(op, c, "redis");
    const v = (r: Row | undefined, f: "opsPerSec" | "p50Ms"): number =>
      r ? medianOf(r.runs, f) : Number.NaN;
    lines.push([
      `${op} c=${c}`,
      ...cells(rs),
      ...cells(et),
      fmtRatio(v(rs, "opsPerSec"), v(et, "opsPerSec")),
      fmtRatio(v(rs, "p50Ms"), v(et, "p50Ms")),
      rd ? fmtInt(v(rd, "opsPerSec")) : "-",
      rd ? String(round2(v(rd, "p50Ms"))) : "-",
      fmtRatio(v(rs, "opsPerSec"), v(rd, "opsPerSec")),
    ]);
  }
  console.log(
    `\n${nodes}-node clusters on 127.0.0.1 (Redis: 1 node), medians of ${runs} run(s), ${ITEM.length}-byte items`,
  );
  console.log(table(header, lines));
  console.log(JSON.stringify({ bench: "cluster", nodes, runs, rows }));
}

/** Pushes `total` items spread over `stacks` stacks with many items per request. */
async function load(pool: Pool, stacks: number, total: number, tag: string): Promise<void> {
  const ids: number[] = [];
  for (let s = 0; s < stacks; s++) {
    const a = expectStatus(
      await http(pool, "POST", "/v1/stacks", JSON.stringify({ label: `${tag}-${s}` })),
      200,
    );
    ids.push((JSON.parse(a.text) as { id: number }).id);
  }
  const perStack = Math.ceil(total / stacks);
  const per = PREFILL_ITEMS_PER_REQUEST.raftstack;
  const body = JSON.stringify({ items: Array.from({ length: per }, () => ITEM) });
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let k = next++; k < stacks; k = next++) {
      for (let done = 0; done < perStack; done += per) {
        expectStatus(await http(pool, "POST", `/v1/stacks/${ids[k]}/push`, body), 200);
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
}

/** Time from spawn until node i answers a linearizable read itself. */
async function timeToServe(c: RaftstackCluster, i: number): Promise<number> {
  await c.restart(i);
  const start = performance.now();
  const pool = c.pools[i] as Pool;
  await waitUntil(`node ${i + 1} to serve`, 120_000, async () => {
    const a = await http(pool, "GET", "/v1/stacks/1/size", undefined, undefined, AbortSignal.timeout(1000));
    return a.status === 200;
  });
  return performance.now() - start;
}

async function recovery(o: { nodes: number; pushes: number; catchUpWrites: number }): Promise<void> {
  const c = await RaftstackCluster.start({ nodes: o.nodes });
  try {
    const leader = (await c.leader()) as number;
    const pool = httpPool(c.clientUrls[leader] as string, 16, 60_000);
    let t = performance.now();
    await load(pool, 1000, o.pushes, "mem");
    const loadS = (performance.now() - t) / 1000;
    const rss = Array.from({ length: c.size }, (_, i) => Math.round(rssBytes(c.pid(i)) / 2 ** 20));
    console.log(
      `loaded ${fmtInt(o.pushes)} pushes of ${ITEM.length} B over 1,000 stacks in ${loadS.toFixed(1)} s`,
    );
    console.log(`RSS per node: ${rss.map((m) => `${m} MB`).join(", ")}`);
    const follower = (leader + 1) % c.size;
    await c.kill(follower);
    const serveMs = await timeToServe(c, follower);
    console.log(
      `restart of node ${follower + 1} holding ${fmtInt(o.pushes)} pushes → serving: ${Math.round(serveMs)} ms`,
    );
    await c.kill(follower);
    t = performance.now();
    const writers = 64;
    const per = Math.ceil(o.catchUpWrites / writers);
    const body = JSON.stringify({ item: ITEM });
    const wpool = httpPool(c.clientUrls[leader] as string, writers, 10_000);
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let k = 0; k < per; k++)
          expectStatus(await http(wpool, "POST", `/v1/stacks/${(w % 1000) + 1}/push`, body), 200);
      }),
    );
    console.log(
      `${fmtInt(writers * per)} single pushes while node ${follower + 1} was down: ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    const target = await c.applied(leader);
    await c.restart(follower);
    const catchUpMs = await waitUntil(
      `node ${follower + 1} to catch up`,
      300_000,
      async () => (await c.applied(follower)) >= target,
    );
    console.log(
      `node ${follower + 1} caught up to applied index ${target} in ${Math.round(catchUpMs)} ms (from spawn)`,
    );
    const rssAfter = Array.from({ length: c.size }, (_, i) => Math.round(rssBytes(c.pid(i)) / 2 ** 20));
    console.log(`RSS per node at the end: ${rssAfter.map((m) => `${m} MB`).join(", ")}`);
    console.log(
      JSON.stringify({
        bench: "recovery",
        nodes: o.nodes,
        pushes: o.pushes,
        loadS,
        rssMb: rss,
        serveMs: Math.round(serveMs),
        catchUpWrites: writers * per,
        catchUpMs: Math.round(catchUpMs),
        rssAfterMb: rssAfter,
      }),
    );
    await pool.close();
    await wpool.close();
  } finally {
    await c.close();
  }
}

const USAGE = `usage: npm run bench -- [--resp | --resp-cpu | --tls | --recovery] [options]
  (default)            push, pop and linearizable reads over HTTP against etcd (and Redis), rows alternated
  --resp               redis-benchmark LPUSH/LPOP against the RESP listener, Redis and etcd puts; first
                       --warm-up-requests N (default 1000000, 0: none) unmeasured LPUSH+LPOP per system
  --resp-cpu           CPU µs per LPUSH (-c 64 -P 16) of the leader, each follower and redis-benchmark;
                       --runs N, --requests N writes per run (default 300000)
  --tls                push c=64 with client HTTPS and peer mTLS next to plain
  --recovery, --memory restart time and RSS of a node holding --pushes items (default 1000000), catch-up
                       after --catch-up-writes writes (default 100000)
  --duration-s S       seconds per row (default 5)     --runs N        runs per row, medians (default 1)
  --concurrency LIST   e.g. 1,16,64 (default)          --nodes N       raftstack nodes, 3 or 5 (default 3)
  --ops-max N          operations per row at most      --peers LIST    etcd,redis (default both)
  --install-peers      install the peers (Debian packages) first
docs/performance.md has the method and every result.`;

async function main(): Promise<void> {
  exitOnHelp(USAGE);
  const { values } = parseArgs({
    options: {
      "duration-s": { type: "string", default: "5" },
      nodes: { type: "string", default: "3" },
      peers: { type: "string" },
      "install-peers": { type: "boolean", default: false },
      runs: { type: "string", default: "1" },
      concurrency: { type: "string", default: "1,16,64" },
      "ops-max": { type: "string", default: "200000" },
      recovery: { type: "boolean", default: false },
      resp: { type: "boolean", default: false },
      "resp-cpu": { type: "boolean", default: false },
      requests: { type: "string", default: "300000" },
      "warm-up-requests": { type: "string" },
      tls: { type: "boolean", default: false },
      memory: { type: "boolean", default: false },
      pushes: { type: "string", default: "1000000" },
      "catch-up-writes": { type: "string", default: "100000" },
    },
  });
  const nodes = Number(values.nodes);
  if (nodes !== 3 && nodes !== 5) throw new Error("--nodes must be 3 or 5");
  if (values.recovery || values.memory) {
    if (!raftstackBuilt()) throw new Error("raftstack node not built (dist/src/node/main.js)");
    await recovery({
      nodes,
      pushes: Number(values.pushes),
      catchUpWrites: Number(values["catch-up-writes"]),
    });
    return;
  }
  if (values.tls) {
    if (!raftstackBuilt()) throw new Error("raftstack node not built (dist/src/node/main.js)");
    await tlsBench({
      runs: Number(values.runs),
      durationS: Number(values["duration-s"]),
      // Push at c=64 is the row docs/performance.md compares; --concurrency picks others.
      concurrencies: values.concurrency === "1,16,64" ? [64] : values.concurrency.split(",").map(Number),
      opsMax: Number(values["ops-max"]),
    });
    return;
  }
  if (values["install-peers"]) installPeers();
  if (values["resp-cpu"]) {
    if (!raftstackBuilt()) throw new Error("raftstack node not built (dist/src/node/main.js)");
    await respCpuBench({ runs: Number(values.runs), requests: Number(values.requests) });
    return;
  }
  if (values.resp) {
    await respBench({
      runs: Number(values.runs),
      durationS: Number(values["duration-s"]),
      concurrencies: values.concurrency.split(",").map(Number),
      ...(values["warm-up-requests"] === undefined
        ? {}
        : { warmUpRequests: Number(values["warm-up-requests"]) }),
    });
    return;
  }
  const wanted =
    values.peers === undefined ? ["etcd", "redis"] : values.peers.split(",").filter((p) => p !== "");
  const binary: Record<string, string> = { etcd: "etcd", redis: "redis-server" };
  const peers = new Set(wanted.filter((p) => binary[p] !== undefined && onPath(binary[p] as string)));
  for (const p of wanted)
    if (!peers.has(p)) console.error(`${p}: not installed, skipped (--install-peers installs it)`);
  const concurrencies = values.concurrency.split(",").map(Number);
  const durationS = Number(values["duration-s"]);
  const runs = Number(values.runs);
  const rows = await sideBySide({
    nodes,
    durationS,
    runs,
    concurrencies,
    peers,
    opsMax: Number(values["ops-max"]),
  });
  report(rows, nodes, runs);
}

await main();
