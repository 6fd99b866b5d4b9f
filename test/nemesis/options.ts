// Command-line options of `npm run nemesis`, and the command that reproduces a run.
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type NodeMutation, nodeMutationNames } from "../../src/node/test-hooks.js";
import { FAULTS } from "./faults.js";
import type { NemesisOptions } from "./run.js";

export const USAGE = `usage: npm run nemesis -- [options]
  --seed S            schedule and workload seed (default: random, printed)
  --nodes 3|5         cluster size (default 3)
  --duration SEC      time with faults (default 60)
  --out DIR           where history.jsonl, result.json, report.md and node logs go
                      (default nemesis-results/seed-S)
  --faults LIST       comma list of kinds or groups, or all (default all):
${FAULTS.map((f) => `                        ${f.kind.padEnd(17)} [${f.group}] ${f.summary}`).join("\n")}
  --clients N         concurrent clients (default 8)
  --resp-share X      share of the clients speaking RESP (ONCE-keyed LPUSH/LPOP, LINDEX, LLEN) instead
                      of HTTP, 0..1 (default 0.25; 0 = HTTP only, nodes get no RESP port)
  --mutation NAME     run every node with a deliberate bug (test-only hooks; the run should then
                      report a violation): ${nodeMutationNames.join(", ")}
  --rate N            operations started per second by all clients (default 250; 0 = unlimited)
  --stacks N          stacks the clients share (default 4)
  --check-seconds N   linearizability checker budget (default 120)
  --base-port P       node i uses P+10i (peers) and P+10i+1 (clients); default: a free block
  --node-arg ARG      extra flag for every node (repeatable; e.g. --node-arg=--tick-ms --node-arg=5)
  --joins-max N       fresh nodes the membership faults may add over the run (default 20); node i
                      uses ports P+10i, so ids and ports go up to --nodes + N
  --keep-data         keep the nodes' data dirs even when the run passes
  --recheck DIR       decide a finished run again from DIR's files (with --check-seconds); no cluster
exit: 0 pass, 1 violation, 2 unavailable (no leader after healing), 3 unknown (checker budget), 4 error`;

const JOINS_MAX_DEFAULT = 20;

export class UsageError extends Error {
  override readonly name = "UsageError";
}

function intIn(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`--${name}: expected an integer from ${min} to ${max}`);
  return n;
}

/** What the command line asks for: a run, or deciding a finished run again from its files. */
export type NemesisCommand =
  | { readonly kind: "run"; readonly options: NemesisOptions }
  | { readonly kind: "recheck"; readonly dir: string; readonly checkMs: number };

export function parseNemesisArgs(argv: readonly string[]): NemesisCommand {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(argv).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const checkMs = 1000 * intIn("check-seconds", values["check-seconds"], 120, 1, 24 * 3600);
  if (values.recheck !== undefined) return { kind: "recheck", dir: resolve(values.recheck), checkMs };
  const seed = intIn("seed", values.seed, Math.floor(Math.random() * 2 ** 31), 0, 2 ** 32 - 1);
  const nodes = intIn("nodes", values.nodes, 3, 3, 5);
  if (nodes !== 3 && nodes !== 5) throw new UsageError("--nodes: 3 or 5");
  const durationMs = 1000 * intIn("duration", values.duration, 60, 5, 24 * 3600);
  const faults = (values.faults ?? "all")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const known = new Set(["all", ...FAULTS.flatMap((f) => [f.kind, f.group])]);
  const bad = faults.find((f) => !known.has(f));
  if (bad !== undefined)
    throw new UsageError(`--faults: unknown ${JSON.stringify(bad)} (known: ${[...known].join(", ")})`);
  const options = {
    seed,
    nodes,
    durationMs,
    outDir: resolve(values.out ?? join("nemesis-results", `seed-${seed}`)),
    faults,
    basePort:
      values["base-port"] === undefined
        ? undefined
        : intIn("base-port", values["base-port"], 0, 1024, 32_700),
    clients: intIn("clients", values.clients, 8, 1, 256),
    respShare: shareOf(values["resp-share"]),
    mutation: mutationOf(values.mutation),
    rate: intIn("rate", values.rate, 250, 0, 1_000_000),
    stacks: intIn("stacks", values.stacks, 4, 1, 1000),
    checkMs,
    requestTimeoutMs: 1000,
    nodeArgs: values["node-arg"] ?? [],
    keepData: values["keep-data"] ?? false,
    joinsMax: intIn("joins-max", values["joins-max"], JOINS_MAX_DEFAULT, 0, 200),
  };
  return { kind: "run", options: { ...options, command: commandOf(options) } };
}

/** The command line that repeats a run's schedule and workload (not its out dir or ports). */
export function commandOf(o: Omit<NemesisOptions, "command">): string {
  const args = [
    `--seed ${o.seed}`,
    `--nodes ${o.nodes}`,
    `--duration ${o.durationMs / 1000}`,
    `--faults ${o.faults.join(",")}`,
  ];
  args.push(
    `--clients ${o.clients}`,
    `--rate ${o.rate}`,
    `--stacks ${o.stacks}`,
    `--resp-share ${o.respShare}`,
  );
  if (o.mutation !== undefined) args.push(`--mutation ${o.mutation}`);
  if (o.joinsMax !== JOINS_MAX_DEFAULT) args.push(`--joins-max ${o.joinsMax}`);
  for (const a of o.nodeArgs) args.push(`--node-arg=${a}`);
  return `npm run nemesis -- ${args.join(" ")}`;
}

function shareOf(text: string | undefined): number {
  if (text === undefined) return 0.25;
  const x = Number(text);
  if (!(x >= 0 && x <= 1)) throw new UsageError("--resp-share: expected a number from 0 to 1");
  return x;
}

function mutationOf(text: string | undefined): NodeMutation | undefined {
  if (text === undefined) return undefined;
  const m = nodeMutationNames.find((n) => n === text);
  if (m === undefined) throw new UsageError(`--mutation: one of ${nodeMutationNames.join(", ")}`);
  return m;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    options: {
      seed: { type: "string" },
      nodes: { type: "string" },
      duration: { type: "string" },
      out: { type: "string" },
      faults: { type: "string" },
      clients: { type: "string" },
      "resp-share": { type: "string" },
      mutation: { type: "string" },
      rate: { type: "string" },
      stacks: { type: "string" },
      "check-seconds": { type: "string" },
      "base-port": { type: "string" },
      "node-arg": { type: "string", multiple: true },
      "keep-data": { type: "boolean" },
      "joins-max": { type: "string" },
      recheck: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}
