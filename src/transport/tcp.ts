import type { Server, Socket } from "node:net";
import type { Message, NodeId } from "../raft/index.js";
import { encodeForwardFrame, type ForwardRequest } from "./forward-codec.js";
import { InboundConn, type InboundStats } from "./inbound.js";
import { assertLinkAcksFit, defaultTransportLimits } from "./limits.js";
import { LogLimiter } from "./log-limit.js";
import type { PeerAddress, PeerStats, Shared, TransportOptions, TransportStats } from "./options.js";
import { PeerLink } from "./peer-link.js";
import { createPeerServer } from "./tls.js";

type InboundCounters = { -readonly [K in keyof InboundStats]: number };

function zeroInbound(): InboundCounters {
  return {
    messagesReceived: 0,
    bytesReceived: 0,
    snapshotsReceived: 0,
    framesMalformed: 0,
    handshakesRefused: 0,
  };
}

function addInbound(into: InboundCounters, s: InboundStats): InboundCounters {
  into.messagesReceived += s.messagesReceived;
  into.bytesReceived += s.bytesReceived;
  into.snapshotsReceived += s.snapshotsReceived;
  into.framesMalformed += s.framesMalformed;
  into.handshakesRefused += s.handshakesRefused;
  return into;
}

/** Counters per sender; undefined for connections that never identified themselves. */
type InboundByPeer = Map<NodeId | undefined, InboundCounters>;

function addByPeer(byPeer: InboundByPeer, peer: NodeId | undefined, s: InboundStats): void {
  byPeer.set(peer, addInbound(byPeer.get(peer) ?? zeroInbound(), s));
}

/**
 * Raft peer transport over TCP: one persistent outbound connection per peer (PeerLink) carrying
 * length-prefixed binary frames; inbound connections (InboundConn) identify themselves with a HELLO
 * frame before any message.
 */
export class TcpTransport {
  private readonly shared: Shared;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly inbound = new Set<InboundConn>();
  /** Counters of the inbound connections already closed. */
  private readonly inboundClosed: InboundByPeer = new Map();
  private server: Server | undefined;
  private started = false;
  private closed = false;
  private messagesUnroutable = 0;
  private tlsHandshakesRefused = 0;

  constructor(private readonly opts: TransportOptions) {
    const limits = { ...defaultTransportLimits, ...opts.limits };
    if (limits.snapshotChunkBytes + 1 > limits.frameBytesMax) {
      throw new RangeError("snapshotChunkBytes must fit in frameBytesMax");
    }
    if (!(limits.dialTimeoutMs > 0 && limits.dialTimeoutMs <= limits.connectTimeoutMs)) {
      throw new RangeError("dialTimeoutMs must be in 1..connectTimeoutMs");
    }
    assertLinkAcksFit(limits);
    const { onUnreachable, onSnapshotSent, onForwardResult, onRemoved } = opts;
    this.shared = {
      id: opts.id,
      clusterId: opts.clusterId,
      limits,
      logger: opts.logger ?? { warn() {} },
      tls: opts.tls,
      onUnreachable: onUnreachable ? (p) => onUnreachable(p) : () => {},
      onSnapshotSent: onSnapshotSent ? (p, ok) => onSnapshotSent(p, ok) : () => {},
      onForwardResult: onForwardResult ? (p, r) => onForwardResult(p, r) : () => {},
      onRemoved: onRemoved ? (p) => onRemoved(p) : () => {},
      removedRefused: new Set(),
      refusalLog: new LogLimiter(),
    };
    for (const [id, addr] of opts.peers ?? []) this.addPeer(id, addr);
  }

  /** Starts listening and connecting to peers. */
  async start(): Promise<void> {
    const server = createPeerServer(
      this.opts.tls,
      this.shared.limits.helloTimeoutMs,
      (socket) => this.accept(socket),
      (err, remote) => {
        this.tlsHandshakesRefused++;
        // A dialler that gives up mid-handshake (its dial timeout while every node starts at once, or
        // a process stopping) is no refusal of its credentials: seen at every clean start, it is not
        // worth a warning.
        if ((err as NodeJS.ErrnoException).code === "ECONNRESET") {
          this.shared.logger.info?.(
            { remote, err: err.message },
            "peer TLS handshake abandoned by the dialler",
          );
        } else this.shared.logger.warn({ remote, err: err.message }, "peer TLS handshake refused");
      },
    );
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

  /** Forgets a peer: its link closes, and so do its inbound connections (it is no longer a member). */
  removePeer(id: NodeId): void {
    this.links.get(id)?.close();
    this.links.delete(id);
    for (const conn of this.inbound) if (conn.peer === id) conn.close();
  }

  /** The peers this transport connects to and accepts, by id. */
  peerIds(): NodeId[] {
    return [...this.links.keys()];
  }

  /**
   * Queues a request for peer `to` (see TransportOptions.onForward); its answer arrives through
   * onForwardResult. False if `to` is not a peer or the request was dropped (too large, queue full).
   */
  forward(to: NodeId, request: ForwardRequest): boolean {
    const link = this.links.get(to);
    if (link === undefined || this.closed) return false;
    return link.enqueueFrame(encodeForwardFrame(request));
  }

  /**
   * The protocol version of peer `to`'s latest HELLO to this node, 0 if none came (or no such peer): a
   * request whose frame or kind needs a version is sent only to a peer that said that much.
   */
  peerVersion(to: NodeId): number {
    return this.links.get(to)?.peerHelloVersion ?? 0;
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

  /** Outbound counters per link; inbound counters of closed and live connections, per sender. */
  stats(): TransportStats {
    const received: InboundByPeer = new Map();
    for (const [peer, s] of this.inboundClosed) addByPeer(received, peer, s);
    for (const conn of this.inbound) addByPeer(received, conn.peer, conn.stats());
    const all = zeroInbound();
    for (const s of received.values()) addInbound(all, s);
    const peers = new Map<NodeId, PeerStats>();
    for (const [id, link] of this.links) {
      const r = received.get(id);
      peers.set(id, {
        ...link.stats(),
        messagesReceived: r?.messagesReceived ?? 0,
        bytesReceived: r?.bytesReceived ?? 0,
        snapshotsReceived: r?.snapshotsReceived ?? 0,
      });
    }
    return {
      peers,
      framesMalformed: all.framesMalformed,
      handshakesRefused: all.handshakesRefused,
      messagesUnroutable: this.messagesUnroutable,
      tlsHandshakesRefused: this.tlsHandshakesRefused,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) link.close();
    for (const conn of this.inbound) conn.close();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const conn = new InboundConn(this.shared, socket, {
      isPeer: (id) => this.links.has(id),
      isRemoved: (id) => this.opts.isRemoved?.(id) === true,
      onHello: (id, version) => this.links.get(id)?.peerIsUp(version),
      onMessage: this.opts.onMessage,
      onForward: this.opts.onForward ?? (() => {}),
      onClose: (c) => {
        this.inbound.delete(c);
        addByPeer(this.inboundClosed, c.peer, c.stats());
      },
    });
    this.inbound.add(conn);
  }
}
