// `npm run bench -- --tls`: push throughput and latency of a 3-node cluster with client HTTPS and peer
// mTLS, next to the same cluster in plain text. The two alternate run by run (one cluster at a time on
// the bench ports), so drift of this machine hits both alike; the report gives medians.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeDevCerts } from "../src/cli/certs.js";
import {
  expectStatus,
  fmtInt,
  http,
  httpPool,
  type LoadResult,
  median,
  round2,
  runLoad,
  table,
} from "./load.js";
import { RaftstackCluster } from "./peers.js";

const ITEM = "v0123456789abcde";
const OP_TIMEOUT_MS = 10_000;
const ROW_ERRORS_MAX = 1000;

async function pushRun(
  c: RaftstackCluster,
  concurrency: number,
  durationS: number,
  opsMax: number,
): Promise<LoadResult> {
  const leader = await c.leader();
  if (leader === undefined) throw new Error("no leader");
  const pool = httpPool(c.clientUrls[leader] as string, concurrency, OP_TIMEOUT_MS, c.ca);
  try {
    const ids: number[] = [];
    for (let w = 0; w < concurrency; w++) {
      const a = expectStatus(await http(pool, "POST", "/v1/stacks", JSON.stringify({ label: `w${w}` })), 200);
      ids.push((JSON.parse(a.text) as { id: number }).id);
    }
    const body = JSON.stringify({ item: ITEM });
    return await runLoad({
      concurrency,
      durationMs: durationS * 1000,
      opsPerWorkerMax: Math.ceil(opsMax / concurrency),
      errorsMax: ROW_ERRORS_MAX,
      op: async (w) => void expectStatus(await http(pool, "POST", `/v1/stacks/${ids[w]}/push`, body), 200),
    });
  } finally {
    await pool.close();
  }
}

export async function tlsBench(o: {
  runs: number;
  durationS: number;
  concurrencies: number[];
  opsMax: number;
}) {
  const certs = mkdtempSync(join(tmpdir(), "raftstack-bench-certs-"));
  makeDevCerts({ dir: certs, nodes: 3 });
  const results = new Map<string, LoadResult[]>();
  try {
    for (let run = 0; run < o.runs; run++) {
      for (const mode of ["plain", "tls"] as const) {
        const c = await RaftstackCluster.start({ nodes: 3, ...(mode === "tls" ? { tlsDir: certs } : {}) });
        try {
          for (const conc of o.concurrencies) {
            const r = await pushRun(c, conc, o.durationS, o.opsMax);
            const key = `${mode}/${conc}`;
            results.set(key, [...(results.get(key) ?? []), r]);
            const err = r.errors > 0 ? `  errors ${r.errors} (${r.firstError})` : "";
            console.error(
              `  run ${run + 1} ${mode.padEnd(5)} push c=${conc} ${fmtInt(r.opsPerSec).padStart(7)} ops/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms${err}`,
            );
          }
        } finally {
          await c.close();
        }
      }
    }
  } finally {
    rmSync(certs, { recursive: true, force: true });
  }
  const rows: string[][] = [];
  for (const conc of o.concurrencies) {
    for (const mode of ["plain", "tls"]) {
      const rs = results.get(`${mode}/${conc}`) ?? [];
      const m = (k: "opsPerSec" | "p50Ms" | "p99Ms") => median(rs.map((r) => r[k]));
      rows.push([
        `push c=${conc}`,
        mode,
        fmtInt(m("opsPerSec")),
        String(round2(m("p50Ms"))),
        String(round2(m("p99Ms"))),
      ]);
    }
  }
  console.log(
    `\n3-node cluster on 127.0.0.1, client HTTPS + peer mTLS vs plain, medians of ${o.runs} run(s)`,
  );
  console.log(table(["row", "mode", "ops/s", "p50 ms", "p99 ms"], rows));
  console.log(JSON.stringify({ bench: "tls", runs: o.runs, results: Object.fromEntries(results) }));
}
