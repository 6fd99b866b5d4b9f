import { NONE, type NodeId, type Raft, type TransferAbandonReason } from "../raft/index.js";
import type { Clock } from "./ports.js";
import { waitUntil } from "./wait.js";

/**
 * Why the leader's core gave its transfer to `to` up before sending TimeoutNow: `to` was never told to
 * campaign, so it will not lead because of this transfer. Undefined while the transfer runs, once
 * TimeoutNow is out (the target may still win), and when the core's last transfer was to another node.
 */
export function givenUpBeforeTimeoutNow(raft: Raft, to: NodeId): TransferAbandonReason | undefined {
  const transfer = raft.transfer;
  return transfer?.to === to && !transfer.timeoutNowSent ? transfer.abandoned : undefined;
}

/** What a stopping leader's hand-over needs of its driver. */
export interface HandOverPorts {
  readonly raft: Raft;
  readonly clock: Clock;
  readonly tickMs: number;
  /** Asks the core to transfer to `to`; false if this node no longer leads (or is stopped). */
  transfer(to: NodeId): boolean;
  stopped(): boolean;
}

/**
 * A leader hands leadership to the voter Raft.handOffTarget picks and waits up to `waitMs`; true once
 * this node no longer leads. When the core gives that target up before TimeoutNow (reported unreachable
 * and silent: it died right after it was picked), the next-ranked voter gets one try in the time left.
 * Not after TimeoutNow: the first target may be campaigning, and a second transfer would race it.
 */
export async function handOver(ports: HandOverPorts, waitMs: number): Promise<boolean> {
  const { raft, clock } = ports;
  if (raft.role !== "leader") return true;
  const deadlineMs = clock.now() + waitMs;
  const first = raft.handOffTarget();
  if (await handOverTo(ports, first, deadlineMs)) return true;
  if (first === NONE || givenUpBeforeTimeoutNow(raft, first) === undefined) return false;
  return handOverTo(ports, raft.handOffTarget(first), deadlineMs);
}

/** Transfers to `to` and waits until this node no longer leads, the core gives `to` up, or the deadline. */
async function handOverTo(ports: HandOverPorts, to: NodeId, deadlineMs: number): Promise<boolean> {
  const { raft, clock, tickMs } = ports;
  if (to === NONE || !ports.transfer(to)) return false;
  const done = () =>
    raft.role !== "leader" || ports.stopped() || givenUpBeforeTimeoutNow(raft, to) !== undefined;
  await waitUntil(clock, tickMs, deadlineMs, done);
  return raft.role !== "leader";
}
