// What the cluster console remembers across its runs in one base dir: the nodes `add` started and the
// ids `remove` took out. A console started again in that folder then runs the cluster as it was left,
// instead of starting a removed node and leaving an added one to the user.
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../node/index.js";

/** A node `add` started: its ports, the --cluster it joined with, and whether it was seen as a voter. */
export interface AddedNode {
  readonly id: number;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly respPort?: number;
  readonly cluster: string;
  /** Not yet seen as a voter: it starts with --join again. */
  readonly joining: boolean;
}

export interface ConsoleState {
  readonly added: readonly AddedNode[];
  readonly removed: readonly number[];
}

export const CONSOLE_STATE_FILE = "raftstack-console.json";

const isId = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;
const isPort = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65_535;

function isAddedNode(v: unknown): v is AddedNode {
  if (typeof v !== "object" || v === null) return false;
  const a = v as Record<string, unknown>;
  return (
    isId(a.id) &&
    isPort(a.clientPort) &&
    isPort(a.peerPort) &&
    (a.respPort === undefined || isPort(a.respPort)) &&
    typeof a.cluster === "string" &&
    typeof a.joining === "boolean"
  );
}

/**
 * The state saved in `baseDir`; empty when there is none. A file it cannot read stops the console (exit 2,
 * naming the file) rather than have it guess the cluster.
 */
export function readConsoleState(baseDir: string): ConsoleState {
  const path = join(baseDir, CONSOLE_STATE_FILE);
  if (!existsSync(path)) return { added: [], removed: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new UsageError("invalid_value", `${path} is not JSON; move it away to start without it`, {
      cause: err,
    });
  }
  const s = parsed as Partial<Record<keyof ConsoleState, unknown>>;
  if (
    !Array.isArray(s.added) ||
    !s.added.every(isAddedNode) ||
    !Array.isArray(s.removed) ||
    !s.removed.every(isId)
  )
    throw new UsageError(
      "invalid_value",
      `${path} is not a console state file; move it away to start without it`,
    );
  return { added: s.added, removed: s.removed };
}

/** Replaces the state in `baseDir` whole (a crash leaves the old file or the new one). */
export function writeConsoleState(baseDir: string, state: ConsoleState): void {
  const path = join(baseDir, CONSOLE_STATE_FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

/** A data dir a joining node may start in: missing or empty (else it holds some cluster's state). */
export function isEmptyDir(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}
