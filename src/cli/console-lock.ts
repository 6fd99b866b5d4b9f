// One `raftstack cluster` console per base dir: a second one would start nodes on the same data dirs
// (refused, each locked by the first console's node) and, with the same flags, the same ports.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { NodeDisk } from "../storage/index.js";

/** The directory under --base-dir whose lock file names the console that runs there. */
export const CONSOLE_LOCK_DIR = "raftstack-console.lock";

/** Another live console holds the base dir (exit 1, README "Exit codes"). */
export class ConsoleLockedError extends Error {
  override readonly name = "ConsoleLockedError";
  readonly code = "console_locked";
  constructor(
    readonly baseDir: string,
    readonly holderPid: number,
  ) {
    super(
      `another raftstack cluster console (pid ${holderPid}) runs in ${baseDir} and supervises its nodes; ` +
        `use that one (or stop it: quit or Ctrl-C in its terminal), or give this one another --base-dir`,
    );
  }
}

/**
 * Takes <baseDir>/raftstack-console.lock/ for this process and returns its release. The storage layer's
 * directory lock holds it: a file naming this pid, taken atomically, and a lock whose holder died (a
 * console killed with SIGKILL) is taken over. Throws ConsoleLockedError while another console lives.
 */
export async function lockConsole(baseDir: string): Promise<() => Promise<void>> {
  const dir = join(baseDir, CONSOLE_LOCK_DIR);
  await mkdir(dir, { recursive: true });
  const lock = await new NodeDisk().lockDir(dir, "raftstack cluster console");
  if (!lock.ok) throw new ConsoleLockedError(baseDir, lock.holder.pid);
  return () => lock.release();
}
