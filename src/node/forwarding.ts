import { NONE, type NodeId } from "../raft/index.js";
import type { ForwardRequest, ForwardResult } from "../transport/index.js";
import { NodeError, nodeErrorOfForward } from "./errors.js";
import type { Reply } from "./ports.js";

/** Runs a request of `kind` on this node, which believes it leads; answers the payload of its result. */
export type LeaderHandler = (kind: number, payload: Uint8Array, reply: Reply<Uint8Array>) => void;

/**
 * The answer to a forwarded request. `earlierMayRun` with a result: an earlier attempt got no answer
 * saying it did not run (Pending.mayHaveRun); its frame may even be on its way still, and run later.
 */
export interface ForwardReply {
  resolve(payload: Uint8Array, earlierMayRun: boolean): void;
  reject(error: NodeError): void;
}

/** Outbound requests to the leader: the peer transport in production. */
export interface ForwardNetwork {
  /** Queues `request` for `to`; false if it could not be queued (then it is retried later). */
  forward(to: NodeId, request: ForwardRequest): boolean;
  /** The peer protocol version `to` said in its latest HELLO (0: none yet), see transport/codec.ts. */
  peerVersion(to: NodeId): number;
}

/**
 * A request that stands for several writes (a follower's RESP run): counted as `commands` requests
 * against requestsPendingMax, and sent only to a leader whose HELLO said `version` at least. For an
 * older leader it leaves this queue and `instead` submits its writes one by one; `tried`: the request
 * was sent or run before, so its outcome may be known to another leader only.
 */
export interface Bundle {
  readonly commands: number;
  readonly version: number;
  readonly instead: (tried: boolean) => void;
}

export interface ForwarderDeps {
  readonly self: NodeId;
  /** The leader this node knows of (NONE during an election). */
  readonly leader: () => NodeId;
  readonly network: ForwardNetwork;
  /** Runs a request here once this node leads. */
  readonly local: LeaderHandler;
  /** First request id; random per process, so the leader never takes a restarted node's id for an old one's. */
  readonly firstRequestId: number;
  readonly requestsPendingMax: number;
}

interface Pending {
  readonly request: ForwardRequest;
  readonly deadlineMs: number;
  readonly reply: ForwardReply;
  /** Where it was sent last and is awaiting an answer; NONE while it waits for a leader. */
  sentTo: NodeId;
  /** Sent or run at least once: at its deadline the outcome is unknown rather than "never proposed". */
  tried: boolean;
  /**
   * An attempt ended without an answer saying it did not run (its answer was lost, or said "outcome
   * unknown"): a later refusal (busy, nothing run *this* time) is then no answer, the outcome is unknown.
   */
  mayHaveRun: boolean;
  /** Safe to run twice (a keyed write): sent again after an unknown outcome, not only after a refusal. */
  readonly idempotent: boolean;
  readonly bundle: Bundle | undefined;
}

/**
 * Requests that must run on the leader, from a node that may not be it: forwarded to the leader over
 * the peer connection (the answer comes back on it) or run here once this node leads, and tried again
 * on the next leader while the deadline allows: after a refusal (nothing was run), after a lost
 * connection or an unknown outcome, if it is safe to repeat: a keyed write (a retry whose first attempt
 * was applied gets the first outcome) or a read. A request that is not (a keyless write, a membership
 * change) is sent again only after a refusal.
 */
export class Forwarder {
  private readonly pending = new Map<number, Pending>();
  /** The pending requests counted as requestsPendingMax counts them (a bundle as its commands). */
  private weight = 0;
  private nextRequestId: number;

  constructor(private readonly deps: ForwarderDeps) {
    this.nextRequestId = deps.firstRequestId;
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Sends `kind`/`payload` to the leader (or runs it here if this node leads) until `deadlineMs`. A
   * request that is not `idempotent` is sent again only after a refusal (nothing was run); an unknown
   * outcome is its answer. A `bundle` (a run) is idempotent only if its writes carry keys.
   */
  submit(
    kind: number,
    payload: Uint8Array,
    deadlineMs: number,
    reply: ForwardReply,
    idempotent = true,
    bundle?: Bundle,
  ): void {
    const weight = bundle?.commands ?? 1;
    if (this.weight + weight > this.deps.requestsPendingMax) {
      reply.reject(
        new NodeError("busy", "too many requests waiting for the leader; retry", this.deps.leader()),
      );
      return;
    }
    const requestId = this.nextRequestId++;
    const p: Pending = {
      request: { requestId, kind, payload },
      deadlineMs,
      reply,
      sentTo: NONE,
      tried: false,
      mayHaveRun: false,
      idempotent,
      bundle,
    };
    this.pending.set(requestId, p);
    this.weight += weight;
    this.dispatch(p, this.deps.leader());
  }

  /** The leader changed: requests waiting for one, or sent to the old one, go to the new one. */
  leaderChanged(leader: NodeId): void {
    if (leader === NONE) return;
    for (const p of this.pending.values()) {
      if (p.sentTo === leader || (!p.idempotent && p.sentTo !== NONE)) continue;
      // The old leader's answer, if any, will not be read.
      if (p.sentTo !== NONE) p.mayHaveRun = true;
      this.dispatch(p, leader);
    }
  }

  /** The connection to `peer` broke: answers to what was sent on it are lost, so it is sent again. */
  peerLost(peer: NodeId): void {
    for (const p of [...this.pending.values()]) {
      if (p.sentTo !== peer) continue;
      p.sentTo = NONE;
      p.mayHaveRun = true;
      if (!p.idempotent) this.unknown(p, peer);
    }
  }

  /** An answer from `from` to a forwarded request. */
  result(from: NodeId, r: ForwardResult): void {
    const p = this.pending.get(r.requestId);
    if (p === undefined || p.sentTo !== from) return;
    if (r.ok) {
      this.settle(p);
      p.reply.resolve(r.payload, p.mayHaveRun);
      return;
    }
    this.failed(p, nodeErrorOfForward(r.code, r.message, r.leader), from);
  }

  /**
   * Each tick: answers requests past their deadline, and sends again the ones that wait (no leader
   * was known, the connection broke, or the last attempt failed) if a leader is known now.
   */
  tick(nowMs: number): void {
    const leader = this.deps.leader();
    for (const p of this.pending.values()) {
      if (p.deadlineMs <= nowMs) this.expire(p);
      else if (p.sentTo === NONE && leader !== NONE) this.dispatch(p, leader);
    }
  }

  /** Fails everything (the node stops). */
  failAll(error: NodeError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    this.weight = 0;
    // A request sent already may still run on the leader: "stopped" would say it did not.
    for (const p of all) p.reply.reject(p.tried ? outcomeUnknown(error) : error);
  }

  private dispatch(p: Pending, leader: NodeId): void {
    if (leader === NONE) return;
    if (leader === this.deps.self) {
      p.tried = true;
      p.sentTo = this.deps.self;
      this.deps.local(p.request.kind, p.request.payload, {
        resolve: (payload) => {
          if (this.pending.get(p.request.requestId) !== p) return;
          this.settle(p);
          p.reply.resolve(payload, p.mayHaveRun);
        },
        reject: (error) => {
          if (this.pending.get(p.request.requestId) === p) this.failed(p, error, this.deps.self);
        },
      });
      return;
    }
    const bundle = p.bundle;
    if (bundle !== undefined && this.deps.network.peerVersion(leader) < bundle.version) {
      this.settle(p);
      bundle.instead(p.tried);
      return;
    }
    // Not queued (no live connection, a full queue): nothing left this node; the tick tries again.
    const queued = this.deps.network.forward(leader, p.request);
    p.sentTo = queued ? leader : NONE;
    if (queued) p.tried = true;
  }

  /**
   * An attempt on `at` failed. Refusals (nothing was run) and unknown outcomes wait for the next
   * leader, or go at once to the one the refusal names; any other error is the answer.
   */
  private failed(p: Pending, error: NodeError, at: NodeId): void {
    p.sentTo = NONE;
    if (!(p.idempotent ? RETRIED : REFUSED).has(error.code)) {
      this.settle(p);
      p.reply.reject(p.mayHaveRun ? outcomeUnknown(error) : error);
      return;
    }
    if (!REFUSED.has(error.code)) p.mayHaveRun = true;
    const hint = error.leader;
    if (hint !== NONE && hint !== at) this.dispatch(p, hint);
  }

  /** A request that must not run twice lost its answer: the outcome is unknown. */
  private unknown(p: Pending, at: NodeId): void {
    this.settle(p);
    p.reply.reject(new NodeError("timeout", `the connection to node ${at} broke; outcome unknown`, at));
  }

  private expire(p: Pending): void {
    this.settle(p);
    p.reply.reject(
      p.tried
        ? new NodeError(
            "timeout",
            // A request that must not run twice has no key to retry with (a membership change, a transfer).
            `the leader did not answer in time; outcome unknown${p.idempotent ? ", retry with the same key" : ""}`,
            this.deps.leader(),
          )
        : new NodeError("no_leader", "no leader known; nothing was proposed, retry", NONE),
    );
  }

  private settle(p: Pending): void {
    if (this.pending.delete(p.request.requestId)) this.weight -= p.bundle?.commands ?? 1;
  }
}

/**
 * The answer to a request an earlier attempt of which may have run, when a later one failed with
 * `error`: that attempt may still have been applied, so the outcome is unknown (found in the review of
 * forwarded runs: "busy; retry" after a lost answer made a keyless RESP client push twice).
 */
function outcomeUnknown(error: NodeError): NodeError {
  return new NodeError(
    "timeout",
    `an earlier attempt may have been applied, then: ${error.message}; outcome unknown, retry with the same key`,
    error.leader,
  );
}

/**
 * Errors after which a request is tried again on the next leader: nothing was run (not_leader,
 * no_leader, stopped: a leader shutting down refuses), or the outcome is unknown (timeout; the
 * request's idempotency key makes the retry safe).
 */
const RETRIED: ReadonlySet<string> = new Set(["not_leader", "no_leader", "stopped", "timeout"]);
/** Refusals only: nothing was run (what a request that must not run twice is sent again after). */
const REFUSED: ReadonlySet<string> = new Set(["not_leader", "no_leader"]);
