import type { Command, Outcome, StackMachine } from "../stack/index.js";
import type { StackService } from "./service.js";

/** A blocking pop: `BLPOP` (first non-empty of some labels) or HTTP `pop?wait=` (one stack by id). */
export type BlockingPop = Extract<Command, { type: "bpop" } | { type: "bpopId" }>;

export interface BlockingPopOptions {
  /** Waiting pops of one front end at once; past it wait() rejects with code busy. */
  readonly waitersMax: number;
}

export const BLOCKING_WAITERS_MAX_DEFAULT = 10_000;

/** Rejection of a wait that could not even be registered (too many waiters, engine closed). */
export class BlockingPopError extends Error {
  override readonly name = "BlockingPopError";
  constructor(
    readonly code: "busy" | "stopped",
    message: string,
  ) {
    super(message);
  }
}

interface Waiter {
  readonly cmd: BlockingPop;
  /** Stacks the pop may take from, as keys of `claims`: `l:<label>` or `#<id>`, in the command's order. */
  readonly stacks: readonly string[];
  /** Key of the stack the in-flight proposal was counted against, if one is in flight. */
  claimed: string | undefined;
  /** The deadline passed while a proposal was in flight: end with its outcome, whatever it is. */
  expired: boolean;
  /**
   * Its stack id was missing here and a pop was proposed for that: not again until this state has the
   * stack (a follower behind the leader, whose log answers stack_empty, would otherwise propose in a loop).
   */
  askedMissing: boolean;
  timer: NodeJS.Timeout | undefined;
  readonly resolve: (o: Outcome | undefined) => void;
  readonly reject: (e: unknown) => void;
}

function stackKeys(cmd: BlockingPop): string[] {
  return cmd.type === "bpop" ? cmd.labels.map((l) => `l:${l}`) : [`#${cmd.id}`];
}

function sizeOf(m: StackMachine, key: string): number {
  if (key.startsWith("l:")) return m.sizeOf(key.slice(2)) ?? 0;
  const r = m.size(Number(key.slice(1)));
  return r.ok ? r.size : 0;
}

/**
 * A stack named by id that this state lacks. Unlike a label (LPUSH creates it, so BLPOP waits for it, as
 * Redis does), an id is never created by a push: the pop is proposed at once and the log answers
 * stack_not_found (or pops, if the stack exists there after all), instead of waiting out the deadline.
 */
function idStackMissing(m: StackMachine, key: string): boolean {
  if (!key.startsWith("#")) return false;
  const r = m.size(Number(key.slice(1)));
  return !r.ok && r.code === "stack_not_found";
}

/**
 * Blocking pops over a StackService. A waiter proposes its pop only when the local state machine shows
 * an item it has not already claimed for another waiter (FIFO), so a push of one item wakes one waiter.
 * The pop is one replicated command, applied against whatever the log holds then: two waiters never get
 * one item, and one that finds the stack empty again (another client won) goes back to waiting. A
 * blocking pop's empty outcome is never remembered under its idempotency key (stack machine), so the
 * same key serves every attempt. Independent of where the node proposes (leader, or forwarded).
 */
export class BlockingPops {
  /** In arrival order: the first waiter for a stack gets its first item. */
  private readonly waiters = new Set<Waiter>();
  /** Proposals in flight per stack key: items already spoken for. */
  private readonly claims = new Map<string, number>();
  private readonly unsubscribe: () => void;
  private passScheduled = false;
  private closed = false;

  constructor(
    private readonly service: StackService,
    private readonly opts: BlockingPopOptions = { waitersMax: BLOCKING_WAITERS_MAX_DEFAULT },
  ) {
    this.unsubscribe = service.onApplied((m) => this.pass(m));
  }

  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * Pops with `cmd` as soon as one of its stacks has an item, within `timeoutMs` (0: no deadline).
   * Resolves with the pop's outcome (popped, or an error outcome such as stack_not_found), or undefined
   * when the deadline passed with nothing popped. A proposal in flight at the deadline is awaited: its
   * item must reach the client (the node bounds it by its request timeout). Rejects with the service's
   * error (not_leader, timeout: outcome unknown) or a BlockingPopError. `signal` ends an idle wait.
   */
  wait(cmd: BlockingPop, timeoutMs: number, signal?: AbortSignal): Promise<Outcome | undefined> {
    if (this.closed) return Promise.reject(new BlockingPopError("stopped", "shutting down"));
    if (this.waiters.size >= this.opts.waitersMax) {
      return Promise.reject(new BlockingPopError("busy", `more than ${this.opts.waitersMax} blocked pops`));
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        cmd,
        stacks: stackKeys(cmd),
        claimed: undefined,
        expired: false,
        askedMissing: false,
        timer: undefined,
        resolve,
        reject,
      };
      this.waiters.add(w);
      if (timeoutMs > 0) w.timer = setTimeout(() => this.expire(w), timeoutMs);
      signal?.addEventListener("abort", () => this.expire(w), { once: true });
      // A keyed pop may be the retry of one already applied (its answer lost): only the log knows,
      // so it is proposed at once, whatever the local state shows.
      if (cmd.key !== undefined) this.propose(w, w.stacks[0] as string);
      // Otherwise the state as this node has it now; every later apply is seen by the listener.
      else this.service.read((m) => this.pass(m), true).catch(() => this.schedulePass());
    });
  }

  /** Ends every waiter (the node is stopping): idle ones with undefined, as a timeout would. */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const w of this.waiters) this.expire(w);
  }

  private expire(w: Waiter): void {
    if (!this.waiters.has(w)) return;
    if (w.claimed !== undefined) {
      w.expired = true;
      return;
    }
    this.finish(w);
    w.resolve(undefined);
  }

  private finish(w: Waiter): void {
    clearTimeout(w.timer);
    this.waiters.delete(w);
  }

  /** Another look after a proposal settled (its claim is released), on the next turn of the loop. */
  private schedulePass(): void {
    if (this.passScheduled || this.waiters.size === 0) return;
    this.passScheduled = true;
    setImmediate(() => {
      this.passScheduled = false;
      this.service.read((m) => this.pass(m), true).catch(() => {});
    });
  }

  /** Proposes for every idle waiter one of whose stacks holds an item not yet claimed. */
  private pass(m: StackMachine): void {
    if (this.waiters.size === 0) return;
    const taken = new Map<string, number>();
    for (const w of this.waiters) {
      if (w.claimed !== undefined) continue;
      for (const key of w.stacks) {
        const used = (taken.get(key) ?? 0) + (this.claims.get(key) ?? 0);
        const missing = idStackMissing(m, key);
        if (!missing) w.askedMissing = false;
        if (sizeOf(m, key) <= used && !(missing && !w.askedMissing)) continue;
        if (missing) w.askedMissing = true;
        taken.set(key, (taken.get(key) ?? 0) + 1);
        this.propose(w, key);
        break;
      }
    }
  }

  private propose(w: Waiter, key: string): void {
    w.claimed = key;
    this.claims.set(key, (this.claims.get(key) ?? 0) + 1);
    const settle = (): void => {
      w.claimed = undefined;
      const n = (this.claims.get(key) ?? 1) - 1;
      if (n === 0) this.claims.delete(key);
      else this.claims.set(key, n);
      this.schedulePass();
    };
    this.service.propose({ ...w.cmd, atMs: Date.now() }).then(
      (outcome) => {
        settle();
        if (!outcome.ok && outcome.code === "stack_empty") {
          // Another client took the item first: wait on, unless the deadline passed meanwhile.
          if (w.expired || this.closed) {
            this.finish(w);
            w.resolve(undefined);
          }
          return;
        }
        this.finish(w);
        w.resolve(outcome);
      },
      (err: unknown) => {
        settle();
        this.finish(w);
        w.reject(err);
      },
    );
  }
}
