import { realpathSync } from "node:fs";
import { stat } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { Command, CommanderError } from "commander";
import { AcknowledgedEntriesLostError } from "../raft/index.js";
import { NodeDisk, repair, repairRefusal, StorageCorruptionError, StorageError } from "../storage/index.js";
import { addNodeFlags, hasNodeFlagsOnLine, nodeInputOf, PRECEDENCE_TEXT } from "./flags.js";
import { type NodeOptions, UsageError, validateNodeOptions } from "./options.js";
import { startNode } from "./start.js";
import { TestHooks } from "./test-hooks.js";

/**
 * Exit codes of every raftstack command, declared once here (README "Exit codes" lists them):
 * 0 success (for a node: stopped by SIGTERM/SIGINT), 1 an error answer, no node reachable or a node
 * that failed (or could not start: a port in use), 2 bad usage (flags, environment or config file; a data dir that belongs to another node id), 3 damaged or lost storage (run repair)
 * or a damaged backup file (snapshot restore), 4 `status` printed a cluster that is not whole (no leader
 * known, a member down or unreachable, or one cut off from the leader).
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_CORRUPT = 3;
export const EXIT_DEGRADED = 4;
export const EXIT_CODES_TEXT =
  "Exit codes: 0 success, 1 an error answer (a 401/403: give --token or RAFTSTACK_TOKEN), no node reachable or a node that could not start (a port in use), " +
  "2 bad usage (also a node started on another node's data dir), 3 a node refused to start on damaged storage or stopped on a data dir that lost acknowledged entries " +
  "(run raftstack repair), or a backup file is damaged, 4 status: no leader known or a member down, unreachable or cut off.";

/**
 * Runs a node until SIGTERM/SIGINT, then shuts down gracefully (leadership handed over first).
 * Resolves with the process exit code.
 */
export async function runNode(options: NodeOptions): Promise<number> {
  let running: Awaited<ReturnType<typeof startNode>>;
  let testHooks: TestHooks | undefined;
  try {
    testHooks = TestHooks.fromEnv(process.env);
  } catch (err) {
    process.stderr.write(`raftstack: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  if (testHooks !== undefined)
    process.stderr.write(
      `raftstack: TEST HOOKS ON (mutations: ${[...testHooks.mutations].join(",") || "none"})\n`,
    );
  try {
    running = await startNode(options, {
      processMetrics: true,
      ...(testHooks === undefined ? {} : { testHooks }),
      onFatal: (err) => {
        if (err instanceof AcknowledgedEntriesLostError) {
          process.stderr.write(
            `raftstack: node ${options.id} stopped: ${err.message}. Its data dir lost entries it had ` +
              `acknowledged (deleted, replaced or restored from an older copy?). To rejoin without ` +
              `putting acknowledged writes at risk (the leader restores them) run: raftstack repair --force ` +
              `--data-dir ${options.dataDir} (--force: the data dir itself reads cleanly)\n`,
          );
          process.exit(EXIT_CORRUPT);
        }
        process.stderr.write(`raftstack: node ${options.id} stopped: ${(err as Error).message}\n`);
        process.exit(EXIT_FAILURE);
      },
    });
  } catch (err) {
    if (err instanceof StorageCorruptionError) {
      // The only voter's repair loses its acknowledged writes: say so, and name --force, instead.
      const refusal = await repairRefusal(new NodeDisk(), options.dataDir, options.id).catch(() => undefined);
      const advice =
        refusal?.code === "repair_sole_voter" ? `${err.damage}; ${refusal.message}` : err.message;
      process.stderr.write(`raftstack: refusing to start: ${advice}\n`);
      return EXIT_CORRUPT;
    }
    // Another node's data dir: the flags are wrong (--id or --data-dir), the data is fine.
    if (err instanceof StorageError && err.code === "node_id_mismatch") {
      process.stderr.write(`raftstack: refusing to start: ${err.message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`raftstack: cannot start node ${options.id}: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  }
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`raftstack: ${signal}, shutting down node ${options.id}\n`);
      running.close().then(
        () => resolve(EXIT_OK),
        () => resolve(EXIT_FAILURE),
      );
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}

/**
 * `raftstack repair --data-dir D [--force]`: moves damaged WAL/snapshots aside so the node rejoins empty.
 * Refused (exit 2) without `force` on an intact data dir or the only voter's; a missing one is a usage error.
 */
export async function runRepair(dataDir: string, how: RepairHow = {}): Promise<number> {
  const { force = false, progress, out = process.stdout, err: errOut = process.stderr } = how;
  const found = await stat(dataDir).catch(() => undefined);
  if (found === undefined) {
    throw new UsageError("invalid_value", `repair: --data-dir ${dataDir} does not exist`);
  }
  if (!found.isDirectory()) {
    throw new UsageError("invalid_value", `repair: --data-dir ${dataDir} is not a directory`);
  }
  let result: Awaited<ReturnType<typeof repair>>;
  let sink: ProgressSink | undefined;
  try {
    result = await repair(new NodeDisk(), dataDir, {
      force,
      onProgress: (done, total) => {
        sink ??= progress?.("repair: WAL", total, "segments");
        sink?.update(done);
      },
    });
  } catch (err) {
    if (!(err instanceof StorageError)) throw err;
    errOut.write(`raftstack repair: ${err.code}: ${err.message}\n`);
    return err.code === "repair_not_needed" || err.code === "repair_sole_voter" ? EXIT_USAGE : EXIT_FAILURE;
  } finally {
    sink?.finish();
  }
  if (result.overridden !== undefined) {
    const { code, message } = result.overridden;
    errOut.write(`raftstack repair: --force: overrode ${code}: ${message}\n`);
  }
  // Term and vote stay as recovered (a higher term would be a driver-side patch): the node starts
  // `recovering`, grants no votes and counts towards no quorum until a leader has restored its log.
  const { term, vote } = result.hardState;
  const moved =
    result.movedAside.length === 0
      ? "already repaired, nothing moved"
      : `moved aside ${result.movedAside.join(", ")}`;
  out.write(
    `repaired ${dataDir}: ${moved}; the node keeps term ${term} and vote ${vote} with an empty log and ` +
      `grants no votes until the leader has restored it; start the node to rejoin\n`,
  );
  return EXIT_OK;
}

/** How far long work got: done of a total, drawn by the CLI (src/cli/progress.ts) on its terminal. */
export interface ProgressSink {
  update(done: number): void;
  finish(): void;
}
export type ProgressFactory = (label: string, total: number, unit: "segments") => ProgressSink;

/** How `repair` runs: forced or not, where its progress and messages go (default: the process's streams). */
export interface RepairHow {
  readonly force?: boolean;
  readonly progress?: ProgressFactory | undefined;
  readonly out?: NodeJS.WritableStream;
  readonly err?: NodeJS.WritableStream;
}

/** What the node commands need from the program that hosts them. */
export interface NodeCommandContext {
  /** Where actions leave the process exit code (commander actions return nothing). */
  exitCode: number;
  readonly env: NodeJS.ProcessEnv;
  /** Runs a node until it stops (runNode; tests pass a stand-in). */
  readonly runNode: (options: NodeOptions) => Promise<number>;
  /** Progress of long work (repair); absent: none shown. */
  readonly progress?: ProgressFactory;
  /** Where repair prints its outcome; absent: the process's stdout and stderr. */
  readonly out?: NodeJS.WritableStream;
  readonly err?: NodeJS.WritableStream;
}

const NODE_OPTIONS_GROUP = "Node options (start a node: raftstack --id N --cluster URL,... --port P):";

/**
 * Adds the ways to start a node to `program`: the seed's bare flags (`raftstack --id 1 --cluster ...
 * --port 12380`), `raftstack node <flags>`, and `raftstack repair`. Commands added later stay free
 * to reuse flag names: the program's own options are read only before a command word.
 */
export function addNodeCommands(program: Command, ctx: NodeCommandContext): Command {
  const helpText = `\n${PRECEDENCE_TEXT}\n${EXIT_CODES_TEXT}`;
  const start = async (cmd: Command) => {
    ctx.exitCode = await ctx.runNode(validateNodeOptions(nodeInputOf(cmd, ctx.env)));
  };
  addNodeFlags(program, NODE_OPTIONS_GROUP)
    .enablePositionalOptions()
    .allowExcessArguments(true)
    .addHelpText("after", helpText)
    .hook("preSubcommand", (cmd, sub) => {
      if (hasNodeFlagsOnLine(cmd)) {
        throw new UsageError(
          "invalid_value",
          `node flags start a node: drop them or the command ${sub.name()}`,
        );
      }
    })
    .action(async () => {
      const [word] = program.args;
      if (word !== undefined) {
        throw new UsageError("unknown_command", `unknown command ${JSON.stringify(word)} (see --help)`);
      }
      if (Object.keys(nodeInputOf(program, ctx.env).values).length === 0) {
        program.outputHelp({ error: true });
        ctx.exitCode = EXIT_USAGE;
        return;
      }
      await start(program);
    });
  addNodeFlags(program.command("node").description("start one node (the same as the node options alone)"))
    .addHelpText("after", helpText)
    .action((_opts: unknown, cmd: Command) => start(cmd));
  program
    .command("repair")
    .description("move a damaged WAL/snapshot aside so the node restarts empty and catches up")
    .requiredOption("--data-dir <dir>", "the node's data directory")
    .addHelpText(
      "after",
      "\nWithout --force, repair refuses (exit 2, nothing changed) a data dir the node starts on as it is\n" +
        "(repair_not_needed), and one whose last known membership has a single voter (repair_sole_voter:\n" +
        "no other member holds its acknowledged writes).",
    )
    .option(
      "--force",
      "repair even an intact data dir (the leader rebuilds its whole log) or the only voter's " +
        "(its acknowledged writes are lost unless a backup holds them)",
    )
    .action(async (opts: { dataDir: string; force?: true }) => {
      ctx.exitCode = await runRepair(opts.dataDir, {
        force: opts.force === true,
        progress: ctx.progress,
        ...(ctx.out && { out: ctx.out }),
        ...(ctx.err && { err: ctx.err }),
      });
    });
  return program;
}

/** A repair path that is missing or not a directory is a mistyped flag, not damage: exit 2 before any work. */
/**
 * Commander's own usage errors ("error: missing required argument 'id'") in the form every other error of
 * the command takes ("raftstack: missing required argument 'id'"), as README "Exit codes" says.
 */
export function usageErrorText(commanderText: string): string {
  return commanderText.replace(/^error: /, "raftstack: ");
}

/**
 * The exit code of a usage problem, after printing it to `stderr` (commander prints its own);
 * undefined for any other error.
 */
export function usageExitCode(err: unknown, stderr: NodeJS.WritableStream): number | undefined {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (err instanceof UsageError) {
    stderr.write(`raftstack: ${err.message}\n`);
    return EXIT_USAGE;
  }
  return undefined;
}

/** The node entry (`node dist/src/node/main.js --id ...`, also `node ...` and `repair ...`). */
export async function main(argv: readonly string[]): Promise<number> {
  const ctx: NodeCommandContext = { exitCode: EXIT_OK, env: process.env, runNode };
  const program = new Command("raftstack")
    .configureOutput({ outputError: (text, write) => write(usageErrorText(text)) })
    .exitOverride();
  try {
    await addNodeCommands(program, ctx).parseAsync([...argv], { from: "user" });
    return ctx.exitCode;
  } catch (err) {
    const code = usageExitCode(err, process.stderr);
    if (code !== undefined) return code;
    throw err;
  }
}

function isEntry(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntry()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`raftstack: ${(err as Error).stack ?? err}\n`);
      process.exit(EXIT_FAILURE);
    },
  );
}
