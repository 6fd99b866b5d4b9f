import type { Operation, StackInput, StackOutput } from "../check/index.js";
import type { NodeId, Prng } from "../raft/index.js";
import type { SimParams } from "./params.js";
import type { ClientReply, ClientRequest } from "./protocol.js";
import { Violation } from "./protocol.js";
import { RunOps } from "./run-ops.js";

/** What a client needs from the simulation around it. */
export interface ClientHost {
  now(): number;
  after(delayMs: number, run: () => void): void;
  send(node: NodeId, req: ClientRequest): void;
  /** The nodes a client may try, as the real client learns them from GET /v1/members. */
  nodes(): readonly NodeId[];
  trace(kind: string, nums: number[], text?: string): void;
}

/**
 * The drain's LPOP of up to `count` items (SimClient.drain): in the checked history as that many pops at
 * once, in any order; they took effect together.
 */
type PopMany = { readonly op: "popMany"; readonly stack: string; readonly count: number };
/** What an operation ends with: a created stack's id, or a PopMany's items (top first). */
type Output = StackOutput | number | readonly string[];

/** One logical operation with its retries. Creates set up stack ids and stay out of the checked history. */
interface PendingOp {
  readonly opId: number;
  readonly input: StackInput | PopMany | { readonly op: "create"; readonly stack: string };
  readonly key: string;
  readonly call: number;
  attemptsMax: number;
  attempt: number;
  /**
   * `parked`: out of attempts with its outcome unknown, so the client moved on; `reconcile` retries it
   * after healing (`reconciling`). Only an active op reports to `onDone`.
   */
  phase: "active" | "parked" | "reconciling";
  node: NodeId;
  /** The leader the last failed attempt's node named (0 = none): the next attempt goes there. */
  hint: NodeId;
  /** Some attempt may have reached the log (it timed out instead of being refused). */
  mayHaveApplied: boolean;
  done: boolean;
  onDone: (output: Output | undefined) => void;
}

/**
 * Retries back off exponentially with jitter, as the real client does: each timed-out attempt of a
 * write may have left an entry in the log, so retrying at a fixed pace can outrun replication.
 */
const backoffBaseMs = 20;
const backoffMaxMs = 640;
/** A write whose outcome stayed unknown is retried (same key) again after this long. */
const parkedRetryMs = 2_000;
/** Items each LPOP of a drain takes at most. */
const drainPopItems = 64;

/**
 * A client issuing stack operations one at a time. Writes carry an idempotency key; on a timeout or a
 * refusal it retries with the same key on the leader the node named, or another node, up to
 * `attemptsMax` attempts.
 */
export class SimClient {
  private readonly stackIds = new Map<string, number>();
  private readonly pending = new Map<number, PendingOp>();
  private seq = 0;
  private stopped = false;
  /** The leader the last reply named (0 = none known). */
  private leader: NodeId = 0;
  /** Fast-lane runs of LPUSH (with `fastLaneShare` > 0). */
  readonly runs: RunOps;

  constructor(
    readonly id: number,
    private readonly params: SimParams,
    private readonly rng: Prng,
    private readonly host: ClientHost,
    private readonly labels: readonly string[],
    private readonly history: Operation<StackInput, StackOutput>[],
    private readonly nextOpId: () => number,
  ) {
    this.runs = new RunOps(
      id,
      params,
      {
        now: () => host.now(),
        after: (ms, run) => host.after(ms, run),
        send: (node, attempt, pushes) => host.send(node, { kind: "run", clientId: id, attempt, pushes }),
        pickNode: (last) => this.pickNode(last, true),
        backoffMs: (attempt) => this.backoffMs(attempt),
        trace: (kind, nums, text) => host.trace(kind, nums, text),
      },
      history,
      nextOpId,
    );
  }

  start(): void {
    this.host.after(this.rng.float() * this.params.thinkMaxMs, () => this.next());
  }

  /** No new operations; those in flight run to their end. */
  stop(): void {
    this.stopped = true;
  }

  /** Operations still unanswered at the end: writes that may have happened count as unknown outcome. */
  finish(): void {
    for (const op of this.pending.values()) {
      if (!op.done && op.input.op !== "create") this.record(op, undefined);
    }
    this.runs.finish();
  }

  private next(): void {
    if (this.stopped) return;
    const missing = this.labels.find((l) => !this.stackIds.has(l));
    if (missing !== undefined) {
      this.run({ op: "create", stack: missing }, this.params.attemptsMax, (out) => {
        if (typeof out === "number") this.stackIds.set(missing, out);
        this.think();
      });
      return;
    }
    // Drawn only with the fast lane on, so runs without it draw (and do) exactly what they did.
    const share = this.params.fastLaneShare;
    if (share > 0 && this.rng.float() < share) {
      this.runs.start(this.runInputs(), () => this.think());
      return;
    }
    const stack = this.rng.pick(this.labels);
    const roll = this.rng.float();
    // With the fast lane, tops instead of sizes: a keyless push of unknown outcome that landed and stayed
    // shifts every later size, which the checker cannot place (10 of 30 seeds ended undecided so).
    const input: StackInput =
      roll < 0.4
        ? { op: "push", stack, value: `c${this.id}-${++this.seq}` }
        : roll < 0.65
          ? { op: "pop", stack }
          : roll < 0.85 || share > 0
            ? { op: "top", stack }
            : { op: "size", stack };
    this.run(input, this.params.attemptsMax, () => this.think());
  }

  /**
   * Pops `stack` with `poppers` pops at a time, each popper until it is answered empty, then calls
   * `onEmpty` (the fast lane's end check).
   */
  drain(stack: string, poppers: number, onEmpty: () => void): void {
    this.run({ op: "create", stack }, this.params.attemptsMax, (id) => {
      if (typeof id !== "number") {
        this.drain(stack, poppers, onEmpty);
        return;
      }
      this.stackIds.set(stack, id);
      let left = poppers;
      const pop = () =>
        this.run({ op: "popMany", stack, count: drainPopItems }, this.params.attemptsMax, (out) => {
          if (typeof out !== "object" || isItems(out) || out.kind !== "empty") pop();
          else if (--left === 0) onEmpty();
        });
      for (let i = 0; i < poppers; i++) pop();
    });
  }

  /** A run's pushes: 1 to runPushesMax plain LPUSHes, each of a new value onto any stack. */
  private runInputs(): Extract<StackInput, { op: "push" }>[] {
    const n = 1 + this.rng.int(this.params.runPushesMax);
    return Array.from({ length: n }, () => ({
      op: "push" as const,
      stack: this.rng.pick(this.labels),
      value: `c${this.id}-${++this.seq}`,
    }));
  }

  private think(): void {
    this.host.after(this.rng.float() * this.params.thinkMaxMs, () => this.next());
  }

  /** Starts one logical operation; `onDone` gets its output (undefined when it ended unknown). */
  run(input: PendingOp["input"], attemptsMax: number, onDone: (output: Output | undefined) => void): string {
    const opId = this.nextOpId();
    const op: PendingOp = {
      opId,
      input,
      key: `k${this.id}-${opId}`,
      call: this.host.now(),
      attemptsMax,
      attempt: 0,
      phase: "active",
      node: 0,
      hint: 0,
      mayHaveApplied: false,
      done: false,
      onDone,
    };
    this.pending.set(opId, op);
    this.host.trace("call", [this.id, opId], describeInput(input));
    this.attempt(op);
    return op.key;
  }

  private attempt(op: PendingOp): void {
    op.attempt++;
    const write = op.input.op !== "top" && op.input.op !== "size";
    op.node = op.hint !== 0 && op.hint !== op.node ? op.hint : this.pickNode(op.node, write);
    op.hint = 0;
    const attempt = op.attempt;
    const base = { clientId: this.id, opId: op.opId, attempt };
    const stackId = this.stackIds.get(op.input.stack) ?? 0;
    let req: ClientRequest;
    switch (op.input.op) {
      case "create":
        req = { ...base, kind: "write", key: op.key, op: { type: "create", label: op.input.stack } };
        break;
      case "push":
        req = {
          ...base,
          kind: "write",
          key: op.key,
          op: { type: "push", id: stackId, items: [op.input.value] },
        };
        break;
      case "pop":
        req = { ...base, kind: "write", key: op.key, op: { type: "pop", id: stackId } };
        break;
      case "popMany": {
        const { stack: label, count } = op.input;
        req = { ...base, kind: "write", key: op.key, op: { type: "lpop", label, count } };
        break;
      }
      default:
        req = { ...base, kind: "read", op: op.input.op, stackId };
    }
    this.host.send(op.node, req);
    this.host.after(this.params.opTimeoutMs, () => {
      if (op.done || op.attempt !== attempt) return;
      op.mayHaveApplied = true;
      this.retryLater(op);
    });
  }

  /** Retries the current attempt after its backoff, unless an answer or another attempt came first. */
  private retryLater(op: PendingOp): void {
    const attempt = op.attempt;
    this.host.after(this.backoffMs(attempt), () => {
      if (!op.done && op.attempt === attempt) this.retry(op);
    });
  }

  /** The backoff after failed attempt `attempt`: exponential, jittered over its upper half. */
  private backoffMs(attempt: number): number {
    const ceilingMs = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.min(attempt - 1, 30));
    return ceilingMs * (0.5 + this.rng.float() / 2);
  }

  private retry(op: PendingOp): void {
    if (op.attempt < op.attemptsMax) {
      this.attempt(op);
      return;
    }
    if (op.phase === "parked") return;
    const maybeWritten = op.mayHaveApplied && op.input.op !== "top" && op.input.op !== "size";
    if (maybeWritten && op.input.op !== "create") {
      if (op.phase === "active") op.onDone(undefined);
      this.park(op);
      return;
    }
    op.done = true;
    this.pending.delete(op.opId);
    this.host.trace("giveUp", [this.id, op.opId]);
    // A write that may have reached the log is unknown; one refused every time never happened.
    if (maybeWritten) this.record(op, undefined);
    if (op.phase === "active") op.onDone(undefined);
  }

  /** Sets an unresolved write aside and retries it later with the same key, until answered or the run ends. */
  private park(op: PendingOp): void {
    op.phase = "parked";
    this.host.trace("park", [this.id, op.opId]);
    this.host.after(parkedRetryMs, () => {
      if (op.phase === "parked" && !op.done) this.unpark(op);
    });
  }

  private unpark(op: PendingOp): void {
    op.phase = "reconciling";
    op.attemptsMax = op.attempt + this.params.attemptsMax;
    this.attempt(op);
  }

  /**
   * After healing, retries every parked write with its original key, as a real client would: the
   * exactly-once table answers with the first outcome if it was applied, so most unknowns resolve.
   */
  reconcile(): void {
    for (const op of this.pending.values()) {
      if (op.phase === "parked" && !op.done) this.unpark(op);
    }
  }

  /**
   * A first write goes to the leader last heard of (as the real client prefers it), a first read to
   * any node (followers serve ReadIndex reads too); a retry goes to a different node than `last`.
   */
  private pickNode(last: NodeId, write: boolean): NodeId {
    const nodes = this.host.nodes();
    const n = nodes.length;
    const at = nodes.indexOf(last);
    if (last === 0) return write && this.leader !== 0 ? this.leader : (nodes[this.rng.int(n)] as NodeId);
    if (at < 0 || n < 2) return nodes[this.rng.int(n)] as NodeId;
    return nodes[(at + 1 + this.rng.int(n - 1)) % n] as NodeId;
  }

  onReply(r: ClientReply): void {
    if (r.leader !== 0) this.leader = r.leader;
    if (this.runs.onReply(r)) return;
    const op = this.pending.get(r.opId);
    if (op === undefined || op.done) return;
    if (r.result === "unavailable" || r.result === "unknown") {
      // Only the current attempt's failure triggers a retry; a late failure of an older one says nothing.
      if (r.attempt !== op.attempt) return;
      if (r.result === "unknown") op.mayHaveApplied = true;
      // Like the HTTP layer's proxy to the leader: the retry goes where the node points.
      op.hint = r.leader;
      this.retryLater(op);
      return;
    }
    op.done = true;
    this.pending.delete(op.opId);
    const output = toOutput(op, r.result);
    this.host.trace(
      "return",
      [this.id, op.opId],
      typeof output === "number" ? `id ${output}` : JSON.stringify(output),
    );
    if (op.input.op !== "create") this.record(op, output as StackOutput | readonly string[]);
    if (op.phase === "active") op.onDone(output);
  }

  private record(op: PendingOp, output: StackOutput | readonly string[] | undefined): void {
    const { input, call } = op;
    if (input.op === "create") return;
    const ret = output === undefined ? Number.POSITIVE_INFINITY : this.host.now();
    const add = (i: StackInput, out: StackOutput | undefined) =>
      this.history.push({ clientId: this.id, input: i, call, ret, output: out });
    if (input.op !== "popMany") {
      add(input, output as StackOutput | undefined);
      return;
    }
    // Unknown, it may have taken up to `count` items: as many pops of unknown outcome.
    const pop = { op: "pop", stack: input.stack } as const;
    if (output === undefined) for (let i = 0; i < input.count; i++) add(pop, undefined);
    else if (isItems(output)) for (const value of output) add(pop, { kind: "value", value });
    else add(pop, output);
  }
}

function describeInput(input: PendingOp["input"]): string {
  if (input.op === "popMany") return `popMany(${input.stack}, ${input.count})`;
  return input.op === "push" ? `push(${input.stack}, ${input.value})` : `${input.op}(${input.stack})`;
}

function isItems(output: StackOutput | readonly string[]): output is readonly string[] {
  return Array.isArray(output);
}

/** Maps a node's answer to the checker's output (a stack id for creates). */
function toOutput(op: PendingOp, result: Exclude<ClientReply["result"], "unavailable" | "unknown">): Output {
  const name = op.input.op;
  if (result.ok) {
    switch (result.kind) {
      case "created":
        if (name === "create") return result.id;
        break;
      case "pushed":
        if (name === "push") return { kind: "ok" };
        break;
      case "popped":
        if (name === "pop") return { kind: "value", value: result.item };
        break;
      case "poppedItems":
        if (name === "popMany") return result.items;
        break;
      case "top":
        if (name === "top") return { kind: "value", value: result.item };
        break;
      case "size":
        if (name === "size") return { kind: "size", size: result.size };
        break;
      default:
        break;
    }
  } else if (result.code === "stack_empty" && (name === "pop" || name === "top" || name === "popMany")) {
    return { kind: "empty" };
  }
  throw new Violation("client protocol", `${name} on ${op.input.stack} got ${JSON.stringify(result)}`);
}
