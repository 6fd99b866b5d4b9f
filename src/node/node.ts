import type { Logger } from "pino";
import type { Message, Role } from "../raft/index.js";
import type { Command, Outcome, StackMachine } from "../stack/index.js";
import { COMPACT_KEEP_ENTRIES_DEFAULT, DiskStorage, NodeDisk } from "../storage/index.js";
import { parsePeerUrl, TcpTransport } from "../transport/index.js";
import { systemClock } from "./clock.js";
import { Driver, type DriverLimits } from "./driver.js";
import { NodeMetrics } from "./metrics.js";
import type { NodeOptions } from "./options.js";
import { readPeerTls } from "./tls-options.js";

export interface MemberStatus {
  readonly id: number;
  readonly peerUrl: string;
  readonly clientUrl: string;
  /** Leader's view of the member's replicated index (0 when this node is not the leader). */
  readonly match: number;
  readonly state: string;
}

export interface NodeStatus {
  readonly id: number;
  readonly role: Role;
  readonly leader: number;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly members: readonly MemberStatus[];
}

export interface DriverOptions {
  readonly logger: Logger;
  readonly limits?: Partial<DriverLimits>;
  /** Also collect process metrics (off when several nodes share a process). */
  readonly processMetrics?: boolean;
  /** Storage failed: the node stopped serving and must be restarted (main exits). */
  readonly onFatal?: (err: unknown) => void;
}

/**
 * One node process's Raft peer: the shared Driver wired to the disk (DiskStorage over NodeDisk), the TCP
 * transport and the system clock, with promise-returning requests for the HTTP layer.
 */
export class RaftNode {
  readonly id: number;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly options: NodeOptions,
    private readonly driver: Driver,
    private readonly storage: DiskStorage,
    private readonly transport: TcpTransport,
    readonly metrics: NodeMetrics,
    /** Told after every applied batch and installed snapshot (blocking pops wait on it). */
    private readonly appliedListeners: Set<(m: StackMachine) => void>,
  ) {
    this.id = options.id;
  }

  /**
   * Opens storage (throws StorageCorruptionError on damage, MembershipMismatchError if the snapshot's
   * voters differ from --cluster) and builds the driver; nothing listens until start().
   */
  static async open(options: NodeOptions, extras: DriverOptions): Promise<RaftNode> {
    const logger = extras.logger;
    const peerTls = readPeerTls(options.security);
    const voters = options.peerUrls.map((_, i) => i + 1);
    const storage = await DiskStorage.open(new NodeDisk(), options.dataDir, {
      bootstrapConfig: { voters, learners: [] },
      // Keep a tail no longer than the snapshot interval: followers further behind get a snapshot.
      compactKeepEntries: Math.min(COMPACT_KEEP_ENTRIES_DEFAULT, options.snapshotEntries),
      logger,
    });
    logger.info({ ...storage.stats, lastIndex: storage.lastIndex() }, "storage opened");
    const peers = new Map(options.peerUrls.map((u, i) => [i + 1, parsePeerUrl(u)] as const));
    const self = peers.get(options.id);
    if (self === undefined) throw new Error(`node id ${options.id} is not in the cluster list`);
    let driver: Driver | undefined;
    const appliedListeners = new Set<(m: StackMachine) => void>();
    const transport = new TcpTransport({
      id: options.id,
      clusterId: options.peerUrls.join(","),
      listen: self,
      ...(peerTls === undefined ? {} : { tls: peerTls }),
      peers,
      logger,
      // A restarted peer is back in the cluster within about one election timeout, not after a long backoff.
      limits: { reconnectMaxMs: Math.min(1000, options.electionTicks * options.tickMs) },
      onMessage: (m: Message) => driver?.receive(m),
      onUnreachable: (peer) => driver?.peerUnreachable(peer),
      onSnapshotSent: (peer, ok) => driver?.snapshotSent(peer, ok),
    });
    const metrics = new NodeMetrics(() => {
      const s = (driver as Driver).raft.status();
      return { applied: s.applied, commit: s.commit, term: s.term, isLeader: s.role === "leader" };
    }, extras.processMetrics ?? false);
    try {
      driver = new Driver(
        {
          raft: {
            id: options.id,
            electionTicks: options.electionTicks,
            heartbeatTicks: options.heartbeatTicks,
            seed: (Math.random() * 0x7fffffff) | 0,
          },
          voters,
          tickMs: options.tickMs,
          snapshotEntries: options.snapshotEntries,
          requestTimeoutMs: options.requestTimeoutMs,
          ...(extras.limits === undefined ? {} : { limits: extras.limits }),
        },
        {
          clock: systemClock,
          storage,
          network: transport,
          logger,
          metrics,
          hooks: {
            machineChanged: (machine) => {
              for (const listener of appliedListeners) listener(machine);
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
    return new RaftNode(options, driver, storage, transport, metrics, appliedListeners);
  }

  async start(): Promise<void> {
    await this.transport.start();
    this.driver.start();
  }

  // ------------------------------------------------------------ requests

  /** Proposes a command on the leader and resolves with its outcome once applied here. */
  propose(cmd: Command): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => this.driver.propose(cmd, { resolve, reject }));
  }

  /**
   * Runs `fn` on the state machine. Linearizable (ReadIndex, §6.4) unless `stale`: waits for the leader
   * to confirm its commit index, then for this node to apply up to it.
   */
  async read<T>(fn: (m: StackMachine) => T, stale = false): Promise<T> {
    if (!stale) await new Promise<void>((resolve, reject) => this.driver.read({ resolve, reject }));
    return fn(this.driver.machine);
  }

  leader(): number {
    return this.driver.raft.leader;
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

  status(): NodeStatus {
    const s = this.driver.raft.status();
    const members = this.options.peerUrls.map((peerUrl, i) => {
      const id = i + 1;
      const pr = s.progress.get(id);
      return {
        id,
        peerUrl,
        clientUrl: this.options.clientUrls[i] ?? "",
        match: pr?.match ?? 0,
        state: pr?.state ?? (id === s.leader ? "leader" : "unknown"),
      };
    });
    return {
      id: this.id,
      role: s.role,
      leader: s.leader,
      term: s.term,
      commit: s.commit,
      applied: s.applied,
      lastIndex: s.lastIndex,
      snapshotIndex: this.driver.snapshotIndex,
      members,
    };
  }

  /** If leader, hands leadership to the most caught-up follower and waits up to `waitMs` for it. */
  transferLeadership(waitMs: number): Promise<boolean> {
    return this.driver.handOver(waitMs);
  }

  /** Stops ticking, fails every waiter (outcome unknown) and closes transport and storage. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.driver.stop();
      await this.transport.close();
      // Let an in-flight save finish before closing the files under it.
      await this.driver.idle();
      // After a failed write the storage refuses everything, close included; that failure was reported.
      await this.storage.close().catch(() => {});
    })();
    return this.closing;
  }
}
