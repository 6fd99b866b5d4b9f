import { isUtf8 } from "node:buffer";
import type { StackLimits } from "../stack/index.js";
import type { RespLimits } from "./limits.js";
import { type LpushRun, readLpushRun } from "./lpush-run.js";

/** A request the connection cannot continue after: answered with `-ERR Protocol error: ...`, then closed. */
export class RespProtocolError extends Error {
  override readonly name = "RespProtocolError";
  readonly code = "protocol_error";
}

/**
 * One parsed request: its arguments as strings, and `invalid` when one is not UTF-8: the first such
 * argument's 1-based position and its bytes (copied). The stacks hold text: such a request is refused,
 * the connection lives on; ECHO and PING answer those bytes as they are (as Redis).
 */
export interface Request {
  readonly args: readonly string[];
  readonly invalid?: { readonly arg: number; readonly bytes: Buffer };
}

const CR = 0x0d;
const LF = 0x0a;
/** `*10002\r\n` and `$65536\r\n` are far below this; a longer header line is garbage. */
const HEADER_LINE_BYTES_MAX = 32;

/**
 * Incremental RESP request parser: multibulk arrays of bulk strings (what every client sends) and
 * inline commands (`PING\r\n`, as typed into telnet). Bytes arrive in any split; `next()` returns
 * one complete request at a time, undefined when more bytes are needed, and throws RespProtocolError
 * on malformed input or a limit (arguments, bulk length, request bytes, inline line length).
 */
export class RespParser {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private readonly recent = new RecentArgs();

  constructor(private readonly limits: RespLimits) {}

  /** Bytes received but not yet parsed into a request. */
  get buffered(): number {
    return this.buf.length - this.pos;
  }

  push(chunk: Buffer): void {
    if (this.pos >= this.buf.length) this.buf = chunk;
    else this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
    this.pos = 0;
  }

  /**
   * The run of plain LPUSH requests next in the buffer (readLpushRun), taken like requests, or undefined
   * (then `next` reads what comes).
   */
  nextRun(commandsMax: number, stack: StackLimits): LpushRun | undefined {
    if (this.pos >= this.buf.length) return undefined;
    const run = readLpushRun(this.buf, this.pos, commandsMax, this.limits, stack);
    if (run !== undefined) this.pos = run.end;
    return run;
  }

  /** The next complete request, or undefined until more bytes arrive. Empty requests are skipped. */
  next(): Request | undefined {
    for (;;) {
      if (this.pos >= this.buf.length) return undefined;
      const r = this.buf[this.pos] === 0x2a /* * */ ? this.multibulk() : this.inline();
      if (r === undefined) {
        this.checkPartial();
        return undefined;
      }
      if (r.args.length > 0) return r;
    }
  }

  /** An incomplete request larger than any complete one may be is refused before it is all buffered. */
  private checkPartial(): void {
    if (this.buffered > this.limits.requestBytesMax + HEADER_LINE_BYTES_MAX) {
      throw new RespProtocolError(`request exceeds ${this.limits.requestBytesMax} bytes`);
    }
  }

  /**
   * Index of the CR of the next CRLF from `from`, -1 if not there yet; throws on a lone CR or a long line.
   * Scanned here, not with Buffer.indexOf: header lines are a few bytes, and the native call cost more
   * than the scan (two header lines per argument under pipelined writes).
   */
  private lineEnd(from: number, lineBytesMax: number, what: string): number {
    const buf = this.buf;
    const scanEnd = Math.min(buf.length, from + lineBytesMax + 1);
    let cr = from;
    while (cr < scanEnd && buf[cr] !== CR) cr++;
    if (cr - from > lineBytesMax) throw new RespProtocolError(`too big ${what}`);
    if (cr === scanEnd || cr + 1 >= buf.length) return -1;
    if (buf[cr + 1] !== LF) throw new RespProtocolError(`expected CRLF after ${what}`);
    return cr;
  }

  /** A decimal integer from a header line, or NaN. */
  private int(from: number, to: number): number {
    if (to <= from || to - from > 18) return Number.NaN;
    let n = 0;
    let i = from;
    const negative = this.buf[i] === 0x2d; /* - */
    if (negative) i++;
    if (i === to) return Number.NaN;
    for (; i < to; i++) {
      const d = (this.buf[i] as number) - 0x30;
      if (d < 0 || d > 9) return Number.NaN;
      n = n * 10 + d;
    }
    return negative ? -n : n;
  }

  private multibulk(): Request | undefined {
    const start = this.pos;
    const headerEnd = this.lineEnd(start + 1, HEADER_LINE_BYTES_MAX, "multibulk count");
    if (headerEnd < 0) return undefined;
    const count = this.int(start + 1, headerEnd);
    if (Number.isNaN(count) || count > this.limits.argsMax) {
      throw new RespProtocolError(
        Number.isNaN(count) ? "invalid multibulk length" : `more than ${this.limits.argsMax} arguments`,
      );
    }
    let at = headerEnd + 2;
    if (count <= 0) {
      // Redis skips an empty or null multibulk; so do we.
      this.pos = at;
      return { args: [] };
    }
    const args = new Array<string>(count);
    let invalid: Request["invalid"];
    for (let k = 0; k < count; k++) {
      if (at >= this.buf.length) return undefined;
      if (this.buf[at] !== 0x24 /* $ */) {
        throw new RespProtocolError(`expected '$', got '${String.fromCharCode(this.buf[at] as number)}'`);
      }
      const lenEnd = this.lineEnd(at + 1, HEADER_LINE_BYTES_MAX, "bulk length");
      if (lenEnd < 0) return undefined;
      const len = this.int(at + 1, lenEnd);
      if (Number.isNaN(len) || len < 0 || len > this.limits.bulkBytesMax) {
        throw new RespProtocolError(
          Number.isNaN(len) || len < 0
            ? "invalid bulk length"
            : `bulk exceeds ${this.limits.bulkBytesMax} bytes`,
        );
      }
      const dataStart = lenEnd + 2;
      if (dataStart - start + len > this.limits.requestBytesMax) {
        throw new RespProtocolError(`request exceeds ${this.limits.requestBytesMax} bytes`);
      }
      if (dataStart + len + 2 > this.buf.length) return undefined;
      if (this.buf[dataStart + len] !== CR || this.buf[dataStart + len + 1] !== LF) {
        throw new RespProtocolError("bulk string not terminated by CRLF");
      }
      // Read in place: a subarray view per argument was a visible share of the garbage under pipelines.
      const dataEnd = dataStart + len;
      if (
        invalid === undefined &&
        !isAscii(this.buf, dataStart, dataEnd) &&
        !isUtf8(this.buf.subarray(dataStart, dataEnd))
      ) {
        invalid = { arg: k + 1, bytes: Buffer.from(this.buf.subarray(dataStart, dataEnd)) };
      }
      args[k] = this.recent.text(k, this.buf, dataStart, dataEnd);
      at = dataStart + len + 2;
    }
    this.pos = at;
    return invalid === undefined ? { args } : { args, invalid };
  }

  /** A line of space-separated words (no quoting), as typed into telnet. */
  private inline(): Request | undefined {
    const end = this.lineEndLenient(this.pos);
    if (end === undefined) return undefined;
    const line = this.buf.toString("utf8", this.pos, end.at);
    this.pos = end.next;
    const args = line.split(/[ \t]+/).filter((w) => w !== "");
    if (args.length > this.limits.argsMax)
      throw new RespProtocolError(`more than ${this.limits.argsMax} arguments`);
    return { args };
  }

  /** An inline line ends at LF (CRLF or bare LF, as Redis accepts); bounded by inlineBytesMax. */
  private lineEndLenient(from: number): { at: number; next: number } | undefined {
    const lf = this.buf.indexOf(LF, from);
    const end = lf < 0 ? this.buf.length : lf;
    if (end - from > this.limits.inlineBytesMax) throw new RespProtocolError("too big inline request");
    if (lf < 0) return undefined;
    return { at: lf > from && this.buf[lf - 1] === CR ? lf - 1 : lf, next: lf + 1 };
  }
}

/** Bytes of an argument RecentArgs remembers: command names and most keys are shorter. */
const REMEMBERED_BYTES_MAX = 64;

/**
 * The command name and key of the previous request, bytes and string: a pipeline repeats them (LPUSH
 * jobs ..., LPUSH jobs ...), and comparing a few bytes is cheaper than decoding them into a new string,
 * which is garbage a moment later. The name is decoded as latin1 (commands are ASCII; any byte
 * matches no command), every other argument as UTF-8.
 */
class RecentArgs {
  private readonly bytes = [new Uint8Array(REMEMBERED_BYTES_MAX), new Uint8Array(REMEMBERED_BYTES_MAX)];
  private readonly lengths = [-1, -1];
  private readonly strings = ["", ""];

  /** Argument `k` of a request, bytes `from..to` of `buf`, as a string. */
  text(k: number, buf: Buffer, from: number, to: number): string {
    const len = to - from;
    if (k > 1 || len > REMEMBERED_BYTES_MAX) return decode(k, buf, from, to);
    const known = this.bytes[k] as Uint8Array;
    if (this.lengths[k] === len) {
      let i = 0;
      while (i < len && known[i] === buf[from + i]) i++;
      if (i === len) return this.strings[k] as string;
    }
    const s = decode(k, buf, from, to);
    for (let i = 0; i < len; i++) known[i] = buf[from + i] as number;
    this.lengths[k] = len;
    this.strings[k] = s;
    return s;
  }
}

/** Buffer's own decoders, which `toString` calls after checking its arguments again. */
interface BufferSlices {
  latin1Slice(from: number, to: number): string;
  utf8Slice(from: number, to: number): string;
}
/**
 * Node's Buffer has had these since its first versions, undocumented; checked once, with toString as
 * the fallback. Measured: toString's argument handling was ~7 % of this layer's CPU under pipelined
 * LPUSH (one decoded value per request).
 */
const slices = Buffer.prototype as Partial<BufferSlices>;
const fastSlices = typeof slices.latin1Slice === "function" && typeof slices.utf8Slice === "function";

function decode(k: number, buf: Buffer, from: number, to: number): string {
  if (!fastSlices) return buf.toString(k === 0 ? "latin1" : "utf8", from, to);
  const b = buf as Buffer & BufferSlices;
  return k === 0 ? b.latin1Slice(from, to) : b.utf8Slice(from, to);
}

/** Most arguments are ASCII; this loop is cheaper than the UTF-8 validator's call for short ones. */
function isAscii(b: Buffer, from: number, to: number): boolean {
  if (to - from > 64) return false;
  for (let i = from; i < to; i++) if ((b[i] as number) > 0x7f) return false;
  return true;
}
