import { randomInt } from "node:crypto";
import type { NodeId } from "../raft/index.js";
import type { RunReply } from "../server/index.js";
import {
  type AsciiPushes,
  asciiPushCommand,
  type Command,
  decodeCommand,
  decodeOutcome,
  encodeCommand,
  encodeOutcome,
  type Outcome,
  type RunKeys,
  runKey,
} from "../stack/index.js";
import type { ForwardRequest, ForwardResult } from "../transport/index.js";
import type { Driver } from "./driver.js";
import { NodeError } from "./errors.js";
import { ForwardedRequests } from "./forwarded.js";
import { Forwarder, type ForwardNetwork, type ForwardReply } from "./forwarding.js";
import {
  decodeId,
  decodeMemberChange,
  encodeId,
  encodeMemberChange,
  type MemberChange,
  runMemberChange,
  runTransfer,
  transferOutcomeUnknown,
} from "./member-requests.js";
import type { MemberTable } from "./members.js";
import type { Clock, Reply } from "./ports.js";
import {
  decodeRunRequest,
  encodeRunRequest,
  isKeysFull,
  keysFullUnknown,
  RunOutcomes,
  runAnswer,
} from "./run-forward.js";

/** What a forwarded request asks of the leader (the forward frame's `kind`). */
export const REQUEST_COMMAND = 1;
/** A membership change (`MemberChange`); answers the member's id. */
export const REQUEST_MEMBER_CHANGE = 2;
/** A leadership transfer to an id (0: the most caught-up responsive voter); answers the new leader. */
export const REQUEST_TRANSFER = 3;
/** The leader's view of the members' replication progress (empty payload); answers an encoded LeaderView. */
export const REQUEST_CLUSTER_VIEW = 4;
/**
 * A follower's RESP run of keyed LPUSH (run-forward.ts), proposed as one run; answers its outcomes. Sent
 * only to a leader whose HELLO said REQUEST_RUN_VERSION: an older build answers an unknown kind with
 * bad_request, so the run's commands go to it one by one, as REQUEST_COMMAND.
 */
export const REQUEST_RUN = 5;
/**
 * The share of this node's replica of the exactly-once table (sessionsMax) above which a keyless write is
 * forwarded without a node-made key (LeaderRequests.keyless); the rest is headroom for the keys of writes
 * already on their way, and for clients' own keys.
 */
const NODE_KEYS_SHARE_MAX = 0.9;
/** The peer protocol version from which a leader reads REQUEST_RUN (transport/codec.ts). */
export const REQUEST_RUN_VERSION = 5;

export interface LeaderRequestLimits {
  /** Requests of this node waiting for (or forwarded to) the leader. */
  readonly forwardsPendingMax: number;
  /** Requests forwarded by followers that this leader runs at once. */
  readonly forwardedMax: number;
}

export const defaultLeaderRequestLimits: LeaderRequestLimits = {
  forwardsPendingMax: 65_536,
  forwardedMax: 65_536,
};

export interface LeaderRequestDeps {
  readonly driver: Driver;
  /** The applied member table: the leader assigns new members' ids from it. */
  readonly members: MemberTable;
  readonly tickMs: number;
  readonly clock: Clock;
  readonly network: ForwardNetwork;
  readonly requestTimeoutMs: number;
  readonly limits: LeaderRequestLimits;
  /** This node's view of the members as the leader, encoded (throws NodeError too_large). */
  readonly leaderView: () => Uint8Array;
}

/** The driver's answer to a command proposed on this node: one object per write, no closures. */
class LocalProposal implements Reply<Outcome> {
  constructor(
    private readonly owner: LeaderRequests,
    private readonly cmd: Command,
    private readonly deadlineMs: number,
    private readonly reply: Reply<Outcome>,
  ) {}

  resolve(outcome: Outcome): void {
    this.reply.resolve(outcome);
  }

  reject(err: NodeError): void {
    this.owner.retryOrFail(this.cmd, this.deadlineMs, this.reply, err);
  }
}

/**
 * The driver's answer to a run proposed on this node (Driver.proposeRun: once per command, in order).
 * No Command is kept: one is made from the run's bytes only for a command tried again elsewhere.
 */
class LocalRun implements Reply<Outcome> {
  private next = 0;
  constructor(
    private readonly owner: LeaderRequests,
    private readonly run: AsciiPushes,
    private readonly deadlineMs: number,
    private readonly reply: RunReply,
  ) {}

  resolve(outcome: Outcome): void {
    this.reply.resolveAt(this.next++, outcome);
  }

  reject(err: NodeError): void {
    const i = this.next++;
    // Keyless: tried again only if it was refused (nothing proposed), as retryOrFail decides.
    if (err.code !== "not_leader") this.reply.rejectAt(i, err);
    else
      this.owner.retryOrFail(asciiPushCommand(this.run, i, 0), this.deadlineMs, answerAt(this.reply, i), err);
  }
}

/**
 * `reply` answered with a leader's encoded outcome. idempotency_keys_full says this attempt was not
 * applied, but not an earlier one whose answer never came (`earlierMayRun`, or `sentBefore` in a run):
 * its frame may still be on its way (a cut link delivers what it buffered at the heal) and apply on a
 * later leader, since its key was never recorded (test/node/keys-full-review). Then it is "outcome unknown".
 */
function outcomeReply(reply: Reply<Outcome>, sentBefore = false): ForwardReply {
  return {
    resolve: (payload, earlierMayRun) => {
      const outcome = decodeOutcome(payload);
      if (outcome === undefined)
        reply.reject(new NodeError("internal", "unreadable outcome from the leader"));
      else if (isKeysFull(outcome) && (earlierMayRun || sentBefore)) reply.reject(keysFullUnknown());
      else reply.resolve(outcome);
    },
    reject: (err) => reply.reject(err),
  };
}

/** A Reply answering command `index` of a run. */
function answerAt(reply: RunReply, index: number): Reply<Outcome> {
  return {
    resolve: (outcome) => reply.resolveAt(index, outcome),
    reject: (err) => reply.rejectAt(index, err),
  };
}

/**
 * Where requests that need the leader go: proposed here when this node leads, else forwarded to the
 * leader over the peer connection, and answered once applied there. A write refused here because
 * leadership moved, or forwarded, gets an idempotency key first (a node-generated one if the client
 * sent none), so it can be tried again on the next leader within its deadline and still apply once.
 */
export class LeaderRequests {
  private readonly forwarder: Forwarder;
  private readonly forwarded: ForwardedRequests;
  /** Node-generated keys: this node's id and a random per-process prefix make them unique. */
  private readonly keyPrefix: string;
  private nextKey = 0;

  constructor(private readonly deps: LeaderRequestDeps) {
    const { driver } = deps;
    const run = (kind: number, payload: Uint8Array, reply: Reply<Uint8Array>) =>
      this.run(kind, payload, reply);
    this.forwarder = new Forwarder({
      self: driver.id,
      leader: () => driver.raft.leader,
      network: deps.network,
      local: run,
      firstRequestId: randomInt(2 ** 40),
      requestsPendingMax: deps.limits.forwardsPendingMax,
    });
    this.forwarded = new ForwardedRequests(run, deps.limits.forwardedMax, deps.requestTimeoutMs);
    this.keyPrefix = `~${driver.id}.${randomInt(2 ** 40).toString(36)}.`;
  }

  /** Proposes `cmd` on the leader, wherever it is, and resolves with its outcome once applied there. */
  propose(cmd: Command): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => this.submit(cmd, { resolve, reject }));
  }

  /** `propose` answering `reply` instead of a promise. */
  submit(cmd: Command, reply: Reply<Outcome>): void {
    const deadlineMs = this.deps.clock.now() + this.deps.requestTimeoutMs;
    if (this.deps.driver.raft.role !== "leader") {
      this.forward(cmd, deadlineMs, reply);
      return;
    }
    // The leader's own path: no key is added (keys cost the exactly-once table a slot each).
    this.deps.driver.propose(cmd, new LocalProposal(this, cmd, deadlineMs, reply));
  }

  /**
   * `submit` for the keyless ASCII LPUSH commands of `run` (the RESP fast lane): proposed in one entry
   * here when this node leads, else forwarded to the leader as one request with a key per command
   * (run-forward.ts), or each as a keyed Command to a leader of an older protocol.
   */
  submitRun(run: AsciiPushes, reply: RunReply): void {
    const deadlineMs = this.deps.clock.now() + this.deps.requestTimeoutMs;
    if (this.deps.driver.raft.role === "leader") {
      this.deps.driver.proposeRun(run, new LocalRun(this, run, deadlineMs, reply));
      return;
    }
    // Without keys (keyless), one request all the same, not sent again after an unknown outcome.
    const keyed = !this.keyless();
    // Encoded now: a copy, since `run.src` is the listener's buffer, and what a fallback is made from.
    const payload = encodeRunRequest(run, keyed ? this.takeKeys(run.count) : { prefix: "", first: 0 });
    this.forwarder.submit(REQUEST_RUN, payload, deadlineMs, runAnswer(reply, run.count), keyed, {
      commands: run.count,
      version: REQUEST_RUN_VERSION,
      instead: (tried) => this.forwardEach(payload, deadlineMs, reply, tried),
    });
  }

  /** The next `count` of this node's numbered keys (a forwarded write takes one, a run one per command). */
  private takeKeys(count: number): RunKeys {
    const first = this.nextKey;
    this.nextKey += count;
    return { prefix: this.keyPrefix, first };
  }

  /**
   * The commands of a forwarded run (`payload`), each forwarded as a Command under the key the run gave
   * it (a run without keys: as the client sent them, unless it went out already), for a leader that
   * does not read runs. `tried`: the run was sent before, so its outcome may be
   * known to another leader only; a failure now says nothing about it, and stays "outcome unknown".
   */
  private forwardEach(payload: Uint8Array, deadlineMs: number, reply: RunReply, tried: boolean): void {
    const run = decodeRunRequest(payload);
    if (run === undefined) throw new Error("forwardEach: a run this node encoded does not decode");
    const unknown = new NodeError("timeout", "the leader did not answer a run; outcome unknown, retry");
    if (run.keys === undefined && tried) {
      // Sent without keys and maybe applied: nothing may send its commands again.
      for (let i = 0; i < run.count; i++) reply.rejectAt(i, unknown);
      return;
    }
    for (let i = 0; i < run.count; i++) {
      const answer = answerAt(reply, i);
      this.forward(
        asciiPushCommand(run, i, 0),
        deadlineMs,
        tried
          ? {
              resolve: answer.resolve,
              reject: (err) => answer.reject(err.code === "timeout" ? err : unknown),
            }
          : answer,
        tried,
      );
    }
  }

  /** A local proposal failed with `err`: tried on the next leader when that is safe, else failed. */
  retryOrFail(cmd: Command, deadlineMs: number, reply: Reply<Outcome>, err: NodeError): void {
    // Refused (nothing proposed), or a keyed write whose outcome is unknown: try the next leader.
    const unknown = err.code === "timeout" && cmd.key !== undefined;
    if (!(unknown || err.code === "not_leader") || this.deps.clock.now() >= deadlineMs) {
      reply.reject(err);
      return;
    }
    if (!unknown) {
      this.forward(cmd, deadlineMs, reply);
      return;
    }
    // The entry may still commit under the next leader: a retry that fails ("no leader known, nothing
    // was proposed", busy, stopped) says nothing about it, so the answer stays "outcome unknown".
    this.forward(cmd, deadlineMs, {
      resolve: (outcome) => reply.resolve(outcome),
      reject: (later) => reply.reject(later.code === "timeout" ? later : err),
    });
  }

  /**
   * Runs a membership change on the leader and resolves with the member's id once applied there. Sent
   * again only after a refusal: a change whose outcome is unknown is not repeated (an add without an id
   * would add a second member).
   */
  changeMember(change: MemberChange): Promise<NodeId> {
    const deadlineMs = this.deps.clock.now() + this.deps.requestTimeoutMs;
    return this.submitOnce(REQUEST_MEMBER_CHANGE, encodeMemberChange(change), deadlineMs);
  }

  /**
   * Hands leadership to `target` (0: the most caught-up responsive voter); resolves with the new leader.
   * An unknown outcome (the leader's answer did not come in time, or its connection broke) is a
   * transfer_failed too, so a transfer fails with one code whichever node the client asked.
   */
  transfer(target: NodeId): Promise<NodeId> {
    const deadlineMs = this.deps.clock.now() + this.deps.requestTimeoutMs;
    return this.submitOnce(REQUEST_TRANSFER, encodeId(target), deadlineMs).catch((err: NodeError) => {
      if (err.code !== "timeout") throw err;
      const to = target === 0 ? "the voter the leader picks" : `node ${target}`;
      // At the deadline the forwarder's expiry usually answers first, on the leader too (its tick runs
      // before runTransfer's): it is the same news, told the same way.
      const what =
        this.deps.clock.now() >= deadlineMs
          ? `${to} did not take leadership within the request timeout`
          : `no answer about the transfer to ${to}: ${err.message}`;
      throw transferOutcomeUnknown(what, err.leader);
    });
  }

  /**
   * Asks the leader for its view of the members within `timeoutMs`: read-only, so it is sent again to
   * a new leader after a refusal or a lost connection. Rejects with no_leader or timeout past that.
   */
  fetchLeaderView(timeoutMs: number): Promise<Uint8Array> {
    const deadlineMs = this.deps.clock.now() + timeoutMs;
    return new Promise<Uint8Array>((resolve, reject) =>
      this.forwarder.submit(REQUEST_CLUSTER_VIEW, new Uint8Array(0), deadlineMs, { resolve, reject }),
    );
  }

  private submitOnce(kind: number, payload: Uint8Array, deadlineMs: number): Promise<NodeId> {
    return new Promise<NodeId>((resolve, reject) => {
      const answer = {
        resolve: (bytes: Uint8Array) => {
          const id = decodeId(bytes);
          if (id === undefined) reject(new NodeError("internal", "unreadable answer from the leader"));
          else resolve(id);
        },
        reject,
      };
      this.forwarder.submit(kind, payload, deadlineMs, answer, false);
    });
  }

  /** A follower's request (see TransportOptions.onForward). */
  receive(from: NodeId, request: ForwardRequest, respond: (result: ForwardResult) => void): void {
    this.forwarded.receive(from, request, this.deps.clock.now(), respond);
  }

  /** The answer to a request this node forwarded. */
  result(from: NodeId, result: ForwardResult): void {
    this.forwarder.result(from, result);
  }

  leaderChanged(leader: NodeId): void {
    this.forwarder.leaderChanged(leader);
  }

  peerLost(peer: NodeId): void {
    this.forwarder.peerLost(peer);
  }

  /** Deadlines and resends; called every tick. */
  tick(): void {
    const now = this.deps.clock.now();
    this.forwarder.tick(now);
    this.forwarded.expire(now);
  }

  close(): void {
    const stopped = new NodeError("stopped", "node is shutting down");
    this.forwarder.failAll(stopped);
    this.forwarded.failAll(stopped);
  }

  /** `sentBefore`: `cmd` (keyed) went out before, in a run; that attempt's frame may still run later. */
  private forward(cmd: Command, deadlineMs: number, reply: Reply<Outcome>, sentBefore = false): void {
    if (cmd.key === undefined && this.keyless()) {
      // As on the leader itself: not sent again after an unknown outcome, which the client is told.
      this.forwarder.submit(REQUEST_COMMAND, encodeCommand(cmd), deadlineMs, outcomeReply(reply), false);
      return;
    }
    const keyed = cmd.key === undefined ? { ...cmd, key: runKey(this.takeKeys(1), 0) } : cmd;
    this.forwarder.submit(REQUEST_COMMAND, encodeCommand(keyed), deadlineMs, outcomeReply(reply, sentBefore));
  }

  /**
   * Whether a keyless write goes to the leader without a node-made key: once this node's replica of the
   * exactly-once table is NODE_KEYS_SHARE_MAX full. The key only makes a resend after a lost answer safe;
   * the client did not ask for exactly-once. Under sustained keyless writes through followers the table
   * (1,000,000 keys kept 10 minutes) filled with those keys, and every such write was then refused
   * idempotency_keys_full (redis-benchmark through a follower failed after exactly 1,000,000 LPUSH).
   * Decided before the first send, never after a refusal: a keyless copy of a write refused under its
   * key could apply twice (test/node/keys-full-review), and land after the pipeline's later writes.
   */
  private keyless(): boolean {
    const machine = this.deps.driver.machine;
    return machine.sessionCount >= machine.limits.sessionsMax * NODE_KEYS_SHARE_MAX;
  }

  /** Runs a request on this node as the leader (the driver refuses with not_leader if it is not). */
  private run(kind: number, payload: Uint8Array, reply: Reply<Uint8Array>): void {
    const { driver, members, clock, tickMs, requestTimeoutMs } = this.deps;
    if (kind === REQUEST_MEMBER_CHANGE) {
      const change = decodeMemberChange(payload);
      if (change === undefined) reply.reject(new NodeError("bad_request", "unreadable membership change"));
      else
        runMemberChange(
          driver,
          members,
          { clock, tickMs, deadlineMs: clock.now() + requestTimeoutMs },
          change,
          reply,
        );
      return;
    }
    if (kind === REQUEST_TRANSFER) {
      const target = decodeId(payload);
      if (target === undefined) reply.reject(new NodeError("bad_request", "unreadable transfer target"));
      else runTransfer(driver, clock, tickMs, target, clock.now() + requestTimeoutMs, reply);
      return;
    }
    if (kind === REQUEST_CLUSTER_VIEW) {
      if (driver.raft.role !== "leader") {
        reply.reject(new NodeError("not_leader", "not the leader", driver.raft.leader));
        return;
      }
      try {
        reply.resolve(this.deps.leaderView());
      } catch (err) {
        reply.reject(err instanceof NodeError ? err : new NodeError("internal", String(err)));
      }
      return;
    }
    if (kind === REQUEST_RUN) {
      const run = decodeRunRequest(payload);
      if (run === undefined) reply.reject(new NodeError("bad_request", "unreadable run"));
      else driver.proposeRun(run, new RunOutcomes(run.count, reply));
      return;
    }
    if (kind !== REQUEST_COMMAND) {
      reply.reject(new NodeError("bad_request", `unknown request kind ${kind}`));
      return;
    }
    const cmd = decodeCommand(payload);
    if (cmd === undefined) {
      reply.reject(new NodeError("bad_request", "unreadable command"));
      return;
    }
    this.deps.driver.propose(cmd, {
      resolve: (outcome) => reply.resolve(encodeOutcome(outcome)),
      reject: (err) => reply.reject(err),
    });
  }
}
