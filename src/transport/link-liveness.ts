import type { Socket } from "node:net";
import { VARINT_BYTES_MAX } from "../codec/index.js";
import { FRAME_LINK_ACK, FRAME_LINK_PROBE, FrameError, finishFrame, frameWriter } from "./frame.js";

/**
 * Application-level liveness of an outbound connection. A connection whose packets are dropped (a
 * firewall cut, a host gone without a reset) never errors: the kernel buffers what the link writes
 * and, at the heal, delivers all of it at once; Node 20 cannot set TCP_USER_TIMEOUT. So the receiver
 * of a protocol-4 sender acknowledges the bytes it reads (LINK_ACK, at most one per linkAckDelayMs),
 * and the sender calls a connection dead when bytes it wrote have gone linkSilenceMsMax without any
 * acknowledgement progress. A link with nothing to send writes a LINK_PROBE now and then, so a peer
 * that vanished is noticed on an idle link too.
 */

/** Most payload bytes of a LINK_ACK: its code and one varint (the bytes read, a safe integer). */
export const LINK_ACK_PAYLOAD_BYTES_MAX = 1 + VARINT_BYTES_MAX;

export function encodeLinkAckFrame(bytesRead: number): Uint8Array {
  const w = frameWriter(LINK_ACK_PAYLOAD_BYTES_MAX);
  w.u8(FRAME_LINK_ACK);
  w.varint(bytesRead);
  return finishFrame(w);
}

export const linkProbeFrame: Uint8Array = Uint8Array.from([0, 0, 0, 1, FRAME_LINK_PROBE]);

/**
 * Least time an inbound connection of protocol 4 may read nothing before it is closed (see
 * InboundConn.startAcks). Its sender probes once per quarter of the sender's own linkSilenceMsMax,
 * which follows the sender's Raft timing, not the receiver's: during a rolling change of --tick-ms a
 * receiver of faster timing closed an idle link of a slower sender again and again. A minute still
 * keeps connections whose sender vanished from piling up to inboundConnectionsMax.
 */
export const INBOUND_SILENCE_MS_MIN = 60_000;

/** Checks a link makes per linkSilenceMsMax: detection takes at most 1 + 1/CHECKS_PER_SILENCE of it. */
export const CHECKS_PER_SILENCE = 4;

export type SilenceVerdict = "alive" | "probe" | "dead";

/**
 * The sender's side for one connection: bytes written against bytes acknowledged. Costs one addition
 * per write; the clock is read only when waiting starts or an ack makes progress.
 */
export class SilenceWatch {
  private written = 0;
  private acked = 0;
  /** Since when written bytes have waited with no acknowledgement progress; undefined if all are acked. */
  private waitingSince: number | undefined;
  private writtenAtCheck = 0;
  private checkedAt: number;
  /** Any LINK_ACK arrived on this connection: the peer reads and answers (a live protocol-4 receiver). */
  heard = false;

  constructor(
    private readonly silenceMsMax: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.checkedAt = now();
  }

  wrote(bytes: number): void {
    this.written += bytes;
    this.waitingSince ??= this.now();
  }

  /** A LINK_ACK; throws FrameError if it claims bytes never written or fewer than an earlier one. */
  ack(bytesRead: number): void {
    if (bytesRead > this.written || bytesRead < this.acked) {
      throw new FrameError("bad_value", `ack of ${bytesRead} bytes, ${this.acked}..${this.written} expected`);
    }
    this.heard = true;
    if (bytesRead === this.acked) return;
    this.acked = bytesRead;
    this.waitingSince = bytesRead === this.written ? undefined : this.now();
  }

  /**
   * Run CHECKS_PER_SILENCE times per linkSilenceMsMax: "dead" once written bytes waited that long
   * without progress, "probe" when nothing was written since the last check (ask for an ack, so an
   * idle link to a vanished peer is noticed too).
   */
  check(): SilenceVerdict {
    const now = this.now();
    const idle = this.written === this.writtenAtCheck;
    this.writtenAtCheck = this.written;
    // A check this late means this process stood still (a long GC or synchronous task): timers run
    // before reads, so acknowledgements may be waiting unread in the socket. The clock restarts.
    const stalled = now - this.checkedAt > (2 * this.silenceMsMax) / CHECKS_PER_SILENCE;
    this.checkedAt = now;
    if (this.waitingSince !== undefined) {
      if (stalled) this.waitingSince = now;
      return now - this.waitingSince >= this.silenceMsMax ? "dead" : "alive";
    }
    return idle ? "probe" : "alive";
  }

  /** Milliseconds the oldest unacknowledged byte has waited (0 if none), for the log line. */
  waitedMs(): number {
    return this.waitingSince === undefined ? 0 : Math.round(this.now() - this.waitingSince);
  }
}

/**
 * The receiver's side for one connection from a protocol-4 sender: acknowledges the bytes read, at
 * most one LINK_ACK per `delayMs` (one timer per connection, armed by the first unacknowledged read).
 */
export class LinkAcker {
  private bytesRead = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly delayMs: number,
  ) {}

  /** `total` bytes have been read on the connection so far, frame headers and the HELLO included. */
  read(total: number): void {
    this.bytesRead = total;
    this.timer ??= setTimeout(() => this.send(), this.delayMs);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private send(): void {
    this.timer = undefined;
    if (!this.socket.destroyed) this.socket.write(encodeLinkAckFrame(this.bytesRead));
  }
}
