// Whether this node was removed from the cluster, by either way of learning it: it applied its own
// removal, or a member refused its handshake as removed.
import type { Logger } from "pino";
import type { NodeId } from "../raft/index.js";
import { NONE } from "../raft/index.js";
import type { TcpTransport } from "../transport/index.js";
import type { Driver } from "./driver.js";
import { NodeError } from "./errors.js";
import type { MemberTable } from "./members.js";
import { leaveMembers } from "./peer-links.js";

/** A removed node's answer to writes and reads: nothing was proposed; another member serves them. */
export function removedError(): NodeError {
  return new NodeError("stopped", "this node was removed from the cluster; use another member", NONE);
}

/**
 * A node that was down or cut off while its removal committed never applies it: nobody replicates to a
 * removed member, and the leader's goodbye (raft/membership.ts, tellRemoved) went nowhere. Restarted,
 * it dialled the members for good, each refusing it as an unknown node, a warning each, several a second.
 * A member that applied its removal now refuses it as removed (transport, RefuseCode "removed"), and it
 * then stops serving as a node that applied its removal does: writes and reads refused, no leader named,
 * its links dropped at once (the cluster moved on without it: nothing to hand off).
 *
 * One refusal is enough: a member refuses so only from its applied configuration, which holds committed
 * entries only, and a committed removal is final (ids are never reused). A stale member cannot lie: one
 * that has not applied the removal still accepts this node as a peer (no word), one that applied it is
 * right however far behind it is otherwise. An uncommitted removal in a member's log says nothing (the
 * configuration is the applied one; test/node/removed-uncommitted.test.ts), and a learner whose addition
 * a member has not applied yet gets a plain refusal and redials. The word is believed only from a node
 * of the member table this node knows (the addresses it dials) and, as every handshake, one with this
 * cluster's token, addressed to that member's id: a node the token lets in is trusted with votes and
 * appends already. It is not persisted: restarted again, the node is refused again and leaves again.
 */
export class Removal {
  /** The member that refused this node as removed, NONE until one did. */
  private toldBy: NodeId = NONE;

  constructor(
    private readonly driver: Driver,
    private readonly members: MemberTable,
    private readonly transport: TcpTransport,
    private readonly logger: Logger,
  ) {}

  /**
   * This node applied its own removal, or a member it knows said the removal committed. Then a
   * configuration change or snapshot applied later (its log replayed behind the refusal) must not make
   * it dial the members again (node.ts): it would be refused for good, silently.
   */
  get removed(): boolean {
    return this.toldBy !== NONE || this.driver.removed;
  }

  /**
   * Member `by` refused this node's handshake as removed. Ignored once removed already (a removed
   * leader hands off over its links first: node.ts, configApplied) and from a node the table lacks.
   */
  refusedBy(by: NodeId): void {
    if (this.removed || this.members.get(by) === undefined) return;
    this.toldBy = by;
    this.logger.warn(
      { by },
      "this node was removed from the cluster while it was away (a member refused it as removed): " +
        "it no longer serves as a member",
    );
    leaveMembers(this.transport, 0);
  }
}
