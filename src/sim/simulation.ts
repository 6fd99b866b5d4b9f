import {
  checkHistory,
  type Operation,
  type StackInput,
  type StackOutput,
  stackModel,
} from "../check/index.js";
import {
  type ConfChange,
  type ConfigState,
  InvariantError,
  type Message,
  type NodeId,
  Prng,
  type RaftMutations,
} from "../raft/index.js";
import type { StackMachineOptions } from "../stack/index.js";
import { type OpenStats, StorageError } from "../storage/index.js";
import { MESSAGE_CODES } from "../transport/index.js";
import { SimClient } from "./clients.js";
import { Invariants } from "./invariants.js";
import { Nemesis } from "./nemesis.js";
import { Network } from "./network.js";
import { SimNode } from "./node.js";
import { deriveParams, type SimParams } from "./params.js";
import { type ClientReply, type ClientRequest, Violation } from "./protocol.js";
import type { SimOptions, SimResult } from "./run-types.js";
import { Scheduler } from "./scheduler.js";
import { Trace } from "./trace.js";
import type { StuckOp } from "./trace-recorder.js";

/** Periodic full log comparison across nodes (log matching, committed prefixes). */
const logCheckEveryMs = 250;
/** Virtual time after the liveness write for clients' last operations to finish. */
const settleMs = 6_000;
const eventsMax = 1_000_000;
const defaultCheckStepsMax = 300_000;
const liveClientId = 1_000;
const drainClientId = 1_001;
/** Fast-lane runs: virtual time after the settle for popping every stack empty, with this many pops at once. */
const drainMs = 60_000;
const drainPoppers = 2;

/**
 * Runs one seeded simulation: a safety phase with faults, then healing and a liveness check. Async
 * because the real storage is; no real I/O or timer is awaited, so the result depends on the seed only.
 */
export function runSimulation(options: SimOptions): Promise<SimResult> {
  return new Simulation(options).run();
}

class Simulation {
  private readonly params: SimParams;
  private readonly sched = new Scheduler(eventsMax);
  private readonly trace: Trace;
  private readonly invariants = new Invariants();
  private readonly net: Network;
  private readonly nodes: SimNode[] = [];
  private readonly clients: SimClient[] = [];
  private readonly nemesis: Nemesis;
  private readonly history: Operation<StackInput, StackOutput>[] = [];
  private readonly nodeRng: Prng;
  private liveClient: SimClient | undefined;
  private drainClient: SimClient | undefined;
  private readonly initialIds: readonly NodeId[];
  private liveKey = "";
  private liveIndex = 0;
  private messages = 0;
  private opIds = 0;
  private readonly disk = {
    opens: 0,
    powerCuts: 0,
    tornTails: 0,
    tailBytesTruncated: 0,
    snapshotFallbacks: 0,
  };

  /** Operations the checker could not linearize, for the recorder. */
  private stuck: StuckOp[] = [];

  constructor(private readonly options: SimOptions) {
    this.trace = new Trace(options.recorder);
    const nodes = options.nodes ?? 3;
    this.params = deriveParams(options.seed, nodes, {
      ...(options.faultPhaseMs === undefined ? {} : { faultPhaseMs: options.faultPhaseMs }),
      ...(options.diskMode === undefined ? {} : { diskMode: options.diskMode }),
      ...(options.disabledFaults === undefined ? {} : { disabledFaults: options.disabledFaults }),
      ...(options.membership === true ? { membership: true } : {}),
      ...(options.clients === undefined ? {} : { clients: options.clients }),
      ...(options.fastLane === true ? { fastLane: true } : {}),
    });
    const root = new Prng(options.seed);
    this.net = new Network(this.params, root.fork());
    this.nodeRng = root.fork();
    const clientRng = root.fork();
    const nemesisRng = root.fork();
    const diskRng = root.fork();

    const m = options.mutation;
    const raftMutations: RaftMutations =
      m === "grantTwoVotesPerTerm" ||
      m === "commitOldTermByCounting" ||
      m === "skipLogMatchingCheck" ||
      m === "countLearnersInQuorum" ||
      m === "allowConcurrentConfChanges"
        ? { [m]: true }
        : {};
    const machineOptions: StackMachineOptions =
      m === "applyRetriesTwice" ? { mutations: { applyRetriesTwice: true } } : {};
    const config: ConfigState = { voters: Array.from({ length: nodes }, (_, i) => i + 1), learners: [] };
    this.initialIds = config.voters;
    const nodeHost = {
      now: () => this.sched.now,
      after: (ms: number, run: () => void) => this.sched.after(ms, run),
      defer: (run: () => void) => this.sched.defer(run),
      sendPeer: (msg: Message) => this.sendPeer(msg),
      reply: (r: ClientReply) => this.reply(r),
      fsyncDelayMs: () =>
        this.params.fsyncMinMs + this.nodeRng.float() * (this.params.fsyncMaxMs - this.params.fsyncMinMs),
      raftSeed: () => this.nodeRng.nextU32(),
      randomInt: (n: number) => diskRng.int(n),
      asyncStarted: () => this.sched.asyncStarted(),
      fail: (e: unknown) => this.sched.fail(e),
      opened: (id: NodeId, stats: OpenStats, lastIndex: number) => this.opened(id, stats, lastIndex),
      powerCut: (id: NodeId) => {
        this.disk.powerCuts++;
        this.trace.add(this.sched.now, "powerCut", [id]);
      },
      trace: (kind: string, nums: number[], text?: string) =>
        this.trace.add(this.sched.now, kind, nums, text),
      becameLeader: (node: SimNode) => this.nemesis.onLeader(node),
      configApplied: (node: NodeId, cc: ConfChange, applied: ConfigState) => {
        this.trace.add(this.sched.now, "config", [node, cc.id, ...applied.voters], cc.op);
        this.invariants.configApplied(node, applied);
      },
      watchApplied: (node: NodeId, key: string, index: number) => {
        if (key === this.liveKey && this.liveIndex === 0) {
          this.liveIndex = index;
          this.trace.add(this.sched.now, "liveApplied", [node, index]);
        }
      },
    };
    const nodeOptions = {
      raftMutations,
      machineOptions,
      driverMutations:
        m === "ackBeforeFsync" ||
        m === "ackRunBeforeCommit" ||
        m === "dropRunLastPush" ||
        m === "duplicateRunLastPush"
          ? { [m]: true }
          : {},
      readWithoutReadIndex: m === "readWithoutReadIndex",
    };
    const skewRng = root.fork();
    for (const id of config.voters) {
      const skew = {
        offsetMs: (2 * skewRng.float() - 1) * this.params.clockOffsetMaxMs,
        rate: 1 + (2 * skewRng.float() - 1) * this.params.clockDriftMax,
      };
      this.nodes.push(new SimNode(id, config, this.params, nodeOptions, nodeHost, this.invariants, skew));
      options.recorder?.clockSkew(id, skew.offsetMs, skew.rate);
    }
    options.recorder?.attach(this.nodes);
    // Spare nodes (membership runs) join later with no configuration and learn it from the leader.
    const joining: ConfigState = { voters: [], learners: [] };
    for (let id = nodes + 1; id <= nodes + this.params.spareNodes; id++) {
      const skew = { offsetMs: 0, rate: 1 };
      this.nodes.push(new SimNode(id, joining, this.params, nodeOptions, nodeHost, this.invariants, skew));
    }
    const labels = Array.from({ length: this.params.stacks }, (_, i) => `s${i}`);
    for (let c = 1; c <= this.params.clients; c++) {
      this.clients.push(this.newClient(c, clientRng.fork(), labels));
    }
    this.nemesis = new Nemesis(this.params, nemesisRng, this.net, this.nodes, {
      after: (ms, run) => this.sched.after(ms, run),
      trace: (kind, nums, text) => this.trace.add(this.sched.now, kind, nums, text),
      restart: (node) => this.restart(node),
      crashed: (node) => this.crashed(node),
      fail: (e) => this.sched.fail(e),
      spawn: (node) => {
        this.trace.add(this.sched.now, "join", [node.id]);
        node.start(this.nodeRng.float() * this.params.tickMs);
      },
    });
  }

  private newClient(id: number, rng: Prng, labels: readonly string[]): SimClient {
    return new SimClient(
      id,
      this.params,
      rng,
      {
        now: () => this.sched.now,
        after: (ms, run) => this.sched.after(ms, run),
        send: (node, req) => this.sendClient(node, req),
        nodes: () => this.clientNodes(),
        trace: (kind, nums, text) => this.trace.add(this.sched.now, kind, nums, text),
      },
      labels,
      this.history,
      () => ++this.opIds,
    );
  }

  async run(): Promise<SimResult> {
    let violation: SimResult["violation"];
    let linearizability: SimResult["linearizability"] = "skipped";
    try {
      await this.runPhases();
      linearizability = this.checkLinearizable();
    } catch (e) {
      violation = asViolation(e);
      if (e instanceof Violation && e.invariant === "linearizability") linearizability = "illegal";
      this.options.recorder?.violation(this.sched.now, violation.invariant, violation.message, this.stuck);
    }
    const ops = this.history.length;
    const unknownOps = this.history.filter((op) => op.output === undefined).length;
    const counts = this.nemesis.counts;
    return {
      seed: this.options.seed,
      params: this.params,
      ok: violation === undefined,
      violation,
      traceHash: this.trace.hex(),
      traceTail: violation === undefined ? [] : this.trace.tail(),
      linearizability,
      stats: {
        virtualMs: this.sched.now,
        events: this.sched.eventsRun,
        messages: this.messages,
        ops,
        okOps: ops - unknownOps,
        unknownOps,
        committed: this.invariants.maxCommitted,
        batchEntries: this.invariants.batchEntries,
        runPushes: this.clients.reduce((n, c) => n + c.runs.pushes, 0),
        runPushesOk: this.clients.reduce((n, c) => n + c.runs.pushesOk, 0),
        partitions: counts.partitions,
        crashes: counts.crashes,
        pauses: counts.pauses,
        transfers: counts.transfers,
        repairs: counts.repairs,
        stops: counts.stops,
        diskOpens: this.disk.opens,
        powerCuts: this.disk.powerCuts,
        tornTails: this.disk.tornTails,
        tailBytesTruncated: this.disk.tailBytesTruncated,
        snapshotFallbacks: this.disk.snapshotFallbacks,
        membership: this.nemesis.membership.counts,
      },
    };
  }

  private async runPhases(): Promise<void> {
    const p = this.params;
    for (const node of this.nodes) if (node.id <= p.nodes) node.start(this.nodeRng.float() * p.tickMs);
    for (const c of this.clients) c.start();
    this.nemesis.start();
    const checkLogs = () => {
      this.checkLogs();
      this.sched.after(logCheckEveryMs, checkLogs);
    };
    this.sched.after(logCheckEveryMs, checkLogs);

    // Safety phase: faults on.
    await this.sched.runUntil(p.faultPhaseMs);

    // Liveness phase: heal everything; a write must complete and reach every node in bounded time.
    const healedAt = this.sched.now;
    for (const c of this.clients) c.stop();
    this.nemesis.healAll();
    for (const c of this.clients) c.reconcile();
    let liveDone = false;
    const live = this.newClient(liveClientId, this.nodeRng.fork(), ["live"]);
    this.liveClient = live;
    const attempts = Math.ceil(p.livenessMs / p.opTimeoutMs) + 1;
    this.liveKey = live.run({ op: "create", stack: "live" }, attempts, (out) => {
      liveDone = out !== undefined;
    });
    await this.sched.runUntil(
      healedAt + p.livenessMs,
      () => liveDone && this.liveIndex > 0 && this.allApplied(this.liveIndex),
    );
    if (!liveDone)
      throw new Violation("liveness", `no write completed within ${p.livenessMs}ms after healing`);
    if (!this.allApplied(this.liveIndex)) {
      const applied = this.members()
        .map((n) => `${n.id}:${n.live ? n.machine.appliedIndex : n.state}`)
        .join(" ");
      throw new Violation(
        "liveness",
        `not every node applied index ${this.liveIndex} within ${p.livenessMs}ms (${applied})`,
      );
    }

    // Let in-flight client operations end, then compare the final logs.
    await this.sched.runUntil(this.sched.now + settleMs);
    if (p.fastLaneShare > 0) await this.drain();
    for (const c of this.clients) c.finish();
    this.checkLogs();
    let leader: SimNode | undefined;
    for (const n of this.nodes) {
      if (
        n.state === "up" &&
        n.raft.role === "leader" &&
        (leader === undefined || n.raft.term > leader.raft.term)
      )
        leader = n;
    }
    if (leader === undefined) throw new Violation("liveness", "no leader at the end of a healed run");
    this.invariants.checkLeaderHoldsCommitted(leader.raft, true);
  }

  /**
   * Fast-lane runs: pops every stack until it answers empty. A keyless push whose outcome stayed unknown
   * cannot be asked about again; popped, it is seen to have happened, and every acknowledged push must be
   * popped exactly once (a lost one leaves a stack empty too early, a duplicate is popped twice).
   */
  private async drain(): Promise<void> {
    const labels = Array.from({ length: this.params.stacks }, (_, i) => `s${i}`);
    const drainer = this.newClient(drainClientId, this.nodeRng.fork(), labels);
    this.drainClient = drainer;
    let left = labels.length;
    for (const label of labels) drainer.drain(label, drainPoppers, () => left--);
    await this.sched.runUntil(this.sched.now + drainMs, () => left === 0);
    if (left > 0) throw new Violation("liveness", `${left} stacks not drained within ${drainMs}ms`);
    drainer.finish();
  }

  /** Where clients send requests: the initial members, or in a membership run the current ones. */
  private clientNodes(): readonly NodeId[] {
    if (this.params.spareNodes === 0) return this.initialIds;
    const ids = this.members().map((n) => n.id);
    return ids.length > 0 ? ids : this.initialIds;
  }

  private allApplied(index: number): boolean {
    for (const n of this.members()) if (n.state !== "up" || n.machine.appliedIndex < index) return false;
    return true;
  }

  /**
   * The nodes that must serve after healing: every node, or in a membership run the members (voters
   * and learners) in the configuration of the newest live leader (none known yet: every started node).
   */
  private members(): SimNode[] {
    if (this.params.spareNodes === 0) return this.nodes;
    let leader: SimNode | undefined;
    for (const n of this.nodes) {
      if (n.live && n.raft.role === "leader" && (leader === undefined || n.raft.term > leader.raft.term))
        leader = n;
    }
    const started = this.nodes.filter((n) => n.spawned);
    if (leader === undefined) return started;
    const { voters, learners } = leader.raft.config;
    return started.filter((n) => voters.includes(n.id) || learners.includes(n.id));
  }

  private checkLogs(): void {
    this.invariants.checkLogs(this.nodes.filter((n) => n.live).map((n) => n.raft));
  }

  private checkLinearizable(): SimResult["linearizability"] {
    const result = checkHistory(stackModel, this.history, {
      stepsMax: this.options.checkStepsMax ?? defaultCheckStepsMax,
    });
    if (result.result === "illegal") {
      if (this.options.recorder !== undefined) this.stuck = result.stuck.map(stuckOp);
      throw new Violation("linearizability", result.explanation);
    }
    return result.result;
  }

  private opened(id: NodeId, stats: OpenStats, lastIndex: number): void {
    this.disk.opens++;
    if (stats.tailBytesTruncated > 0) this.disk.tornTails++;
    this.disk.tailBytesTruncated += stats.tailBytesTruncated;
    if (stats.snapshotFallback) this.disk.snapshotFallbacks++;
    this.trace.add(this.sched.now, "open", [id, stats.snapshotIndex, lastIndex, stats.tailBytesTruncated]);
  }

  private restart(node: SimNode): void {
    this.trace.add(this.sched.now, "restart", [node.id]);
    node.start(this.nodeRng.float() * this.params.tickMs);
  }

  /** The dead process's connections close: every running peer's transport reports it unreachable. */
  private crashed(node: SimNode): void {
    for (const peer of this.nodes) {
      if (peer === node || !this.net.reportUnreachable(peer.id, node.id, true, this.sched.now)) continue;
      this.sched.after(this.net.latency(), () => peer.unreachable(node.id));
    }
  }

  private sendPeer(m: Message): void {
    this.messages++;
    const target = this.nodes[m.to - 1];
    if (target === undefined) return;
    const sender = this.nodes[m.from - 1] as SimNode;
    if (this.net.reportUnreachable(m.from, m.to, !target.live, this.sched.now)) {
      this.trace.add(this.sched.now, "unreachable", [m.from, m.to]);
      this.sched.after(this.net.latency(), () => sender.unreachable(m.to));
    }
    if (this.net.blocked(m.from, m.to)) return;
    const sentAt = this.sched.now;
    for (const delay of this.net.delays()) {
      this.sched.after(delay, () => {
        // A partition that starts while a message is in flight cuts it too.
        if (this.net.blocked(m.from, m.to)) return;
        this.options.recorder?.message(sentAt, this.sched.now, m);
        this.trace.add(this.sched.now, "msg", [m.from, m.to, MESSAGE_CODES[m.type], m.term]);
        // Only its requests count: a TimeoutNow is a removed leader's hand-off (the election it starts is
        // wanted), a response answers the receiver's own request (a lagging member may still count it),
        // and a leader that applied its own removal keeps replicating in the term it won until it hands
        // off (sim seed 191, 5 nodes): a member moving to that term is only catching up.
        const request =
          m.type === "vote" ||
          ((m.type === "app" || m.type === "heartbeat" || m.type === "snap") &&
            !this.invariants.led(m.from, m.term));
        if (!request || !this.invariants.hasLeftCluster(m.from) || target.state !== "up") {
          target.deliver(m);
          return;
        }
        // A node that applied its own removal must not move a member's term (it cannot disrupt).
        const term = target.raft.term;
        target.deliver(m);
        if (target.state === "up" && target.raft.term > term && !this.invariants.hasLeftCluster(m.to)) {
          throw new Violation(
            "removed node disrupts",
            `node ${m.from} (removed) moved node ${m.to} from term ${term} to ${target.raft.term} with a ${m.type}`,
          );
        }
      });
    }
  }

  /**
   * Clients reach every node (partitions are between servers); requests and replies may be lost. A
   * request is never duplicated (HTTP over one connection does not duplicate it): the client takes a
   * refusal (`unavailable`) as proof that its attempt was not proposed, and a second copy accepted
   * after that refusal made a write it recorded as never done show up (seed 269 with --membership,
   * a false linearizability alarm). Replies may still be duplicated; the client ignores the second.
   * The delays are drawn as before, so every other seed's schedule is unchanged.
   */
  private sendClient(node: NodeId, req: ClientRequest): void {
    const target = this.nodes[node - 1];
    if (target === undefined) return;
    const delay = this.net.delays()[0];
    if (delay !== undefined) this.sched.after(delay, () => target.request(req));
  }

  private reply(r: ClientReply): void {
    const client =
      r.clientId === liveClientId
        ? this.liveClient
        : r.clientId === drainClientId
          ? this.drainClient
          : this.clients[r.clientId - 1];
    if (client === undefined) return;
    for (const delay of this.net.delays()) this.sched.after(delay, () => client.onReply(r));
  }
}

function stuckOp(op: Operation<StackInput, StackOutput>): StuckOp {
  const out = op.output === undefined ? "unknown" : JSON.stringify(op.output);
  return { client: op.clientId, call: op.call, ret: op.ret, text: `${JSON.stringify(op.input)} → ${out}` };
}

function asViolation(e: unknown): { invariant: string; message: string } {
  if (e instanceof Violation) return { invariant: e.invariant, message: e.message };
  if (e instanceof InvariantError) return { invariant: "core invariant", message: e.stack ?? e.message };
  if (e instanceof StorageError) return { invariant: "storage", message: e.stack ?? e.message };
  if (e instanceof Error) return { invariant: "exception", message: e.stack ?? e.message };
  return { invariant: "exception", message: String(e) };
}
