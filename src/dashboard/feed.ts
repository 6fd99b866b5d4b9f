import { eventCategory, type MetricsSample, type NodeStatus, type RecentEvent } from "../node/index.js";
import type { StackMachine } from "../stack/index.js";
import {
  fetchSummary,
  PEER_TIMEOUT_MS_DEFAULT,
  type PeerAnswer,
  type PeerSummary,
  SUMMARY_EVENTS_MAX,
} from "./peers.js";
import { type RatePoint, RateSamples } from "./samples.js";
import { SSE_CLIENTS_MAX_DEFAULT, SseClients } from "./sse.js";
import { type ClusterPicture, clusterPicture } from "./view.js";

/** What the dashboard reads from its node (RaftNode is one). */
export interface DashboardSource {
  readonly id: number;
  status(): NodeStatus;
  readonly events: { readonly lastSeq: number; since(seq: number): RecentEvent[] };
  readonly metrics: { sample(): Promise<MetricsSample> };
  read<T>(fn: (m: StackMachine) => T, stale?: boolean): Promise<T>;
}

export interface DashboardLimits {
  readonly sseClientsMax: number;
  /** A member slower than this is shown unreachable for one refresh. */
  readonly peerTimeoutMs: number;
  readonly refreshMs: number;
  /** Events of the merged cluster timeline kept (oldest fall out). */
  readonly timelineEventsMax: number;
  /** Chart points kept: one per refresh. */
  readonly ratePointsMax: number;
  /** Stacks looked at per refresh (the first by id), of which the largest `stacksShownMax` are shown. */
  readonly stacksScannedMax: number;
  readonly stacksShownMax: number;
  /** Top items shown per stack, each cut to `itemCharsMax`. */
  readonly itemsShownMax: number;
  readonly itemCharsMax: number;
}

export const defaultDashboardLimits: DashboardLimits = {
  sseClientsMax: SSE_CLIENTS_MAX_DEFAULT,
  peerTimeoutMs: PEER_TIMEOUT_MS_DEFAULT,
  refreshMs: 1000,
  timelineEventsMax: 500,
  ratePointsMax: 300,
  stacksScannedMax: 1000,
  stacksShownMax: 20,
  itemsShownMax: 5,
  itemCharsMax: 64,
};

export interface StacksView {
  readonly count: number;
  readonly items: number;
  /** Stacks looked at (the first by id); the shown ones are the largest of these. */
  readonly scanned: number;
  readonly shown: readonly { id: number; label: string; size: number; top: string[] }[];
}

/** One message of the stream: the picture now, plus what is new since the previous message. */
export interface DashboardUpdate extends ClusterPicture {
  readonly node: number;
  readonly atMs: number;
  readonly self: NodeStatus;
  readonly stacks: StacksView | undefined;
  readonly events: readonly RecentEvent[];
  readonly rates: readonly RatePoint[];
  readonly limits: { readonly timelineEventsMax: number; readonly ratePointsMax: number };
}

/** Requests to /v1/dashboard keep the peers polled this long without a stream open. */
const POLL_WANTED_MS = 10_000;

/**
 * The server side of one node's dashboard: once a second it samples the node's metrics into a rate
 * ring; while a dashboard is open it also asks every other member for its view and new events (short
 * timeouts, so a dead or paused member costs one refresh at most), merges them into one cluster
 * picture and timeline, and pushes that to every open stream.
 */
export class DashboardFeed {
  readonly sse: SseClients;
  readonly limits: DashboardLimits;
  private readonly rates = new RateSamples();
  private readonly chart: RatePoint[] = [];
  private readonly timeline: RecentEvent[] = [];
  private readonly peers = new Map<number, PeerAnswer>();
  /** Newest event sequence number taken from each member (this one included). */
  private readonly seqs = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private wantedUntil = 0;
  private latest: DashboardUpdate | undefined;
  /**
   * The Authorization header of the latest viewer, sent with the peers' summary requests: on a node
   * with access control the peers ask for a read token, and a feed only asks peers while someone
   * watches, so it reads them with exactly that viewer's rights (no credential of its own).
   */
  private viewerAuthorization: string | undefined;

  constructor(
    private readonly source: DashboardSource,
    limits: Partial<DashboardLimits> = {},
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.limits = { ...defaultDashboardLimits, ...limits };
    this.sse = new SseClients(this.limits.sseClientsMax);
  }

  start(): void {
    this.timer = setInterval(() => void this.refresh(), this.limits.refreshMs);
    this.timer.unref();
    void this.refresh();
  }

  stop(): void {
    clearInterval(this.timer);
    this.sse.closeAll();
  }

  /** The whole picture (full timeline and chart), fresh within one refresh; keeps the peers polled a while. */
  async snapshot(): Promise<DashboardUpdate> {
    const wasWanted = this.wanted(Date.now());
    this.wantedUntil = Date.now() + POLL_WANTED_MS;
    if (!wasWanted || this.latest === undefined) await this.refresh();
    else await this.refreshing;
    return { ...(this.latest as DashboardUpdate), events: this.timeline, rates: this.chart };
  }

  /** Records the credentials of a request the server already authorized for the dashboard. */
  viewedWith(authorization: string | undefined): void {
    if (authorization !== undefined) this.viewerAuthorization = authorization;
  }

  /** What /v1/dashboard/summary answers to another member's dashboard. */
  summary(since: number): PeerSummary {
    const events = this.source.events.since(since);
    return {
      cluster: this.source.status(),
      events: events.slice(-SUMMARY_EVENTS_MAX),
      lastSeq: this.source.events.lastSeq,
      rate: this.rates.latest ?? null,
    };
  }

  /** One refresh at a time; a caller during one waits for it. */
  refresh(): Promise<void> {
    this.refreshing ??= this.refreshOnce()
      .catch(this.onError)
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  private wanted(now: number): boolean {
    return this.sse.size > 0 || now < this.wantedUntil;
  }

  private async refreshOnce(): Promise<void> {
    const now = Date.now();
    const own = this.rates.add(now, await this.source.metrics.sample());
    if (!this.wanted(now)) {
      // The chart keeps its history while nobody watches; only the leader's latency needs the peers.
      if (own !== undefined) push(this.chart, own, this.limits.ratePointsMax);
      return;
    }
    const fresh = this.takeOwnEvents();
    await this.askPeers(fresh);
    const self = this.source.status();
    const picture = clusterPicture(self, this.peers);
    const point = own === undefined ? undefined : this.withLeaderLatency(own, picture.leader);
    if (point !== undefined) push(this.chart, point, this.limits.ratePointsMax);
    fresh.sort((a, b) => a.atMs - b.atMs);
    for (const e of fresh) push(this.timeline, e, this.limits.timelineEventsMax);
    this.latest = {
      ...picture,
      node: this.source.id,
      atMs: now,
      self,
      stacks: await this.stacks().catch(() => undefined),
      events: fresh,
      rates: point === undefined ? [] : [point],
      limits: { timelineEventsMax: this.limits.timelineEventsMax, ratePointsMax: this.limits.ratePointsMax },
    };
    this.sse.broadcast("update", this.latest);
  }

  private takeOwnEvents(): RecentEvent[] {
    const id = this.source.id;
    const events = this.source.events.since(this.seqs.get(id) ?? 0);
    this.seqs.set(id, this.source.events.lastSeq);
    return events;
  }

  /** Asks every other member at once; their new events join `fresh`. */
  private async askPeers(fresh: RecentEvent[]): Promise<void> {
    const self = this.source.status();
    const others = self.members.filter((m) => m.id !== self.id && m.clientUrl !== "");
    const answers = await Promise.all(
      others.map((m) =>
        fetchSummary(
          m.id,
          m.clientUrl,
          this.seqs.get(m.id) ?? 0,
          this.limits.peerTimeoutMs,
          this.viewerAuthorization,
        ),
      ),
    );
    const known = new Set(others.map((m) => m.id));
    for (const id of this.peers.keys()) if (!known.has(id)) this.peers.delete(id);
    for (const a of answers) {
      this.peers.set(a.id, a);
      const s = a.summary;
      if (s === undefined) continue;
      const seen = this.seqs.get(a.id) ?? 0;
      // A member that restarted numbers its events from 1 again: take all it has next time.
      if (s.lastSeq < seen) {
        this.seqs.set(a.id, 0);
        continue;
      }
      // A member of an older build sends no category: this node names the ones it knows.
      for (const e of s.events)
        if (e.seq > seen) fresh.push({ ...e, category: e.category ?? eventCategory(e.event.type) });
      this.seqs.set(a.id, s.events.at(-1)?.seq ?? seen);
    }
  }

  /** This node's write rate with the leader's commit latency (only the leader commits proposals). */
  private withLeaderLatency(own: RatePoint, leader: number): RatePoint {
    if (leader === this.source.id || leader === 0) return own;
    const rate = this.peers.get(leader)?.summary?.rate;
    if (rate == null) return { ...own, meanMs: null, p50Ms: null, p99Ms: null };
    return { ...own, meanMs: rate.meanMs, p50Ms: rate.p50Ms, p99Ms: rate.p99Ms };
  }

  private stacks(): Promise<StacksView> {
    const { stacksScannedMax, stacksShownMax, itemsShownMax, itemCharsMax } = this.limits;
    return this.source.read((m) => {
      const scanned = m.listAfter(0, stacksScannedMax);
      scanned.sort((a, b) => b.size - a.size || a.id - b.id);
      return {
        count: m.stackCount,
        items: m.itemCount,
        scanned: scanned.length,
        shown: scanned.slice(0, stacksShownMax).map((s) => ({
          ...s,
          top: (m.range(s.label, 0, itemsShownMax - 1) ?? []).map((item) =>
            item.length > itemCharsMax ? `${item.slice(0, itemCharsMax)}…` : item,
          ),
        })),
      };
    }, true);
  }
}

/** Appends to a ring kept as an array of at most `max` (small: a shift is cheap). */
function push<T>(ring: T[], item: T, max: number): void {
  ring.push(item);
  if (ring.length > max) ring.splice(0, ring.length - max);
}
