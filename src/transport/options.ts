import type { Message, NodeId } from "../raft/index.js";
import type { ForwardRequest, ForwardResult } from "./forward-codec.js";
import type { TransportLimits } from "./limits.js";
import type { LogLimiter } from "./log-limit.js";
import type { PeerTls } from "./tls.js";

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** Structural subset of pino's logger, so the transport does not depend on it. */
export interface TransportLogger {
  warn(obj: object, msg: string): void;
  /** Progress of a snapshot being received (a node catching up); optional so a stand-in may skip it. */
  info?(obj: object, msg: string): void;
}

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
  /**
   * A peer's forwarded request; `respond` sends the answer back on the connection it came on (a no-op
   * once that connection is gone: the sender resends on its next one).
   */
  readonly onForward?: (
    from: NodeId,
    request: ForwardRequest,
    respond: (result: ForwardResult) => void,
  ) => void;
  /** The answer to a request this node forwarded to `from`. */
  readonly onForwardResult?: (from: NodeId, result: ForwardResult) => void;
  /**
   * Whether node `id`, not a peer, was removed from the cluster for good (its removal committed: ids are
   * never reused). Its handshake is refused with the code "removed" (codec.ts, RefuseCode), which tells
   * it so; another unknown node's (a learner whose addition this node has not applied yet) gets a plain
   * refusal and redials.
   */
  readonly isRemoved?: (id: NodeId) => boolean;
  /**
   * Peer `peer` refused this node's handshake as removed (see isRemoved). Whether to believe it is the
   * caller's call; the link redials as after any refusal until removePeer closes it.
   */
  readonly onRemoved?: (peer: NodeId) => void;
  readonly logger?: TransportLogger;
  readonly limits?: Partial<TransportLimits>;
  /** Peer mTLS; plain TCP without. */
  readonly tls?: PeerTls;
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
  /**
   * Outbound connections reset because the bytes written went linkSilenceMsMax unacknowledged (a cut,
   * a vanished host, a stopped process): one per dead connection, not per redial during the outage.
   */
  readonly silenceResets: number;
}

export interface TransportStats {
  readonly peers: ReadonlyMap<NodeId, PeerStats>;
  /** Inbound connections closed for a malformed frame. */
  readonly framesMalformed: number;
  /** Inbound handshakes refused (other cluster, unknown or wrong node id). */
  readonly handshakesRefused: number;
  /** Messages addressed to a node that is not a known peer, or not sent by this node. */
  readonly messagesUnroutable: number;
  /** Inbound TLS handshakes that failed (no certificate, or one the CA did not sign). */
  readonly tlsHandshakesRefused: number;
}

/** What every link and inbound connection of one transport shares. */
export interface Shared {
  readonly id: NodeId;
  readonly clusterId: string;
  readonly limits: TransportLimits;
  readonly logger: TransportLogger;
  readonly tls: PeerTls | undefined;
  readonly onUnreachable: (peer: NodeId) => void;
  readonly onSnapshotSent: (peer: NodeId, ok: boolean) => void;
  readonly onForwardResult: (from: NodeId, result: ForwardResult) => void;
  readonly onRemoved: (peer: NodeId) => void;
  /** The removed ids whose handshake was refused already: each is logged once (inbound.ts). */
  readonly removedRefused: Set<NodeId>;
  /** Inbound handshake refusals, logged rate-limited per remote address and reason (log-limit.ts). */
  readonly refusalLog: LogLimiter;
}

/** Parses a peer URL such as `http://127.0.0.1:12379`; the scheme is kept for flag compatibility only. */
export function parsePeerUrl(url: string): PeerAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch (err) {
    throw new TypeError(`invalid peer URL: ${url}`, { cause: err });
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
