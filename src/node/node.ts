import type { Logger } from "pino";
import { type Message, NONE, type NodeId, type Role, type Snapshot, wasRemoved } from "../raft/index.js";
import type { MemberInfo, MemberRole, OutcomeReply, RunReply } from "../server/index.js";
import type { AsciiPushes, Command, Outcome, StackMachine } from "../stack/index.js";
import { COMPACT_KEEP_ENTRIES_DEFAULT, DiskStorage, NodeDisk } from "../storage/index.js";
import { parsePeerUrl, TcpTransport } from "../transport/index.js";
import { systemClock } from "./clock.js";
import {
  clusterViewTimeoutMs,
  decodeLeaderView,
  encodeLeaderView,
  memberStatuses,
  type NodeStatus,
  PROGRESS_LEADER_ONLY,
  settleWithin,
} from "./cluster-view.js";
import { Driver } from "./driver.js";
import type { DriverLimits } from "./driver-config.js";
import { NodeError } from "./errors.js";
import { memberAddCommand, watchJoinWait } from "./join-wait.js";
import { defaultLeaderRequestLimits, type LeaderRequestLimits, LeaderRequests } from "./leader-requests.js";
import { watchLoopStalls } from "./loop-stalls.js";
import { MemberTable } from "./members.js";
import { NodeMetrics } from "./metrics.js";
import { type NodeOptions, selfMember } from "./options.js";
import {
  clusterIdOf,
  followMembers,
  leaveMembers,
  leaveMsOf,
  linkLimitsOf,
  retireMsOf,
} from "./peer-links.js";
import type { Clock } from "./ports.js";
import { PublishSchedule } from "./publish-schedule.js";
import { RecentEvents } from "./recent-events.js";
import { Removal, removedError } from "./removal.js";
import { encodeInSteps, snapshotItemsPerStep } from "./snapshots.js";
import type { TestHooks } from "./test-hooks.js";
import { readPeerTls } from "./tls-options.js";

export interface DriverOptions {
  readonly logger: Logger;
  readonly limits?: Partial<DriverLimits & LeaderRequestLimits>;
  /** Also collect process metrics (off when several nodes share a process). */
  readonly processMetrics?: boolean;
  /** Storage failed: the node stopped serving and must be restarted (main exits). */
  readonly onFatal?: (err: unknown) => void;
  /** Deliberate bugs, disk delay and clock skew for fault-injection tests (test-hooks.ts); never in production. */
  readonly testHooks?: TestHooks;
}

/** Election timeouts between a successful publish of this node's addresses and the next attempt. */
const publishHoldOffTimeouts = 20;

/**
 * One node process's Raft peer: the shared Driver wired to the disk (DiskStorage over NodeDisk), the TCP
 * transport and the system clock, with promise-returning requests for the HTTP layer. Writes go to the
 * leader wherever it is (LeaderRequests forwards them over the peer connection).
 */
export class RaftNode {
  readonly id: number;
  private closing: Promise<void> | undefined;
  private cancelTicks: (() => void) | undefined;
  private stopStallWatch: (() => void) | undefined;
  private stopJoinWait: (() => void) | undefined;
  /** This node's client URL as published (the real port once the HTTP server listens). */
  private advertisedClientUrl: string;
  /** When to publish this node's addresses: at most once per election timeout, then held off. */
  private readonly publish: PublishSchedule;
  /** The request for the leader's cluster view in flight, if any. */
  private leaderViewFetch: Promise<Uint8Array> | undefined;

  private constructor(
    readonly options: NodeOptions,
    private readonly driver: Driver,
    /** Whether this node was removed: it applied its removal, or a member refused it as removed. */
    private readonly removal: Removal,
    private readonly memberTable: MemberTable,
    private readonly requests: LeaderRequests,
    private readonly storage: DiskStorage,
    private readonly transport: TcpTransport,
    readonly metrics: NodeMetrics,
    private readonly logger: Logger,
    /** Told after every applied batch and installed snapshot (blocking pops wait on it). */
    private readonly appliedListeners: Set<(m: StackMachine) => void>,
    private readonly testHooks: TestHooks | undefined,
    /** The node's recent timeline (elections, leader changes, snapshots), for the dashboard. */
    readonly events: RecentEvents,
    /** The driver's clock (a test's may run fast). */
    private readonly clock: Clock,
  ) {
    this.id = options.id;
    this.advertisedClientUrl = options.advertiseClientUrl;
    const electionTimeoutMs = options.electionTicks * options.tickMs;
    this.publish = new PublishSchedule(electionTimeoutMs, publishHoldOffTimeouts * electionTimeoutMs);
  }

  /**
   * Opens storage (throws StorageCorruptionError on damage) and builds the driver; nothing listens
   * until start(). A replicated member table that differs from --cluster wins (both are logged).
   */
  static async open(options: NodeOptions, extras: DriverOptions): Promise<RaftNode> {
    const logger = extras.logger;
    const peerTls = readPeerTls(options.security);
    const hooks = extras.testHooks;
    // A joining node starts with no configuration: it learns the cluster's from the leader.
    const voters = options.join ? [] : options.members.map((m) => m.id);
    const storage = await DiskStorage.open(hooks?.disk(new NodeDisk()) ?? new NodeDisk(), options.dataDir, {
      bootstrapConfig: { voters, learners: [] },
      // Keep a tail no longer than the snapshot interval: followers further behind get a snapshot.
      compactKeepEntries: Math.min(COMPACT_KEEP_ENTRIES_DEFAULT, options.snapshotEntries),
      logger,
      nodeId: options.id,
    });
    logger.info({ ...storage.stats, lastIndex: storage.lastIndex() }, "storage opened");
    selfMember(options);
    // The bootstrap table; the driver replaces it with a snapshot's and config entries change it.
    const members = MemberTable.initial(options.members);
    let driver: Driver | undefined;
    let removal: Removal | undefined;
    let requests: LeaderRequests | undefined;
    let node: RaftNode | undefined;
    const appliedListeners = new Set<(m: StackMachine) => void>();
    const linkLimits = linkLimitsOf(options);
    const transport = new TcpTransport({
      id: options.id,
      clusterId: clusterIdOf(options.clusterToken),
      listen: parsePeerUrl(options.listenPeerUrl),
      ...(peerTls === undefined ? {} : { tls: peerTls }),
      logger,
      limits: linkLimits,
      onMessage: (m: Message) => driver?.receive(m),
      onUnreachable: (peer) => {
        driver?.peerUnreachable(peer);
        requests?.peerLost(peer);
      },
      onSnapshotSent: (peer, ok) => driver?.snapshotSent(peer, ok),
      onForward: (from, request, respond) => requests?.receive(from, request, respond),
      onForwardResult: (from, result) => requests?.result(from, result),
      isRemoved: (id) => driver !== undefined && wasRemoved(driver.membership, id),
      onRemoved: (by) => removal?.refusedBy(by),
    });
    const events = new RecentEvents(options.id, () => Date.now());
    const metrics = new NodeMetrics(
      {
        raft: () => (driver as Driver).raft.status(),
        proposalsPending: () => driver?.proposalsPending ?? 0,
        sessions: () => driver?.machine.sessionCount ?? 0,
        transport: () => transport.stats(),
        walBytesWritten: () => storage.walBytesWritten,
      },
      extras.processMetrics ?? false,
    );
    // One clock for the driver and the forwarded requests, so a test clock skew moves both.
    const clock = hooks?.clock(systemClock) ?? systemClock;
    try {
      driver = new Driver(
        {
          raft: {
            id: options.id,
            electionTicks: options.electionTicks,
            heartbeatTicks: options.heartbeatTicks,
            seed: (Math.random() * 0x7fffffff) | 0,
            ...(hooks === undefined ? {} : { mutations: hooks.raftMutations() }),
          },
          voters,
          tickMs: options.tickMs,
          snapshotEntries: options.snapshotEntries,
          requestTimeoutMs: options.requestTimeoutMs,
          ...(extras.limits === undefined ? {} : { limits: extras.limits }),
          ...(hooks === undefined
            ? {}
            : { machine: hooks.machineOptions(), mutations: hooks.driverMutations() }),
        },
        {
          clock,
          storage,
          network: transport,
          logger,
          metrics,
          members,
          hooks: {
            machineChanged: (machine) => {
              for (const listener of appliedListeners) listener(machine);
            },
            configApplied: (cc) => {
              members.apply(cc.op, cc.id, cc.context);
              if (cc.op === "remove" && cc.id === options.id) {
                logger.warn("this node was removed from the cluster: it no longer serves as a member");
                // A leader hands off first (over these links); a follower has nothing left to send.
                leaveMembers(transport, driver?.raft.role === "leader" ? leaveMsOf(options) : 0);
              } else if (removal?.removed !== true) {
                followMembers(transport, options.id, members, cc.op === "remove" ? retireMsOf(options) : 0);
              }
            },
            // Out of the Ready loop: resent requests may be proposed here at once.
            leaderChanged: (leader) => clock.defer(() => requests?.leaderChanged(leader)),
            events: (raftEvents, dropped) => {
              for (const event of raftEvents) events.add(event);
              events.dropped += dropped;
            },
            snapshotTaken: (index, data) =>
              events.add({ type: "snapshotCreated", index, bytes: data.length }),
            restored: (snap) => {
              if (removal?.removed !== true) followMembers(transport, options.id, members);
              events.add({ type: "snapshotInstalled", index: snap.meta.index, term: snap.meta.term });
            },
          },
          onFatal: (err) => {
            void transport.close();
            extras.onFatal?.(err);
          },
        },
      );
    } catch (err) {
      await storage.close();
      throw err;
    }
    reportClusterMismatch(options, members, logger);
    removal = new Removal(driver, members, transport, logger);
    if (driver.removed) leaveMembers(transport, 0);
    else followMembers(transport, options.id, members);
    requests = new LeaderRequests({
      driver,
      clock,
      network: transport,
      requestTimeoutMs: options.requestTimeoutMs,
      members,
      tickMs: options.tickMs,
      limits: { ...defaultLeaderRequestLimits, ...extras.limits },
      leaderView: () => {
        const { id, members: list } = (node as RaftNode).status();
        return encodeLeaderView({ viewFrom: id, members: list });
      },
    });
    node = new RaftNode(
      options,
      driver,
      removal,
      members,
      requests,
      storage,
      transport,
      metrics,
      logger,
      appliedListeners,
      hooks,
      events,
      clock,
    );
    return node;
  }

  async start(): Promise<void> {
    await this.transport.start();
    this.driver.start();
    this.stopStallWatch = watchLoopStalls(this.logger);
    if (this.options.join) this.watchJoin();
    this.cancelTicks = systemClock.every(this.options.tickMs, () => {
      this.requests.tick();
      this.maybePublish();
    });
  }

  /** Warns while no leader has added this --join node (join-wait.ts), naming the command that adds it. */
  private watchJoin(): void {
    const peerUrl = selfMember(this.options).peerUrl;
    this.stopJoinWait = watchJoinWait(
      this.clock,
      () => {
        const { voters, learners } = this.driver.membership;
        return !this.removal.removed && !voters.includes(this.id) && !learners.includes(this.id);
      },
      (waitedMs) => {
        const command = memberAddCommand(this.options, this.advertisedClientUrl);
        this.logger.warn(
          { waitedMs: Math.round(waitedMs), command },
          `started with --join, but not added to the cluster yet (${Math.round(waitedMs / 1000)} s): ` +
            `no leader has replicated to it. Add it from any host that reaches a member: ${command} ` +
            `(added already? then the leader cannot reach it at ${peerUrl})`,
        );
      },
    );
  }

  /** Publishes this node's addresses (an `update` change) when `publish` says it is due. */
  private maybePublish(): void {
    const now = systemClock.now();
    const { voters, learners } = this.driver.membership;
    const own = { peerUrl: selfMember(this.options).peerUrl, clientUrl: this.advertisedClientUrl };
    const state = {
      leaderKnown: this.leader() !== NONE,
      member: voters.includes(this.id) || learners.includes(this.id),
      known: this.memberTable.get(this.id),
      own,
    };
    if (!this.publish.due(now, state)) return;
    this.publish.started(now);
    this.requests.changeMember({ op: "update", id: this.id, ...own }).then(
      () => {
        this.publish.succeeded(systemClock.now(), own);
        this.logger.info(own, "published this node's addresses");
      },
      (err: unknown) => {
        this.publish.failed();
        this.logger.debug({ err }, "publishing this node's addresses failed; retrying");
      },
    );
  }

  // ------------------------------------------------------------ membership

  members(): { leader: number; members: MemberInfo[]; removed?: true } {
    const { voters, learners } = this.driver.membership;
    const role = (id: number): MemberRole => (learners.includes(id) ? "learner" : "voter");
    const list = this.memberTable
      .list()
      .filter((m) => (voters.includes(m.id) || learners.includes(m.id)) && this.isMember(m.id))
      .map((m) => ({ ...m, clientUrl: this.clientUrl(m.id) ?? "", role: role(m.id) }));
    return { leader: this.leader(), members: list, ...this.removedMark() };
  }

  /**
   * Whether `id` is shown as a member. A node a member refused as removed never applied its removal:
   * its configuration and member table still hold it, but it is no member (docs/api.md, removed).
   */
  private isMember(id: NodeId): boolean {
    return id !== this.id || !this.removal.removed;
  }

  /** `removed: true` on a removed node's answers that show its state or members, nothing otherwise. */
  private removedMark(): { removed?: true } {
    return this.removal.removed ? { removed: true } : {};
  }

  async addMember(request: { peerUrl: string; clientUrl?: string; id?: number }): Promise<MemberInfo> {
    const id = await this.requests.changeMember({
      op: "addLearner",
      id: request.id ?? 0,
      peerUrl: request.peerUrl,
      clientUrl: request.clientUrl ?? "",
    });
    return { id, peerUrl: request.peerUrl, clientUrl: request.clientUrl ?? "", role: "learner" };
  }

  async removeMember(id: number): Promise<void> {
    await this.requests.changeMember({ op: "remove", id, peerUrl: "", clientUrl: "" });
  }

  transferLeader(id?: number): Promise<number> {
    return this.requests.transfer(id ?? 0);
  }

  /** Publishes this node's client URL once its port is known (a listener on port 0). */
  setAdvertisedClientUrl(url: string): void {
    this.advertisedClientUrl = url;
  }

  /** The client URL member `id` published (this node's own: as configured), if known. */
  clientUrl(id: NodeId): string | undefined {
    if (id === this.id) return this.advertisedClientUrl;
    const url = this.memberTable.get(id)?.clientUrl;
    return url === "" ? undefined : url;
  }

  // ------------------------------------------------------------ requests

  /**
   * Proposes a command on the leader (here, or forwarded to it) and resolves with its outcome once
   * applied there; tried again on the next leader within the request timeout when that is safe.
   */
  propose(cmd: Command): Promise<Outcome> {
    if (this.removal.removed) return Promise.reject(removedError());
    return this.requests.propose(cmd);
  }

  /** `propose` answering `reply` instead of a promise (StackService.submit). */
  submit(cmd: Command, reply: OutcomeReply): void {
    if (this.removal.removed) reply.reject(removedError());
    else this.requests.submit(cmd, reply);
  }

  /** `submit` for the RESP fast lane's LPUSH commands (StackService.submitRun). */
  submitRun(run: AsciiPushes, reply: RunReply): void {
    if (!this.removal.removed) this.requests.submitRun(run, reply);
    else for (let i = 0; i < run.count; i++) reply.rejectAt(i, removedError());
  }

  /**
   * Runs `fn` on the state machine. Linearizable (ReadIndex, §6.4) unless `stale`: waits for the leader
   * to confirm its commit index, then for this node to apply up to it.
   */
  async read<T>(fn: (m: StackMachine) => T, stale = false): Promise<T> {
    // No member confirms a removed node's reads any more: answer at once, not at the request timeout.
    if (!stale && this.removal.removed) throw removedError();
    if (!stale && this.testHooks?.has("readWithoutReadIndex") !== true)
      await new Promise<void>((resolve, reject) => this.driver.read({ resolve, reject }));
    return fn(this.driver.machine);
  }

  /**
   * A snapshot for a backup, linearizable: taken on the leader once ReadIndex confirmed it, at the index
   * applied then, so it holds every write acknowledged before the call. Encoded in steps like the node's own.
   */
  async backup(): Promise<Snapshot> {
    if (this.role() !== "leader") {
      throw new NodeError("not_leader", "backups are taken on the leader", this.leader());
    }
    await this.read(() => undefined);
    const machine = this.driver.machine;
    const index = machine.appliedIndex;
    const meta = { index, term: this.storage.term(index), config: this.driver.raft.status().config };
    return { meta, data: await encodeInSteps(machine.snapshotSteps(snapshotItemsPerStep), systemClock) };
  }

  /**
   * The leader this node knows. A removed node still holds the one it last heard, which no longer counts
   * it: it names none (/health and /readyz 503, X-Raft-Leader 0, no redirect), so load balancers and
   * clients stop sending it traffic.
   */
  leader(): number {
    return this.removal.removed ? NONE : this.driver.raft.leader;
  }

  role(): Role {
    return this.driver.raft.role;
  }

  onApplied(listener: (m: StackMachine) => void): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  metricsText(): Promise<string> {
    return this.metrics.registry.metrics();
  }

  get metricsContentType(): string {
    return this.metrics.registry.contentType;
  }

  /** This node's local view: members' replication progress only if it leads (else null, with the reason). */
  status(): NodeStatus {
    const s = this.driver.raft.status();
    const table = this.memberTable
      .list()
      .filter(({ id }) => this.isMember(id))
      .map(({ id, peerUrl }) => ({ id, peerUrl, clientUrl: this.clientUrl(id) ?? "" }));
    return {
      id: this.id,
      role: s.role,
      leader: this.leader(),
      term: s.term,
      commit: s.commit,
      applied: s.applied,
      lastIndex: s.lastIndex,
      snapshotIndex: this.driver.snapshotIndex,
      viewFrom: this.id,
      ...(s.role === "leader"
        ? {}
        : { viewReason: `local view: replication progress is ${PROGRESS_LEADER_ONLY}` }),
      members: memberStatuses(s, table, this.driver.peerSilence()),
      ...this.removedMark(),
    };
  }

  /**
   * GET /v1/cluster: this node's status with the leader's view of the members, asked of the leader over
   * the peer connection (as forwarded writes are) within clusterViewTimeoutMs. The local view, with the
   * reason, when `local` is asked for, no leader is known or it does not answer.
   */
  async clusterView(local: boolean): Promise<NodeStatus> {
    const before = this.status();
    if (before.role === "leader") return before;
    const localView = (reason: string): NodeStatus => ({
      ...this.status(),
      viewReason: `${reason}: replication progress is ${PROGRESS_LEADER_ONLY}`,
    });
    if (local) return localView("local view asked for (?local=1)");
    if (before.removed === true) return localView("this node was removed from the cluster");
    const leader = before.leader;
    if (leader === NONE) return localView("no leader known");
    let answer: Uint8Array;
    try {
      // Callers at the same time (dashboards, status probes) share one request to the leader.
      this.leaderViewFetch ??= this.requests.fetchLeaderView(clusterViewTimeoutMs).finally(() => {
        this.leaderViewFetch = undefined;
      });
      // The forwarder sees its deadline only on a tick (--tick-ms late): this caller's own bound.
      answer = await settleWithin(this.leaderViewFetch, clusterViewTimeoutMs);
    } catch (err) {
      const code = err instanceof NodeError ? err.code : "internal";
      return localView(
        code === "timeout" || code === "no_leader"
          ? `the leader (node ${leader}) did not answer within ${clusterViewTimeoutMs} ms`
          : `the leader (node ${leader}) refused (${code}): ${(err as Error).message}`,
      );
    }
    const view = decodeLeaderView(answer);
    if (view === undefined) return localView(`the leader's (node ${leader}) answer is not a cluster view`);
    const { viewReason: _, ...now } = this.status();
    // A node deposed while it was asked may still answer (this node lost it as the leader meanwhile):
    // its progress is not the current leader's.
    if (view.viewFrom !== now.leader) {
      return localView(
        `the view came from node ${view.viewFrom}, not the leader this node knows now (${now.leader === NONE ? "none" : `node ${now.leader}`})`,
      );
    }
    return { ...now, viewFrom: view.viewFrom, members: view.members };
  }

  /** If leader, hands leadership to the most caught-up responsive follower and waits up to `waitMs` for it. */
  transferLeadership(waitMs: number): Promise<boolean> {
    return this.driver.handOver(waitMs);
  }

  /** Stops ticking, fails every waiter (outcome unknown) and closes transport and storage. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.cancelTicks?.();
      this.stopStallWatch?.();
      this.stopJoinWait?.();
      this.driver.stop();
      this.requests.close();
      await this.transport.close();
      // Let an in-flight save finish before closing the files under it.
      await this.driver.idle();
      // After a failed write the storage refuses everything, close included; that failure was reported.
      await this.storage.close().catch(() => {});
      this.testHooks?.close();
    })();
    return this.closing;
  }
}

/** After bootstrap the replicated table is the truth: a differing --cluster is reported, then ignored. */
function reportClusterMismatch(options: NodeOptions, members: MemberTable, logger: Logger): void {
  const cluster = options.members.map((m) => `${m.id}=${m.peerUrl}`);
  const replicated = members.list().map((m) => `${m.id}=${m.peerUrl}`);
  if (cluster.join(",") === replicated.join(",")) return;
  logger.warn(
    { cluster, replicated },
    "--cluster differs from the replicated member table; using the replicated one",
  );
}
