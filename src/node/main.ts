import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { NodeDisk, repair, StorageCorruptionError, StorageError } from "../storage/index.js";
import { parseNodeArgs, UsageError } from "./options.js";
import { startNode } from "./start.js";

/** Exit codes: 2 bad flags, 3 damaged storage (run repair), 1 anything else. */
export const EXIT_USAGE = 2;
export const EXIT_CORRUPT = 3;

/**
 * `raftstack [node] --id N --cluster URL,... --port P ...`: runs a node until SIGTERM/SIGINT, then
 * shuts down gracefully (leadership handed over first). Resolves with the process exit code.
 */
export async function runNodeCommand(argv: readonly string[]): Promise<number> {
  let options: ReturnType<typeof parseNodeArgs>;
  try {
    options = parseNodeArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`raftstack: ${err.message}\n`);
    return EXIT_USAGE;
  }
  let running: Awaited<ReturnType<typeof startNode>>;
  try {
    running = await startNode(options, {
      processMetrics: true,
      onFatal: (err) => {
        process.stderr.write(`raftstack: node ${options.id} stopped: ${(err as Error).message}\n`);
        process.exit(1);
      },
    });
  } catch (err) {
    if (err instanceof StorageCorruptionError) {
      process.stderr.write(`raftstack: refusing to start: ${err.message}\n`);
      return EXIT_CORRUPT;
    }
    process.stderr.write(`raftstack: cannot start node ${options.id}: ${(err as Error).message}\n`);
    return 1;
  }
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`raftstack: ${signal}, shutting down node ${options.id}\n`);
      running.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}

/** `raftstack repair --data-dir D`: moves damaged WAL/snapshots aside so the node rejoins empty. */
export async function runRepairCommand(argv: readonly string[]): Promise<number> {
  let dataDir: string | undefined;
  try {
    dataDir = parseArgs({ args: [...argv], options: { "data-dir": { type: "string" } }, strict: true })
      .values["data-dir"];
  } catch (err) {
    process.stderr.write(`raftstack repair: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  if (dataDir === undefined) {
    process.stderr.write("raftstack repair: --data-dir is required\n");
    return EXIT_USAGE;
  }
  let result: Awaited<ReturnType<typeof repair>>;
  try {
    result = await repair(new NodeDisk(), dataDir);
  } catch (err) {
    if (!(err instanceof StorageError)) throw err;
    process.stderr.write(`raftstack repair: ${err.message}\n`);
    return 1;
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
  return 0;
}

/** Dispatches `repair ...`, `node ...` or bare node flags. */
export async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === "repair") return runRepairCommand(argv.slice(1));
  if (argv[0] === "node") return runNodeCommand(argv.slice(1));
  return runNodeCommand(argv);
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
      process.exit(1);
    },
  );
}
