import type { Operation, StackInput, StackOutput } from "../check/index.js";
import type { NodeId } from "../raft/index.js";
import type { SimParams } from "./params.js";
import { type ClientReply, type RunPush, Violation } from "./protocol.js";

/** What a client's runs need from it and the simulation around it. */
export interface RunHost {
  now(): number;
  after(delayMs: number, run: () => void): void;
  /** Sends the run's pushes still to try to `node`. */
  send(node: NodeId, attempt: number, pushes: readonly RunPush[]): void;
  /** The node for an attempt: a first to the leader last heard of, a retry to another than `last`. */
  pickNode(last: NodeId): NodeId;
  /** The backoff before retrying after failed attempt `attempt`. */
  backoffMs(attempt: number): number;
  trace(kind: string, nums: number[], text?: string): void;
}

type Push = Extract<StackInput, { op: "push" }>;

/**
 * One push of a run. `queued`: goes with the run's next attempt (new, or refused by the last one: nothing
 * was proposed); `sent`: in the current attempt, unanswered; `done`: recorded, or given up.
 */
interface RunOp {
  readonly opId: number;
  readonly input: Push;
  state: "queued" | "sent" | "done";
}

interface Run {
  readonly call: number;
  readonly ops: readonly RunOp[];
  attempt: number;
  node: NodeId;
  /** The leader a refusing node named (0 = none): the next attempt goes there. */
  hint: NodeId;
  onDone: () => void;
}

/**
 * A client's fast-lane runs: plain LPUSHes pipelined together, which the node proposes in one entry
 * (Driver.proposeRun), each push its own operation of the checked history. They carry no idempotency
 * key, as over RESP, so only a refused push (nothing proposed) is tried again, with the next attempt of
 * its run; one whose outcome is unknown (a timeout, leadership lost, no answer) stays unknown.
 */
export class RunOps {
  private readonly byOpId = new Map<number, { readonly run: Run; readonly op: RunOp }>();
  /** Pushes issued and acknowledged, for the run's statistics. */
  pushes = 0;
  pushesOk = 0;

  constructor(
    private readonly clientId: number,
    private readonly params: SimParams,
    private readonly host: RunHost,
    private readonly history: Operation<StackInput, StackOutput>[],
    private readonly nextOpId: () => number,
  ) {}

  start(inputs: readonly Push[], onDone: () => void): void {
    const ops = inputs.map((input): RunOp => ({ opId: this.nextOpId(), input, state: "queued" }));
    const run: Run = { call: this.host.now(), ops, attempt: 0, node: 0, hint: 0, onDone };
    for (const op of ops) {
      this.byOpId.set(op.opId, { run, op });
      this.host.trace("call", [this.clientId, op.opId], `lpush(${op.input.stack}, ${op.input.value})`);
    }
    this.pushes += ops.length;
    this.attempt(run);
  }

  /** Sends the queued pushes of `run` as one run. */
  private attempt(run: Run): void {
    run.attempt++;
    run.node = run.hint !== 0 && run.hint !== run.node ? run.hint : this.host.pickNode(run.node);
    run.hint = 0;
    const sent = run.ops.filter((op) => op.state === "queued");
    for (const op of sent) op.state = "sent";
    const attempt = run.attempt;
    this.host.send(
      run.node,
      attempt,
      sent.map((op) => ({ opId: op.opId, stack: op.input.stack, value: op.input.value })),
    );
    this.host.after(this.params.opTimeoutMs, () => {
      if (run.attempt !== attempt) return;
      const unanswered = sent.filter((op) => op.state === "sent");
      for (const op of unanswered) this.end(run, op, undefined);
      if (unanswered.length > 0) this.answered(run);
    });
  }

  /** Takes the reply if it answers a push of a run; false if it is not this object's. */
  onReply(r: ClientReply): boolean {
    const found = this.byOpId.get(r.opId);
    if (found === undefined) return false;
    const { run, op } = found;
    if (op.state !== "sent" || r.attempt !== run.attempt) return true;
    if (r.result === "unavailable") {
      op.state = "queued";
      run.hint = r.leader;
    } else if (r.result === "unknown") {
      this.end(run, op, undefined);
    } else if (r.result.ok && r.result.kind === "pushed") {
      this.pushesOk++;
      this.end(run, op, { kind: "ok" });
    } else {
      throw new Violation("client protocol", `lpush on ${op.input.stack} got ${JSON.stringify(r.result)}`);
    }
    this.answered(run);
    return true;
  }

  /**
   * Once the current attempt is all answered: done, or the refused pushes go again after a backoff.
   * Refused by every attempt, they never happened and stay out of the history.
   */
  private answered(run: Run): void {
    if (run.ops.some((op) => op.state === "sent")) return;
    const refused = run.ops.filter((op) => op.state === "queued");
    if (refused.length > 0 && run.attempt < this.params.attemptsMax) {
      const attempt = run.attempt;
      this.host.after(this.host.backoffMs(attempt), () => {
        if (run.attempt === attempt) this.attempt(run);
      });
      return;
    }
    for (const op of refused) {
      op.state = "done";
      this.byOpId.delete(op.opId);
      this.host.trace("giveUp", [this.clientId, op.opId]);
    }
    run.onDone();
  }

  /** Records `op`'s outcome (undefined: unknown) in the history. */
  private end(run: Run, op: RunOp, output: StackOutput | undefined): void {
    op.state = "done";
    this.byOpId.delete(op.opId);
    this.host.trace(
      output === undefined ? "giveUp" : "return",
      [this.clientId, op.opId],
      output === undefined ? "unknown" : "ok",
    );
    const ret = output === undefined ? Number.POSITIVE_INFINITY : this.host.now();
    this.history.push({ clientId: this.clientId, input: op.input, call: run.call, ret, output });
  }

  /** Pushes still unanswered at the end of the run: their outcomes are unknown. */
  finish(): void {
    for (const { run, op } of [...this.byOpId.values()]) this.end(run, op, undefined);
  }
}
