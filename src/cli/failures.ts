// The one place a command's failure becomes its stderr line and exit code (README "Exit codes").
import { RaftstackError } from "../client/index.js";
import { EXIT_CORRUPT, EXIT_DEGRADED, EXIT_FAILURE, usageExitCode } from "../node/index.js";
import { BackupError } from "../storage/index.js";
import { connectionHint } from "./connection-hint.js";
import { ConsoleLockedError } from "./console-lock.js";
import { tokenHint } from "./credentials.js";
import { SnapshotFileError } from "./snapshot.js";
import { ClusterDegradedError } from "./status.js";

/**
 * A backup error's exit code: 1 for a data dir that is not empty (nothing was written), 3 for a
 * backup file that is damaged or not a backup (take another one).
 */
function backupExitCode(err: BackupError): number {
  return err.code === "data_dir_not_empty" ? EXIT_FAILURE : EXIT_CORRUPT;
}

/**
 * Prints a failed command's error and returns its exit code: a usage problem as `raftstack: <problem>`
 * (2), an error with a stable code as `raftstack: <code>[ (<reason>)]: <message>` (1, or 3 for a
 * damaged backup, 4 for a status that found the cluster not whole), with what to do where it is clear (TLS
 * settings, a token). Undefined for any other error: a bug, thrown on.
 */
export function failureExitCode(err: unknown, stderr: NodeJS.WritableStream): number | undefined {
  const usage = usageExitCode(err, stderr);
  if (usage !== undefined) return usage;
  if (err instanceof ClusterDegradedError) {
    stderr.write(`raftstack: ${err.code}: ${err.message}\n`);
    return EXIT_DEGRADED;
  }
  if (
    err instanceof RaftstackError ||
    err instanceof BackupError ||
    err instanceof SnapshotFileError ||
    err instanceof ConsoleLockedError
  ) {
    // The reason (a failed leadership transfer's) is as stable as the code: scripts may match on both.
    const reason = err instanceof RaftstackError && err.reason !== undefined ? ` (${err.reason})` : "";
    const hint =
      err instanceof RaftstackError
        ? err.status === 0
          ? connectionHint(err)
          : tokenHint(err.status)
        : undefined;
    stderr.write(`raftstack: ${err.code}${reason}: ${err.message}${hint === undefined ? "" : `; ${hint}`}\n`);
    return err instanceof BackupError ? backupExitCode(err) : EXIT_FAILURE;
  }
  return undefined;
}
