import { writeFileSync } from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import {
  type DiskMode,
  describeParams,
  diskModes,
  type FaultKind,
  faultKinds,
  isDiskMode,
  isFaultKind,
  isMutationName,
  mutationNames,
  runSimulation,
  type SimOptions,
  type SimResult,
  TraceRecorder,
  traceHtml,
} from "./index.js";

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

function nodeCount(value: string): number {
  const n = Number(value);
  if (n !== 3 && n !== 5) throw new InvalidArgumentError("expected 3 or 5");
  return n;
}

function mutation(value: string): string {
  if (!isMutationName(value)) throw new InvalidArgumentError(`expected one of ${mutationNames.join(", ")}`);
  return value;
}

function diskMode(value: string): DiskMode {
  if (!isDiskMode(value)) throw new InvalidArgumentError(`expected one of ${diskModes.join(", ")}`);
  return value;
}

function faultList(value: string): FaultKind[] {
  const kinds = value.split(",").filter((k) => k !== "");
  for (const k of kinds) {
    if (!isFaultKind(k))
      throw new InvalidArgumentError(`expected fault kinds among ${faultKinds.join(", ")}`);
  }
  return kinds as FaultKind[];
}

function report(r: SimResult): string {
  const s = r.stats;
  const lines = [
    `seed ${r.seed}: ${r.ok ? "ok" : `VIOLATION of ${r.violation?.invariant}`}`,
    describeParams(r.params),
    `trace hash ${r.traceHash}`,
    `virtual ${(s.virtualMs / 1000).toFixed(1)}s, ${s.events} events, ${s.messages} messages, ${s.committed} committed entries (${s.batchEntries} batches)`,
    `ops ${s.ops} (${s.okOps} answered, ${s.unknownOps} unknown), linearizability ${r.linearizability}`,
    ...(r.params.fastLaneShare > 0
      ? [`fast lane: ${s.runPushes} pushes in runs, ${s.runPushesOk} acknowledged`]
      : []),
    `faults: ${s.partitions} partitions, ${s.crashes} crashes, ${s.repairs} repairs, ${s.stops} stops, ${s.pauses} pauses, ${s.transfers} transfers`,
  ];
  if (r.params.spareNodes > 0) {
    const m = s.membership;
    lines.push(
      `membership: ${m.adds} adds, ${m.removes} removes, ${m.leaderRemoves} leader removals, ${m.replaces} replacements; ${m.applied} applied, ${m.refused} refused`,
    );
  }
  if (r.params.diskMode === "wal") {
    lines.push(
      `disk: ${s.diskOpens} opens, ${s.powerCuts} power cuts, ${s.tornTails} torn WAL tails cut (${s.tailBytesTruncated} bytes), ${s.snapshotFallbacks} snapshot fallbacks`,
    );
  }
  if (r.violation !== undefined) {
    lines.push("", r.violation.message, "", "trace tail:", ...r.traceTail);
    lines.push(
      "",
      `reproduce: npm run sim -- --seed ${r.seed} --nodes ${r.params.nodes} --disk ${r.params.diskMode}` +
        (opts.disableFaults === undefined ? "" : ` --disable-faults ${opts.disableFaults.join(",")}`) +
        (opts.membership === true ? " --membership" : "") +
        (opts.clients === undefined ? "" : ` --clients ${opts.clients}`) +
        (opts.fastLane === true ? " --fast-lane" : "") +
        (opts.mutation === undefined ? "" : ` --mutation ${opts.mutation}`),
    );
  }
  return lines.join("\n");
}

const program = new Command()
  .name("sim")
  .description(
    "Deterministic simulation of a raftstack cluster under faults, with safety and linearizability checks",
  )
  .option("--seed <n>", "run one seed and print its parameters and trace hash", positiveInt)
  .option("--seeds <n>", "run this many seeds (from --start) and report speed and violations", positiveInt)
  .option("--start <n>", "first seed of --seeds", positiveInt, 1)
  .option("--nodes <n>", "cluster size, 3 or 5", nodeCount, 3)
  .option("--mutation <name>", `break one rule on purpose: ${mutationNames.join(", ")}`, mutation)
  .option("--fault-ms <n>", "virtual milliseconds of the fault phase (default 30000)", positiveInt)
  .option("--membership", "add, remove and replace members and remove leaders among the faults")
  .option("--clients <n>", "clients instead of the seed's 2-5 (many clients: batched proposals)", positiveInt)
  .option("--fast-lane", "clients also pipeline runs of plain LPUSH, proposed as the RESP fast lane does")
  .option("--disk <mode>", "disk model, memory or wal (default: even seeds wal, odd seeds memory)", diskMode)
  .option(
    "--disable-faults <kinds>",
    `comma-separated fault kinds to leave out: ${faultKinds.join(", ")}`,
    faultList,
  )
  .option("--html <file>", "with --seed: write a self-contained page that replays the run")
  .parse();

const opts = program.opts<{
  seed?: number;
  seeds?: number;
  start: number;
  nodes: number;
  mutation?: string;
  faultMs?: number;
  disk?: DiskMode;
  disableFaults?: FaultKind[];
  html?: string;
  membership?: boolean;
  clients?: number;
  fastLane?: boolean;
}>();
if (opts.html !== undefined && opts.seeds !== undefined)
  program.error("--html replays one run: use it with --seed");

const base = (seed: number): SimOptions => ({
  seed,
  nodes: opts.nodes,
  ...(opts.mutation !== undefined && isMutationName(opts.mutation) ? { mutation: opts.mutation } : {}),
  ...(opts.faultMs !== undefined ? { faultPhaseMs: opts.faultMs } : {}),
  ...(opts.disk !== undefined ? { diskMode: opts.disk } : {}),
  ...(opts.disableFaults !== undefined ? { disabledFaults: opts.disableFaults } : {}),
  ...(opts.membership === true ? { membership: true } : {}),
  ...(opts.clients === undefined ? {} : { clients: opts.clients }),
  ...(opts.fastLane === true ? { fastLane: true } : {}),
});

if (opts.seeds === undefined) {
  const recorder = opts.html === undefined ? undefined : new TraceRecorder();
  const r = await runSimulation({ ...base(opts.seed ?? 1), ...(recorder === undefined ? {} : { recorder }) });
  console.log(report(r));
  if (recorder !== undefined && opts.html !== undefined) {
    const page = traceHtml(r, recorder.recording);
    writeFileSync(opts.html, page);
    const left = recorder.recording.leftOut;
    console.log(
      `trace page ${opts.html} (${(page.length / 1024).toFixed(0)} KiB; left out: ${left.messages} messages ` +
        `over ${recorder.limits.messagesPerSecondMax}/virtual s, ${left.states} states, ${left.marks} marks, ${left.ops} op events)`,
    );
  }
  process.exitCode = r.ok ? 0 : 1;
} else {
  const started = performance.now();
  const failed: number[] = [];
  let unknown = 0;
  let virtualMs = 0;
  let torn = 0;
  for (let seed = opts.start; seed < opts.start + opts.seeds; seed++) {
    const r = await runSimulation(base(seed));
    virtualMs += r.stats.virtualMs;
    torn += r.stats.tornTails;
    if (r.linearizability === "unknown") unknown++;
    if (!r.ok) {
      failed.push(seed);
      console.log(`${report(r)}\n`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${opts.seeds} seeds (${opts.start}..${opts.start + opts.seeds - 1}, ${opts.nodes} nodes, disk ${opts.disk ?? "by seed"}${opts.membership ? ", membership" : ""}${opts.clients ? `, ${opts.clients} clients` : ""}${opts.fastLane ? ", fast lane" : ""}${opts.mutation ? `, mutation ${opts.mutation}` : ""}) ` +
      `in ${seconds.toFixed(1)}s: ${(opts.seeds / seconds).toFixed(1)} seeds/s, ` +
      `${(virtualMs / 1000 / seconds).toFixed(0)} virtual s per s; ` +
      `violations ${failed.length}${failed.length > 0 ? ` (seeds ${failed.join(" ")})` : ""}; ` +
      `linearizability unknown (search budget) ${unknown}; torn WAL tails cut ${torn}`,
  );
  process.exitCode = failed.length > 0 ? 1 : 0;
}
