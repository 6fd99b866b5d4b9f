// `npm run nemesis:mutations`: one nemesis run per deliberate bug of the core, the driver and the stack
// machine (the simulator's --mutation switches, enabled in the node processes through their test-only
// hooks), each with the faults that give the bug its chance. Prints switch → verdict; every switch must
// end in a violation ("caught"). Exit 0 when all are caught, 1 otherwise, 4 on bad flags.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type NodeMutation, nodeMutationNames } from "../../src/node/test-hooks.js";
import type { RunResult } from "./result.js";

/**
 * Election timeouts of 1.5-3 s (150 ticks of 10 ms) for the election faults (test/nemesis/faults-election.ts):
 * they slow the followers' disks by 0.3 election timeouts, and the windows they aim into (a vote on disk
 * but not the entries after it) are then 450 ms wide, against the nemesis's 40 ms polls. (An election
 * storm, 20-40 ms timeouts, caught grantTwoVotesPerTerm only now and then: seed 1 for 30 s once, not for
 * 50 s before.)
 */
const slowElections = ["--election-ticks", "150"];

/** Extra node flags per switch (the run's default timeouts otherwise). */
export const MUTATION_NODE_ARGS: Readonly<Partial<Record<NodeMutation, readonly string[]>>> = {
  grantTwoVotesPerTerm: slowElections,
  commitOldTermByCounting: slowElections,
};

/** Faults that expose each bug; `all` where no narrower set is known to suffice. */
export const MUTATION_FAULTS: Readonly<Record<NodeMutation, string>> = {
  // Acknowledging before the write is durable matters only when the node then dies with it unwritten.
  ackBeforeFsync: "stall-crash",
  // A follower or a deposed leader answers reads from its own, possibly older, state.
  readWithoutReadIndex: "pause-leader,partition-leader,kill-leader",
  // Any retried or echoed keyed write is applied again.
  applyRetriesTwice: "kill-leader,pause-leader",
  // Two candidacies in one term, staged: both candidates' requests reach the voters at once.
  // Two leaders of one term show in the nodes' logs (and crash a node that hears the other).
  grantTwoVotesPerTerm: "election-split-vote",
  // Figure 8, staged step by step; the fault itself sees applied entries the cluster later lost.
  commitOldTermByCounting: "figure8",
  // A follower appends after a mismatching entry: its log diverges from the leader's after leader changes.
  skipLogMatchingCheck: "kill-leader,partition-leader,stall-crash,repair",
};

export interface MutationVerdict {
  readonly mutation: NodeMutation;
  readonly faults: string;
  readonly nodeArgs: readonly string[];
  readonly exitCode: number | null;
  readonly verdict: string;
  readonly caught: boolean;
  readonly why: readonly string[];
  readonly ops: number;
  readonly out: string;
}

/** Runs one nemesis per switch, one after another (each is a whole cluster); `say` gets each row. */
export async function runMutations(
  o: {
    readonly mutations: readonly NodeMutation[];
    readonly seed: number;
    readonly durationS: number;
    readonly outDir: string;
    readonly basePort?: number;
    readonly nodes: number;
  },
  say: (line: string) => void,
): Promise<MutationVerdict[]> {
  const rows: MutationVerdict[] = [];
  for (const mutation of o.mutations) {
    const out = join(o.outDir, mutation);
    const faults = MUTATION_FAULTS[mutation];
    const args = [
      resolve("dist/test/nemesis/cli.js"),
      ...["--mutation", mutation, "--faults", faults, "--seed", String(o.seed)],
      ...[
        "--duration",
        String(o.durationS),
        "--nodes",
        String(o.nodes),
        "--out",
        out,
        "--check-seconds",
        "60",
      ],
      ...(o.basePort === undefined ? [] : ["--base-port", String(o.basePort)]),
      ...(MUTATION_NODE_ARGS[mutation] ?? []).map((a) => `--node-arg=${a}`),
    ];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"] });
    // A run bounds itself (faults, heal, drain, check); this is the backstop for a hung one.
    const timer = setTimeout(() => child.kill("SIGINT"), (o.durationS + 240) * 1000);
    const exitCode = await new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
    clearTimeout(timer);
    const resultPath = join(out, "result.json");
    const result = existsSync(resultPath)
      ? (JSON.parse(readFileSync(resultPath, "utf8")) as RunResult)
      : undefined;
    const row: MutationVerdict = {
      mutation,
      faults,
      nodeArgs: MUTATION_NODE_ARGS[mutation] ?? [],
      exitCode,
      verdict: result?.verdict ?? `no result (exit ${exitCode})`,
      caught: result?.verdict === "violation",
      why: result?.why ?? [],
      ops: result?.ops.total ?? 0,
      out,
    };
    rows.push(row);
    say(
      `${mutation.padEnd(24)} ${row.caught ? "CAUGHT " : "MISSED "} ${row.verdict.padEnd(10)} ` +
        `${row.ops} ops; ${row.why.join("; ") || "-"}  [faults ${faults}${row.nodeArgs.length > 0 ? `; node ${row.nodeArgs.join(" ")}` : ""}]`,
    );
  }
  return rows;
}

async function main(argv: readonly string[]): Promise<number> {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(argv).values;
  } catch (err) {
    process.stderr.write(`nemesis:mutations: ${(err as Error).message}\n`);
    return 4;
  }
  const mutations = (values.only?.split(",") ?? [...nodeMutationNames]) as NodeMutation[];
  const unknown = mutations.find((m) => !nodeMutationNames.includes(m));
  if (unknown !== undefined) {
    process.stderr.write(
      `nemesis:mutations: unknown switch ${unknown}; known: ${nodeMutationNames.join(", ")}\n`,
    );
    return 4;
  }
  const seed = Number(values.seed ?? 1);
  const durationS = Number(values.duration ?? 45);
  const nodes = Number(values.nodes ?? 3);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`nemesis:mutations: seed ${seed}, ${durationS} s per switch, ${nodes} nodes`);
  const rows = await runMutations(
    { mutations, seed, durationS, nodes, outDir: resolve(values.out ?? "nemesis-results/mutations") },
    say,
  );
  const missed = rows.filter((r) => !r.caught).length;
  say(`nemesis:mutations: ${rows.length - missed} of ${rows.length} caught`);
  return missed === 0 ? 0 : 1;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    options: {
      only: { type: "string" },
      seed: { type: "string" },
      duration: { type: "string" },
      nodes: { type: "string" },
      out: { type: "string" },
    },
  });
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve("dist/test/nemesis/mutations.js"))
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`nemesis:mutations: ${(err as Error).stack ?? err}\n`);
      process.exit(4);
    },
  );
