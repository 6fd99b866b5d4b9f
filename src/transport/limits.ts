import { defaultRaftLimits, type RaftLimits } from "../raft/index.js";
import { APPEND_ENTRY_OVERHEAD_BYTES_MAX, APPEND_MESSAGE_OVERHEAD_BYTES_MAX } from "./codec.js";

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
  /** One dial, TLS handshake included. */
  readonly connectTimeoutMs: number;
  /**
   * The TCP connection of one dial (its SYN answered), at most connectTimeoutMs. A dial made during a
   * cut waits for its SYN's retransmission (1 s on, then 3 s), so after the heal the link would come up
   * that much later than the peer's own, whose messages (a cut-off node's pre-votes) go unanswered.
   */
  readonly dialTimeoutMs: number;
  /**
   * A link that has not connected yet stays quiet this long before it warns that its peer is not
   * reachable: peers started together come up one after another, and every refused first attempt
   * warned (`npm start` printed ten "peer connection lost" lines). A peer that stays down is warned of.
   */
  readonly startQuietMs: number;
  /**
   * An inbound connection must identify itself within this time; with peer TLS, its TLS handshake
   * must be done within this time too (before the HELLO's own time starts).
   */
  readonly helloTimeoutMs: number;
  readonly inboundConnectionsMax: number;
  /**
   * An outbound connection whose written bytes go this long without the receiver acknowledging any
   * (see link-liveness.ts) is dead: packets dropped, host gone, or process stopped. The link resets it,
   * drops what it had queued and redials with its backoff. Only for receivers of protocol 4.
   */
  readonly linkSilenceMsMax: number;
  /** A receiver acknowledges what it read at most this often (and at most this late). */
  readonly linkAckDelayMs: number;
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
  dialTimeoutMs: 1000,
  startQuietMs: 5000,
  helloTimeoutMs: 5000,
  inboundConnectionsMax: 64,
  linkSilenceMsMax: 3000,
  linkAckDelayMs: 50,
};

/** Acknowledgements a healthy receiver gets out within linkSilenceMsMax at the least. */
const LINK_ACKS_PER_SILENCE_MIN = 8;
/**
 * Election timeouts linkSilenceMsMax spans at the least: a peer paused or starved for less (which Raft
 * rides out without an election) must never lose its connection.
 */
export const LINK_SILENCE_ELECTION_TIMEOUTS_MIN = 4;

/** Throws RangeError unless acknowledgements come often enough for linkSilenceMsMax to mean silence. */
export function assertLinkAcksFit(
  limits: Pick<TransportLimits, "linkSilenceMsMax" | "linkAckDelayMs">,
): void {
  const { linkSilenceMsMax, linkAckDelayMs } = limits;
  if (!(linkAckDelayMs > 0) || linkAckDelayMs * LINK_ACKS_PER_SILENCE_MIN > linkSilenceMsMax) {
    throw new RangeError(
      `linkSilenceMsMax ${linkSilenceMsMax} ms must be at least ${LINK_ACKS_PER_SILENCE_MIN} x linkAckDelayMs ` +
        `(${linkAckDelayMs} ms)`,
    );
  }
}

/**
 * Throws RangeError if linkSilenceMsMax is below LINK_SILENCE_ELECTION_TIMEOUTS_MIN election timeouts
 * (the longest, `electionTimeoutMsMax`): links to peers that are merely slow would be reset. The node
 * asserts it where it wires the core's timing to the transport's limits.
 */
export function assertLinkSilenceFits(
  timing: { readonly electionTimeoutMsMax: number },
  limits: Pick<TransportLimits, "linkSilenceMsMax" | "linkAckDelayMs">,
): void {
  assertLinkAcksFit(limits);
  const least = LINK_SILENCE_ELECTION_TIMEOUTS_MIN * timing.electionTimeoutMsMax;
  if (limits.linkSilenceMsMax < least) {
    throw new RangeError(
      `linkSilenceMsMax ${limits.linkSilenceMsMax} ms is below ${LINK_SILENCE_ELECTION_TIMEOUTS_MIN} election ` +
        `timeouts (${timing.electionTimeoutMsMax} ms each)`,
    );
  }
}

/**
 * Bytes of the largest app message the core sends under `raft`: up to appendEntriesMax entries of
 * appendBytesMax data in all, except that one entry goes alone whatever its size (`entryBytesMax`).
 */
export function appendMessageBytesMax(
  raft: Pick<RaftLimits, "appendBytesMax" | "appendEntriesMax">,
  entryBytesMax = 0,
): number {
  return (
    APPEND_MESSAGE_OVERHEAD_BYTES_MAX +
    Math.max(raft.appendBytesMax, entryBytesMax) +
    raft.appendEntriesMax * APPEND_ENTRY_OVERHEAD_BYTES_MAX
  );
}

/**
 * Throws RangeError if the largest append the core can send (see appendMessageBytesMax) does not fit
 * in one frame: the sender would drop it and the follower would never catch up. The node asserts it
 * where it wires the core's limits to the transport's.
 */
export function assertFrameFits(
  raft: Pick<RaftLimits, "appendBytesMax" | "appendEntriesMax">,
  options: { readonly frameBytesMax?: number; readonly entryBytesMax?: number } = {},
): void {
  const frameBytesMax = options.frameBytesMax ?? defaultTransportLimits.frameBytesMax;
  const needed = appendMessageBytesMax(raft, options.entryBytesMax);
  if (needed > frameBytesMax) {
    throw new RangeError(
      `frameBytesMax ${frameBytesMax} is below the largest append (${needed} bytes: appendBytesMax ` +
        `${raft.appendBytesMax}, appendEntriesMax ${raft.appendEntriesMax}, ` +
        `entryBytesMax ${options.entryBytesMax ?? 0})`,
    );
  }
}

// The defaults must fit each other; checked when the module loads, so a mismatch fails every test at once.
assertFrameFits(defaultRaftLimits);
