// A node started with --join serves nothing until a leader adds it and replicates to it. Started before
// anyone ran `raftstack member add` (or added at another address), it used to wait in silence.
import type { NodeOptions } from "./options.js";
import type { Clock } from "./ports.js";

/** How often a joining node that no leader has added yet says so, with the command that adds it. */
export const JOIN_WAIT_WARN_EVERY_MS = 10_000;

/**
 * The command that adds this node as it runs: its peer URL and id (the leader would pick another id
 * otherwise, and never reach this one), its client URL as published, and the members' client URLs where --client-urls
 * named them (others are never guessed; a placeholder then).
 */
export function memberAddCommand(options: NodeOptions, clientUrl: string): string {
  const self = options.members.find((m) => m.id === options.id);
  const endpoints = options.members
    .filter((m) => m.id !== options.id && m.clientUrl !== undefined)
    .map((m) => m.clientUrl)
    .join(",");
  return [
    "raftstack member add",
    self?.peerUrl ?? options.listenPeerUrl,
    `--id ${options.id}`,
    `--client-url ${clientUrl}`,
    `--endpoints ${endpoints === "" ? "<a member's client URL>" : endpoints}`,
  ].join(" ");
}

/**
 * Calls `warn` every JOIN_WAIT_WARN_EVERY_MS on `clock` while `waiting()` holds (no configuration applied
 * that names this node), with the time waited; stops for good once it does not. Returns the stop.
 */
export function watchJoinWait(
  clock: Clock,
  waiting: () => boolean,
  warn: (waitedMs: number) => void,
): () => void {
  const startedMs = clock.now();
  const cancel = clock.every(JOIN_WAIT_WARN_EVERY_MS, () => {
    if (waiting()) warn(clock.now() - startedMs);
    else cancel();
  });
  return cancel;
}
