import { realpathSync, statSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Command, CommanderError } from "commander";
import { AcknowledgedEntriesLostError } from "../raft/index.js";
import { NodeDisk, repair, StorageCorruptionError, StorageError } from "../storage/index.js";
import { addNodeFlags, hasNodeFlagsOnLine, nodeInputOf, PRECEDENCE_TEXT } from "./flags.js";
import { type NodeOptions, UsageError, validateNodeOptions } from "./options.js";
import { startNode } from "./start.js";
import { TestHooks } from "./test-hooks.js";

/**
 * Exit codes of every raftstack command, declared once here (README "Exit codes" lists them):
 * 0 success (for a node: stopped by SIGTERM/SIGINT), 1 an error answer, no node reachable or a node
 * that failed (or could not start: a port in use), 2 bad usage (flags, environment or config file), 3 damaged or lost storage (run repair)
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
  "2 bad usage, 3 a node refused to start on damaged storage or stopped on a data dir that lost acknowledged entries " +
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
              `putting acknowledged writes at risk run: raftstack repair --data-dir ${options.dataDir}\n`,
          );
          process.exit(EXIT_CORRUPT);
        }
        process.stderr.write(`raftstack: node ${options.id} stopped: ${(err as Error).message}\n`);
        process.exit(EXIT_FAILURE);
      },
    });
  } catch (err) {
    if (err instanceof StorageCorruptionError) {
      process.stderr.write(`raftstack: refusing to start: ${err.message}\n`);
      return EXIT_CORRUPT;
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

/** `raftstack repair --data-dir D`: moves damaged WAL/snapshots aside so the node rejoins empty. */
export async function runRepair(dataDir: string, progress?: ProgressFactory): Promise<number> {
  let result: Awaited<ReturnType<typeof repair>>;
  let sink: ProgressSink | undefined;
  try {
    result = await repair(new NodeDisk(), dataDir, {
      onProgress: (done, total) => {
        sink ??= progress?.("repair: WAL", total, "segments");
        sink?.update(done);
      },
    });
  } catch (err) {
    if (!(err instanceof StorageError)) throw err;
    process.stderr.write(`raftstack repair: ${err.message}\n`);
    return EXIT_FAILURE;
  } finally {
    sink?.finish();
  }
  // Term and vote stay as recovered (a higher term would be a driver-side patch): the node starts
  // `recovering`, grants no votes and counts towards no quorum until a leader has restored its log.
  const { term, vote } = result.hardState;
  const moved =
    result.movedAside.length === 0
      ? "already repaired, nothing moved"
      : `moved aside ${result.movedAside.join(", ")}`;
  process.stdout.write(
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

/** What the node commands need from the program that hosts them. */
export interface NodeCommandContext {
  /** Where actions leave the process exit code (commander actions return nothing). */
  exitCode: number;
  readonly env: NodeJS.ProcessEnv;
  /** Runs a node until it stops (runNode; tests pass a stand-in). */
  readonly runNode: (options: NodeOptions) => Promise<number>;
  /** Progress of long work (repair); absent: none shown. */
  readonly progress?: ProgressFactory;
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
    .action(async (opts: { dataDir: string }) => {
      assertRepairDir(opts.dataDir);
      ctx.exitCode = await runRepair(opts.dataDir, ctx.progress);
    });
  return program;
}

/** A repair path that is missing or not a directory is a mistyped flag, not damage: exit 2 before any work. */
function assertRepairDir(dataDir: string): void {
  const stat = statSync(dataDir, { throwIfNoEntry: false });
  if (stat === undefined)
    throw new UsageError("invalid_value", `repair: --data-dir ${dataDir} does not exist`);
  if (!stat.isDirectory())
    throw new UsageError("invalid_value", `repair: --data-dir ${dataDir} is not a directory`);
}

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
