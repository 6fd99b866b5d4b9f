// Reply positions of a connection: each request (or fast-lane run) takes one, in order; the connection
// writes the filled ones at the head of its queue.
import type { RunReply } from "../server/index.js";
import type { Outcome } from "../stack/index.js";
import { encode, type Protocol, type Reply } from "./reply.js";
import { pushedAnswer } from "./stack-commands.js";
import type { RespStats } from "./stats.js";

/** The `cmd` of a reply that answers no command (a protocol error's): not counted. */
export const NO_COMMAND = -1;

/** A reply position: filled (encoded) when its command completes, written once every earlier one is. */
export interface Slot {
  /** A Buffer only for bytes that are not text (Prepared "bytes"). */
  text: string | Buffer | undefined;
  /** QUIT or a protocol error: the connection ends after this reply. */
  readonly last: boolean;
  /** The command answered here (RespStats.commandId), or NO_COMMAND (a protocol error's reply). */
  readonly cmd: number;
}

/** What a slot answers through: the connection that owns it. */
export interface SlotOwner {
  /** A write's answer (WriteSlot). */
  written(slot: Slot, reply: Reply, proto: Protocol): void;
  /** A run's answers, all in (RunSlot); `submitted`: the run went to the service (not refused here). */
  ran(slot: RunSlot, text: string, submitted: boolean): void;
  /** The reply to a rejected write. */
  failure(err: unknown): Reply;
}

/**
 * A write's reply position and its answer from the service in one object: the slot, the {resolve,
 * reject} literal and its two closures were four allocations per pipelined write.
 */
export class WriteSlot implements Slot {
  text: string | undefined = undefined;
  constructor(
    private readonly owner: SlotOwner,
    readonly last: boolean,
    readonly cmd: number,
    private readonly answer: (o: Outcome) => Reply,
    private readonly proto: Protocol,
  ) {}

  resolve(o: Outcome): void {
    this.owner.written(this, this.answer(o), this.proto);
  }

  reject(err: unknown): void {
    this.owner.written(this, this.owner.failure(err), this.proto);
  }
}

/**
 * The reply position of a fast-lane run (readLpushRun): `count` requests of command `cmd`, answered
 * together once every one of them has its outcome, integers written without a Reply object per write.
 * Its pushes are counted at once when the run is answered; other answers one by one.
 */
export class RunSlot implements Slot, RunReply {
  text: string | undefined = undefined;
  readonly last = false;
  private readonly parts: (string | undefined)[];
  private left: number;
  /** Answers of the hot path (`:size`), counted as ok when the run is answered. */
  private pushed = 0;
  constructor(
    private readonly owner: SlotOwner,
    readonly count: number,
    readonly cmd: number,
    private readonly proto: Protocol,
    private readonly stats: RespStats,
  ) {
    this.parts = new Array<string | undefined>(count);
    this.left = count;
  }

  resolveAt(index: number, o: Outcome): void {
    if (o.ok && o.kind === "pushed") {
      this.pushed++;
      this.answer(index, `:${o.size}\r\n`, true);
    } else this.answerReply(index, pushedAnswer(o), true);
  }

  rejectAt(index: number, err: Error): void {
    this.answerReply(index, this.owner.failure(err), true);
  }

  /** Answers request `index` with `reply` without the service (a refusal before submitting). */
  refuse(index: number, reply: Reply): void {
    this.answerReply(index, reply, false);
  }

  private answerReply(index: number, reply: Reply, submitted: boolean): void {
    this.stats.reply(this.cmd, reply);
    this.answer(index, encode(reply, this.proto), submitted);
  }

  private answer(index: number, text: string, submitted: boolean): void {
    if (this.parts[index] !== undefined || !(index >= 0 && index < this.count)) {
      throw new Error(`RESP run: command ${index} of ${this.count} answered twice or unknown`);
    }
    this.parts[index] = text;
    if (--this.left > 0) return;
    this.stats.ok(this.cmd, this.pushed);
    this.owner.ran(this, this.parts.join(""), submitted);
  }
}
