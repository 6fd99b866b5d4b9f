import { BODY_BYTES_MAX_DEFAULT, proposalBytesMax } from "../server/index.js";
import { defaultStackLimits, type StackLimits } from "../stack/index.js";

/** Bounds of the RESP listener, per request and per connection. */
export interface RespLimits {
  /** Arguments of one request, the command name included. */
  readonly argsMax: number;
  /** Bytes of one bulk string argument. */
  readonly bulkBytesMax: number;
  /** Bytes of one request on the wire; its log entry must fit the transport (see assertRespLimits). */
  readonly requestBytesMax: number;
  /** Bytes of one inline (telnet-style) request line. */
  readonly inlineBytesMax: number;
  /** Requests read but not yet answered on one connection; past it the socket is not read. */
  readonly pipelineRequestsMax: number;
  /** Reply bytes a client has not read; past it the connection is closed (Redis: client-output-buffer-limit). */
  readonly replyBytesMax: number;
  /** Open connections; more are refused by the listener. */
  readonly connectionsMax: number;
  /** BLPOPs waiting at once over all connections; past it BLPOP answers -BUSY. */
  readonly blockedMax: number;
  /** With TLS, time a new connection has to finish its handshake; then it is closed. */
  readonly tlsHandshakeTimeoutMs: number;
}

export const defaultRespLimits: RespLimits = {
  argsMax: defaultStackLimits.pushItemsMax + 2,
  bulkBytesMax: defaultStackLimits.itemBytesMax,
  requestBytesMax: BODY_BYTES_MAX_DEFAULT,
  inlineBytesMax: 64 * 1024,
  pipelineRequestsMax: 1024,
  replyBytesMax: 64 * 1024 * 1024,
  connectionsMax: 10_000,
  blockedMax: 10_000,
  tlsHandshakeTimeoutMs: 10_000,
};

/**
 * Throws RangeError unless the limits carry the largest push the stack layer accepts (LPUSH key plus
 * pushItemsMax items of itemBytesMax) and every accepted request fits one log entry as HTTP bodies do.
 */
export function assertRespLimits(limits: RespLimits, stack: StackLimits = defaultStackLimits): void {
  const fail = (why: string) => {
    throw new RangeError(`RESP limits: ${why}`);
  };
  if (limits.argsMax < stack.pushItemsMax + 2) fail(`argsMax ${limits.argsMax} < LPUSH key + pushItemsMax`);
  if (limits.bulkBytesMax < Math.max(stack.itemBytesMax, stack.labelBytesMax)) {
    fail(`bulkBytesMax ${limits.bulkBytesMax} cannot carry one item or label`);
  }
  // A request's strings take no more bytes in a log entry than on the wire (RESP framing is larger
  // than the entry's varint lengths), so an entry stays within the HTTP body's proposal bound.
  if (proposalBytesMax(limits.requestBytesMax) > proposalBytesMax(BODY_BYTES_MAX_DEFAULT)) {
    fail(`requestBytesMax ${limits.requestBytesMax} exceeds what one log entry may carry`);
  }
  if (!(limits.pipelineRequestsMax >= 1 && limits.replyBytesMax >= stack.itemBytesMax * 2)) {
    fail("pipelineRequestsMax must be ≥ 1 and replyBytesMax hold at least two items");
  }
}

assertRespLimits(defaultRespLimits);
