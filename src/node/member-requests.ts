import type { TransferFailureReason } from "../api/index.js";
import { DecodeError, Reader, Writer } from "../codec/index.js";
import { type ConfChangeOp, NONE, type NodeId, type TransferAbandonReason } from "../raft/index.js";
import type { Driver } from "./driver.js";
import { ConfChangeError, NodeError } from "./errors.js";
import { givenUpBeforeTimeoutNow } from "./hand-over.js";
import { encodeMemberContext, type MemberTable, memberUrlBytesMax } from "./members.js";
import type { Clock, Reply } from "./ports.js";

/**
 * A membership change as a follower forwards it to the leader: the leader picks the id of a new
 * member (`id` 0) from its table, so two followers never hand out one id.
 */
export interface MemberChange {
  readonly op: ConfChangeOp;
  /** 0: the next unused id (addLearner only). */
  readonly id: NodeId;
  readonly peerUrl: string;
  readonly clientUrl: string;
}

const OPS: readonly ConfChangeOp[] = ["addLearner", "promote", "remove", "update"];

export function encodeMemberChange(c: MemberChange): Uint8Array {
  const w = new Writer(16 + 3 * (c.peerUrl.length + c.clientUrl.length));
  w.u8(OPS.indexOf(c.op));
  w.varint(c.id);
  w.str(c.peerUrl);
  w.str(c.clientUrl);
  return w.finish();
}

export function decodeMemberChange(payload: Uint8Array): MemberChange | undefined {
  try {
    const r = new Reader(payload);
    const op = OPS[r.u8()];
    const change = { id: r.varint(), peerUrl: r.str(memberUrlBytesMax), clientUrl: r.str(memberUrlBytesMax) };
    if (op === undefined || !r.done) return undefined;
    return { op, ...change };
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}

/** A varint id: a member id, or 0 for "pick one" (transfer target, assigned id). */
export function encodeId(id: NodeId): Uint8Array {
  const w = new Writer(10);
  w.varint(id);
  return w.finish();
}

export function decodeId(payload: Uint8Array): NodeId | undefined {
  try {
    const r = new Reader(payload);
    const id = r.varint();
    return r.done ? id : undefined;
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}

/** The core's refusal as the NodeError a forwarded request answers with (same code, same leader). */
function asNodeError(err: unknown): NodeError {
  if (err instanceof NodeError) return err;
  if (err instanceof ConfChangeError) return new NodeError(err.code, err.message, err.leader);
  return new NodeError("internal", String(err));
}

/**
 * Leader: proposes `change` and answers the member's id once the change is applied here. The leader
 * assigns a new member's id from its applied table. While another change is pending (one at a time;
 * nothing was proposed) it tries again every tick until `deadlineMs`.
 */
export function runMemberChange(
  driver: Driver,
  members: MemberTable,
  timing: { readonly clock: Clock; readonly tickMs: number; readonly deadlineMs: number },
  change: MemberChange,
  reply: Reply<Uint8Array>,
): void {
  if (driver.raft.role !== "leader") {
    const leader = driver.raft.leader;
    reply.reject(
      leader === NONE
        ? new NodeError("no_leader", "no leader known; retry", NONE)
        : new NodeError("not_leader", `node ${leader} is the leader`, leader),
    );
    return;
  }
  // The core knows ids, not addresses: a second member on one peer URL would have its links reach the
  // member already there, which refuses every handshake addressed to another id (27 a second, for good).
  // A member publishing its addresses (`update`) may keep its own URL; a blank one keeps the known URL.
  const checked = change.op === "addLearner" || (change.op === "update" && change.peerUrl !== "");
  const holder = checked ? members.memberWithPeerUrl(change.peerUrl) : undefined;
  if (holder !== undefined && (change.op === "addLearner" || holder !== change.id)) {
    const why = `the change does not apply: peer URL ${change.peerUrl} is member ${holder}'s already`;
    reply.reject(new NodeError("config_invalid", why, driver.id));
    return;
  }
  const id = change.id === 0 ? members.nextMemberId : change.id;
  const context =
    change.op === "addLearner" || change.op === "update"
      ? encodeMemberContext({ peerUrl: change.peerUrl, clientUrl: change.clientUrl })
      : new Uint8Array(0);
  driver.proposeConfChange({ op: change.op, id, context }).then(
    () => reply.resolve(encodeId(id)),
    (err: unknown) => {
      const { clock, tickMs, deadlineMs } = timing;
      const pending = err instanceof ConfChangeError && err.code === "config_change_pending";
      if (!pending || clock.now() + tickMs >= deadlineMs) {
        reply.reject(asNodeError(err));
        return;
      }
      const cancel = clock.every(tickMs, () => {
        cancel();
        runMemberChange(driver, members, timing, change, reply);
      });
    },
  );
}

/**
 * Leader: hands leadership to `target` (0: the one Raft.handOffTarget picks) and answers the new leader once
 * this node sees it lead, or transfer_failed: `outcome_unknown` at `deadlineMs`, or, at once, the reason the
 * core gave the transfer up before TimeoutNow (nothing changed: this node still leads).
 */
export function runTransfer(
  driver: Driver,
  clock: Clock,
  tickMs: number,
  target: NodeId,
  deadlineMs: number,
  reply: Reply<Uint8Array>,
): void {
  const status = driver.raft.status();
  if (status.role !== "leader") {
    reply.reject(
      new NodeError(status.leader === NONE ? "no_leader" : "not_leader", "not the leader", status.leader),
    );
    return;
  }
  const to = target === 0 ? driver.raft.handOffTarget() : target;
  if (to === driver.id) {
    reply.resolve(encodeId(to));
    return;
  }
  if (to === NONE || !status.config.voters.includes(to)) {
    const why = to === NONE ? "no other active voter can take leadership" : `node ${to} is not a voter`;
    reply.reject(new NodeError("config_invalid", why, driver.id));
    return;
  }
  if (!driver.transferLeadership(to)) {
    reply.reject(new NodeError("not_leader", "leadership moved before the transfer", driver.raft.leader));
    return;
  }
  const cancel = clock.every(tickMs, () => {
    const leader = driver.raft.leader;
    const givenUp = givenUpBeforeTimeoutNow(driver.raft, to);
    if (leader === to) reply.resolve(encodeId(to));
    else if (givenUp !== undefined)
      // Known now rather than at the deadline: the target was never told to campaign, and this node leads on.
      reply.reject(
        new NodeError("transfer_failed", givenUpText(to, leader, givenUp), leader, failureOf[givenUp]),
      );
    else if (clock.now() >= deadlineMs)
      reply.reject(
        transferOutcomeUnknown(`node ${to} did not take leadership within the request timeout`, leader),
      );
    else return;
    cancel();
  });
}

/** The API's reason for each reason the core gives a transfer up before TimeoutNow. */
const failureOf: Readonly<Record<TransferAbandonReason, TransferFailureReason>> = {
  targetSilent: "target_unreachable",
  timedOut: "target_not_caught_up",
  targetRemoved: "target_removed",
};

/** A transfer whose target was not seen leading (`what` happened instead): it may still take over. */
export function transferOutcomeUnknown(what: string, leader: NodeId): NodeError {
  const text = `${what}; the target may still take over (GET /v1/cluster shows the leader)`;
  return new NodeError("transfer_failed", text, leader, "outcome_unknown");
}

function givenUpText(to: NodeId, leader: NodeId, reason: TransferAbandonReason): string {
  const why =
    reason === "targetSilent"
      ? `node ${to} is unreachable and did not answer for three heartbeat intervals`
      : reason === "targetRemoved"
        ? `node ${to} was removed from the cluster`
        : `node ${to} was not caught up within an election timeout`;
  return `the transfer to node ${to} was given up before TimeoutNow (${why}); node ${leader} still leads`;
}
