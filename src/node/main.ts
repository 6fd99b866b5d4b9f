import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { DiskStorage, NodeDisk, repair, StorageCorruptionError } from "../storage/index.js";
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
  const disk = new NodeDisk();
  const result = await repair(disk, dataDir);
  // The leader still believes this node holds its old log (its match index never goes back), so it
  // would never resend it. One term higher, with no vote (always safe), makes the node's first answer
  // depose that leader; the next leader starts from match 0 and restores this node by snapshot.
  const storage = await DiskStorage.open(disk, dataDir);
  const term = storage.initialState().hardState.term + 1;
  await storage.save({ hardState: { term, vote: 0, commit: 0 }, entries: [] });
  await storage.close();
  process.stdout.write(
    `repaired ${dataDir}: moved aside ${result.movedAside.join(", ") || "nothing"}; ` +
      `restarting at term ${term} with an empty log; start the node to rejoin\n`,
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
