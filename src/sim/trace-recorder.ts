import type { Message, NodeId, Role } from "../raft/index.js";

/** What the recorder reads from each simulated node at a trace event (SimNode is one). */
export interface RecordedNode {
  readonly id: NodeId;
  readonly state: "up" | "down" | "paused" | "starting";
  readonly live: boolean;
  readonly raft: {
    readonly role: Role;
    readonly term: number;
    readonly log: { readonly committed: number; lastIndex(): number };
  };
}

/** A client operation the checker could not linearize (marked on the page). */
export interface StuckOp {
  readonly client: number;
  readonly call: number;
  /** Infinity when the operation never returned. */
  readonly ret: number;
  readonly text: string;
}

/** Bounds of one recording: the page stays a few megabytes whatever the run's length. */
export interface RecorderLimits {
  /** Messages drawn per virtual second (the first ones of each second; counts stay exact). */
  readonly messagesPerSecondMax: number;
  /** Role, term and process-state changes kept. */
  readonly statesMax: number;
  /** Faults and other marks (elections, restarts, opens) kept. */
  readonly marksMax: number;
  /** Client operation events (call, return, give up) kept. */
  readonly opsMax: number;
  /** Virtual ms between two samples of each node's commit and last index. */
  readonly sampleMs: number;
}

export const defaultRecorderLimits: RecorderLimits = {
  messagesPerSecondMax: 300,
  statesMax: 20_000,
  marksMax: 10_000,
  opsMax: 30_000,
  sampleMs: 20,
};

const ROLE_CODES: Readonly<Record<Role, number>> = { follower: 0, preCandidate: 1, candidate: 2, leader: 3 };
const STATE_CODES = { up: 0, down: 1, paused: 2, starting: 3 } as const;
const OP_KINDS: ReadonlySet<string> = new Set(["call", "return", "giveUp", "park"]);
/** Kinds counted, not kept: one per entry applied, one per message delivered (the message hook keeps those). */
const COUNTED_KINDS: ReadonlySet<string> = new Set(["apply", "msg"]);

/** The recording as the page reads it: compact arrays, codes instead of strings. */
export interface Recording {
  readonly nodes: readonly NodeId[];
  /** [t, node, state code, role code (-1: not running), term]. */
  readonly states: (readonly number[])[];
  /** Sample times, and per node (in `nodes` order) its commit and last index then (-1: not running). */
  readonly samples: { readonly t: number[]; readonly commit: number[][]; readonly last: number[][] };
  /** Messages delivered per `bucketMs`, all of them. */
  readonly delivered: { readonly bucketMs: number; readonly counts: number[] };
  /** [sent, delivered, from, to, type index into messageTypes, term]. */
  readonly messages: (readonly number[])[];
  readonly messageTypes: string[];
  /** [t, kind, numbers, text]: faults, elections, restarts, opens, snapshot installs. */
  readonly marks: (readonly [number, string, readonly number[], string])[];
  /** [t, kind, client, op id, text]. */
  readonly ops: (readonly [number, string, number, number, string])[];
  readonly skews: { readonly node: NodeId; readonly offsetMs: number; readonly rate: number }[];
  readonly stuck: StuckOp[];
  violation: { readonly atMs: number; readonly invariant: string; readonly message: string } | undefined;
  /** What the bounds left out. */
  readonly leftOut: { messages: number; states: number; marks: number; ops: number };
  readonly limits: RecorderLimits;
}

/**
 * Records a simulation for the HTML trace viewer, beside the hashed trace and without touching it: it
 * is told every trace event and every delivered message, and samples the nodes' roles, terms and
 * indexes as virtual time passes. Bounded by `RecorderLimits`; what it leaves out is counted.
 */
export class TraceRecorder {
  readonly recording: Recording;
  private nodes: readonly RecordedNode[] = [];
  private readonly lastState = new Map<NodeId, string>();
  private nextSampleAt = 0;
  private readonly typeIndex = new Map<string, number>();
  private readonly messagesPerSecond = new Map<number, number>();

  constructor(readonly limits: RecorderLimits = defaultRecorderLimits) {
    this.recording = {
      nodes: [],
      states: [],
      samples: { t: [], commit: [], last: [] },
      delivered: { bucketMs: 100, counts: [] },
      messages: [],
      messageTypes: [],
      marks: [],
      ops: [],
      skews: [],
      stuck: [],
      violation: undefined,
      leftOut: { messages: 0, states: 0, marks: 0, ops: 0 },
      limits,
    };
  }

  /** The simulation's nodes, in id order. */
  attach(nodes: readonly RecordedNode[]): void {
    this.nodes = nodes;
    (this.recording.nodes as NodeId[]).push(...nodes.map((n) => n.id));
    for (const _ of nodes) {
      this.recording.samples.commit.push([]);
      this.recording.samples.last.push([]);
    }
  }

  clockSkew(node: NodeId, offsetMs: number, rate: number): void {
    this.recording.skews.push({ node, offsetMs, rate });
  }

  /** One trace event (the simulator's Trace calls this for every event it hashes). */
  event(time: number, kind: string, nums: readonly number[], text: string): void {
    this.observe(time);
    if (COUNTED_KINDS.has(kind)) return;
    const r = this.recording;
    if (OP_KINDS.has(kind)) {
      if (r.ops.length < this.limits.opsMax) r.ops.push([time, kind, nums[0] ?? 0, nums[1] ?? 0, text]);
      else r.leftOut.ops++;
      return;
    }
    if (r.marks.length < this.limits.marksMax) r.marks.push([time, kind, [...nums], text]);
    else r.leftOut.marks++;
  }

  /** A peer message was delivered at `time`, sent at `sentAt`. */
  message(sentAt: number, time: number, m: Message): void {
    const r = this.recording;
    const bucket = Math.floor(time / r.delivered.bucketMs);
    while (r.delivered.counts.length <= bucket) r.delivered.counts.push(0);
    r.delivered.counts[bucket] = (r.delivered.counts[bucket] ?? 0) + 1;
    const second = Math.floor(time / 1000);
    const drawn = this.messagesPerSecond.get(second) ?? 0;
    if (drawn >= this.limits.messagesPerSecondMax) {
      r.leftOut.messages++;
      return;
    }
    this.messagesPerSecond.set(second, drawn + 1);
    let type = this.typeIndex.get(m.type);
    if (type === undefined) {
      type = r.messageTypes.length;
      r.messageTypes.push(m.type);
      this.typeIndex.set(m.type, type);
    }
    r.messages.push([round3(sentAt), round3(time), m.from, m.to, type, m.term]);
  }

  /** The run stopped on a violation at `atMs` (for linearizability: once the history was checked). */
  violation(atMs: number, invariant: string, message: string, stuck: readonly StuckOp[] = []): void {
    // The check may throw before any further trace event, so the roles it saw are recorded here.
    this.observe(atMs);
    this.recording.violation = { atMs, invariant, message };
    this.recording.stuck.push(...stuck);
  }

  /** Notes role, term and state changes at once; samples indexes every `sampleMs`. */
  private observe(time: number): void {
    const r = this.recording;
    for (const n of this.nodes) {
      const role = n.state === "up" || n.state === "paused" ? ROLE_CODES[n.raft.role] : -1;
      const term = role === -1 ? -1 : n.raft.term;
      const key = `${n.state}/${role}/${term}`;
      if (this.lastState.get(n.id) === key) continue;
      this.lastState.set(n.id, key);
      if (r.states.length < this.limits.statesMax)
        r.states.push([round3(time), n.id, STATE_CODES[n.state], role, term]);
      else r.leftOut.states++;
    }
    if (time < this.nextSampleAt) return;
    this.nextSampleAt = time + this.limits.sampleMs;
    r.samples.t.push(round3(time));
    this.nodes.forEach((n, i) => {
      const live = n.live;
      r.samples.commit[i]?.push(live ? n.raft.log.committed : -1);
      r.samples.last[i]?.push(live ? n.raft.log.lastIndex() : -1);
    });
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
