import type { StackLimits } from "./limits.js";
import type { Outcome } from "./types.js";

/**
 * A remembered first outcome. `atMs` is the machine's clock when it was recorded, so it never
 * decreases; `fingerprint` identifies the command (commandFingerprint), so a key reused for another
 * command is told apart from a retry.
 */
export interface Session {
  readonly key: string;
  readonly atMs: number;
  readonly fingerprint: number;
  readonly outcome: Outcome;
}

/** The fingerprint of a session restored from a version 1 snapshot, which had none: any command matches. */
export const anyFingerprint = -1;

/** Forgotten sessions at the queue head are compacted away once this many accumulate (and half the array). */
const queueSlackMax = 1024;

/** Memory held by a remembered outcome, in UTF-16 units (the key and popped items dominate). */
function sessionChars(key: string, outcome: Outcome): number {
  if (!outcome.ok) return key.length;
  switch (outcome.kind) {
    case "popped":
      return key.length + outcome.item.length;
    case "poppedFrom":
      return key.length + outcome.label.length + outcome.item.length;
    case "poppedItems": {
      let chars = key.length;
      for (const item of outcome.items) chars += item.length;
      return chars;
    }
    default:
      return key.length;
  }
}

/** Strings in a remembered outcome (popped items, a label): a snapshot writes each behind its length. */
function outcomeStrings(outcome: Outcome): number {
  if (!outcome.ok) return 0;
  switch (outcome.kind) {
    case "popped":
      return 1;
    case "poppedFrom":
      return 2;
    case "poppedItems":
      return outcome.items.length;
    default:
      return 0;
  }
}

type SessionLimits = Pick<StackLimits, "sessionsMax" | "sessionCharsMax" | "sessionRetentionMs">;

/**
 * The exactly-once table: idempotency key → first outcome, forgotten only by age. When full it
 * takes no new keys (the caller refuses the write) rather than forget one a client may still retry.
 */
export class SessionTable {
  readonly #byKey = new Map<string, Session>();
  /** Sessions in insertion order (= non-decreasing atMs): expiry pops from the head. */
  #queue: Session[] = [];
  #head = 0;
  #chars = 0;
  #strings = 0;

  constructor(private readonly limits: SessionLimits) {}

  get size(): number {
    return this.#byKey.size;
  }

  /** UTF-16 units of the sessions' keys and outcome text together. */
  get chars(): number {
    return this.#chars;
  }

  /** Strings in the sessions' outcomes together (outcomeStrings). */
  get strings(): number {
    return this.#strings;
  }

  get(key: string): Session | undefined {
    return this.#byKey.get(key);
  }

  /** Whether one more session holding `chars` UTF-16 units stays within the limits. */
  fits(chars: number): boolean {
    return this.#byKey.size < this.limits.sessionsMax && this.#chars + chars <= this.limits.sessionCharsMax;
  }

  /** Remembers a session for a key not in the table. */
  add(session: Session): void {
    if (this.#byKey.has(session.key)) throw new Error(`session ${session.key} added twice`);
    this.#byKey.set(session.key, session);
    this.#queue.push(session);
    this.#chars += sessionChars(session.key, session.outcome);
    this.#strings += outcomeStrings(session.outcome);
  }

  /** Forgets sessions recorded `sessionRetentionMs` or more before `nowMs`. O(1) amortized. */
  expire(nowMs: number): void {
    const queue = this.#queue;
    while (this.#head < queue.length) {
      const oldest = queue[this.#head]!;
      if (nowMs - oldest.atMs < this.limits.sessionRetentionMs) break;
      this.#byKey.delete(oldest.key);
      this.#chars -= sessionChars(oldest.key, oldest.outcome);
      this.#strings -= outcomeStrings(oldest.outcome);
      this.#head++;
    }
    if (this.#head > queueSlackMax && this.#head * 2 > queue.length) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The live sessions, oldest first (a copy of the pointers: later changes do not show in it). */
  oldestFirst(): Session[] {
    return this.#queue.slice(this.#head);
  }
}
