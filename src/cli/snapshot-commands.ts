import type { Command } from "commander";
import { TIMEOUT_MS_DEFAULT } from "../client/index.js";
import { type ClientFlags, positiveInt, withEndpoints } from "./client-commands.js";
import type { Io } from "./program.js";
import { type RestoreFlags, restoreFromFile, SAVE_DEADLINE_MS_DEFAULT, saveBackup } from "./snapshot.js";

/**
 * `raftstack snapshot save FILE` and `raftstack snapshot restore FILE`. Their failures are thrown, and
 * printed with their exit codes as every command's are (failures.ts).
 */
export function addSnapshotCommands(program: Command, io: Io): void {
  const snapshot = program
    .command("snapshot")
    .description("back up the cluster to a file, or seed a new cluster's data dirs from one");
  withEndpoints(
    snapshot
      .command("save")
      .description(
        "stream a consistent snapshot from the leader into FILE (checksummed, written atomically)",
      ),
  )
    .argument("<file>")
    .option(
      "--timeout-ms <ms>",
      "per-attempt timeout of finding the leader",
      positiveInt("--timeout-ms"),
      TIMEOUT_MS_DEFAULT,
    )
    .option(
      "--deadline-ms <ms>",
      "overall deadline: finding the leader and the whole download",
      positiveInt("--deadline-ms"),
      SAVE_DEADLINE_MS_DEFAULT,
    )
    .action(async (file: string, flags: ClientFlags) => {
      const saved = await saveBackup(file, flags, io.err);
      io.out.write(
        `saved ${saved.file}: snapshot at index ${saved.index} from node ${saved.node}, ` +
          `${saved.bytes} bytes, sha256 ${saved.sha256}\n`,
      );
    });

  snapshot
    .command("restore")
    .description("seed an empty data dir from FILE as a member of a new cluster (run once per member)")
    .argument("<file>")
    .requiredOption("--data-dir <dir>", "the new member's data dir (must be empty or missing)")
    .requiredOption("--id <n>", "the new member's id (its place in --cluster)", positiveInt("--id"))
    .requiredOption(
      "--cluster <urls>",
      "every member's peer URL in id order, as the nodes will be started with",
    )
    .addHelpText(
      "after",
      "\nRestore every member of the new cluster from the same file, then start them with the same --cluster.\n" +
        "Exit codes: 1 the data dir is not empty, 3 the file is damaged or not a backup.",
    )
    .action(async (file: string, flags: RestoreFlags) => {
      const r = await restoreFromFile(file, flags, io.err);
      io.out.write(
        `restored ${file} into ${flags.dataDir}: member ${flags.id} of voters [${r.voters.join(", ")}], ` +
          `snapshot at index ${r.index}, term ${r.term}; start the node with the same --cluster\n`,
      );
    });
}
