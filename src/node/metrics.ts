import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { NodeId, Role } from "../raft/index.js";
import type { TransportStats } from "../transport/index.js";

/** What the metrics read at scrape time; nothing here is computed on the hot path. */
export interface MetricsSource {
  raft(): {
    readonly id: NodeId;
    readonly applied: number;
    readonly commit: number;
    readonly term: number;
    readonly leader: NodeId;
    readonly role: Role;
    readonly lastIndex: number;
    /** The leader's view of each member (empty on other roles). */
    readonly progress: ReadonlyMap<NodeId, { readonly match: number }>;
  };
  proposalsPending(): number;
  /** Entries of the state machine's exactly-once session table. */
  sessions(): number;
  transport(): TransportStats;
  /** Bytes appended to the WAL since the node started. */
  walBytesWritten(): number;
}

/** A route of the HTTP route table: its method and path pattern (a bounded label set). */
export interface RouteLabel {
  readonly method: string;
  readonly path: string;
}

/** What the dashboard samples once a second: counters, and the commit latency histogram's buckets. */
export interface MetricsSample {
  readonly entriesApplied: number;
  /** Commands applied: a batch entry carries several (the write rate counts these). */
  readonly commandsApplied: number;
  readonly proposals: number;
  readonly commitLatency: {
    readonly count: number;
    readonly sum: number;
    /** Cumulative counts per upper bound (seconds), ascending; the last bound is +Inf. */
    readonly buckets: readonly (readonly [number, number])[];
  };
}

/** Requests that matched no route share one label, so a scan of random paths cannot grow the label set. */
const UNMATCHED: RouteLabel = { method: "any", path: "unmatched" };

/** Sub-millisecond buckets: an fsync on SSD and a local commit both take well under 10 ms. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Snapshots take from a millisecond (empty machine) to seconds (millions of items). */
const SNAPSHOT_BUCKETS = [0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10, 60];

/**
 * Per-node registry, so several nodes can run in one process (tests) without clashing names. Names
 * follow Prometheus conventions (`_total` counters, `_seconds`, `_bytes`); docs/operations.md lists them.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly proposals: Counter;
  readonly proposalsFailed: Counter<"code">;
  readonly proposalsRefused: Counter<"code">;
  readonly commitLatency: Histogram;
  readonly fsyncLatency: Histogram;
  readonly readLatency: Histogram;
  readonly leaderChanges: Counter;
  readonly entriesApplied: Counter;
  readonly commandsApplied: Counter;
  readonly snapshots: Counter<"kind">;
  readonly readyBatches: Counter;
  private readonly snapshotDuration: Histogram<"kind">;
  private readonly snapshotBytes: Gauge<"kind">;
  private readonly httpRequests: Counter<"method" | "route" | "status">;
  /** Per route (by identity) and status: the counter's child, so a request costs two Map lookups. */
  private readonly httpChildren = new Map<RouteLabel, Map<number, Counter.Internal>>();

  constructor(source: MetricsSource, defaults: boolean) {
    const registers = [this.registry];
    const buckets = LATENCY_BUCKETS;
    this.proposals = new Counter({ name: "raftstack_proposals_total", help: "Commands proposed", registers });
    this.proposalsFailed = new Counter({
      name: "raftstack_proposals_failed_total",
      help: "Proposals answered with an unknown outcome, by reason (timeout, lost, stopped)",
      labelNames: ["code"],
      registers,
    });
    this.proposalsRefused = new Counter({
      name: "raftstack_proposals_refused_total",
      help: "Proposals refused before entering the log, by reason (not_leader, no_leader, busy, stopped)",
      labelNames: ["code"],
      registers,
    });
    this.commitLatency = new Histogram({
      name: "raftstack_commit_latency_seconds",
      help: "Proposal to applied outcome on the leader, observed once per log entry (a batch's commands share it)",
      buckets,
      registers,
    });
    this.fsyncLatency = new Histogram({
      name: "raftstack_fsync_latency_seconds",
      help: "Duration of one durable storage.save (one Ready batch: WAL write and fsync)",
      buckets,
      registers,
    });
    this.readLatency = new Histogram({
      name: "raftstack_read_index_latency_seconds",
      help: "ReadIndex request to read served",
      buckets,
      registers,
    });
    this.leaderChanges = new Counter({
      name: "raftstack_leader_changes_total",
      help: "Times this node saw the leader change (including to no leader)",
      registers,
    });
    this.entriesApplied = new Counter({
      name: "raftstack_entries_applied_total",
      help: "Log entries applied (a batch entry carries several commands)",
      registers,
    });
    this.commandsApplied = new Counter({
      name: "raftstack_commands_applied_total",
      help: "Stack commands applied (one per write; a batch entry applies several)",
      registers,
    });
    this.snapshots = new Counter({
      name: "raftstack_snapshots_total",
      help: "Snapshots created locally or installed from the leader",
      labelNames: ["kind"],
      registers,
    });
    this.snapshotDuration = new Histogram({
      name: "raftstack_snapshot_duration_seconds",
      help: "Creating a snapshot (encode, write, compact) or installing the leader's (restore)",
      labelNames: ["kind"],
      buckets: SNAPSHOT_BUCKETS,
      registers,
    });
    this.snapshotBytes = new Gauge({
      name: "raftstack_snapshot_size_bytes",
      help: "Size of the newest snapshot created or installed",
      labelNames: ["kind"],
      registers,
    });
    this.readyBatches = new Counter({
      name: "raftstack_ready_batches_total",
      help: "Ready batches processed (persisted with at most one fsync each)",
      registers,
    });
    this.httpRequests = new Counter({
      name: "raftstack_http_requests_total",
      help: "HTTP requests answered, by method, route pattern and status",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.raftGauges(source, registers);
    this.workGauges(source, registers);
    this.transportMetrics(source, registers);
    if (defaults) collectDefaultMetrics({ register: this.registry });
  }

  /** Counts one answered request of `route` (undefined: no route matched). */
  httpRequest(route: RouteLabel | undefined, status: number): void {
    const r = route ?? UNMATCHED;
    let byStatus = this.httpChildren.get(r);
    if (byStatus === undefined) {
      byStatus = new Map();
      this.httpChildren.set(r, byStatus);
    }
    let child = byStatus.get(status);
    if (child === undefined) {
      child = this.httpRequests.labels({ method: r.method, route: r.path, status: String(status) });
      byStatus.set(status, child);
    }
    child.inc();
  }

  /** A snapshot was created here or installed from the leader. */
  snapshotDone(kind: "created" | "installed", seconds: number, bytes: number): void {
    this.snapshots.inc({ kind });
    this.snapshotDuration.observe({ kind }, seconds);
    this.snapshotBytes.set({ kind }, bytes);
  }

  /** The dashboard's once-a-second sample (prom-client reads are async). */
  async sample(): Promise<MetricsSample> {
    const [applied, commands, proposals, latency] = await Promise.all([
      this.entriesApplied.get(),
      this.commandsApplied.get(),
      this.proposals.get(),
      this.commitLatency.get(),
    ]);
    let count = 0;
    let sum = 0;
    const buckets: [number, number][] = [];
    for (const v of latency.values) {
      if (v.metricName?.endsWith("_bucket")) buckets.push([Number(v.labels.le), v.value]);
      else if (v.metricName?.endsWith("_count")) count = v.value;
      else if (v.metricName?.endsWith("_sum")) sum = v.value;
    }
    return {
      entriesApplied: applied.values[0]?.value ?? 0,
      commandsApplied: commands.values[0]?.value ?? 0,
      proposals: proposals.values[0]?.value ?? 0,
      commitLatency: { count, sum, buckets },
    };
  }

  private raftGauges(source: MetricsSource, registers: Registry[]): void {
    const gauge = (name: string, help: string, read: (s: ReturnType<MetricsSource["raft"]>) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(source.raft()));
        },
      });
    gauge("raftstack_applied_index", "Highest log index applied to the state machine", (s) => s.applied);
    gauge("raftstack_commit_index", "Highest log index known committed", (s) => s.commit);
    gauge("raftstack_last_index", "Index of the last entry in this node's log", (s) => s.lastIndex);
    gauge("raftstack_term", "Current Raft term", (s) => s.term);
    gauge("raftstack_is_leader", "1 if this node is the leader", (s) => (s.role === "leader" ? 1 : 0));
    gauge("raftstack_has_leader", "1 if this node knows a leader", (s) => (s.leader === 0 ? 0 : 1));
    gauge("raftstack_leader_id", "Id of the leader this node knows (0: none)", (s) => s.leader);
    gauge(
      "raftstack_apply_lag_entries",
      "Committed entries not yet applied here",
      (s) => s.commit - s.applied,
    );
    new Gauge({
      name: "raftstack_replication_lag_entries",
      help: "Leader only: entries of the leader's log each peer has not acknowledged",
      labelNames: ["peer"],
      registers,
      collect() {
        const s = source.raft();
        // Series only while leader: a follower's stale numbers would look like a lagging cluster.
        this.reset();
        for (const [id, pr] of s.progress) {
          if (id !== s.id && s.role === "leader")
            this.set({ peer: String(id) }, Math.max(0, s.lastIndex - pr.match));
        }
      },
    });
  }

  private workGauges(source: MetricsSource, registers: Registry[]): void {
    new Gauge({
      name: "raftstack_proposals_pending",
      help: "Proposals waiting for their outcome on this leader",
      registers,
      collect() {
        this.set(source.proposalsPending());
      },
    });
    new Gauge({
      name: "raftstack_sessions",
      help: "Entries of the exactly-once session table (idempotency keys remembered)",
      registers,
      collect() {
        this.set(source.sessions());
      },
    });
    monotonic(
      "raftstack_wal_written_bytes_total",
      "Bytes appended to the write-ahead log",
      [],
      registers,
      () => [[{}, source.walBytesWritten()]],
    );
  }

  private transportMetrics(source: MetricsSource, registers: Registry[]): void {
    const perPeer = (read: (p: PeerStatsOf) => number) => (): [Record<string, string>, number][] =>
      [...source.transport().peers].map(([id, p]) => [{ peer: String(id) }, read(p)]);
    const peerCounter = (name: string, help: string, read: (p: PeerStatsOf) => number) =>
      monotonic(name, help, ["peer"], registers, perPeer(read));
    peerCounter("raftstack_peer_sent_messages_total", "Messages written to a peer", (p) => p.messagesSent);
    peerCounter("raftstack_peer_sent_bytes_total", "Bytes written to a peer", (p) => p.bytesSent);
    peerCounter(
      "raftstack_peer_received_messages_total",
      "Messages read from a peer",
      (p) => p.messagesReceived,
    );
    peerCounter("raftstack_peer_received_bytes_total", "Bytes read from a peer", (p) => p.bytesReceived);
    peerCounter(
      "raftstack_peer_dropped_messages_total",
      "Messages dropped for a full send queue, or queued for a connection reset for silence (Raft resends)",
      (p) => p.messagesDropped,
    );
    peerCounter(
      "raftstack_peer_reconnects_total",
      "Connections to a peer lost and redialled",
      (p) => p.reconnects,
    );
    peerCounter(
      "raftstack_peer_silence_resets_total",
      "Connections to a peer reset because what was written went linkSilenceMsMax unacknowledged",
      (p) => p.silenceResets,
    );
    peerCounter(
      "raftstack_peer_snapshots_failed_total",
      "Snapshot streams to a peer abandoned",
      (p) => p.snapshotsFailed,
    );
    monotonic(
      "raftstack_transport_errors_total",
      "Inbound frames malformed, handshakes refused (ours by peers, theirs by us), messages unroutable",
      ["kind"],
      registers,
      () => {
        const t = source.transport();
        let refusedByPeers = 0;
        for (const p of t.peers.values()) refusedByPeers += p.refusals;
        return [
          [{ kind: "frame_malformed" }, t.framesMalformed],
          [{ kind: "handshake_refused" }, t.handshakesRefused],
          [{ kind: "refused_by_peer" }, refusedByPeers],
          [{ kind: "unroutable" }, t.messagesUnroutable],
        ];
      },
    );
    const peerGauge = (name: string, help: string, read: (p: PeerStatsOf) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["peer"],
        registers,
        collect() {
          for (const [labels, v] of perPeer(read)()) this.set(labels, v);
        },
      });
    peerGauge("raftstack_send_queue_messages", "Messages queued for a peer", (p) => p.queueMessages);
    peerGauge("raftstack_send_queue_bytes", "Bytes queued for a peer", (p) => p.queueBytes);
    peerGauge(
      "raftstack_peer_connected",
      "1 while the connection to a peer is up (a silent one counts until linkSilenceMsMax finds it dead)",
      (p) => (p.connected ? 1 : 0),
    );
  }
}

type PeerStatsOf = TransportStats["peers"] extends ReadonlyMap<NodeId, infer P> ? P : never;

/**
 * A counter whose values another component keeps (the transport's stats, the WAL's byte count): at
 * scrape time it adds what each series grew since the last scrape, so nothing is counted twice.
 */
function monotonic(
  name: string,
  help: string,
  labelNames: string[],
  registers: Registry[],
  read: () => Iterable<[Record<string, string>, number]>,
): Counter<string> {
  const last = new Map<string, number>();
  return new Counter({
    name,
    help,
    labelNames,
    registers,
    collect() {
      for (const [labels, value] of read()) {
        const key = JSON.stringify(labels);
        const grew = value - (last.get(key) ?? 0);
        last.set(key, value);
        // An increment of 0 still creates the series, so alerts see a 0 rather than nothing.
        this.inc(labels, Math.max(0, grew));
      }
    },
  });
}
