// Concurrent clients over several stacks: unique pushed values, pops, tops and sizes through random nodes,
// with an Idempotency-Key per write kept across retries, re-sent later to settle unknown outcomes.
import { setTimeout as sleep } from "node:timers/promises";
import type { Prng } from "../../src/raft/index.js";
import type { Answer, OpKind, OpRecord, Phase } from "./record.js";
import type { OpTransport, Request } from "./requests.js";

export interface StackRef {
  readonly label: string;
  readonly id: number;
}

export interface WorkloadOptions {
  /** The current members: clients send only to nodes that exist (membership faults change them). */
  readonly nodes: () => readonly number[];
  readonly requests: OpTransport;
  /** The RESP transport, for the first `respClients` clients (their operations' every attempt uses it). */
  readonly respRequests?: OpTransport;
  readonly respClients: number;
  readonly stacks: readonly StackRef[];
  readonly clients: number;
  readonly rng: Prng;
  readonly now: () => number;
  /** One attempt: above the node's request timeout plus its proxy hop, so a 503 can arrive. */
  readonly attemptTimeoutMs: number;
  /** One operation, retries included; past it the outcome is unknown and the client moves on. */
  readonly opDeadlineMs: number;
  /** Chance that a write, once answered, is re-sent with the same key to another node (exactly-once probe). */
  readonly echoChance: number;
  /**
   * Operations started per second by all clients together (0: as fast as answers come). It bounds the
   * history, and so the checker's work, whatever the speed of the host.
   */
  readonly rate: number;
  /** Makes every idempotency key unique to this run. */
  readonly keyPrefix: string;
  /** The history stops growing here (memory and checker bound); clients then idle. */
  readonly opsMax: number;
}

/**
 * Operation mix. Pops slightly ahead of pushes keep stacks short, so pops often find them empty (a check
 * in itself) and a wrong order of concurrent pushes shows up soon instead of only in the final drain.
 */
const mix: readonly { readonly f: OpKind; readonly weight: number }[] = [
  { f: "push", weight: 0.32 },
  { f: "pop", weight: 0.33 },
  { f: "top", weight: 0.15 },
  { f: "size", weight: 0.2 },
];

const backoffBaseMs = 20;
const backoffMaxMs = 250;
/** How often the settler re-sends the keys of unknown writes while the run goes on. */
const settleIntervalMs = 300;
/** Unknown writes re-sent at once by the settler. */
const settleBatchMax = 8;

function pickKind(rng: Prng): OpKind {
  let x = rng.float();
  for (const m of mix) {
    x -= m.weight;
    if (x < 0) return m.f;
  }
  return "size";
}

export class Workload {
  readonly ops: OpRecord[] = [];
  /** Writes whose outcome is unknown; their keys are re-sent until a node answers. */
  private readonly unknown = new Set<OpRecord>();
  private readonly requestOf = new Map<OpRecord, Request>();
  private readonly respOps = new WeakSet<OpRecord>();
  private nextProcess: number;
  private stopping = false;
  private running: Promise<void>[] = [];

  constructor(private readonly o: WorkloadOptions) {
    this.nextProcess = o.clients;
  }

  start(): void {
    this.stopping = false;
    this.running = Array.from({ length: this.o.clients }, (_, w) => this.client(w, this.o.rng.fork()));
    this.running.push(this.settler(this.o.rng.fork()));
  }

  /** Stops issuing operations and waits for those in flight (each ends by its deadline). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
  }

  /** Writes whose outcome is still unknown. */
  get unknownCount(): number {
    return this.unknown.size;
  }

  /** After healing: re-sends every unknown write's key until answered or `deadlineMs` passes. */
  async settleAll(deadlineMs: number): Promise<void> {
    const deadlineAt = this.o.now() + deadlineMs;
    const rng = this.o.rng.fork();
    while (this.unknown.size > 0 && this.o.now() < deadlineAt) {
      await this.settleBatch(rng, [...this.unknown].slice(0, settleBatchMax * 4));
      if (this.unknown.size > 0) await sleep(settleIntervalMs);
    }
  }

  /**
   * Pops every stack until a pop answers "empty" (one client per stack), recording the pops like any
   * other operation. False if some stack could not be emptied by `deadlineMs`.
   */
  async drain(deadlineMs: number): Promise<boolean> {
    const deadlineAt = this.o.now() + deadlineMs;
    const results = await Promise.all(
      this.o.stacks.map(async (stack) => {
        const rng = this.o.rng.fork();
        let process = this.nextProcess++;
        while (this.o.now() < deadlineAt) {
          const op = this.newOp(process, "pop", stack, "drain");
          if (op === undefined) return false;
          await this.perform(op, rng, deadlineAt);
          if (op.answer === undefined && !op.notApplied) {
            process = this.nextProcess++;
            while (this.unknown.has(op) && this.o.now() < deadlineAt) {
              await this.settleBatch(rng, [op]);
              if (this.unknown.has(op)) await sleep(settleIntervalMs);
            }
          }
          if (op.answer?.kind === "empty") return true;
          if (op.answer?.kind === "error") return false;
        }
        return false;
      }),
    );
    return results.every(Boolean);
  }

  private async client(worker: number, rng: Prng): Promise<void> {
    let process = worker;
    let seq = 0;
    const intervalMs = this.o.rate > 0 ? (1000 * this.o.clients) / this.o.rate : 0;
    let nextStart = this.o.now();
    while (!this.stopping) {
      const f = pickKind(rng);
      const stack = rng.pick(this.o.stacks);
      const op = this.newOp(process, f, stack, "run", f === "push" ? `w${worker}-${seq++}` : undefined);
      if (op === undefined) {
        await sleep(100);
        continue;
      }
      if (worker < this.o.respClients && this.o.respRequests !== undefined) {
        op.via = "resp";
        this.respOps.add(op);
      }
      await this.perform(op, rng, this.o.now() + this.o.opDeadlineMs);
      // A client that does not know whether its operation happened cannot go on as the same process:
      // the operation stays open forever in the history, as in Jepsen.
      if (op.answer === undefined && !op.notApplied) process = this.nextProcess++;
      else if (op.answer !== undefined && op.key !== undefined && rng.chance(this.o.echoChance))
        await this.echo(op, rng);
      // Jittered start times at the client's share of the rate; a late client does not catch up in a burst.
      nextStart = Math.max(nextStart + intervalMs * (0.5 + rng.float()), this.o.now());
      if (nextStart > this.o.now()) await sleep(nextStart - this.o.now());
    }
  }

  private newOp(
    process: number,
    f: OpKind,
    stack: StackRef,
    phase: Phase,
    value?: string,
  ): OpRecord | undefined {
    if (this.ops.length >= this.o.opsMax) return undefined;
    const id = this.ops.length;
    const key = f === "push" || f === "pop" ? `${this.o.keyPrefix}-${id}` : undefined;
    const op: OpRecord = {
      type: "op",
      id,
      process,
      f,
      stack: stack.label,
      ...(value === undefined ? {} : { value }),
      ...(key === undefined ? {} : { key }),
      phase,
      call: this.o.now(),
      inDeadline: false,
      attempts: [],
    };
    this.ops.push(op);
    this.requestOf.set(op, {
      f,
      stackId: stack.id,
      ...(value === undefined ? {} : { value }),
      ...(key === undefined ? {} : { key }),
    });
    return op;
  }

  /** Attempts `op` on random nodes, the same key each time, until a definite answer or `deadlineAt`. */
  private async perform(op: OpRecord, rng: Prng, deadlineAt: number): Promise<void> {
    const req = this.requestOf.get(op)!;
    let node = rng.pick(this.o.nodes());
    for (let k = 0; ; k++) {
      const remaining = deadlineAt - this.o.now();
      if (remaining <= 0) break;
      const a = await this.transportOf(op).attempt(node, req, Math.min(this.o.attemptTimeoutMs, remaining));
      op.attempts.push(a);
      if (a.answer !== undefined) {
        this.settle(op, a.answer, a.end);
        op.inDeadline = true;
        return;
      }
      node = this.otherNode(node, rng);
      const backoff = Math.min(backoffMaxMs, backoffBaseMs * 2 ** k) * (0.5 + rng.float() / 2);
      if (this.o.now() + backoff >= deadlineAt) break;
      await sleep(backoff);
    }
    if (op.attempts.every((a) => a.result === "refused")) op.notApplied = true;
    else if (op.key !== undefined) this.unknown.add(op);
  }

  private settle(op: OpRecord, answer: Answer, at: number): void {
    op.answer = answer;
    op.ret = at;
    this.unknown.delete(op);
  }

  /** Re-sends an answered write's key to another node; the verifier compares the two answers. */
  private transportOf(op: OpRecord): OpTransport {
    return this.respOps.has(op) ? this.o.respRequests! : this.o.requests;
  }

  private async echo(op: OpRecord, rng: Prng): Promise<void> {
    const first = op.attempts[op.attempts.length - 1]?.node ?? 1;
    const a = await this.transportOf(op).attempt(
      this.otherNode(first, rng),
      this.requestOf.get(op)!,
      this.o.attemptTimeoutMs,
      true,
    );
    op.attempts.push(a);
  }

  private async settler(rng: Prng): Promise<void> {
    while (!this.stopping) {
      await sleep(settleIntervalMs);
      const batch = [...this.unknown].slice(0, settleBatchMax);
      if (batch.length > 0) await this.settleBatch(rng, batch);
    }
  }

  /** One attempt per operation, on a random node each; a definite answer settles the operation then. */
  private async settleBatch(rng: Prng, ops: readonly OpRecord[]): Promise<void> {
    await Promise.all(
      ops.map(async (op) => {
        const a = await this.transportOf(op).attempt(
          rng.pick(this.o.nodes()),
          this.requestOf.get(op)!,
          this.o.attemptTimeoutMs,
        );
        op.attempts.push(a);
        if (a.answer !== undefined && this.unknown.has(op)) this.settle(op, a.answer, a.end);
      }),
    );
  }

  private otherNode(node: number, rng: Prng): number {
    const others = this.o.nodes().filter((n) => n !== node);
    return others.length === 0 ? node : rng.pick(others);
  }
}
