import type { Socket } from "node:net";
import type { Logger } from "pino";
import type { BlockingPops } from "../server/index.js";
import {
  type Command,
  commandOf,
  defaultStackLimits,
  type StackMachine,
  validateCommand,
  validateKey,
} from "../stack/index.js";
import { accessRefusal } from "./access.js";
import { lookup, ONCE } from "./command-table.js";
import type { CommandContext, CommandSpec, Prepared, Session, Shared } from "./command-types.js";
import { refused, replied, UNSTAMPED } from "./command-types.js";
import { type RequestKind, serviceFailure, stackFailure, wrongArity } from "./errors.js";
import type { RespLimits } from "./limits.js";
import { type LpushRun, RUN_COMMANDS_MAX } from "./lpush-run.js";
import { type Request, RespParser, RespProtocolError } from "./parser.js";
import { array, bulk, encode, error, joinWire, NIL_ARRAY, type Protocol, type Reply } from "./reply.js";
import { NO_COMMAND, RunSlot, type Slot, type SlotOwner, WriteSlot } from "./slots.js";
import type { CloseReason, RespStats } from "./stats.js";

/** The fast lane's command, for its access check (the same as the normal path's). */
const LPUSH = lookup("LPUSH") as CommandSpec;

export interface ConnectionDeps {
  readonly shared: Shared;
  readonly limits: RespLimits;
  readonly blocking: BlockingPops;
  readonly logger: Logger;
  /** Runs of plain LPUSH skip the parser's strings and Commands (RespServerOptions.fastLane). */
  readonly fastLane: boolean;
}

type Running = "read" | "write" | "block";

/**
 * One client connection. Requests are taken in order; a run of writes is proposed at once (one Ready,
 * one fsync on the node), a run of reads shares one ReadIndex, and a write never overtakes a read of the
 * same connection or the reverse, so a pipeline sees its own effects in order. Replies go out in request
 * order, joined into one socket write per turn of the event loop.
 */
export class RespConnection implements SlotOwner {
  readonly session: Session;
  private readonly parser: RespParser;
  private readonly ctx: CommandContext;
  private readonly stats: RespStats;
  /** The fast lane's command in `stats`. */
  private readonly lpushId: number;
  /** Requests read, in order; a run of plain LPUSH (the fast lane) is one item for `count` requests. */
  private queue: (Request | LpushRun)[] = [];
  private head: Prepared | undefined;
  /** The command of `head` in `stats`. */
  private headCmd = NO_COMMAND;
  private readonly slots: Slot[] = [];
  /** Requests in the runs of `queue` and `slots` beyond one each (a run stands for `count` requests). */
  private runExtra = 0;
  private inflight = 0;
  private running: Running | undefined;
  /** A pump pass is running; `pumpAgain`: something asked for another one meanwhile. */
  private pumping = false;
  private pumpAgain = false;
  /** Reads of the current turn, run together after one ReadIndex. */
  private readBatch: { exec: (m: StackMachine) => Reply; slot: Slot; proto: Protocol }[] = [];
  private protocolError: string | undefined;
  private protocolErrorAnswered = false;
  private flushScheduled = false;
  private clientEnded = false;
  private paused = false;
  private closed = false;
  /** Why this side ends the connection; unset, the close event tells (reset, shutdown). */
  private closeReason: CloseReason | undefined;
  private readonly gone = new AbortController();

  constructor(
    private readonly socket: Socket,
    id: number,
    private readonly deps: ConnectionDeps,
  ) {
    this.session = {
      id,
      name: undefined,
      proto: 2,
      stale: false,
      authenticated: false,
      token: undefined,
      quitting: false,
    };
    this.ctx = { session: this.session, shared: deps.shared };
    this.parser = new RespParser(deps.limits);
    this.stats = deps.shared.stats;
    this.lpushId = this.stats.commandId(LPUSH.name);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => {
      this.clientEnded = true;
      if (this.parser.buffered > 0 && this.protocolError === undefined) {
        this.protocolError = "unexpected end of stream inside a request";
      }
      this.pump();
    });
    socket.on("drain", () => this.readMore());
    socket.on("error", (err) => {
      this.closeReason ??= "socket_error";
      deps.logger.debug({ err, client: id }, "RESP connection error");
    });
    socket.on("close", () => {
      this.closed = true;
      this.gone.abort();
      this.stats.connectionClosed(this.closeReason ?? this.ended());
    });
  }

  /** Why the connection ends when nothing on this side ended it. */
  private ended(): CloseReason {
    if (this.deps.shared.closing()) return "shutdown";
    return this.clientEnded ? "peer_closed" : "socket_error";
  }

  /** Requests read and not yet answered. */
  private get unanswered(): number {
    return this.queue.length + this.slots.length + this.runExtra;
  }

  private onData(chunk: Buffer): void {
    if (this.closed || this.protocolError !== undefined || this.session.quitting) return;
    this.parser.push(chunk);
    this.readMore();
  }

  /** The run of plain LPUSH next in the parser's buffer, within the pipeline's room (RUN_COMMANDS_MAX at most). */
  private nextRun(pipelineRequestsMax: number): LpushRun | undefined {
    const room = Math.min(RUN_COMMANDS_MAX, pipelineRequestsMax - this.unanswered);
    const run = room < 1 ? undefined : this.parser.nextRun(room, defaultStackLimits);
    if (run !== undefined) this.runExtra += run.count - 1;
    return run;
  }

  /**
   * Starts a run as the normal path starts its requests (a run of writes together), answered by one
   * RunSlot; or refuses each of its requests as the normal path would (NOAUTH, NOPERM).
   */
  private startRun(run: LpushRun, proto: Protocol): void {
    const slot = new RunSlot(this, run.count, this.lpushId, proto, this.stats);
    this.slots.push(slot);
    const refused = accessRefusal(LPUSH, this.session, this.deps.shared.access);
    if (refused !== undefined) {
      this.stats.rejectedCall(this.lpushId, run.count);
      for (let i = 0; i < run.count; i++) this.deps.shared.guard?.count("resp", refused.reason);
      for (let i = 0; i < run.count; i++) slot.refuse(i, refused.reply);
      return;
    }
    this.begin("write");
    this.deps.shared.service.submitRun(run, slot);
  }

  ran(slot: RunSlot, text: string, submitted: boolean): void {
    this.fillText(slot, text);
    if (submitted) this.done();
  }

  /** Parses what is buffered while the pipeline has room, then runs what can run. */
  private readMore(): void {
    const { pipelineRequestsMax } = this.deps.limits;
    while (this.protocolError === undefined && this.unanswered < pipelineRequestsMax) {
      let r: Request | LpushRun | undefined;
      try {
        r = this.deps.fastLane ? this.nextRun(pipelineRequestsMax) : undefined;
        r ??= this.parser.next();
      } catch (err) {
        if (!(err instanceof RespProtocolError)) throw err;
        this.protocolError = err.message;
        break;
      }
      if (r === undefined) break;
      this.queue.push(r);
    }
    const full = this.unanswered >= pipelineRequestsMax || this.socket.writableNeedDrain;
    if (full && !this.paused) this.socket.pause();
    else if (!full && this.paused) this.socket.resume();
    this.paused = full;
    this.pump();
  }

  private prepare(r: Request): Prepared {
    const args = r.args;
    const name = args[0] as string;
    const spec = lookup(name);
    // An argument that is not UTF-8 is refused (the stacks hold text), but for a message sent back as is.
    const { invalid } = r;
    const echoed =
      invalid?.arg === 2 && args.length === 2 && "prepare" in spec
        ? spec.prepareBytes?.(invalid.bytes)
        : undefined;
    if (invalid !== undefined && echoed === undefined) {
      return refused(error("ERR", `argument ${invalid.arg} is not valid UTF-8 (raftstack stores text)`));
    }
    if (spec === ONCE) return this.prepareOnce(args);
    // An unknown command is refused; one of another Redis type runs and fails (-WRONGTYPE), as in Redis.
    if (!("prepare" in spec)) return this.headCmd === this.stats.unknown ? refused(spec) : replied(spec);
    const arityOk = spec.arity >= 0 ? args.length === spec.arity : args.length >= -spec.arity;
    if (!arityOk) return refused(wrongArity(name));
    const refusal = accessRefusal(spec, this.session, this.deps.shared.access);
    if (refusal !== undefined) {
      this.deps.shared.guard?.count("resp", refusal.reason);
      return refused(refusal.reply);
    }
    return echoed ?? spec.prepare(args, this.ctx);
  }

  /** `ONCE key command args...`: the inner write or BLPOP carries the key. */
  private prepareOnce(args: readonly string[]): Prepared {
    if (args.length < 3) return refused(wrongArity("once"));
    const key = args[1] as string;
    if (validateKey(key) !== undefined) return replied(stackFailure("key_invalid"));
    const inner = this.prepare({ args: args.slice(2) });
    if (inner.kind === "write" || inner.kind === "block") return { ...inner, key };
    if (inner.kind === "reply" || inner.kind === "bytes") return inner;
    return replied(error("ERR", "ONCE applies to writes: LPUSH, LPOP, DEL, UNLINK, BLPOP"));
  }

  /**
   * Runs `pumpPass` until nothing asked for another pass. Never nested: a service may answer before
   * `submit` returns (a node that refuses at once: removed, busy, stopped), and that answer's `done()`
   * asks for a pass while this one still holds the request at the head; run inside, it would start
   * that same request again (and again, until the stack overflows).
   */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.pumpPass();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  /** Starts every request at the head that may start now, in order. */
  private pumpPass(): void {
    while (!this.closed && this.queue.length > 0) {
      const request = this.queue[0] as Request | LpushRun;
      if ("spans" in request) {
        if (this.running !== undefined && this.running !== "write") break;
        this.startRun(request, this.session.proto);
        this.queue.shift();
        continue;
      }
      if (this.head === undefined) {
        this.headCmd = this.stats.commandId(request.args[0] as string);
        this.head = this.prepare(request);
      }
      const p = this.head;
      const cmd = this.headCmd;
      const proto = this.session.proto;
      if (p.kind === "read") {
        if (this.running !== undefined && this.running !== "read") break;
        if (this.readBatch.length === 0) this.begin("read");
        this.readBatch.push({ exec: p.exec, slot: this.slot(false, cmd), proto });
      } else if (p.kind === "write") {
        if (this.running !== undefined && this.running !== "write") break;
        this.write(p, cmd, proto);
      } else if (p.kind === "block") {
        if (this.running !== undefined) break;
        this.block(p, cmd, proto);
      } else if (p.kind === "reply") {
        if (p.rejected === true) this.stats.rejectedCall(cmd);
        this.reply(p.reply, cmd, proto);
      } else {
        this.stats.ok(cmd);
        this.fillText(this.slot(false, cmd), p.wire);
      }
      this.queue.shift();
      this.head = undefined;
      if (this.session.quitting) {
        // Requests after QUIT are never run.
        for (const r of this.queue) if ("spans" in r) this.runExtra -= r.count - 1;
        this.queue = [];
        break;
      }
    }
    this.runReads();
    if (this.queue.length === 0 && !this.session.quitting && this.inflight === 0) {
      if (this.protocolError !== undefined && !this.protocolErrorAnswered) {
        this.protocolErrorAnswered = true;
        const slot = this.slot(true, NO_COMMAND);
        this.fill(slot, error("ERR", `Protocol error: ${this.protocolError}`), this.session.proto);
      } else if (this.clientEnded && this.slots.length === 0 && this.protocolError === undefined) {
        this.closed = true;
        this.closeReason ??= this.ended();
        this.socket.end();
      }
    }
  }

  private begin(kind: Running): void {
    this.running = kind;
    this.inflight++;
  }

  private done(): void {
    this.inflight--;
    // Others of its kind still run: nothing gating reading or starting changed (flush reads on).
    if (this.inflight > 0) return;
    this.running = undefined;
    this.readMore();
  }

  private slot(last: boolean, cmd: number): Slot {
    const s: Slot = { text: undefined, last: last || this.session.quitting, cmd };
    this.slots.push(s);
    return s;
  }

  written(slot: Slot, reply: Reply, proto: Protocol): void {
    this.fill(slot, reply, proto);
    this.done();
  }

  private reply(reply: Reply | Promise<Reply>, cmd: number, proto: Protocol): void {
    const slot = this.slot(false, cmd);
    if (!(reply instanceof Promise)) {
      this.fill(slot, reply, proto);
      return;
    }
    reply.then(
      (r) => this.fill(slot, r, proto),
      (err: unknown) => this.fill(slot, this.failure(err, "read"), proto),
    );
  }

  private runReads(): void {
    if (this.readBatch.length === 0) return;
    const batch = this.readBatch;
    this.readBatch = [];
    this.deps.shared.service
      .read((m) => batch.map((r) => r.exec(m)), this.session.stale)
      .then(
        (replies) => {
          for (const [i, r] of batch.entries()) this.fill(r.slot, replies[i] as Reply, r.proto);
          this.done();
        },
        (err: unknown) => {
          const failed = this.failure(err, "read");
          for (const r of batch) this.fill(r.slot, failed, r.proto);
          this.done();
        },
      );
  }

  /** `cmd` with the ONCE key if there is one, or the reply refusing it. */
  private command(cmd: Command, key: string | undefined): Command | Reply {
    const keyed = key === undefined ? cmd : commandOf(cmd, cmd.atMs, key);
    // Well-formed: every argument was decoded from bytes (the parser's strings hold no lone surrogate).
    const invalid = validateCommand(keyed, defaultStackLimits, true);
    return invalid === undefined ? keyed : stackFailure(invalid);
  }

  private write(p: Extract<Prepared, { kind: "write" }>, id: number, proto: Protocol): void {
    const slot = new WriteSlot(this, this.session.quitting, id, p.answer, proto);
    this.slots.push(slot);
    const cmd = this.command(p.op, p.key);
    if ("t" in cmd) {
      this.fill(slot, cmd, proto);
      return;
    }
    this.begin("write");
    this.deps.shared.service.submit(cmd, slot);
  }

  private block(p: Extract<Prepared, { kind: "block" }>, id: number, proto: Protocol): void {
    const slot = this.slot(false, id);
    const cmd = this.command({ type: "bpop", labels: p.labels, atMs: UNSTAMPED }, p.key);
    if ("t" in cmd) {
      this.fill(slot, cmd, proto);
      return;
    }
    this.begin("block");
    this.deps.blocking.wait(cmd as Extract<Command, { type: "bpop" }>, p.timeoutMs, this.gone.signal).then(
      (o) => {
        let r: Reply = NIL_ARRAY;
        if (o?.ok && o.kind === "poppedFrom") r = array([bulk(o.label), bulk(o.item)]);
        else if (o !== undefined && !o.ok && o.code !== "stack_empty") r = stackFailure(o.code);
        this.fill(slot, r, proto);
        this.done();
      },
      (err: unknown) => {
        this.fill(slot, this.failure(err), proto);
        this.done();
      },
    );
  }

  /** The reply to a rejected request: a write (BLPOP pops) unless it was a read (INFO reads too). */
  failure(err: unknown, request: RequestKind = "write"): Reply {
    const { service, leaderHint } = this.deps.shared;
    const known = serviceFailure(err, service.leader(), leaderHint, request);
    if (known !== undefined) return known;
    this.deps.logger.error({ err, client: this.session.id }, "RESP command failed");
    return error("ERR", "internal error");
  }

  private fill(slot: Slot, reply: Reply, proto: Protocol): void {
    if (slot.cmd !== NO_COMMAND) this.stats.reply(slot.cmd, reply);
    this.fillText(slot, encode(reply, proto));
  }

  private fillText(slot: Slot, text: string | Buffer): void {
    slot.text = text;
    if (this.slots[0] !== slot || this.flushScheduled) return;
    // Outcomes of one applied batch resolve one after another in this microtask run: one write for all.
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.closed) return;
    let text = ""; // every completed reply at the head, in order, one write; text as one string (hot path)
    let parts: (string | Buffer)[] | undefined;
    let n = 0;
    let last = false;
    for (const s of this.slots) {
      if (s.text === undefined) break;
      if (parts === undefined && typeof s.text === "string") text += s.text;
      else if (parts === undefined) parts = [text, s.text];
      else parts.push(s.text);
      n++;
      if (s instanceof RunSlot) this.runExtra -= s.count - 1;
      if (s.last) {
        last = true;
        break;
      }
    }
    if (n === 0) return;
    this.slots.splice(0, n);
    if (this.socket.writableLength > this.deps.limits.replyBytesMax) {
      // The client does not read its replies: drop it rather than buffer without bound.
      this.deps.logger.warn({ client: this.session.id }, "RESP client not reading its replies; closed");
      this.closeReason = "reply_backlog";
      this.socket.destroy();
      return;
    }
    this.socket.write(parts === undefined ? text : joinWire(parts));
    if (last) {
      this.closed = true;
      this.closeReason ??= this.session.quitting ? "quit" : "protocol_error";
      this.socket.end();
      return;
    }
    if (this.paused || this.clientEnded) this.readMore();
  }
}
