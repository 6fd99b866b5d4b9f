import { nodeMutationNames } from "../node/index.js";
import { Prng } from "../raft/index.js";

/** Deliberate bugs the simulator must catch: Raft's and the stack machine's, plus the driver's own. */
export const mutationNames = [
  ...nodeMutationNames,
  // Membership (runs with --membership): learners count toward commit; two changes pending at once.
  "countLearnersInQuorum",
  "allowConcurrentConfChanges",
  // Fast lane (runs with --fast-lane): a run answered before it is proposed; a run's last push left out of
  // its entry but answered; a run's last push twice in its entry.
  "ackRunBeforeCommit",
  "dropRunLastPush",
  "duplicateRunLastPush",
] as const;
export type MutationName = (typeof mutationNames)[number];

export function isMutationName(name: string): name is MutationName {
  return (mutationNames as readonly string[]).includes(name);
}

/**
 * How a node's disk is modelled. "memory": a second MemoryStorage that a Ready reaches after a simulated
 * fsync. "wal": the real DiskStorage (WAL segments, snapshot files) over a MemDisk whose crashes drop
 * unsynced bytes and tear the last write.
 */
export type DiskMode = "memory" | "wal";
export const diskModes: readonly DiskMode[] = ["memory", "wal"];

export function isDiskMode(name: string): name is DiskMode {
  return (diskModes as readonly string[]).includes(name);
}

/** The mode a seed runs in unless told otherwise: even seeds use the real storage, so sweeps cover both. */
export function defaultDiskMode(seed: number): DiskMode {
  return seed % 2 === 0 ? "wal" : "memory";
}

/** Every knob of one run. All rates are drawn from the seed so a failing seed reproduces exactly. */
export interface SimParams {
  readonly nodes: number;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Small append batches and windows make followers acknowledge a leader's log piece by piece. */
  readonly appendEntriesMax: number;
  readonly inflightMax: number;
  /** One-way message latency is uniform in [latencyMinMs, latencyMaxMs): the spread reorders messages. */
  readonly latencyMinMs: number;
  readonly latencyMaxMs: number;
  readonly dropRate: number;
  readonly duplicateRate: number;
  /** fsync latency: a Ready becomes durable this long after it is written. */
  readonly fsyncMinMs: number;
  readonly fsyncMaxMs: number;
  /** Mean virtual time between two fault actions of the nemesis. */
  readonly faultIntervalMs: number;
  /** Relative weights of the nemesis' actions. */
  readonly faultWeights: Readonly<Record<FaultKind, number>>;
  readonly downMaxMs: number;
  readonly pauseMaxMs: number;
  /** A node snapshots its state machine and compacts its log every this many applied entries. */
  readonly snapshotEntries: number;
  readonly clients: number;
  readonly stacks: number;
  readonly thinkMaxMs: number;
  readonly opTimeoutMs: number;
  /** Attempts per client operation (first try plus retries with the same key). */
  readonly attemptsMax: number;
  /** Virtual time with faults on (safety phase). */
  readonly faultPhaseMs: number;
  /** After healing, a leader must exist and a write must complete within this much virtual time. */
  readonly livenessMs: number;
  readonly diskMode: DiskMode;
  /** wal mode: a WAL segment is closed at this size; small ones make rotation and deletion frequent. */
  readonly segmentBytesMax: number;
  /** wal mode: entries kept below a snapshot for slow followers (0: they catch up by snapshot). */
  readonly compactKeepEntries: number;
  /** Each node's wall clock is off by up to this much either way (the leader's command timestamps). */
  readonly clockOffsetMaxMs: number;
  /** Each node's clock runs at 1 ± up to this rate (its ticks and deadlines). */
  readonly clockDriftMax: number;
  /**
   * A sender whose connection to a peer is broken (peer down, or a cut that resets connections) learns
   * it is unreachable at most this often, like a TCP reconnect loop failing.
   */
  readonly unreachableEveryMs: number;
  /**
   * Membership runs: ids nodes+1 .. nodes+spareNodes start as nothing and join when the nemesis adds
   * them (a new node with an empty configuration, as `--join` starts one). 0 without membership.
   */
  readonly spareNodes: number;
  /**
   * The core promotes a learner within this many entries of the leader's log, and the leader's driver
   * asks for it as soon as it may; 0: no automatic promotion (the nemesis asks, against the default bound).
   */
  readonly promoteLagEntriesMax: number;
  /**
   * Membership runs: the nemesis runs `learnerSplit` once at this virtual time (0: never), early while
   * spare nodes are left, besides any random picks of it.
   */
  readonly learnerSplitAtMs: number;
  /**
   * Fast-lane runs (SimOptions.fastLane): the share of a client's operations that are a run of plain
   * LPUSHes proposed together (Driver.proposeRun), and a run's most pushes; share 0 without the fast lane.
   */
  readonly fastLaneShare: number;
  readonly runPushesMax: number;
  /**
   * Fast-lane runs: the driver's commands per batch entry (undefined: the default, 256). At least
   * runPushesMax, as a node asserts it takes any run; a small one makes a run meet a batch it does not fit.
   */
  readonly commandsPerBatchMax: number | undefined;
}

/** The nemesis' actions. */
export const faultKinds = [
  "heal",
  "partition",
  "oneWay",
  "isolateLeader",
  "swizzle",
  "crash",
  "crashNewLeader",
  "pause",
  "transfer",
  // Every link cut except those to one node (the center still reaches a majority).
  "star",
  // Two halves that reach each other only through one bridge node.
  "bridge",
  // A node hears everyone but nobody hears it, or the reverse.
  "oneWayNode",
  // A partition that heals and cuts again every few tens of milliseconds.
  "flap",
  // Crash a node, run `raftstack repair` on its data dir (it loses its log), restart it (wal mode).
  "repair",
  // Stop the leader gracefully: it hands leadership over, then exits (restarted later).
  "stop",
  // Membership (only with --membership): a new node joins as a learner (the leader's driver promotes it
  // once caught up); a follower or the leader itself is removed; a voter is replaced by a new node.
  "addMember",
  "removeMember",
  "removeLeader",
  "replaceMember",
  // Two learners join, then the leader and the learners are cut off from the other voters.
  "learnerSplit",
] as const;
export type FaultKind = (typeof faultKinds)[number];

export interface ParamOverrides {
  readonly faultPhaseMs?: number;
  readonly diskMode?: DiskMode;
  /** Fault kinds the nemesis never picks (weight 0); every other knob of the seed stays as drawn. */
  readonly disabledFaults?: readonly FaultKind[];
  /** Membership changes in the fault mix, with spare nodes to add (default off: earlier seeds unchanged). */
  readonly membership?: boolean;
  /**
   * Clients instead of the seed's 2-5 (the draw still happens, so every other knob stays as drawn). Many
   * clients keep several writes in one leader turn, so the driver batches them into one entry.
   */
  readonly clients?: number;
  /** Clients pipeline runs of plain LPUSH, proposed as the RESP fast lane does (default off). */
  readonly fastLane?: boolean;
}

export function isFaultKind(name: string): name is FaultKind {
  return (faultKinds as readonly string[]).includes(name);
}

/** Derives a run's parameters from its seed; the same seed always gives the same parameters. */
export function deriveParams(seed: number, nodes: number, overrides: ParamOverrides = {}): SimParams {
  const rng = new Prng(seed ^ 0x5eed5eed);
  const latencyMinMs = rng.range(1, 4);
  const weight = () => rng.range(1, 10);
  const params = {
    nodes,
    tickMs: 10,
    electionTicks: 10,
    heartbeatTicks: 3,
    // One-entry appends make followers acknowledge a new leader's old-term tail before its no-op.
    appendEntriesMax: rng.pick([1, 1, 2, 3, 8, 64, 4096]),
    inflightMax: rng.pick([1, 2, 8, 256]),
    latencyMinMs,
    latencyMaxMs: latencyMinMs + rng.range(2, 25),
    dropRate: rng.float() * 0.08,
    duplicateRate: rng.float() * 0.05,
    fsyncMinMs: 0.5,
    fsyncMaxMs: 1 + rng.float() * 8,
    faultIntervalMs: rng.range(150, 1200),
    faultWeights: {
      heal: weight(),
      partition: weight(),
      oneWay: weight(),
      isolateLeader: weight(),
      swizzle: weight(),
      crash: weight(),
      crashNewLeader: weight(),
      pause: weight(),
      transfer: rng.range(0, 4),
    },
    downMaxMs: rng.range(100, 3000),
    pauseMaxMs: rng.range(100, 2000),
    snapshotEntries: rng.range(24, 300),
    clients: rng.range(2, 6),
    stacks: rng.range(3, 7),
    thinkMaxMs: rng.range(5, 60),
    opTimeoutMs: rng.range(250, 900),
    attemptsMax: 10,
    faultPhaseMs: overrides.faultPhaseMs ?? 30_000,
    livenessMs: 10_000,
    // Drawn last so adding them left every earlier knob of a seed unchanged.
    diskMode: overrides.diskMode ?? defaultDiskMode(seed),
    segmentBytesMax: rng.pick([2048, 16 * 1024, 1024 * 1024]),
    compactKeepEntries: rng.pick([0, 16, 1000]),
  };
  // Drawn after every earlier knob, so adding them left those unchanged.
  const faultWeights: Record<FaultKind, number> = {
    ...params.faultWeights,
    star: weight(),
    bridge: weight(),
    oneWayNode: weight(),
    flap: weight(),
    repair: rng.range(0, 3),
    stop: rng.range(0, 4),
    addMember: 0,
    removeMember: 0,
    removeLeader: 0,
    replaceMember: 0,
    learnerSplit: 0,
  };
  const clockOffsetMaxMs = rng.pick([0, 50, 5_000, 60_000]);
  const clockDriftMax = rng.pick([0, 0.001, 0.01, 0.05]);
  const unreachableEveryMs = rng.range(20, 1000);
  // Drawn last, and zero without membership, so runs without it are exactly what they were.
  const membership = overrides.membership === true;
  const membershipWeights = {
    addMember: rng.range(1, 10),
    removeMember: rng.range(1, 8),
    removeLeader: rng.range(0, 5),
    replaceMember: rng.range(1, 8),
  };
  const promoteLagEntriesMax = rng.pick([0, 4, 64, 1000]);
  for (const [kind, w] of Object.entries(membershipWeights))
    faultWeights[kind as FaultKind] = membership ? w : 0;
  // A repaired node restarts with its bootstrap configuration and no log; whether the repaired nodes stay a
  // minority of a changing configuration is not modelled yet, so membership runs leave repairs out.
  if (membership) faultWeights.repair = 0;
  // Drawn after everything else, so membership runs drawing 0 here pick every fault as before.
  const learnerSplit = rng.range(0, 6);
  if (membership) faultWeights.learnerSplit = learnerSplit;
  const learnerSplitAtMs = rng.range(200, 3000);
  // Drawn after everything else, and a share of 0 without the fast lane: earlier seeds run as they did.
  const fastLaneShare = rng.pick([0.1, 0.25, 0.5]);
  const runPushesMax = rng.pick([2, 8, 32]);
  const commandsPerBatchMax = runPushesMax * rng.pick([1, 2, 8]);
  for (const kind of overrides.disabledFaults ?? []) faultWeights[kind] = 0;
  return {
    ...params,
    clients: overrides.clients ?? params.clients,
    // As the node does: followers further behind than a snapshot interval get the snapshot.
    compactKeepEntries: Math.min(params.compactKeepEntries, params.snapshotEntries),
    faultWeights,
    clockOffsetMaxMs,
    clockDriftMax,
    unreachableEveryMs,
    spareNodes: membership ? nodes + 1 : 0,
    promoteLagEntriesMax,
    learnerSplitAtMs:
      membership && !overrides.disabledFaults?.includes("learnerSplit") ? learnerSplitAtMs : 0,
    fastLaneShare: overrides.fastLane === true ? fastLaneShare : 0,
    runPushesMax,
    commandsPerBatchMax: overrides.fastLane === true ? commandsPerBatchMax : undefined,
  };
}

/** One line per knob, for the CLI and failure reports. */
export function describeParams(p: SimParams): string {
  const w = Object.entries(p.faultWeights)
    .map(([k, v]) => `${k}:${v}`)
    .join(",");
  return [
    `nodes=${p.nodes} tick=${p.tickMs}ms election=${p.electionTicks} heartbeat=${p.heartbeatTicks} appendEntriesMax=${p.appendEntriesMax} inflightMax=${p.inflightMax}`,
    `latency=[${p.latencyMinMs},${p.latencyMaxMs})ms drop=${p.dropRate.toFixed(4)} dup=${p.duplicateRate.toFixed(4)}`,
    `fsync=[${p.fsyncMinMs},${p.fsyncMaxMs.toFixed(2)})ms faultEvery~${p.faultIntervalMs}ms weights={${w}}`,
    `downMax=${p.downMaxMs}ms pauseMax=${p.pauseMaxMs}ms snapshotEvery=${p.snapshotEntries} entries`,
    `clients=${p.clients} stacks=${p.stacks} thinkMax=${p.thinkMaxMs}ms opTimeout=${p.opTimeoutMs}ms attempts=${p.attemptsMax}`,
    `clockOffsetMax=${p.clockOffsetMaxMs}ms clockDriftMax=${p.clockDriftMax} unreachableEvery=${p.unreachableEveryMs}ms`,
    ...(p.spareNodes > 0
      ? [
          `membership: ${p.spareNodes} spare nodes, promoteLag=${p.promoteLagEntriesMax} learnerSplitAt=${p.learnerSplitAtMs}ms`,
        ]
      : []),
    ...(p.fastLaneShare > 0
      ? [
          `fast lane: ${p.fastLaneShare} of operations are runs of up to ${p.runPushesMax} LPUSH, ` +
            `commandsPerBatch=${p.commandsPerBatchMax}`,
        ]
      : []),
    `faultPhase=${p.faultPhaseMs}ms liveness=${p.livenessMs}ms disk=${p.diskMode}` +
      (p.diskMode === "wal"
        ? ` segmentBytesMax=${p.segmentBytesMax} compactKeep=${p.compactKeepEntries}`
        : ""),
  ].join("\n");
}
