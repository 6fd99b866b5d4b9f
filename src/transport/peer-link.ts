import { isIP, type Socket } from "node:net";
import type { Message, NodeId, SnapshotMsg } from "../raft/index.js";
import {
  decodeFrame,
  encodeHelloFrame,
  encodeMessageFrame,
  encodeSnapBeginFrame,
  encodeSnapChunkHeader,
  FrameDecoder,
  PROTOCOL_VERSION,
  PROTOCOL_VERSION_MIN,
} from "./codec.js";
import { FRAME_HEADER_BYTES, FrameError } from "./frame.js";
import { CHECKS_PER_SILENCE, linkProbeFrame, SilenceWatch } from "./link-liveness.js";
import type { PeerAddress, PeerStats, Shared } from "./options.js";
import { type Slot, slotOf } from "./supersede.js";
import { dialPeer } from "./tls.js";

// Small control traffic may evict queued bulk traffic: losing a vote or an ack stalls progress for a
// whole timeout, while a dropped append or heartbeat is simply resent.
const ESSENTIAL: ReadonlySet<Message["type"]> = new Set([
  "vote",
  "voteResp",
  "appResp",
  "heartbeatResp",
  "timeoutNow",
  "readIndex",
  "readIndexResp",
]);

/**
 * Essential, but worth sending only at once: the leader abandons a transfer after an election timeout,
 * and a TimeoutNow delivered after a silence (seconds, or minutes of a cut) makes its target campaign,
 * skipping the pre-vote, and depose a healthy leader. Dropped like an append once a link is silenced.
 */
const STALE_AFTER_SILENCE: ReadonlySet<Message["type"]> = new Set(["timeoutNow"]);

interface Queued {
  readonly frame: Uint8Array;
  readonly essential: boolean;
  /** Kept through a silence reset (see checkSilence): essential and not STALE_AFTER_SILENCE. */
  readonly keep: boolean;
  /**
   * A vote message's slot (see supersede.ts): a new one evicts its queued predecessor, so a link that
   * was down (peer stopped, connection refused) sends one pre-vote request on reconnect, not one per
   * election timeout of the outage (essential, they were never evicted).
   */
  readonly slot: Slot | undefined;
}

/** A link's own counters: everything in PeerStats about the outbound side, live queue aside. */
export type OutboundStats = Omit<
  PeerStats,
  "messagesReceived" | "bytesReceived" | "snapshotsReceived" | "queueMessages" | "queueBytes"
>;

/** Outbound side for one peer: a persistent connection, a bounded queue and at most one snapshot stream. */
export class PeerLink {
  private readonly counters: { -readonly [K in keyof Omit<OutboundStats, "connected">]: number } = {
    messagesSent: 0,
    bytesSent: 0,
    messagesDropped: 0,
    reconnects: 0,
    refusals: 0,
    snapshotsSent: 0,
    snapshotsFailed: 0,
    silenceResets: 0,
  };
  private socket: Socket | undefined;
  /** The connection's liveness (protocol 4 only) and the one timer that checks it. */
  private watch: SilenceWatch | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  /**
   * The HELLO version of the next connection: PROTOCOL_VERSION, or one less than the last one after a
   * peer closed a connection of protocol 4 or more without a word (an older build refuses the HELLO),
   * down to PROTOCOL_VERSION_MIN, until a connection closes otherwise (the peer may have been upgraded
   * meanwhile). One step at a time: a build of 4 reads HELLO 4 and keeps its liveness acks, where a
   * jump to 3 would lose them.
   */
  private helloVersion = PROTOCOL_VERSION;
  /**
   * The version of the peer's own latest HELLO to this node, 0 until one came. A peer known to speak
   * the version a connection said that closes it unanswered was killed or glitched, not an older build:
   * the link does not fall back, since a protocol-3 connection is never acknowledged and would keep a
   * silent cut unnoticed for as long as it stays up.
   */
  private peerVersion = 0;

  /** The version of the peer's latest HELLO to this node (0: none yet): what its build reads at least. */
  get peerHelloVersion(): number {
    return this.peerVersion;
  }
  /**
   * The last connection was reset for silence and no new one is up: Raft messages other than the
   * essential ones (less STALE_AFTER_SILENCE) are dropped, not queued, since they would be stale when
   * the peer is reached again (Raft resends appends and heartbeats; a backlog of them is what a cut
   * used to deliver at the heal).
   */
  private silenced = false;
  private connected = false;
  private connectedAt = 0;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  private closed = false;
  private outageLogged = false;
  /** When the outage last warned of began (ms since the epoch), until the peer is heard again. */
  private outageWarnedAt: number | undefined = undefined;
  /** Set at the first connection: until then an outage is the peer not having started yet. */
  private everConnected = false;
  private readonly createdAt = Date.now();
  private queue: Queued[] = [];
  private queueBytes = 0;
  // `written` once every chunk is out; the slot stays taken until the receiver's SNAP_DONE or a disconnect.
  private snap: { readonly msg: SnapshotMsg; begun: boolean; offset: number; written: boolean } | undefined;

  constructor(
    private readonly s: Shared,
    readonly peer: NodeId,
    readonly address: PeerAddress,
  ) {}

  enqueue(msg: Message): void {
    const { queueMessagesMax, frameBytesMax } = this.s.limits;
    const essential = ESSENTIAL.has(msg.type);
    const keep = essential && !STALE_AFTER_SILENCE.has(msg.type);
    if ((!keep && this.silenced) || (!essential && this.queue.length >= queueMessagesMax)) {
      this.drop();
      return;
    }
    const frame = encodeMessageFrame(msg);
    if (frame.length - FRAME_HEADER_BYTES > frameBytesMax) {
      this.s.logger.warn(
        { peer: this.peer, type: msg.type, bytes: frame.length },
        "message exceeds frameBytesMax",
      );
      this.drop();
      return;
    }
    const slot = slotOf(msg);
    if (slot !== undefined) this.evictSlot(slot);
    this.push(frame, essential, keep, slot);
  }

  /**
   * Queues a frame that is not a Raft message (a forwarded request): essential, since nothing resends
   * it but its sender. False if it was not queued (not connected, queue full of essential traffic, or
   * too large): the sender tries again later.
   */
  enqueueFrame(frame: Uint8Array): boolean {
    // Only onto a live connection: queued on a dead one, a request could be neither sent nor known
    // unsent, and a sender that must not repeat it would have to call its outcome unknown.
    if (!this.connected) return false;
    if (frame.length - FRAME_HEADER_BYTES > this.s.limits.frameBytesMax) {
      this.drop();
      return false;
    }
    return this.push(frame, true, true, undefined);
  }

  private push(frame: Uint8Array, essential: boolean, keep: boolean, slot: Slot | undefined): boolean {
    const { queueMessagesMax, queueBytesMax } = this.s.limits;
    while (this.queue.length + 1 > queueMessagesMax || this.queueBytes + frame.length > queueBytesMax) {
      if (!essential || !this.evictNewestNonEssential()) {
        this.drop();
        return false;
      }
    }
    this.queue.push({ frame, essential, keep, slot });
    this.queueBytes += frame.length;
    this.scheduleFlush();
    return true;
  }

  enqueueSnapshot(msg: SnapshotMsg): void {
    if (this.snap !== undefined || msg.snapshot.data.length > this.s.limits.snapshotBytesMax) {
      // One stream per peer; Raft asks again after reportSnapshot(failure).
      this.drop();
      this.counters.snapshotsFailed++;
      this.s.onSnapshotSent(this.peer, false);
      return;
    }
    this.snap = { msg, begun: false, offset: 0, written: false };
    this.scheduleFlush();
  }

  private drop(): void {
    this.counters.messagesDropped++;
  }

  /** Drops the queued message of `slot`, if any (at most one: each new one evicts its predecessor). */
  private evictSlot(slot: Slot): void {
    const i = this.queue.findIndex((q) => q.slot === slot);
    if (i < 0) return;
    this.queueBytes -= this.queue[i]!.frame.length;
    this.queue.splice(i, 1);
    this.drop();
  }

  private evictNewestNonEssential(): boolean {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const q = this.queue[i]!;
      if (!q.essential) {
        this.queue.splice(i, 1);
        this.queueBytes -= q.frame.length;
        this.drop();
        return true;
      }
    }
    return false;
  }

  /**
   * The peer just connected to this node, so it is up: a link waiting out its reconnect backoff, or
   * still dialling, dials now. A node that starts or restarts after its peers would otherwise wait up to
   * `reconnectMaxMs` for their links, and a leader elected meanwhile could not reach it (one more election).
   */
  peerIsUp(version: number): void {
    this.peerVersion = version;
    if (this.closed) return;
    if (this.connected) {
      // Connected with a HELLO older than the peer speaks (it fell back after a glitch, before the
      // peer's HELLO came): closed after what was written, so the next connection says the newest.
      if (this.helloVersion < version) this.socket?.end();
      return;
    }
    // A link that fell back below what the peer says dials with that again (capped at this build's):
    // the peer reads it, and the next connection would otherwise keep the older version for its life.
    if (this.helloVersion < version) this.helloVersion = Math.min(version, PROTOCOL_VERSION);
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    else if (this.socket !== undefined) {
      // A dial in flight since before a heal waits for its SYN's retransmission (1 s on), or for its
      // connectTimeoutMs: the peer just reached us, so a new dial gets through now. Meanwhile the peer,
      // its link up first, would send what it queued while cut off (its newest pre-vote) unanswered.
      const dialing = this.socket;
      this.socket = undefined;
      dialing.destroy();
    } else return;
    this.connect();
  }

  connect(): void {
    if (this.closed) return;
    this.reconnectTimer = undefined;
    const { socket, tcp, ready, reset } = dialPeer(this.s.tls, this.address);
    this.socket = socket;
    const version = this.helloVersion;
    let watch: SilenceWatch | undefined;
    socket.setNoDelay(true);
    socket.setTimeout(this.s.limits.connectTimeoutMs, () => socket.destroy(new Error("connect timeout")));
    // From the SYN on: a host name's lookup (a slow resolver) is no lost SYN, and connectTimeoutMs bounds it.
    let dialTimer: NodeJS.Timeout | undefined;
    const startDialTimer = () => {
      // Decided after the poll phase: timers run before reads, so after this process stood still (a
      // long GC) the SYN's answer may be waiting unread, and the connect event comes first.
      const expire = () => {
        if (tcp.connecting) socket.destroy(new Error("dial timeout"));
      };
      dialTimer = setTimeout(() => setImmediate(expire), this.s.limits.dialTimeoutMs);
    };
    if (isIP(this.address.host) === 0) tcp.once("lookup", startDialTimer);
    else startDialTimer();
    tcp.once("connect", () => clearTimeout(dialTimer));
    // Forward results carry outcomes (popped items): as large as any frame.
    const decoder = new FrameDecoder(this.s.limits.frameBytesMax);
    let lastError: Error | undefined;
    let heard = false;
    let silent = false;
    socket.on(ready, () => {
      socket.setTimeout(0);
      this.connected = true;
      this.silenced = false;
      this.everConnected = true;
      this.connectedAt = Date.now();
      if (version >= 4) {
        watch = new SilenceWatch(this.s.limits.linkSilenceMsMax);
        this.watch = watch;
        this.watchTimer = setInterval(() => {
          const err = this.checkSilence(socket);
          if (err === undefined) return;
          silent = true;
          lastError = err;
          reset();
        }, this.s.limits.linkSilenceMsMax / CHECKS_PER_SILENCE);
      }
      const { clusterId, id } = this.s;
      this.write(socket, encodeHelloFrame({ clusterId, from: id, to: this.peer, version }));
      this.flush();
    });
    // A receiver only sends back REFUSE, SNAP_DONE, forward results and (protocol 4) LINK_ACK; anything
    // else is a broken peer.
    socket.on("data", (chunk: Buffer) => {
      heard = true;
      let removed = false;
      try {
        for (const payload of decoder.push(chunk)) {
          const f = decodeFrame(payload);
          // Every frame but REFUSE follows an accepted HELLO: the peer is back, not merely its port.
          if (f.kind !== "refuse") this.heardAgain();
          if (f.kind === "linkAck" && watch !== undefined) {
            watch.ack(f.bytesRead);
          } else if (f.kind === "refuse") {
            this.counters.refusals++;
            lastError = new Error(`refused: ${f.reason}`);
            removed = f.code === "removed";
          } else if (f.kind === "forwardResult") {
            this.s.onForwardResult(this.peer, f.result);
          } else if (f.kind === "snapDone" && this.snap?.written) {
            this.snap = undefined;
            this.counters.snapshotsSent++;
            this.counters.messagesSent++;
            this.s.onSnapshotSent(this.peer, true);
          } else {
            throw new FrameError("bad_type", `unexpected ${f.kind} frame from receiver`);
          }
        }
      } catch (err) {
        if (!(err instanceof FrameError)) throw err;
        lastError = err;
      }
      if (lastError !== undefined) socket.destroy();
      // Last: the node may close every link on it (this one too).
      if (removed) this.s.onRemoved(this.peer);
    });
    socket.on("drain", () => this.flush());
    socket.on("error", (err) => {
      lastError ??= err;
    });
    // A peer process that dies (SIGKILL) or closes has its kernel end the connection in order: no
    // socket error, so the warning would not say why.
    socket.on("end", () => {
      lastError ??= new Error("closed by the peer");
    });
    socket.on("close", () => {
      clearTimeout(dialTimer);
      if (this.socket !== socket) return;
      const unanswered = this.connected && !heard && !silent && version >= 4 && this.peerVersion < version;
      this.helloVersion = unanswered ? Math.max(PROTOCOL_VERSION_MIN, version - 1) : PROTOCOL_VERSION;
      // Proven alive: acknowledged, or (protocol 3, no acks) kept up, as before liveness existed.
      const confirmed = watch === undefined ? this.connected : watch.heard;
      this.onClose(confirmed, lastError);
    });
  }

  /**
   * The watch's periodic check: probes an idle connection, and resets one whose written bytes went
   * linkSilenceMsMax unacknowledged (returns why; the caller resets it). Its queued Raft messages but
   * the essential ones (less STALE_AFTER_SILENCE) go too: they were meant for a peer that is not
   * there, and would arrive stale.
   */
  private checkSilence(socket: Socket): Error | undefined {
    const watch = this.watch;
    if (watch === undefined || this.socket !== socket) return undefined;
    const verdict = watch.check();
    if (verdict === "probe" && !socket.writableNeedDrain) this.write(socket, linkProbeFrame);
    if (verdict !== "dead") return undefined;
    this.counters.silenceResets++;
    for (const q of this.queue) if (!q.keep) this.drop();
    this.queue = this.queue.filter((q) => q.keep);
    this.queueBytes = this.queue.reduce((n, q) => n + q.frame.length, 0);
    this.silenced = true;
    return new Error(`no acknowledgement for ${watch.waitedMs()} ms (linkSilenceMsMax)`);
  }

  /** Writes `bytes` on the link's connection, counted for its liveness watch. */
  private write(socket: Socket, bytes: Uint8Array): void {
    socket.write(bytes);
    this.watch?.wrote(bytes.length);
  }

  private onClose(confirmed: boolean, err: Error | undefined): void {
    const wasConnected = this.connected;
    this.socket = undefined;
    this.connected = false;
    clearInterval(this.watchTimer);
    this.watch = undefined;
    this.watchTimer = undefined;
    if (this.closed) return;
    if (this.snap?.begun) {
      this.snap = undefined;
      this.counters.snapshotsFailed++;
      this.s.onSnapshotSent(this.peer, false);
    }
    const { reconnectMinMs, reconnectMaxMs } = this.s.limits;
    // Only a connection that stayed up resets backoff and logging, so a refusing peer is not hammered;
    // with liveness, only one the peer acknowledged, so a stopped peer (its kernel still accepts
    // connections, each then reset for silence) is warned of once, not every linkSilenceMsMax.
    if (wasConnected && confirmed && Date.now() - this.connectedAt >= reconnectMaxMs) {
      this.attempts = 0;
      this.outageLogged = false;
    }
    const starting = !this.everConnected && Date.now() - this.createdAt < this.s.limits.startQuietMs;
    if (!this.outageLogged && !starting) {
      this.outageLogged = true;
      this.outageWarnedAt = Date.now();
      const msg = this.everConnected ? "peer connection lost" : "peer not reachable since start";
      this.s.logger.warn({ peer: this.peer, err: err?.message }, msg);
    }
    const base = Math.min(reconnectMaxMs, reconnectMinMs * 2 ** Math.min(this.attempts, 30));
    this.attempts++;
    this.counters.reconnects++;
    this.reconnectTimer = setTimeout(() => this.connect(), base / 2 + (Math.random() * base) / 2);
    this.s.onUnreachable(this.peer);
  }

  /**
   * The peer accepted this node's HELLO (it answered with anything but REFUSE): the end of an outage that
   * was warned of is logged once, so an operator reading the log sees when the link came back (a stopped
   * peer, whose kernel accepts but never answers, is not "restored" by a connection alone, nor one that
   * refuses the HELLO).
   */
  private heardAgain(): void {
    if (this.outageWarnedAt === undefined) return;
    const downMs = Date.now() - this.outageWarnedAt;
    this.outageWarnedAt = undefined;
    this.s.logger.info?.({ peer: this.peer, downMs }, "peer connection restored");
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || !this.connected) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Writes the whole queue as one buffer, then at most one snapshot chunk, while the socket takes data. */
  private flush(): void {
    const socket = this.socket;
    if (socket === undefined || !this.connected || socket.writableNeedDrain) return;
    if (this.queue.length > 0) {
      const queue = this.queue;
      const bytes = this.queueBytes;
      this.queue = [];
      this.queueBytes = 0;
      const one = queue.length === 1 ? queue[0]!.frame : undefined;
      this.write(
        socket,
        one ??
          Buffer.concat(
            queue.map((q) => q.frame),
            bytes,
          ),
      );
      this.counters.messagesSent += queue.length;
      this.counters.bytesSent += bytes;
    }
    const snap = this.snap?.written === false ? this.snap : undefined;
    if (snap !== undefined && !socket.writableNeedDrain) this.writeSnapshotChunk(socket, snap);
    const more = this.queue.length > 0 || this.snap?.written === false;
    if (more && !socket.writableNeedDrain) this.scheduleFlush();
  }

  private writeSnapshotChunk(socket: Socket, snap: NonNullable<PeerLink["snap"]>): void {
    const data = snap.msg.snapshot.data;
    socket.cork();
    if (!snap.begun) {
      snap.begun = true;
      const begin = encodeSnapBeginFrame(snap.msg);
      this.write(socket, begin);
      this.counters.bytesSent += begin.length;
    }
    if (snap.offset < data.length) {
      const end = Math.min(data.length, snap.offset + this.s.limits.snapshotChunkBytes);
      this.write(socket, encodeSnapChunkHeader(end - snap.offset));
      this.write(socket, data.subarray(snap.offset, end));
      this.counters.bytesSent += FRAME_HEADER_BYTES + 1 + end - snap.offset;
      snap.offset = end;
    }
    snap.written = snap.offset === data.length;
    socket.uncork();
  }

  stats(): OutboundStats & Pick<PeerStats, "queueMessages" | "queueBytes"> {
    return {
      ...this.counters,
      connected: this.connected,
      queueMessages: this.queue.length,
      queueBytes: this.queueBytes,
    };
  }

  close(): void {
    this.closed = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.socket?.destroy();
    this.queue = [];
    this.queueBytes = 0;
    this.snap = undefined;
  }
}
