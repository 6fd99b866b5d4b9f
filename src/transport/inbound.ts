import type { Socket } from "node:net";
import type { Message, NodeId } from "../raft/index.js";
import {
  decodeFrame,
  encodeRefuseFrame,
  FrameDecoder,
  type RefuseCode,
  type SnapHeader,
  snapDoneFrame,
  snapMessage,
} from "./codec.js";
import { encodeForwardResultFrame, type ForwardRequest, type ForwardResult } from "./forward-codec.js";
import { FRAME_HEADER_BYTES, FrameError } from "./frame.js";
import { INBOUND_SILENCE_MS_MIN, LinkAcker } from "./link-liveness.js";
import type { Shared } from "./options.js";
import { withoutSuperseded } from "./supersede.js";

/** One inbound connection's counters; the transport adds them up per peer. */
export interface InboundStats {
  readonly messagesReceived: number;
  /** Frame bytes after the handshake, length prefixes included. */
  readonly bytesReceived: number;
  readonly snapshotsReceived: number;
  /** 1 if the connection was closed for a malformed frame. */
  readonly framesMalformed: number;
  /** 1 if its handshake was refused. */
  readonly handshakesRefused: number;
}

export interface InboundHooks {
  /** Whether a HELLO from this node id is accepted. */
  isPeer(id: NodeId): boolean;
  /** Whether this node id, not a peer, was removed for good (TransportOptions.isRemoved). */
  isRemoved(id: NodeId): boolean;
  /** A HELLO of `version` from `from` was accepted: that node is up, reaches this one and speaks `version`. */
  onHello(from: NodeId, version: number): void;
  /** Each message received, in order. */
  onMessage(msg: Message): void;
  /** A forwarded request; `respond` answers it on this connection. */
  onForward(from: NodeId, request: ForwardRequest, respond: (result: ForwardResult) => void): void;
  /** The socket closed; the connection's counters are final. */
  onClose(conn: InboundConn): void;
}

/** How long a refused peer gets to read the REFUSE frame before the socket is destroyed. */
const REFUSE_LINGER_MS = 1000;
/** Least time between two progress lines of a snapshot being received (a node catching up). */
const SNAP_PROGRESS_EVERY_MS = 1000;

/**
 * Inbound side of one connection, the mirror of PeerLink: the sender identifies itself with a HELLO
 * frame, then sends messages and snapshot streams; this side answers only REFUSE and SNAP_DONE.
 * Protocol violations close the connection (counted), never the process.
 */
export class InboundConn {
  private readonly counters: { -readonly [K in keyof InboundStats]: number } = {
    messagesReceived: 0,
    bytesReceived: 0,
    snapshotsReceived: 0,
    framesMalformed: 0,
    handshakesRefused: 0,
  };
  private readonly decoder: FrameDecoder;
  private readonly helloTimer: NodeJS.Timeout;
  /** The sender, once its HELLO was accepted. */
  private from: NodeId | undefined;
  /** Set once the connection was refused or found malformed: nothing more is read. */
  private done = false;
  /** Every byte read on the connection, what LINK_ACK frames report. */
  private bytesRead = 0;
  /** Acknowledges what was read, for a sender of protocol 4 (see link-liveness.ts). */
  private acker: LinkAcker | undefined;
  private snap:
    | {
        readonly header: SnapHeader;
        readonly data: Uint8Array;
        fill: number;
        readonly startedAt: number;
        loggedAt: number;
      }
    | undefined;

  constructor(
    private readonly s: Shared,
    private readonly socket: Socket,
    private readonly hooks: InboundHooks,
  ) {
    this.decoder = new FrameDecoder(s.limits.frameBytesMax);
    this.helloTimer = setTimeout(() => this.refuse("no hello in time"), s.limits.helloTimeoutMs);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    // A reset or a write after the peer left ends the connection, and "close" follows; the peer's
    // outbound link reconnects and our own link to it logs the outage, so there is nothing to add here.
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(this.helloTimer);
      this.acker?.stop();
      hooks.onClose(this);
    });
  }

  /** The sender's node id, once its handshake was accepted. */
  get peer(): NodeId | undefined {
    return this.from;
  }

  stats(): InboundStats {
    return { ...this.counters };
  }

  close(): void {
    this.socket.destroy();
  }

  /**
   * Delivers the messages of one read in order, less the vote messages a later one in the same read
   * supersedes (see supersede.ts). A connection that lost its path without closing (packets dropped,
   * e.g. by a firewall) keeps what its sender wrote meanwhile in the TCP buffers, where the sender's
   * queue cannot replace it: on the heal it all arrives at once (65 pre-vote requests from 14 s cut
   * off, each refused and logged). Counted as received, not handed on.
   */
  private onData(chunk: Buffer): void {
    if (this.done) return;
    this.bytesRead += chunk.length;
    const batch: Message[] = [];
    try {
      for (const payload of this.decoder.push(chunk)) {
        const msg = this.handle(payload);
        if (this.done) break;
        if (this.from === undefined) continue;
        this.counters.bytesReceived += payload.length + FRAME_HEADER_BYTES;
        if (msg !== undefined) batch.push(msg);
      }
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.malformed(err);
    }
    this.counters.messagesReceived += batch.length;
    if (!this.done) this.acker?.read(this.bytesRead);
    for (const msg of withoutSuperseded(batch)) this.hooks.onMessage(msg);
  }

  /** Returns a message to deliver, or undefined; throws FrameError for protocol violations. */
  private handle(payload: Uint8Array): Message | undefined {
    const f = decodeFrame(payload);
    if (this.from === undefined) {
      if (f.kind !== "hello") throw new FrameError("bad_type", `${f.kind} frame before hello`);
      const h = f.hello;
      const { id, clusterId } = this.s;
      // Sent back in the REFUSE frame, so the dialer's log says it too: both ids and what to fix.
      if (h.clusterId !== clusterId)
        this.refuse(
          `cluster id mismatch: node ${h.from} has ${h.clusterId}, node ${id} has ${clusterId}; ` +
            "the nodes' --cluster-token values must match",
        );
      else if (h.to !== id) this.refuse(`addressed to node ${h.to}, this is ${id}`);
      // A removed id's link outlives its removal a while (node/peer-links.ts, followMembers), so the
      // leader's goodbye still reaches it: only once it is no peer does its removal refuse it.
      else if (!this.hooks.isPeer(h.from)) {
        if (this.hooks.isRemoved(h.from)) this.refuseRemoved(h.from);
        else this.refuse(`unknown node ${h.from}`);
      } else {
        clearTimeout(this.helloTimer);
        this.from = h.from;
        if (h.version >= 4) this.startAcks();
        this.hooks.onHello(h.from, h.version);
      }
      return undefined;
    }
    switch (f.kind) {
      case "message":
        if (f.msg.from !== this.from || f.msg.to !== this.s.id) {
          throw new FrameError("bad_value", `message ${f.msg.from}->${f.msg.to} on link ${this.from}`);
        }
        return f.msg;
      case "forward":
        this.hooks.onForward(this.from, f.request, (result) => this.respond(result));
        return undefined;
      case "linkProbe":
        // Its bytes, read, are what it asks to have acknowledged.
        if (this.acker === undefined) throw new FrameError("bad_type", "LINK_PROBE from a protocol-3 sender");
        return undefined;
      case "snapBegin": {
        const h = f.header;
        if (this.snap !== undefined) throw new FrameError("bad_value", "snapshot begun twice");
        if (h.from !== this.from || h.to !== this.s.id) {
          throw new FrameError("bad_value", "snapshot misaddressed");
        }
        if (h.dataBytes > this.s.limits.snapshotBytesMax) {
          throw new FrameError("too_large", `snapshot of ${h.dataBytes} bytes exceeds snapshotBytesMax`);
        }
        const now = Date.now();
        this.snap = { header: h, data: new Uint8Array(h.dataBytes), fill: 0, startedAt: now, loggedAt: now };
        this.snapProgress("receiving snapshot");
        return this.completeSnapshot();
      }
      case "snapChunk": {
        const snap = this.snap;
        if (snap === undefined) throw new FrameError("bad_value", "snapshot chunk without begin");
        if (snap.fill + f.data.length > snap.data.length)
          throw new FrameError("too_large", "snapshot overrun");
        snap.data.set(f.data, snap.fill);
        snap.fill += f.data.length;
        if (Date.now() - snap.loggedAt >= SNAP_PROGRESS_EVERY_MS && snap.fill < snap.data.length) {
          snap.loggedAt = Date.now();
          this.snapProgress("receiving snapshot");
        }
        return this.completeSnapshot();
      }
      default:
        throw new FrameError("bad_type", `unexpected ${f.kind} frame`);
    }
  }

  /**
   * A protocol-4 sender gets its reads acknowledged, and probes its link when idle: a connection that
   * reads nothing for twice linkSilenceMsMax (INBOUND_SILENCE_MS_MIN at the least: the sender's
   * probes follow its own timing) lost its sender (cut off, or reset while cut off: its reset never
   * arrived) and is closed, so such connections do not pile up to inboundConnectionsMax.
   */
  private startAcks(): void {
    const { linkAckDelayMs, linkSilenceMsMax } = this.s.limits;
    this.acker = new LinkAcker(this.socket, linkAckDelayMs);
    const quietMsMax = Math.max(2 * linkSilenceMsMax, INBOUND_SILENCE_MS_MIN);
    this.socket.setTimeout(quietMsMax, () => this.socket.destroy());
  }

  private completeSnapshot(): Message | undefined {
    const snap = this.snap;
    if (snap === undefined || snap.fill < snap.data.length) return undefined;
    this.snapProgress("snapshot received");
    this.snap = undefined;
    this.socket.write(snapDoneFrame);
    this.counters.snapshotsReceived++;
    return snapMessage(snap.header, snap.data);
  }

  /** Answers a forwarded request, unless the connection is gone (the sender resends on its next one). */
  private respond(result: ForwardResult): void {
    if (this.done || this.socket.destroyed) return;
    let frame = encodeForwardResultFrame(result);
    if (frame.length - FRAME_HEADER_BYTES > this.s.limits.frameBytesMax) {
      // The answer cannot travel (an outcome larger than a frame): the sender learns only that.
      frame = encodeForwardResultFrame({
        requestId: result.requestId,
        ok: false,
        code: "too_large",
        leader: this.s.id,
        message: `the answer exceeds frameBytesMax ${this.s.limits.frameBytesMax}; outcome unknown`,
      });
    }
    this.socket.write(frame);
  }

  /** Logs how much of the snapshot being received has arrived (bytes done / total). */
  private snapProgress(msg: string): void {
    const snap = this.snap;
    if (snap === undefined) return;
    const { from, meta } = snap.header;
    const percent = snap.data.length === 0 ? 100 : Math.floor((100 * snap.fill) / snap.data.length);
    this.s.logger.info?.(
      {
        from,
        index: meta.index,
        bytesDone: snap.fill,
        bytesTotal: snap.data.length,
        percent,
        ms: Date.now() - snap.startedAt,
      },
      msg,
    );
  }

  /**
   * Refuses a removed node with the code that tells it so (it then leaves: node.ts). Logged once per id:
   * a dialler that does not leave (an older build, which knows no codes) redials several times a
   * second for as long as it runs, each refusal counted (handshakesRefused) but not logged.
   */
  private refuseRemoved(from: NodeId): void {
    const reason =
      `node ${from} was removed from the cluster; ids are never reused: ` +
      "to serve again it joins as a new member (new id, empty data dir)";
    if (!this.s.removedRefused.has(from)) {
      this.s.removedRefused.add(from);
      const fields = { remote: this.socket.remoteAddress, reason, loggedOncePerNode: true };
      this.s.logger.warn(fields, "peer handshake refused");
    }
    this.refuse(reason, "removed", false);
  }

  private refuse(reason: string, code?: RefuseCode, log = true): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.helloTimer);
    this.counters.handshakesRefused++;
    const remote = this.socket.remoteAddress;
    const limited = log ? this.s.refusalLog.admit(`${remote} ${reason}`) : undefined;
    if (limited !== undefined) this.s.logger.warn({ remote, reason, ...limited }, "peer handshake refused");
    // FIN rather than destroy so the REFUSE frame is not lost to a reset; the timer bounds a silent peer.
    this.socket.end(encodeRefuseFrame(reason, code));
    setTimeout(() => this.socket.destroy(), REFUSE_LINGER_MS).unref();
  }

  private malformed(err: FrameError): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.helloTimer);
    this.counters.framesMalformed++;
    this.s.logger.warn(
      { remote: this.socket.remoteAddress, peer: this.from, code: err.code, err: err.message },
      "malformed frame",
    );
    this.socket.destroy();
  }
}
