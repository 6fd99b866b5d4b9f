import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import type { Message, NodeId, SnapshotMsg } from "../raft/index.js";
import {
  clusterIdBytesMax,
  decodeFrame,
  encodeHelloFrame,
  encodeMessageFrame,
  encodeRefuseFrame,
  encodeSnapBeginFrame,
  encodeSnapChunkHeader,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameError,
  snapDoneFrame,
  snapMessage,
} from "./codec.js";

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** Structural subset of pino's logger, so the transport does not depend on it. */
export interface TransportLogger {
  warn(obj: object, msg: string): void;
}

export interface TransportLimits {
  /** Largest frame payload accepted or sent; larger messages are dropped on send. */
  readonly frameBytesMax: number;
  /** Per-peer outbound queue bounds; past them the newest non-essential messages are dropped. */
  readonly queueBytesMax: number;
  readonly queueMessagesMax: number;
  /** Snapshot data goes out in chunks of this size so small messages interleave with it. */
  readonly snapshotChunkBytes: number;
  /** Largest snapshot a receiver reassembles. */
  readonly snapshotBytesMax: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly connectTimeoutMs: number;
  /** An inbound connection must identify itself within this time. */
  readonly helloTimeoutMs: number;
  readonly inboundConnectionsMax: number;
}

export const defaultTransportLimits: TransportLimits = {
  frameBytesMax: 8 * 1024 * 1024,
  queueBytesMax: 16 * 1024 * 1024,
  queueMessagesMax: 4096,
  snapshotChunkBytes: 1024 * 1024,
  snapshotBytesMax: 1024 * 1024 * 1024,
  reconnectMinMs: 20,
  reconnectMaxMs: 1000,
  connectTimeoutMs: 1000,
  helloTimeoutMs: 5000,
  inboundConnectionsMax: 64,
};

export interface TransportOptions {
  readonly id: NodeId;
  /** Peers presenting another cluster id are refused. */
  readonly clusterId: string;
  /** Port 0 picks a free port; read it back with `address()` after `start()`. */
  readonly listen: PeerAddress;
  readonly peers?: ReadonlyMap<NodeId, PeerAddress>;
  /** Called synchronously for each message received, in per-connection order. */
  readonly onMessage: (msg: Message) => void;
  /** A connection to `peer` failed or broke (the driver calls raft.reportUnreachable). */
  readonly onUnreachable?: (peer: NodeId) => void;
  /** A snapshot to `peer` was reassembled by it (ok) or abandoned (the driver calls raft.reportSnapshot). */
  readonly onSnapshotSent?: (peer: NodeId, ok: boolean) => void;
  readonly logger?: TransportLogger;
  readonly limits?: Partial<TransportLimits>;
}

export interface PeerStats {
  readonly connected: boolean;
  readonly messagesSent: number;
  readonly bytesSent: number;
  readonly messagesReceived: number;
  readonly bytesReceived: number;
  readonly messagesDropped: number;
  readonly queueMessages: number;
  readonly queueBytes: number;
  readonly reconnects: number;
  /** Times the peer refused our handshake (e.g. another cluster). */
  readonly refusals: number;
  readonly snapshotsSent: number;
  readonly snapshotsFailed: number;
  readonly snapshotsReceived: number;
}

export interface TransportStats {
  readonly peers: ReadonlyMap<NodeId, PeerStats>;
  /** Inbound connections closed for a malformed frame. */
  readonly framesMalformed: number;
  /** Inbound handshakes refused (other cluster, unknown or wrong node id). */
  readonly handshakesRefused: number;
  /** Messages addressed to a node that is not a known peer, or not sent by this node. */
  readonly messagesUnroutable: number;
}

/** Parses a peer URL such as `http://127.0.0.1:12379`; the scheme is kept for flag compatibility only. */
export function parsePeerUrl(url: string): PeerAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`invalid peer URL: ${url}`);
  }
  const port = Number(u.port);
  if (u.hostname === "" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TypeError(`peer URL needs a host and an explicit port: ${url}`);
  }
  return { host: u.hostname.replace(/^\[(.*)\]$/, "$1"), port };
}

/** Parses the `--cluster` list: comma-separated URLs, node ids 1..n by position (as raftexample does). */
export function parsePeerUrls(list: string): Map<NodeId, PeerAddress> {
  const peers = new Map<NodeId, PeerAddress>();
  list.split(",").forEach((url, i) => {
    peers.set(i + 1, parsePeerUrl(url.trim()));
  });
  return peers;
}

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

interface Queued {
  readonly frame: Uint8Array;
  readonly essential: boolean;
}

type MutablePeerStats = { -readonly [K in keyof PeerStats]: PeerStats[K] };

function newPeerStats(): MutablePeerStats {
  return {
    connected: false,
    messagesSent: 0,
    bytesSent: 0,
    messagesReceived: 0,
    bytesReceived: 0,
    messagesDropped: 0,
    queueMessages: 0,
    queueBytes: 0,
    reconnects: 0,
    refusals: 0,
    snapshotsSent: 0,
    snapshotsFailed: 0,
    snapshotsReceived: 0,
  };
}

const noopLogger: TransportLogger = { warn() {} };

interface Shared {
  readonly id: NodeId;
  readonly clusterId: string;
  readonly limits: TransportLimits;
  readonly logger: TransportLogger;
  readonly onUnreachable: (peer: NodeId) => void;
  readonly onSnapshotSent: (peer: NodeId, ok: boolean) => void;
}

/** Outbound side for one peer: a persistent connection, a bounded queue and at most one snapshot stream. */
class PeerLink {
  readonly stats = newPeerStats();
  private socket: Socket | undefined;
  private connected = false;
  private connectedAt = 0;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  private closed = false;
  private outageLogged = false;
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
    const { queueMessagesMax, queueBytesMax, frameBytesMax } = this.s.limits;
    const essential = ESSENTIAL.has(msg.type);
    if (!essential && this.queue.length >= queueMessagesMax) {
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
    while (this.queue.length + 1 > queueMessagesMax || this.queueBytes + frame.length > queueBytesMax) {
      if (!essential || !this.evictNewestNonEssential()) {
        this.drop();
        return;
      }
    }
    this.queue.push({ frame, essential });
    this.queueBytes += frame.length;
    this.scheduleFlush();
  }

  enqueueSnapshot(msg: SnapshotMsg): void {
    if (this.snap !== undefined || msg.snapshot.data.length > this.s.limits.snapshotBytesMax) {
      // One stream per peer; Raft asks again after reportSnapshot(failure).
      this.drop();
      this.stats.snapshotsFailed++;
      this.s.onSnapshotSent(this.peer, false);
      return;
    }
    this.snap = { msg, begun: false, offset: 0, written: false };
    this.scheduleFlush();
  }

  private drop(): void {
    this.stats.messagesDropped++;
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

  connect(): void {
    if (this.closed) return;
    this.reconnectTimer = undefined;
    const socket = netConnect({ host: this.address.host, port: this.address.port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setTimeout(this.s.limits.connectTimeoutMs, () => socket.destroy(new Error("connect timeout")));
    const decoder = new FrameDecoder(1024 + clusterIdBytesMax);
    let lastError: Error | undefined;
    socket.on("connect", () => {
      socket.setTimeout(0);
      this.connected = true;
      this.stats.connected = true;
      this.connectedAt = Date.now();
      socket.write(encodeHelloFrame({ clusterId: this.s.clusterId, from: this.s.id, to: this.peer }));
      this.flush();
    });
    // A receiver only sends back REFUSE and SNAP_DONE; anything else is a broken peer.
    socket.on("data", (chunk: Buffer) => {
      try {
        for (const payload of decoder.push(chunk)) {
          const f = decodeFrame(payload);
          if (f.kind === "refuse") {
            this.stats.refusals++;
            lastError = new Error(`refused: ${f.reason}`);
          } else if (f.kind === "snapDone" && this.snap?.written) {
            this.snap = undefined;
            this.stats.snapshotsSent++;
            this.stats.messagesSent++;
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
    });
    socket.on("drain", () => this.flush());
    socket.on("error", (err) => {
      lastError ??= err;
    });
    socket.on("close", () => this.onClose(socket, lastError));
  }

  private onClose(socket: Socket, err: Error | undefined): void {
    if (this.socket !== socket) return;
    const wasConnected = this.connected;
    this.socket = undefined;
    this.connected = false;
    this.stats.connected = false;
    if (this.closed) return;
    if (this.snap?.begun) {
      this.snap = undefined;
      this.stats.snapshotsFailed++;
      this.s.onSnapshotSent(this.peer, false);
    }
    const { reconnectMinMs, reconnectMaxMs } = this.s.limits;
    // Only a connection that stayed up resets backoff and logging, so a refusing peer is not hammered.
    if (wasConnected && Date.now() - this.connectedAt >= reconnectMaxMs) {
      this.attempts = 0;
      this.outageLogged = false;
    }
    if (!this.outageLogged) {
      this.outageLogged = true;
      this.s.logger.warn({ peer: this.peer, err: err?.message }, "peer connection lost");
    }
    const base = Math.min(reconnectMaxMs, reconnectMinMs * 2 ** Math.min(this.attempts, 30));
    this.attempts++;
    this.stats.reconnects++;
    this.reconnectTimer = setTimeout(() => this.connect(), base / 2 + (Math.random() * base) / 2);
    this.s.onUnreachable(this.peer);
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
      socket.write(
        one ??
          Buffer.concat(
            queue.map((q) => q.frame),
            bytes,
          ),
      );
      this.stats.messagesSent += queue.length;
      this.stats.bytesSent += bytes;
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
      socket.write(begin);
      this.stats.bytesSent += begin.length;
    }
    if (snap.offset < data.length) {
      const end = Math.min(data.length, snap.offset + this.s.limits.snapshotChunkBytes);
      socket.write(encodeSnapChunkHeader(end - snap.offset));
      socket.write(data.subarray(snap.offset, end));
      this.stats.bytesSent += FRAME_HEADER_BYTES + 1 + end - snap.offset;
      snap.offset = end;
    }
    snap.written = snap.offset === data.length;
    socket.uncork();
  }

  snapshotStats(): PeerStats {
    return { ...this.stats, queueMessages: this.queue.length, queueBytes: this.queueBytes };
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

/**
 * Raft peer transport over TCP: one persistent outbound connection per peer carrying length-prefixed
 * binary frames; inbound connections identify themselves with a HELLO frame before any message.
 */
export class TcpTransport {
  private readonly shared: Shared;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly inbound = new Set<Socket>();
  private readonly recvStats = new Map<NodeId, { messages: number; bytes: number; snapshots: number }>();
  private server: Server | undefined;
  private started = false;
  private closed = false;
  private framesMalformed = 0;
  private handshakesRefused = 0;
  private messagesUnroutable = 0;

  constructor(private readonly opts: TransportOptions) {
    const limits = { ...defaultTransportLimits, ...opts.limits };
    if (limits.snapshotChunkBytes + 1 > limits.frameBytesMax) {
      throw new RangeError("snapshotChunkBytes must fit in frameBytesMax");
    }
    const { onUnreachable, onSnapshotSent } = opts;
    this.shared = {
      id: opts.id,
      clusterId: opts.clusterId,
      limits,
      logger: opts.logger ?? noopLogger,
      onUnreachable: onUnreachable ? (p) => onUnreachable(p) : () => {},
      onSnapshotSent: onSnapshotSent ? (p, ok) => onSnapshotSent(p, ok) : () => {},
    };
    for (const [id, addr] of opts.peers ?? []) this.addPeer(id, addr);
  }

  /** Starts listening and connecting to peers. */
  async start(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    server.maxConnections = this.shared.limits.inboundConnectionsMax;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.opts.listen.port, this.opts.listen.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.started = true;
    for (const link of this.links.values()) link.connect();
  }

  /** The address actually listened on (useful with port 0). */
  address(): PeerAddress {
    const a = this.server?.address();
    if (a == null || typeof a === "string") throw new Error("transport is not listening");
    return { host: a.address, port: a.port };
  }

  /** Adds or re-addresses a peer; its queue starts empty. */
  addPeer(id: NodeId, address: PeerAddress): void {
    if (id === this.shared.id) return;
    const old = this.links.get(id);
    if (old && old.address.host === address.host && old.address.port === address.port) return;
    old?.close();
    const link = new PeerLink(this.shared, id, address);
    this.links.set(id, link);
    if (this.started && !this.closed) link.connect();
  }

  removePeer(id: NodeId): void {
    this.links.get(id)?.close();
    this.links.delete(id);
  }

  /**
   * Queues messages by `msg.to`; never blocks, and drops rather than throws when a peer is slow or down
   * (Raft tolerates loss). A RangeError means a message field was not a non-negative safe integer.
   */
  send(msgs: readonly Message[]): void {
    if (this.closed) return;
    for (const msg of msgs) {
      const link = this.links.get(msg.to);
      // A wrong sender id would make the receiver drop the whole connection, so it never goes out.
      if (link === undefined || msg.from !== this.shared.id) this.messagesUnroutable++;
      else if (msg.type === "snap") link.enqueueSnapshot(msg);
      else link.enqueue(msg);
    }
  }

  stats(): TransportStats {
    const peers = new Map<NodeId, PeerStats>();
    for (const [id, link] of this.links) {
      const r = this.recvStats.get(id);
      peers.set(id, {
        ...link.snapshotStats(),
        messagesReceived: r?.messages ?? 0,
        bytesReceived: r?.bytes ?? 0,
        snapshotsReceived: r?.snapshots ?? 0,
      });
    }
    return {
      peers,
      framesMalformed: this.framesMalformed,
      handshakesRefused: this.handshakesRefused,
      messagesUnroutable: this.messagesUnroutable,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) link.close();
    for (const socket of this.inbound) socket.destroy();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.inbound.add(socket);
    socket.setNoDelay(true);
    const { limits, logger } = this.shared;
    const decoder = new FrameDecoder(limits.frameBytesMax);
    let peer: NodeId | undefined;
    let done = false;
    let snap: { header: Parameters<typeof snapMessage>[0]; data: Uint8Array; fill: number } | undefined;
    const helloTimer = setTimeout(() => refuse("no hello in time"), limits.helloTimeoutMs);

    const refuse = (reason: string) => {
      if (done) return;
      done = true;
      clearTimeout(helloTimer);
      this.handshakesRefused++;
      logger.warn({ remote: socket.remoteAddress, reason }, "peer handshake refused");
      // FIN rather than destroy so the REFUSE frame is not lost to a reset; the timer bounds a silent peer.
      socket.end(encodeRefuseFrame(reason));
      setTimeout(() => socket.destroy(), 1000).unref();
    };
    const malformed = (err: FrameError) => {
      if (done) return;
      done = true;
      clearTimeout(helloTimer);
      this.framesMalformed++;
      logger.warn(
        { remote: socket.remoteAddress, peer, code: err.code, err: err.message },
        "malformed frame",
      );
      socket.destroy();
    };

    // Returns a message to deliver, or undefined; throws FrameError for protocol violations.
    const handle = (payload: Uint8Array): Message | undefined => {
      const f = decodeFrame(payload);
      if (peer === undefined) {
        if (f.kind !== "hello") throw new FrameError("bad_type", `${f.kind} frame before hello`);
        const h = f.hello;
        if (h.clusterId !== this.shared.clusterId) refuse(`cluster id mismatch: ${h.clusterId}`);
        else if (h.to !== this.shared.id) refuse(`addressed to node ${h.to}, this is ${this.shared.id}`);
        else if (!this.links.has(h.from)) refuse(`unknown node ${h.from}`);
        else {
          clearTimeout(helloTimer);
          peer = h.from;
        }
        return undefined;
      }
      switch (f.kind) {
        case "message":
          if (f.msg.from !== peer || f.msg.to !== this.shared.id) {
            throw new FrameError("bad_value", `message ${f.msg.from}->${f.msg.to} on link ${peer}`);
          }
          return f.msg;
        case "snapBegin": {
          const h = f.header;
          if (snap !== undefined) throw new FrameError("bad_value", "snapshot begun twice");
          if (h.from !== peer || h.to !== this.shared.id)
            throw new FrameError("bad_value", "snapshot misaddressed");
          if (h.dataBytes > limits.snapshotBytesMax) {
            throw new FrameError("too_large", `snapshot of ${h.dataBytes} bytes exceeds snapshotBytesMax`);
          }
          snap = { header: h, data: new Uint8Array(h.dataBytes), fill: 0 };
          return completeSnap();
        }
        case "snapChunk": {
          if (snap === undefined) throw new FrameError("bad_value", "snapshot chunk without begin");
          if (snap.fill + f.data.length > snap.data.length)
            throw new FrameError("too_large", "snapshot overrun");
          snap.data.set(f.data, snap.fill);
          snap.fill += f.data.length;
          return completeSnap();
        }
        default:
          throw new FrameError("bad_type", `unexpected ${f.kind} frame`);
      }
    };
    const completeSnap = (): Message | undefined => {
      if (snap === undefined || snap.fill < snap.data.length) return undefined;
      const msg = snapMessage(snap.header, snap.data);
      snap = undefined;
      socket.write(snapDoneFrame);
      this.recv(msg.from).snapshots++;
      return msg;
    };

    socket.on("data", (chunk: Buffer) => {
      if (done) return;
      let frames: Uint8Array[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        if (err instanceof FrameError) {
          malformed(err);
          return;
        }
        throw err;
      }
      for (const payload of frames) {
        let msg: Message | undefined;
        try {
          msg = handle(payload);
        } catch (err) {
          if (err instanceof FrameError) {
            malformed(err);
            return;
          }
          throw err;
        }
        if (done) return;
        if (peer !== undefined) {
          const r = this.recv(peer);
          r.bytes += payload.length + FRAME_HEADER_BYTES;
          if (msg !== undefined) {
            r.messages++;
            this.opts.onMessage(msg);
          }
        }
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(helloTimer);
      this.inbound.delete(socket);
    });
  }

  private recv(peer: NodeId): { messages: number; bytes: number; snapshots: number } {
    let r = this.recvStats.get(peer);
    if (r === undefined) {
      r = { messages: 0, bytes: 0, snapshots: 0 };
      this.recvStats.set(peer, r);
    }
    return r;
  }
}
