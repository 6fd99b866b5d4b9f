import { DecodeError, Reader } from "../codec/index.js";
import { batchBounds, isBatch } from "./batch.js";
import { commandFingerprint, decodeCommand, encodesExactly } from "./codec.js";
import type { ErrorCode } from "./errors.js";
import { ItemStack } from "./items.js";
import {
  defaultStackLimits,
  type StackLimits,
  validateCommand,
  validateKey,
  validateLabel,
} from "./limits.js";
import { type AsciiLpush, readAsciiLpush } from "./lpush-bytes.js";
import { assertMachineLimits, type ProposedCommands, type StackMachineOptions } from "./machine-options.js";
import { poppedChars } from "./popped-chars.js";
import { anyFingerprint, SessionTable } from "./sessions.js";
import { readSnapshot, type Stack, snapshotBytesHint, writeSnapshot } from "./snapshot.js";
import type {
  Command,
  Failure,
  GetResult,
  InfoResult,
  Outcome,
  SizeResult,
  StackInfo,
  TopResult,
} from "./types.js";

function fail(code: ErrorCode): Failure {
  return { ok: false, code };
}

function charsOf(items: readonly string[]): number {
  let chars = 0;
  for (const item of items) chars += item.length;
  return chars;
}

/** A blocking pop that found nothing is not an outcome to replay: the waiter retries under the same key. */
function isRetryable(cmd: Command, outcome: Outcome): boolean {
  return (cmd.type === "bpop" || cmd.type === "bpopId") && !outcome.ok && outcome.code === "stack_empty";
}

/**
 * The replicated state: stacks plus the exactly-once session table. Pure and deterministic: the same
 * entries applied in the same order give the same state and outcomes on every replica.
 */
export class StackMachine {
  readonly limits: StackLimits;
  readonly #applyRetriesTwice: boolean;
  readonly #stacks = new Map<number, Stack>();
  readonly #idsByLabel = new Map<string, number>();
  #nextId = 1;
  #appliedIndex = 0;
  /** The replicated clock: advances with the leaders' timestamps, at most clockStepMaxMs per entry. */
  #nowMs = 0;
  /** The latest leader timestamp applied: the clock advances only when a timestamp passes it. */
  #stampMs = 0;
  #itemCount = 0;
  #itemChars = 0;
  readonly #sessions: SessionTable;

  constructor(options: StackMachineOptions = {}) {
    this.limits = { ...defaultStackLimits, ...options.limits };
    this.#applyRetriesTwice = options.mutations?.applyRetriesTwice ?? false;
    assertMachineLimits(this.limits);
    this.#sessions = new SessionTable(this.limits);
  }

  get appliedIndex(): number {
    return this.#appliedIndex;
  }

  /** The replicated clock (see clockStepMaxMs): the machine's only notion of time, for key expiry. */
  get nowMs(): number {
    return this.#nowMs;
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  get stackCount(): number {
    return this.#stacks.size;
  }

  get itemCount(): number {
    return this.#itemCount;
  }

  #advance(index: number): void {
    if (index !== this.#appliedIndex + 1) {
      throw new Error(`stack machine: entry ${index} applied after ${this.#appliedIndex}`);
    }
    this.#appliedIndex = index;
  }

  /** Advances past an entry that carries no command (no-op, configuration change). */
  applyNoop(index: number): void {
    this.#advance(index);
  }

  /** Applies committed entry `index`, one command; it must be exactly appliedIndex + 1. Never throws on bad data. */
  apply(index: number, data: Uint8Array): Outcome {
    this.#advance(index);
    return this.#applyCommand(data, 0, data.length, undefined, 0);
  }

  /**
   * Applies committed entry `index`, a single command or a batch (stack/batch.ts) whose commands run in
   * order, each with its own key and timestamp, as if each were an entry of its own. `each` gets every
   * command's outcome and where its bytes lie (`data[start, end)`) right after that command ran, so a
   * caller may look at the machine between two commands (the simulator does). A batch that cannot be
   * read yields one bad_command, over all of `data`. `proposed`: the entry's commands as this node
   * proposed them (see ProposedCommands); ignored unless their count matches the entry's.
   */
  applyEntry(
    index: number,
    data: Uint8Array,
    each: (outcome: Outcome, data: Uint8Array, start: number, end: number) => void,
    proposed?: ProposedCommands,
  ): void {
    const own = proposed?.commands;
    const stampMs = proposed?.stampMs ?? 0;
    const wellFormed = proposed?.wellFormed === true;
    if (!isBatch(data)) {
      this.#advance(index);
      const single = own?.length === 1 ? own[0] : undefined;
      const outcome = this.#applyCommand(data, 0, data.length, single, stampMs, wellFormed);
      each(outcome, data, 0, data.length);
      return;
    }
    this.#advance(index);
    const bounds = batchBounds(data);
    if (bounds === undefined) {
      each(fail("bad_command"), data, 0, data.length);
      return;
    }
    const count = bounds.length / 2;
    const matches = own !== undefined && own.length === count;
    for (let i = 0; i < count; i++) {
      const start = bounds[2 * i] as number;
      const end = bounds[2 * i + 1] as number;
      const mine = matches ? own[i] : undefined;
      const outcome = this.#applyCommand(data, start, end, mine, stampMs, wellFormed);
      each(outcome, data, start, end);
    }
  }

  /**
   * Runs the command encoded in `data[start, end)`; `own` (stamped `stampMs`) instead of decoding it, if
   * it encodes exactly. `wellFormed`: own's strings hold no lone surrogate (ProposedCommands).
   */
  #applyCommand(
    data: Uint8Array,
    start: number,
    end: number,
    own: Command | undefined,
    stampMs: number,
    wellFormed = false,
  ): Outcome {
    // Only without `own` (followers, and the leader's fast-lane LPUSH): measured in-process, the leader's
    // own strings go into its store as fast as bytes.
    if (own === undefined) {
      const lpush = readAsciiLpush(data, start, end);
      if (lpush !== undefined) return this.#applyAsciiLpush(lpush, data);
    }
    const exact = own !== undefined && encodesExactly(own, stampMs, this.limits, wellFormed);
    const cmd = exact ? own : decodeCommand(data, start, end);
    if (cmd === undefined) return fail("bad_command");
    this.#tick(exact ? stampMs : cmd.atMs);
    this.#sessions.expire(this.#nowMs);
    if (cmd.key === undefined) return this.#execute(cmd, exact);
    // Well-formed: decoded, or validated by encodesExactly.
    const keyCode = validateKey(cmd.key, this.limits, true);
    if (keyCode !== undefined) return fail(keyCode);
    const fingerprint = commandFingerprint(data, start, end);
    const known = this.#sessions.get(cmd.key);
    if (known !== undefined && !this.#applyRetriesTwice) {
      const retry = known.fingerprint === fingerprint || known.fingerprint === anyFingerprint;
      return retry ? known.outcome : fail("idempotency_key_reused");
    }
    if (known === undefined && !this.#sessions.fits(cmd.key.length + poppedChars(cmd, this.#itemsOf))) {
      return fail("idempotency_keys_full");
    }
    const outcome = this.#execute(cmd, exact);
    if (known === undefined && !isRetryable(cmd, outcome)) {
      this.#sessions.add({ key: cmd.key, atMs: this.#nowMs, fingerprint, outcome });
    }
    return outcome;
  }

  /**
   * What #applyCommand does with the decoded LPUSH, decided on its bytes: no key, so no session; the
   * checks of validateCommand with a UTF-16 unit per byte (ASCII); the items' bytes copied into the store.
   */
  #applyAsciiLpush(p: AsciiLpush, data: Uint8Array): Outcome {
    this.#tick(p.atMs);
    this.#sessions.expire(this.#nowMs);
    const { limits } = this;
    const code =
      validateLabel(p.label, limits, true) ??
      (p.count === 0
        ? "bad_command"
        : p.count > limits.pushItemsMax
          ? "too_many_items"
          : p.longest > limits.itemBytesMax
            ? "item_too_large"
            : undefined);
    if (code !== undefined) return fail(code);
    const stack = this.#pushTarget(p.label, p.count, p.bytes);
    if (stack === undefined) return fail("capacity_exceeded");
    stack.items.pushAscii(data, p.bounds, p.count, p.bytes);
    return this.#pushed(stack, p.count, p.bytes);
  }

  /**
   * Moves the clock by how far `atMs` passes the latest timestamp, at most clockStepMaxMs. Measured
   * from the latest timestamp, not from the clock, so a jump that was cut short is not paid out later
   * (a burst after an idle spell must not expire keys in seconds).
   */
  #tick(atMs: number): void {
    if (atMs <= this.#stampMs) return;
    this.#nowMs += Math.min(atMs - this.#stampMs, this.limits.clockStepMaxMs);
    this.#stampMs = atMs;
  }

  /**
   * `validated`: validateCommand passed already (encodesExactly checks it); otherwise `cmd` was decoded,
   * so its strings are well-formed.
   */
  #execute(cmd: Command, validated: boolean): Outcome {
    const code = validated ? undefined : validateCommand(cmd, this.limits, true);
    if (code !== undefined) return fail(code);
    switch (cmd.type) {
      case "create": {
        const existing = this.#idsByLabel.get(cmd.label);
        if (existing !== undefined) return { ok: true, kind: "created", id: existing };
        const stack = this.#create(cmd.label);
        return stack === undefined ? fail("capacity_exceeded") : { ok: true, kind: "created", id: stack.id };
      }
      case "delete": {
        const stack = this.#stacks.get(cmd.id);
        if (stack === undefined) return fail("stack_not_found");
        this.#delete(stack);
        return { ok: true, kind: "deleted", id: cmd.id };
      }
      case "push": {
        const stack = this.#stacks.get(cmd.id);
        if (stack === undefined) return fail("stack_not_found");
        const chars = charsOf(cmd.items);
        if (!this.#fits(cmd.items.length, chars)) return fail("capacity_exceeded");
        for (const item of cmd.items) stack.items.push(item);
        return this.#pushed(stack, cmd.items.length, chars);
      }
      case "pop":
      case "bpopId": {
        const stack = this.#stacks.get(cmd.id);
        if (stack === undefined) return fail("stack_not_found");
        const item = this.#popOne(stack);
        return item === undefined ? fail("stack_empty") : { ok: true, kind: "popped", item };
      }
      case "lpush": {
        const chars = charsOf(cmd.items);
        const stack = this.#pushTarget(cmd.label, cmd.items.length, chars);
        if (stack === undefined) return fail("capacity_exceeded");
        for (const item of cmd.items) stack.items.push(item);
        return this.#pushed(stack, cmd.items.length, chars);
      }
      case "lpop": {
        const stack = this.#byLabel(cmd.label);
        if (stack === undefined) return fail("stack_not_found");
        if (stack.items.length === 0) return fail("stack_empty");
        if (cmd.count === undefined) return { ok: true, kind: "popped", item: this.#popOne(stack) as string };
        const items: string[] = [];
        for (let i = 0; i < cmd.count && stack.items.length > 0; i++)
          items.push(this.#popOne(stack) as string);
        return { ok: true, kind: "poppedItems", items };
      }
      case "del": {
        let count = 0;
        for (const label of cmd.labels) {
          const stack = this.#byLabel(label);
          if (stack === undefined) continue;
          this.#delete(stack);
          count++;
        }
        return { ok: true, kind: "deletedCount", count };
      }
      case "bpop": {
        for (const label of cmd.labels) {
          const stack = this.#byLabel(label);
          const item = stack === undefined ? undefined : this.#popOne(stack);
          if (item !== undefined) return { ok: true, kind: "poppedFrom", label, item };
        }
        return fail("stack_empty");
      }
    }
  }

  /** The items of stack `id` (a number) or of the stack labelled `id` (a string). */
  readonly #itemsOf = (id: number | string): ItemStack | undefined =>
    (typeof id === "number" ? this.#stacks.get(id) : this.#byLabel(id))?.items;

  #byLabel(label: string): Stack | undefined {
    const id = this.#idsByLabel.get(label);
    return id === undefined ? undefined : this.#stacks.get(id);
  }

  /** A new empty stack, or undefined when stacksMax are alive. */
  #create(label: string): Stack | undefined {
    if (this.#stacks.size >= this.limits.stacksMax) return undefined;
    const id = this.#nextId++;
    const stack: Stack = { id, label, items: new ItemStack() };
    this.#stacks.set(id, stack);
    this.#idsByLabel.set(label, id);
    return stack;
  }

  #delete(stack: Stack): void {
    this.#stacks.delete(stack.id);
    this.#idsByLabel.delete(stack.label);
    this.#itemCount -= stack.items.length;
    this.#itemChars -= stack.items.chars;
  }

  /** `count` more items of `chars` UTF-16 units in all fit the machine's capacity. */
  #fits(count: number, chars: number): boolean {
    return (
      this.#itemCount + count <= this.limits.itemsMax && this.#itemChars + chars <= this.limits.itemCharsMax
    );
  }

  /**
   * The stack an LPUSH of `count` items (`chars` units) goes to, created if absent, or undefined if they
   * do not fit. Capacity is checked before a stack is created, so a refused push creates nothing.
   */
  #pushTarget(label: string, count: number, chars: number): Stack | undefined {
    if (!this.#fits(count, chars)) return undefined;
    return this.#byLabel(label) ?? this.#create(label);
  }

  /** Counts `count` items of `chars` units just pushed onto `stack`. */
  #pushed(stack: Stack, count: number, chars: number): Outcome {
    this.#itemChars += chars;
    this.#itemCount += count;
    return { ok: true, kind: "pushed", size: stack.items.length };
  }

  #popOne(stack: Stack): string | undefined {
    const item = stack.items.pop();
    if (item === undefined) return undefined;
    this.#itemCount--;
    this.#itemChars -= item.length;
    return item;
  }

  /** Reads. The caller makes them linearizable (ReadIndex) by waiting until appliedIndex is high enough. */
  id(label: string): number | undefined {
    return this.#idsByLabel.get(label);
  }

  top(id: number): TopResult {
    const stack = this.#stacks.get(id);
    if (stack === undefined) return fail("stack_not_found");
    const item = stack.items.at(stack.items.length - 1);
    return item === undefined ? fail("stack_empty") : { ok: true, kind: "top", item };
  }

  size(id: number): SizeResult {
    const stack = this.#stacks.get(id);
    return stack === undefined
      ? fail("stack_not_found")
      : { ok: true, kind: "size", size: stack.items.length };
  }

  get(id: number): GetResult {
    const stack = this.#stacks.get(id);
    if (stack === undefined) return fail("stack_not_found");
    return { ok: true, kind: "stack", id, label: stack.label, items: stack.items.toArray() };
  }

  /** The item `index` places below the top of the stack labelled `label` (negative: -1 is the bottom), as LINDEX. */
  at(label: string, index: number): string | undefined {
    const items = this.#byLabel(label)?.items;
    if (items === undefined) return undefined;
    return items.at(index >= 0 ? items.length - 1 - index : -1 - index);
  }

  /** Size of the stack labelled `label`, or undefined if there is none. */
  sizeOf(label: string): number | undefined {
    return this.#byLabel(label)?.items.length;
  }

  /**
   * Items `start..stop` counted from the top (inclusive, negative counts from the bottom, as LRANGE
   * does), top first; undefined if there is no such stack. Copies only the range.
   */
  range(label: string, start: number, stop: number): string[] | undefined {
    const items = this.#byLabel(label)?.items;
    if (items === undefined) return undefined;
    const n = items.length;
    const from = Math.max(0, start < 0 ? n + start : start);
    const to = Math.min(n - 1, stop < 0 ? n + stop : stop);
    const out: string[] = [];
    for (let i = from; i <= to; i++) out.push(items.at(n - 1 - i) as string);
    return out;
  }

  /** Stacks with an id above `afterId`, in id order, at most `countMax` (SCAN's cursor is the last id). */
  listAfter(afterId: number, countMax: number): StackInfo[] {
    const infos: StackInfo[] = [];
    for (const s of this.#stacks.values()) {
      if (s.id <= afterId) continue;
      infos.push({ id: s.id, label: s.label, size: s.items.length });
      if (infos.length >= countMax) break;
    }
    return infos;
  }

  /** Label and size without copying the items. */
  info(id: number): InfoResult {
    const stack = this.#stacks.get(id);
    if (stack === undefined) return fail("stack_not_found");
    return { ok: true, kind: "info", id, label: stack.label, size: stack.items.length };
  }

  /** Every stack in creation (= id) order. */
  list(): StackInfo[] {
    const infos: StackInfo[] = [];
    for (const s of this.#stacks.values()) infos.push({ id: s.id, label: s.label, size: s.items.length });
    return infos;
  }

  /** The whole state as bytes (the format: stack/snapshot.ts). Deterministic: equal states give equal bytes. */
  snapshot(): Uint8Array {
    const steps = this.snapshotSteps(Number.POSITIVE_INFINITY);
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
    }
  }

  /**
   * The snapshot as a generator that pauses after every `itemsPerStep` items, so a driver can encode a
   * large state between other work. The cut is taken at the first `next()`: shallow copies of the
   * stack list and sessions and a cut of each stack's items (ItemsCut: no copy), so applying entries
   * meanwhile does not change the result. No step copies the state (that stalled a leader past its
   * election timeout): the result, `head` (e.g. the node's member table) then the snapshot, is a view
   * of the buffer it was written into.
   */
  *snapshotSteps(itemsPerStep: number, head = noHead): Generator<void, Uint8Array, void> {
    const header = {
      applied: this.#appliedIndex,
      nowMs: this.#nowMs,
      stampMs: this.#stampMs,
      nextId: this.#nextId,
    };
    const stacks = [...this.#stacks.values()].map((st) => ({ ...st, items: st.items.cut() }));
    const sessions = this.#sessions.oldestFirst();
    try {
      const bytesHint = snapshotBytesHint(stacks, this.#sessions);
      return yield* writeSnapshot(header, stacks, sessions, head, bytesHint, itemsPerStep);
    } finally {
      for (const st of stacks) st.items.release();
    }
  }

  /** Rebuilds a machine from `snapshot()` bytes. Throws on a malformed snapshot (storage checksums it). */
  static restore(bytes: Uint8Array, options: StackMachineOptions = {}): StackMachine {
    const m = new StackMachine(options);
    try {
      m.#load(new Reader(bytes));
    } catch (e) {
      if (e instanceof DecodeError) throw new Error(`stack snapshot: ${e.message}`);
      throw e;
    }
    return m;
  }

  #load(r: Reader): void {
    const loaded = readSnapshot(r, {
      stacks: this.#stacks,
      idsByLabel: this.#idsByLabel,
      sessions: this.#sessions,
    });
    this.#appliedIndex = loaded.applied;
    this.#nowMs = loaded.nowMs;
    this.#stampMs = loaded.stampMs;
    this.#nextId = loaded.nextId;
    this.#itemCount = loaded.itemCount;
    this.#itemChars = loaded.itemChars;
  }
}

const noHead: Uint8Array = new Uint8Array(0);
