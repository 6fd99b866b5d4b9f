import assert from "node:assert/strict";
import {
  type ConfigState,
  type Entry,
  type HardState,
  MemoryStorage,
  type Message,
  type NodeId,
  Prng,
  Raft,
  type RaftConfig,
  type RaftEvent,
  type ReadState,
} from "../../src/raft/index.js";

export interface ClusterOptions {
  readonly seed?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly forwardProposals?: boolean;
  readonly limits?: RaftConfig["limits"];
  readonly mutations?: RaftConfig["mutations"];
  /** Pre-existing logs: for a node id, the term of each entry from index 1, and its current term. */
  readonly logs?: ReadonlyMap<NodeId, { terms: readonly number[]; term: number }>;
}

export interface TestNode {
  raft: Raft;
  storage: MemoryStorage;
  applied: Entry[];
  readStates: ReadState[];
  /** Every event the node's Readies reported, and how many were dropped by the limit. */
  events: RaftEvent[];
  eventsDropped: number;
  up: boolean;
}

/**
 * An in-memory network of real Raft peers driven by hand: tests decide when nodes tick and which
 * messages are delivered, dropped, duplicated or reordered.
 */
export class Cluster {
  readonly nodes = new Map<NodeId, TestNode>();
  queue: Message[] = [];
  /** Pairs "a-b" whose messages from a to b are dropped. */
  private readonly cuts = new Set<string>();
  readonly ids: NodeId[];
  /** Every message ever handed to the network, for assertions about traffic. */
  sent: Message[] = [];

  constructor(
    size: number,
    private readonly options: ClusterOptions = {},
  ) {
    this.ids = Array.from({ length: size }, (_, i) => i + 1);
    for (const id of this.ids) {
      const storage = new MemoryStorage({ voters: [...this.ids], learners: [] });
      const preset = options.logs?.get(id);
      if (preset) {
        storage.append(
          preset.terms.map((term, i) => ({
            term,
            index: i + 1,
            kind: "normal",
            data: new TextEncoder().encode(`t${term}i${i + 1}`),
          })),
        );
        storage.setHardState({ term: preset.term, vote: 0, commit: 0 });
      }
      this.nodes.set(id, {
        raft: this.newRaft(id, storage),
        storage,
        applied: [],
        readStates: [],
        events: [],
        eventsDropped: 0,
        up: true,
      });
    }
  }

  private newRaft(id: NodeId, storage: MemoryStorage, applied = 0): Raft {
    const o = this.options;
    return new Raft({
      id,
      storage,
      electionTicks: o.electionTicks ?? 10,
      heartbeatTicks: o.heartbeatTicks ?? 1,
      seed: o.seed ?? 1,
      preVote: o.preVote ?? true,
      checkQuorum: o.checkQuorum ?? true,
      forwardProposals: o.forwardProposals ?? true,
      applied,
      ...(o.limits ? { limits: o.limits } : {}),
      ...(o.mutations ? { mutations: o.mutations } : {}),
    });
  }

  /**
   * Starts a new node `id` on an empty log with `config` as its bootstrap configuration (empty for a
   * node joining with `--join`: it learns the configuration from the leader).
   */
  addNode(id: NodeId, config: ConfigState = { voters: [], learners: [] }): TestNode {
    const storage = new MemoryStorage(config);
    const n: TestNode = {
      raft: this.newRaft(id, storage),
      storage,
      applied: [],
      readStates: [],
      events: [],
      eventsDropped: 0,
      up: true,
    };
    this.nodes.set(id, n);
    this.ids.push(id);
    return n;
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  raft(id: NodeId): Raft {
    return this.node(id).raft;
  }

  /** Runs the Ready loop of one node: persist, hand messages to the network, apply, advance. */
  process(id: NodeId): void {
    const n = this.node(id);
    if (!n.up) return;
    while (n.raft.hasReady()) {
      const rd = n.raft.ready();
      this.enqueue(rd.sendNow);
      n.storage.persist(rd);
      this.enqueue(rd.sendAfterPersist);
      if (rd.snapshot) n.applied = decodeAppliedSnapshot(rd.snapshot.data);
      n.applied.push(...rd.committed);
      n.readStates.push(...rd.readStates);
      n.events.push(...rd.events);
      n.eventsDropped += rd.eventsDropped;
      n.raft.advance();
    }
  }

  private enqueue(msgs: readonly Message[]): void {
    for (const m of msgs) {
      this.sent.push(m);
      this.queue.push(m);
    }
  }

  processAll(): void {
    for (const id of this.ids) this.process(id);
  }

  /** Delivers the queued messages once (those cut or to/from down nodes are dropped). */
  deliver(filter: (m: Message) => boolean = () => true): number {
    const batch = this.queue;
    this.queue = [];
    let delivered = 0;
    for (const m of batch) {
      if (!this.canDeliver(m) || !filter(m)) continue;
      this.node(m.to).raft.step(m);
      delivered++;
    }
    return delivered;
  }

  canDeliver(m: Message): boolean {
    return this.node(m.from).up && this.node(m.to).up && !this.cuts.has(`${m.from}-${m.to}`);
  }

  /** Processes and delivers until nothing moves (bounded). */
  stabilize(roundsMax = 1000): void {
    for (let round = 0; round < roundsMax; round++) {
      this.processAll();
      if (this.queue.length === 0) return;
      this.deliver();
    }
    throw new Error("cluster did not stabilize");
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) {
      if (this.node(id).up) this.raft(id).tick();
    }
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const id of this.ids) this.tick(id);
      this.stabilize();
    }
  }

  /**
   * Ticks only `id` until it campaigns and wins; returns its term. With `votesOnly`, only election
   * messages are delivered, so the new leader's first appends stay queued (then dropped).
   */
  elect(id: NodeId, votesOnly = false): number {
    const isVote = (m: Message) => m.type === "vote" || m.type === "voteResp";
    for (let i = 0; i < 100; i++) {
      this.tick(id);
      if (votesOnly) {
        for (let round = 0; round < 20; round++) {
          this.processAll();
          this.deliver(isVote);
        }
      } else this.stabilize();
      if (this.raft(id).role === "leader") return this.raft(id).term;
    }
    throw new Error(`node ${id} did not become leader`);
  }

  /**
   * Ticks only `id` until it campaigns (pre-vote passed), delivers its vote requests, and returns the
   * answers undelivered: a test then decides when each vote arrives.
   */
  campaign(id: NodeId): Message[] {
    for (let i = 0; i < 100 && this.raft(id).role !== "candidate"; i++) {
      this.tick(id);
      this.processAll();
      this.deliver((m) => m.type === "vote" || m.type === "voteResp");
      this.processAll();
      this.deliver((m) => m.type === "vote" || (m.type === "voteResp" && m.preVote));
    }
    if (this.raft(id).role !== "candidate") throw new Error(`node ${id} did not campaign`);
    this.processAll();
    this.deliver(); // the vote requests
    this.processAll();
    const answers = this.queue.filter((m) => m.type === "voteResp" && m.to === id);
    this.queue = [];
    return answers;
  }

  /**
   * Delivers each queued message now (telling `delivered` first), later (requeued) or never, by
   * `random`: 70 %, 20 %, 10 %.
   */
  deliverSome(random: Prng, delivered: (m: Message) => void = () => {}): void {
    const held: Message[] = [];
    this.deliver((m) => {
      const fate = random.int(10);
      if (fate < 2) held.push(m);
      if (fate < 3) return false;
      delivered(m);
      return true;
    });
    this.queue.push(...held);
  }

  /** Ticks the given nodes together until one of them leads; returns it. */
  electAmong(ids: readonly NodeId[]): NodeId {
    for (let i = 0; i < 200; i++) {
      for (const id of ids) this.tick(id);
      this.stabilize();
      const leader = ids.find((id) => this.raft(id).role === "leader");
      if (leader !== undefined) return leader;
    }
    throw new Error(`none of ${ids.join(",")} became leader`);
  }

  propose(id: NodeId, text: string): void {
    const result = this.raft(id).propose([new TextEncoder().encode(text)]);
    if (!result.ok) throw new Error(`proposal on ${id} failed: ${result.error}`);
  }

  cut(a: NodeId, b: NodeId): void {
    this.cuts.add(`${a}-${b}`);
    this.cuts.add(`${b}-${a}`);
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.cuts.add(`${from}-${to}`);
  }

  isolate(id: NodeId): void {
    for (const other of this.ids) if (other !== id) this.cut(id, other);
  }

  heal(): void {
    this.cuts.clear();
  }

  crash(id: NodeId): void {
    this.node(id).up = false;
  }

  /** Restarts from what was persisted: a fresh Raft over the same storage, state machine rebuilt. */
  restart(id: NodeId): void {
    const n = this.node(id);
    const snapIndex = n.storage.snapshot().meta.index;
    n.applied = n.applied.filter((e) => e.index <= snapIndex);
    n.raft = this.newRaft(id, n.storage, snapIndex);
    n.up = true;
  }

  /**
   * The node's disk is replaced by one holding only `hardState` (what `raftstack repair` leaves
   * behind: no log, no snapshot), and the node starts on it with `bootstrap` as its configuration
   * (what `--cluster` gives a restarted node: every id here unless a test says otherwise).
   */
  replaceDisk(id: NodeId, hardState: HardState, bootstrap?: ConfigState): void {
    const n = this.node(id);
    n.storage = new MemoryStorage(bootstrap ?? { voters: [...this.ids], learners: [] });
    n.storage.setHardState(hardState);
    n.applied = [];
    n.raft = this.newRaft(id, n.storage);
    n.up = true;
  }

  leaders(): NodeId[] {
    return this.ids.filter((id) => this.node(id).up && this.raft(id).role === "leader");
  }

  /** The entries of a node's whole log (persisted plus unstable), for comparisons. */
  logOf(id: NodeId): Entry[] {
    const log = this.raft(id).log;
    return log.slice(log.firstIndex(), log.lastIndex() + 1, Number.MAX_SAFE_INTEGER) ?? [];
  }
}

export const text = (e: Entry): string => new TextDecoder().decode(e.data);

/** Test snapshots carry the applied entries as JSON, so a restore can rebuild `applied`. */
export function encodeAppliedSnapshot(applied: readonly Entry[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(applied.map((e) => ({ ...e, data: text(e) }))));
}

export function decodeAppliedSnapshot(data: Uint8Array): Entry[] {
  if (data.length === 0) return [];
  const rows = JSON.parse(new TextDecoder().decode(data)) as (Omit<Entry, "data"> & { data: string })[];
  return rows.map((r) => ({ ...r, data: new TextEncoder().encode(r.data) }));
}

export function rng(seed: number): Prng {
  return new Prng(seed);
}

/** §5.4.3 State Machine Safety: no two nodes ever apply different entries at the same index. */
export function assertStateMachineSafety(c: Cluster): void {
  const byIndex = new Map<number, string>();
  for (const id of c.ids) {
    for (const e of c.node(id).applied) {
      const key = `${e.term}/${text(e)}`;
      const seen = byIndex.get(e.index);
      if (seen === undefined) byIndex.set(e.index, key);
      else
        assert.equal(
          key,
          seen,
          `node ${id} applied ${key} at index ${e.index}, another node applied ${seen}`,
        );
    }
  }
}

/** §5.3 Log Matching: same index and term ⇒ identical entries up to that index. */
export function assertLogMatching(c: Cluster): void {
  const logs = c.ids.map((id) => c.logOf(id));
  for (let a = 0; a < logs.length; a++) {
    for (let b = a + 1; b < logs.length; b++) {
      const la = logs[a] ?? [];
      const lb = logs[b] ?? [];
      const common = Math.min(la.length, lb.length);
      let matchedAt = -1;
      for (let i = common - 1; i >= 0; i--) {
        if (la[i]?.term === lb[i]?.term && la[i]?.index === lb[i]?.index) {
          matchedAt = i;
          break;
        }
      }
      for (let i = 0; i <= matchedAt; i++) {
        assert.equal(
          la[i]?.term,
          lb[i]?.term,
          `logs of ${c.ids[a]} and ${c.ids[b]} differ at ${la[i]?.index}`,
        );
        assert.equal(text(la[i] as never), text(lb[i] as never));
      }
    }
  }
}

/** Node 1 leads; node 3 misses five writes (cut off), so a transfer to it starts by catching it up. */
export function laggingTarget(): Cluster {
  const c = new Cluster(3, { seed: 4 });
  c.elect(1);
  c.stabilize();
  c.cut(1, 3);
  for (let i = 0; i < 5; i++) c.propose(1, `w${i}`);
  c.stabilize();
  return c;
}
