import type { NodeId, Prng } from "../raft/index.js";
import { MembershipOps } from "./membership-ops.js";
import type { Network } from "./network.js";
import type { SimNode } from "./node.js";
import type { FaultKind, SimParams } from "./params.js";

export interface NemesisHost {
  after(delayMs: number, run: () => void): void;
  trace(kind: string, nums: number[], text?: string): void;
  restart(node: SimNode): void;
  /** A node's process died: its peers' connections to it close. */
  crashed(node: SimNode): void;
  /** An error from async fault work (the repair): the run stops with it. */
  fail(error: unknown): void;
  /** Starts a spare node for the first time (membership runs). */
  spawn(node: SimNode): void;
}

/** A new leader armed for crashing dies within this long of its election: before its first entry replicates. */
const newLeaderCrashWithinMs = 40;

const newLeadersToCrashMax = 5;

/** Steps of one rolling ("swizzle") partition: each moves one node across the cut. */
const swizzleStepsMax = 6;

/** A flapping partition toggles this many times, every [flapMinMs, flapMaxMs). */
const flapStepsMax = 20;
const flapMinMs = 20;
const flapMaxMs = 300;

/** How long a stopping leader waits for its successor (the node process waits 1 s). */
const stopHandOverMs = 300;

/** Half the partitions reset connections (the sender's transport notices), half drop silently. */
const resetRate = 0.5;

/**
 * Injects faults at random times during the safety phase: partitions (symmetric, one-way, around the
 * leader, rolling, star, bridge, flapping; silent or resetting connections), crashes with restart from
 * disk, disk repairs, graceful stops of the leader (hand-over first), pauses, and leadership transfers.
 */
export class Nemesis {
  private stopped = false;
  /** New leaders still to crash right after their election. */
  private leadersToCrash = 0;
  /** Bumped on every crash or pause of a node, so a stale restart/resume timer does nothing. */
  private readonly generation = new Map<NodeId, number>();
  private readonly kinds: FaultKind[];
  private readonly weights: number[];
  private readonly weightSum: number;
  /**
   * Nodes that were repaired (lost their log). At most a minority may ever be: a committed entry lives
   * on a majority, so losing more copies than that can lose it whatever the protocol does.
   */
  private readonly repaired = new Set<NodeId>();
  private readonly repairedMax: number;
  counts = { partitions: 0, crashes: 0, pauses: 0, transfers: 0, repairs: 0, stops: 0 };
  readonly membership: MembershipOps;

  constructor(
    private readonly params: SimParams,
    private readonly rng: Prng,
    private readonly net: Network,
    private readonly allNodes: readonly SimNode[],
    private readonly host: NemesisHost,
  ) {
    this.kinds = Object.keys(params.faultWeights) as FaultKind[];
    this.weights = this.kinds.map((k) => params.faultWeights[k]);
    this.weightSum = this.weights.reduce((a, b) => a + b, 0);
    this.repairedMax = Math.floor((params.nodes - 1) / 2);
    this.membership = new MembershipOps(params, rng, allNodes, {
      after: (ms, run) => host.after(ms, run),
      trace: (kind, nums, text) => host.trace(kind, nums, text),
      spawn: (node) => host.spawn(node),
      leader: () => this.leader(),
      stopped: () => this.stopped,
      split: (a, b) => {
        this.net.healAll();
        this.net.split(a, b);
        this.counts.partitions++;
        this.host.trace("partition", [...a], `| ${b.join(" ")}`);
      },
    });
  }

  /**
   * The nodes faults strike: every node that was ever started. Spare nodes of a membership run join
   * this list when they are added; without membership it is every node, in id order, as before.
   */
  private get nodes(): readonly SimNode[] {
    return this.allNodes.filter((node) => node.spawned);
  }

  start(): void {
    this.schedule();
    const splitAt = this.params.learnerSplitAtMs;
    if (splitAt > 0) this.host.after(splitAt, () => this.stopped || this.membership.learnerSplit());
  }

  /** Ends the safety phase: no more faults; links, crashed and paused nodes are all healed. */
  healAll(): void {
    this.stopped = true;
    this.net.healAll();
    this.net.dropRate = 0;
    this.net.duplicateRate = 0;
    for (const node of this.nodes) {
      this.bump(node.id);
      if (node.state === "down") this.host.restart(node);
      else if (node.state === "paused") node.resume();
    }
    this.host.trace("healAll", []);
  }

  /** Called on every election win; an armed `crashNewLeader` fault strikes the new leader. */
  onLeader(node: SimNode): void {
    if (this.leadersToCrash === 0 || this.stopped) return;
    this.leadersToCrash--;
    this.host.after(this.rng.float() * newLeaderCrashWithinMs, () => {
      if (!this.stopped && node.state !== "down") this.crash(node);
    });
  }

  private schedule(): void {
    const delay = this.rng.float() * 2 * this.params.faultIntervalMs;
    this.host.after(delay, () => {
      if (this.stopped) return;
      this.act(this.pickKind());
      this.schedule();
    });
  }

  private pickKind(): FaultKind {
    let roll = this.rng.float() * this.weightSum;
    for (let i = 0; i < this.kinds.length; i++) {
      roll -= this.weights[i] as number;
      if (roll < 0) return this.kinds[i] as FaultKind;
    }
    return "heal";
  }

  private act(kind: FaultKind): void {
    const n = this.params.nodes;
    switch (kind) {
      case "heal":
        this.net.healAll();
        this.host.trace("heal", []);
        break;
      case "partition": {
        const side = this.nodes.map(() => this.rng.chance(0.5));
        const a = this.nodes.filter((_, i) => side[i]).map((x) => x.id);
        const b = this.nodes.filter((_, i) => !side[i]).map((x) => x.id);
        this.net.healAll();
        this.net.split(a, b, this.rng.chance(resetRate));
        this.counts.partitions++;
        this.host.trace("partition", a, `| ${b.join(" ")}`);
        break;
      }
      case "oneWay": {
        const from = 1 + this.rng.int(n);
        const to = 1 + ((from + this.rng.int(n - 1)) % n);
        this.net.setBlocked(from, to, true, this.rng.chance(resetRate));
        this.counts.partitions++;
        this.host.trace("cutOneWay", [from, to]);
        break;
      }
      case "oneWayNode": {
        // Outbound cut: it hears the others (a leader's heartbeats) while none hears it; or the reverse.
        const node = this.rng.pick(this.nodes).id;
        const outbound = this.rng.chance(0.5);
        const reset = this.rng.chance(resetRate);
        this.net.healAll();
        for (const other of this.nodes) {
          if (other.id === node) continue;
          if (outbound) this.net.setBlocked(node, other.id, true, reset);
          else this.net.setBlocked(other.id, node, true, reset);
        }
        this.counts.partitions++;
        this.host.trace("cutNodeOneWay", [node, outbound ? 1 : 0]);
        break;
      }
      case "star": {
        // Only links to the center survive: it reaches a majority, no other node does (issue: pre-vote stall).
        const center = this.rng.pick(this.nodes).id;
        const others = this.nodes.filter((x) => x.id !== center).map((x) => x.id);
        const reset = this.rng.chance(resetRate);
        this.net.healAll();
        for (const a of others) for (const b of others) if (a !== b) this.net.setBlocked(a, b, true, reset);
        this.counts.partitions++;
        this.host.trace("star", [center]);
        break;
      }
      case "bridge": {
        // Two halves joined only through one node: each half plus the bridge is a majority.
        const [bridge, ...rest] = this.shuffledIds();
        const half = Math.ceil(rest.length / 2);
        this.net.healAll();
        this.net.split(rest.slice(0, half), rest.slice(half), this.rng.chance(resetRate));
        this.counts.partitions++;
        this.host.trace(
          "bridge",
          [bridge as NodeId],
          `${rest.slice(0, half).join(" ")} | ${rest.slice(half).join(" ")}`,
        );
        break;
      }
      case "flap": {
        const ids = this.shuffledIds();
        const cutAt = 1 + this.rng.int(ids.length - 1);
        this.net.healAll();
        this.flap(ids.slice(0, cutAt), ids.slice(cutAt), 1 + this.rng.int(flapStepsMax), true);
        break;
      }
      case "repair": {
        const node = this.pickRepairable();
        if (node === undefined) break;
        this.repaired.add(node.id);
        this.counts.repairs++;
        this.crash(node);
        this.host.trace("repair", [node.id]);
        node.repair().catch((error: unknown) => this.host.fail(error));
        break;
      }
      case "isolateLeader": {
        const leader = this.leader() ?? this.rng.pick(this.nodes);
        this.net.healAll();
        this.net.split(
          [leader.id],
          this.nodes.filter((x) => x !== leader).map((x) => x.id),
        );
        this.counts.partitions++;
        this.host.trace("isolate", [leader.id]);
        break;
      }
      case "swizzle":
        this.swizzle(this.shuffledIds(), 1 + this.rng.int(swizzleStepsMax));
        break;
      case "crash": {
        // A starting node may die again while replaying its disk.
        const up = this.nodes.filter((x) => x.state !== "down");
        if (up.length === 0) break;
        this.crash(this.rng.chance(0.4) ? (this.leader() ?? this.rng.pick(up)) : this.rng.pick(up));
        break;
      }
      case "crashNewLeader":
        // Several in a row leave divergent uncommitted tails in different terms (Figure 8 of the paper).
        this.leadersToCrash = 1 + this.rng.int(newLeadersToCrashMax);
        this.host.trace("armCrashNewLeaders", [this.leadersToCrash]);
        break;
      case "pause": {
        const up = this.nodes.filter((x) => x.state === "up");
        if (up.length === 0) break;
        const node = this.rng.pick(up);
        node.pause();
        this.counts.pauses++;
        this.host.trace("pause", [node.id]);
        const gen = this.bump(node.id);
        this.host.after(this.rng.float() * this.params.pauseMaxMs, () => {
          if (this.generation.get(node.id) !== gen || node.state !== "paused") return;
          this.host.trace("resume", [node.id]);
          node.resume();
        });
        break;
      }
      case "transfer": {
        const leader = this.leader();
        if (leader === undefined) break;
        const to = 1 + ((leader.id + this.rng.int(n - 1)) % n);
        this.counts.transfers++;
        this.host.trace("transfer", [leader.id, to]);
        leader.transferLeadership(to);
        break;
      }
      case "addMember":
        this.membership.add();
        break;
      case "removeMember":
        this.membership.removeFollower();
        break;
      case "removeLeader":
        this.membership.removeLeader();
        break;
      case "replaceMember":
        this.membership.replace();
        break;
      case "learnerSplit":
        this.membership.learnerSplit();
        break;
      case "stop": {
        // SIGTERM: the leader hands over (Driver.handOver, as the node process does), then exits.
        const leader = this.leader();
        if (leader === undefined || leader.state !== "up") break;
        const gen = this.bump(leader.id);
        this.counts.stops++;
        this.host.trace("stop", [leader.id]);
        leader.driver.handOver(stopHandOverMs).then((handedOver) => {
          if (this.stopped || this.generation.get(leader.id) !== gen || leader.state === "down") return;
          this.host.trace("stopped", [leader.id, handedOver ? 1 : 0]);
          this.crash(leader);
        });
        break;
      }
    }
  }

  /** A node whose disk can be repaired, keeping the repaired ones a minority. */
  private pickRepairable(): SimNode | undefined {
    if (this.params.diskMode !== "wal") return undefined;
    const allowed = this.nodes.filter(
      (x) => this.repaired.has(x.id) || this.repaired.size < this.repairedMax,
    );
    return allowed.length === 0 ? undefined : this.rng.pick(allowed);
  }

  /** Cuts and joins `a` and `b` by turns, `steps` times (other cuts stay as they are). */
  private flap(a: readonly NodeId[], b: readonly NodeId[], steps: number, cut: boolean): void {
    if (this.stopped || steps === 0) return;
    for (const x of a) {
      for (const y of b) {
        this.net.setBlocked(x, y, cut);
        this.net.setBlocked(y, x, cut);
      }
    }
    if (cut) this.counts.partitions++;
    this.host.trace(cut ? "flapCut" : "flapJoin", [...a], `| ${b.join(" ")}`);
    this.host.after(flapMinMs + this.rng.float() * (flapMaxMs - flapMinMs), () =>
      this.flap(a, b, steps - 1, !cut),
    );
  }

  /** Crashes `node` and restarts it from its disk after a random downtime. */
  private crash(node: SimNode): void {
    node.crash();
    this.host.crashed(node);
    this.counts.crashes++;
    this.host.trace("crash", [node.id]);
    const gen = this.bump(node.id);
    this.host.after(this.rng.float() * this.params.downMaxMs, () => {
      if (this.generation.get(node.id) === gen && node.state === "down") this.host.restart(node);
    });
  }

  /** Majority/minority cut that moves one node across every step, so each node keeps meeting new peers. */
  private swizzle(order: NodeId[], steps: number): void {
    if (this.stopped || steps === 0) return;
    const minority = Math.floor((order.length - 1) / 2) || 1;
    this.net.healAll();
    this.net.split(order.slice(0, minority), order.slice(minority));
    this.counts.partitions++;
    this.host.trace("swizzle", order.slice(0, minority));
    const next = order.slice(1).concat(order.slice(0, 1));
    // Rotate, then swap two random positions so the sequence is not just a ring.
    const i = this.rng.int(next.length);
    const j = this.rng.int(next.length);
    [next[i], next[j]] = [next[j] as NodeId, next[i] as NodeId];
    this.host.after(this.params.faultIntervalMs / 3 + this.rng.float() * 200, () =>
      this.swizzle(next, steps - 1),
    );
  }

  private shuffledIds(): NodeId[] {
    const ids = this.nodes.map((x) => x.id);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      [ids[i], ids[j]] = [ids[j] as NodeId, ids[i] as NodeId];
    }
    return ids;
  }

  /** The live leader of the highest term, if any. */
  private leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const node of this.nodes) {
      if (!node.live || node.raft.role !== "leader") continue;
      if (best === undefined || node.raft.term > best.raft.term) best = node;
    }
    return best;
  }

  private bump(id: NodeId): number {
    const gen = (this.generation.get(id) ?? 0) + 1;
    this.generation.set(id, gen);
    return gen;
  }
}
