// A follower's RESP run sent to the leader as ONE forward request (REQUEST_RUN), proposed there as one
// run (one batch entry, as if the client had sent it to the leader), and answered with every command's
// outcome in one message. Before, each command was a forward request of its own: 300,000 pipelined
// writes on a follower cost 302,530 peer messages (docs/performance.md, tenth session).
//
// Exactly once: a run whose answer is lost (the leader died, the connection broke) is sent again, maybe
// to another leader. Each command carries an idempotency key, as each forwarded command did: the run
// names them with a prefix and a first number (RunKeys), and the leader writes command i's key into its
// encoding, so the log holds keyed LPUSH commands a replica of any version applies, and the session
// table (stack/sessions.ts) dedups each on its own, as before. One key for the whole run would save the
// sessions too (64 per run today) but needs a new entry format that every replica must read first (a
// rolling upgrade would have old followers refuse it), and the machine to remember a run's outcomes
// under one key: more machinery than this change's. The keys are the ones the per-command path gives
// the same commands (LeaderRequests numbers both alike), so a run first sent whole and then, for a
// leader of an older protocol, command by command is still applied once.
import { DecodeError, Reader, VARINT_BYTES_MAX, Writer } from "../codec/index.js";
import type { RunReply } from "../server/index.js";
import { type AsciiPushes, type Outcome, type RunKeys, readOutcome, writeOutcome } from "../stack/index.js";
import { FORWARD_OVERHEAD_BYTES_MAX } from "../transport/index.js";
import { NodeError } from "./errors.js";
import type { ForwardReply } from "./forwarding.js";
import type { Reply } from "./ports.js";

/** Bytes of a run's key prefix (LeaderRequests makes ~30: `~`, the node id, a random part, `.`). */
export const RUN_KEY_PREFIX_BYTES_MAX = 64;
/** Bytes of a run's key: the prefix and a number below 2^53 in base 36 (11 digits at most). */
export const RUN_KEY_BYTES_MAX = RUN_KEY_PREFIX_BYTES_MAX + 11;
/** Bytes of a request besides its commands: the prefix with its length, the first key, the count. */
const REQUEST_HEADER_BYTES_MAX = 2 + RUN_KEY_PREFIX_BYTES_MAX + 2 * VARINT_BYTES_MAX;

/**
 * Throws RangeError unless a forwarded run of `runBytesMax` RESP request bytes fits one forward frame
 * of `frameBytesMax`; asserted where the node meets the transport (start.ts). A command's part of the
 * request (a length before the label and each item, the item count) is shorter than its RESP request
 * (`*n`, `$5 LPUSH` and a `$len` line and CRLF per argument), so the request is at most the header
 * more than the run's RESP bytes.
 */
export function assertForwardedRunFits(runBytesMax: number, frameBytesMax: number): void {
  const needed = FORWARD_OVERHEAD_BYTES_MAX + REQUEST_HEADER_BYTES_MAX + runBytesMax;
  if (needed > frameBytesMax) {
    throw new RangeError(
      `a forwarded run of ${runBytesMax} request bytes needs frames of ${needed} bytes; frameBytesMax is ${frameBytesMax}`,
    );
  }
}

/**
 * The payload of a REQUEST_RUN: the key prefix, the first key's number, the command count, then each
 * command as its label (length, bytes), its item count and its items (length, bytes each).
 */
export function encodeRunRequest(run: AsciiPushes, keys: RunKeys): Uint8Array {
  if (keys.prefix.length > RUN_KEY_PREFIX_BYTES_MAX) throw new RangeError("run key prefix too long");
  const { src, spans, count } = run;
  let at = 0;
  let bytes = REQUEST_HEADER_BYTES_MAX;
  for (let j = 0; j < count; j++) {
    const items = spans[at + 2] as number;
    const end = at + 3 + 2 * items;
    bytes += VARINT_BYTES_MAX * (2 + items) + (spans[at + 1] as number) - (spans[at] as number);
    for (let i = at + 3; i < end; i += 2) bytes += (spans[i + 1] as number) - (spans[i] as number);
    at = end;
  }
  const w = new Writer(bytes);
  w.str(keys.prefix);
  w.varint(keys.first);
  w.varint(count);
  at = 0;
  for (let j = 0; j < count; j++) {
    const items = spans[at + 2] as number;
    w.varint((spans[at + 1] as number) - (spans[at] as number));
    w.copy(src, spans[at] as number, spans[at + 1] as number);
    w.varint(items);
    const end = at + 3 + 2 * items;
    for (let i = at + 3; i < end; i += 2) {
      w.varint((spans[i + 1] as number) - (spans[i] as number));
      w.copy(src, spans[i] as number, spans[i + 1] as number);
    }
    at = end;
  }
  return w.finish();
}

/**
 * The run of a REQUEST_RUN payload, read in place (its spans point into `payload`) and keyed; undefined
 * if it is malformed: truncated, trailing bytes, no command, or a byte that is not ASCII (the run's
 * encoding equals its Commands' only for ASCII, see stack/ascii-pushes.ts).
 */
export function decodeRunRequest(payload: Uint8Array): AsciiPushes | undefined {
  try {
    const r = new Reader(payload);
    const prefix = r.str(RUN_KEY_PREFIX_BYTES_MAX);
    const first = r.varint();
    const count = r.varint();
    // Each command takes two bytes at least: a larger count is damage, refused before anything is read.
    if (count === 0 || 2 * count > r.remaining) return undefined;
    const spans: number[] = [];
    for (let j = 0; j < count; j++) {
      if (!asciiSpan(r, payload, spans)) return undefined;
      const items = r.varint();
      if (items > r.remaining) return undefined;
      spans.push(items);
      for (let i = 0; i < items; i++) if (!asciiSpan(r, payload, spans)) return undefined;
    }
    if (!r.done || !Number.isSafeInteger(first + count)) return undefined;
    // No prefix: a run sent without keys (LeaderRequests.keyless), proposed as the client sent it.
    const keys = prefix === "" ? undefined : { prefix, first };
    return { src: payload, count, spans: Uint32Array.from(spans), ...(keys === undefined ? {} : { keys }) };
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}

/** Reads a length and that many ASCII bytes, pushing where they lie; false if one is not ASCII. */
function asciiSpan(r: Reader, payload: Uint8Array, spans: number[]): boolean {
  const length = r.varint();
  const from = r.offset;
  r.skip(length);
  for (let p = from; p < from + length; p++) if ((payload[p] as number) >= 0x80) return false;
  spans.push(from, from + length);
  return true;
}

/** The answer to a REQUEST_RUN: the count, then each command's outcome in order. */
export function encodeRunOutcomes(outcomes: readonly Outcome[]): Uint8Array {
  const w = new Writer(8 + 4 * outcomes.length);
  w.varint(outcomes.length);
  for (const o of outcomes) writeOutcome(w, o);
  return w.finish();
}

/** The `count` outcomes of an answer to a REQUEST_RUN, or undefined if it is malformed or not `count`. */
export function decodeRunOutcomes(payload: Uint8Array, count: number): Outcome[] | undefined {
  try {
    const r = new Reader(payload);
    if (r.varint() !== count) return undefined;
    const outcomes = new Array<Outcome>(count);
    for (let i = 0; i < count; i++) outcomes[i] = readOutcome(r);
    return r.done ? outcomes : undefined;
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}

/**
 * The leader's answer to a forwarded run (Driver.proposeRun answers once per command, in order): one
 * reply once every command is answered, with the outcomes, or with the first error if any command got
 * one. The commands of a run share one entry, so the driver answers them alike (all applied, or all
 * refused or of unknown outcome); an error for all is safe anyway, as the follower retries the run
 * under its keys and a command applied already answers its first outcome.
 */
export class RunOutcomes implements Reply<Outcome> {
  private readonly outcomes: Outcome[] = [];
  private error: NodeError | undefined;
  private answered = 0;

  constructor(
    private readonly count: number,
    private readonly reply: Reply<Uint8Array>,
  ) {}

  resolve(outcome: Outcome): void {
    this.outcomes.push(outcome);
    this.answeredOne();
  }

  reject(err: NodeError): void {
    this.error ??= err;
    this.answeredOne();
  }

  private answeredOne(): void {
    if (++this.answered !== this.count) return;
    if (this.error !== undefined) this.reply.reject(this.error);
    else this.reply.resolve(encodeRunOutcomes(this.outcomes));
  }
}

/**
 * The follower's side: the leader's answer to a run of `count` commands, told to each of them. A
 * command refused idempotency_keys_full after an attempt of the run got no answer is "outcome unknown"
 * (leader-requests.ts, outcomeReply).
 */
export function runAnswer(reply: RunReply, count: number): ForwardReply {
  return {
    resolve: (payload, earlierMayRun) => {
      const outcomes = decodeRunOutcomes(payload, count);
      for (let i = 0; i < count; i++) {
        const o = outcomes?.[i];
        if (o === undefined)
          reply.rejectAt(i, new NodeError("internal", "unreadable outcomes from the leader"));
        else if (earlierMayRun && isKeysFull(o)) reply.rejectAt(i, keysFullUnknown());
        else reply.resolveAt(i, o);
      }
    },
    reject: (err) => {
      for (let i = 0; i < count; i++) reply.rejectAt(i, err);
    },
  };
}

/** A refusal for a full exactly-once table (nothing applied by this attempt). */
export function isKeysFull(outcome: Outcome): boolean {
  return !outcome.ok && outcome.code === "idempotency_keys_full";
}

/** The answer when a full table refused a write an earlier attempt of which may still apply. */
export function keysFullUnknown(): NodeError {
  return new NodeError(
    "timeout",
    "the exactly-once table is full and an earlier attempt may still be applied; outcome unknown",
  );
}
