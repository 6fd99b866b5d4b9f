// The fast lane's reader: a run of plain `LPUSH key item...` requests read from a socket chunk as byte
// offsets, for the leader's batch entry (stack/ascii-pushes.ts), instead of strings, Commands and replies
// per write. Anything else ends the run and takes the normal path, which answers it as before.
import type { AsciiPushes, StackLimits } from "../stack/index.js";
import type { RespLimits } from "./limits.js";

/** Commands of one run: a run goes into one batch entry (commandsPerBatchMax is 256). */
export const RUN_COMMANDS_MAX = 64;
/** Request bytes of one run: its entry stays far below a batch's 256 KiB. */
export const RUN_BYTES_MAX = 64 * 1024;

/**
 * What a driver takes whole or refuses whole: a run joins one batch and counts as that many proposals;
 * on a follower it is forwarded as one request counted as that many (forwardsPendingMax), and its
 * commands carry a key each, of up to `runKeyBytesMax` bytes (node/run-forward.ts).
 */
export interface RunTaker {
  readonly commandsPerBatchMax: number;
  readonly batchBytesMax: number;
  readonly proposalsPendingMax: number;
  readonly forwardsPendingMax: number;
  readonly runKeyBytesMax: number;
}

/**
 * Throws RangeError unless every run fits what `taker` takes whole; asserted where the listener meets
 * the driver (node/start.ts). Otherwise a valid pipeline could be refused every time ("a run of writes
 * exceeds a batch", or busy on every retry) where single writes would pass. Bytes: a command's encoding
 * (stack/ascii-pushes.ts: two bytes, a stamp, length prefixes) is shorter than its RESP request (at least
 * `*3 $5 LPUSH` and a `$n` line per argument), so a run of RUN_BYTES_MAX request bytes encodes in fewer,
 * plus its keys when a follower forwarded it (a length byte and the key per command).
 */
export function assertRunFits(taker: RunTaker): void {
  const { commandsPerBatchMax, batchBytesMax, proposalsPendingMax, forwardsPendingMax } = taker;
  const bytes = RUN_BYTES_MAX + RUN_COMMANDS_MAX * (1 + taker.runKeyBytesMax);
  if (
    RUN_COMMANDS_MAX > Math.min(commandsPerBatchMax, proposalsPendingMax, forwardsPendingMax) ||
    bytes > batchBytesMax
  ) {
    throw new RangeError(
      `a RESP run of ${RUN_COMMANDS_MAX} LPUSH and ${bytes} bytes (keys included) must fit ` +
        `commandsPerBatchMax ${commandsPerBatchMax}, proposalsPendingMax ${proposalsPendingMax}, ` +
        `forwardsPendingMax ${forwardsPendingMax} and batchBytesMax ${batchBytesMax}`,
    );
  }
}

const CR = 0x0d;
const LF = 0x0a;
/** Digits of a length the run takes: more is no request of the run (the parser decides). */
const DIGITS_MAX = 9;

/** A run: the commands, and where the bytes after its last request start. */
export interface LpushRun extends AsciiPushes {
  readonly end: number;
}

/** Spans of the run being read; copied out exactly once the run is known. */
let scratch = new Uint32Array(1024);

/**
 * The decimal number of `buf[at..]` up to CRLF as [value, offset after the CRLF], or -1: no digits,
 * too many, anything else, or not all there yet. Offsets and values are below 2^31.
 */
function header(buf: Uint8Array, at: number): number {
  let n = 0;
  let i = at;
  const limit = Math.min(buf.length, at + DIGITS_MAX);
  while (i < limit) {
    const d = (buf[i] as number) - 0x30;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
    i++;
  }
  if (i === at || i + 1 >= buf.length || buf[i] !== CR || buf[i + 1] !== LF) return -1;
  headerEnd = i + 2;
  return n;
}
/** Where the header line `header` read last ends (a second result without an object per call). */
let headerEnd = 0;

/** True if `buf[from, to)` is ASCII. */
function ascii(buf: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if ((buf[i] as number) >= 0x80) return false;
  return true;
}

/** `LPUSH` in any case at `buf[at..at+5)`. */
function isLpush(buf: Uint8Array, at: number): boolean {
  return (
    ((buf[at] as number) | 0x20) === 0x6c &&
    ((buf[at + 1] as number) | 0x20) === 0x70 &&
    ((buf[at + 2] as number) | 0x20) === 0x75 &&
    ((buf[at + 3] as number) | 0x20) === 0x73 &&
    ((buf[at + 4] as number) | 0x20) === 0x68
  );
}

/**
 * The longest run (at most `commandsMax` commands, RUN_BYTES_MAX bytes) of complete requests from
 * `buf[from]` that the normal path would run as a valid keyless LPUSH of ASCII label and items under
 * `limits` and `stack` (arity, bulk and request sizes, label and item sizes, item count); undefined if
 * the first request is not one. Strict where the parser is lenient (a sign, a length of ten or more
 * digits; leading zeros read the same in both): whatever this refuses the parser reads as before.
 */
export function readLpushRun(
  buf: Uint8Array,
  from: number,
  commandsMax: number,
  limits: RespLimits,
  stack: StackLimits,
): LpushRun | undefined {
  const labelMax = Math.min(stack.labelBytesMax, limits.bulkBytesMax);
  const itemMax = Math.min(stack.itemBytesMax, limits.bulkBytesMax);
  const argsMax = Math.min(limits.argsMax, stack.pushItemsMax + 2);
  let spans = scratch;
  let used = 0;
  let count = 0;
  let at = from;
  while (count < commandsMax && at < buf.length) {
    // `p` reads one request; `at` moves past it only once all of it is taken.
    if (buf[at] !== 0x2a /* * */) break;
    const args = header(buf, at + 1);
    if (args < 3 || args > argsMax) break;
    let p = headerEnd;
    // $5\r\nLPUSH\r\n
    if (p + 11 > buf.length || buf[p] !== 0x24 || buf[p + 1] !== 0x35 || buf[p + 2] !== CR) break;
    if (buf[p + 3] !== LF || !isLpush(buf, p + 4) || buf[p + 9] !== CR || buf[p + 10] !== LF) break;
    p += 11;
    const need = used + 1 + 2 * args;
    if (need > spans.length) {
      const grown = new Uint32Array(Math.max(2 * spans.length, need));
      grown.set(spans.subarray(0, used));
      spans = scratch = grown;
    }
    let k = 1;
    let s = used;
    for (; k < args; k++) {
      if (buf[p] !== 0x24 /* $ */) break;
      const len = header(buf, p + 1);
      if (len < 0 || len > (k === 1 ? labelMax : itemMax) || (k === 1 && len === 0)) break;
      const dataStart = headerEnd;
      const dataEnd = dataStart + len;
      if (dataEnd + 2 > buf.length || buf[dataEnd] !== CR || buf[dataEnd + 1] !== LF) break;
      if (!ascii(buf, dataStart, dataEnd)) break;
      spans[s++] = dataStart;
      spans[s++] = dataEnd;
      if (k === 1) spans[s++] = args - 2; // the item count, after the label's span
      p = dataEnd + 2;
    }
    // A request over requestBytesMax (counted as the parser counts: to its last argument's end) is the
    // parser's to refuse; a run ends before RUN_BYTES_MAX.
    if (k < args || p - 2 - at > limits.requestBytesMax || p - from > RUN_BYTES_MAX) break;
    at = p;
    used = s;
    count++;
  }
  if (count === 0) return undefined;
  return { src: buf, count, spans: spans.slice(0, used), end: at };
}
