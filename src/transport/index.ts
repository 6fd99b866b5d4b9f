// Peer transport: binary frames over persistent TCP connections, bounded queues, snapshot streams.
export {
  decodeMessage,
  encodeMessage,
  encodeMessageFrame,
  FrameDecoder,
  MESSAGE_CODES,
  PROTOCOL_VERSION,
} from "./codec.js";
export {
  FORWARD_OVERHEAD_BYTES_MAX,
  type ForwardRequest,
  type ForwardResult,
  forwardCodeBytesMax,
} from "./forward-codec.js";
export { FrameError, type FrameErrorCode } from "./frame.js";
export type { InboundStats } from "./inbound.js";
export {
  appendMessageBytesMax,
  assertFrameFits,
  assertLinkSilenceFits,
  defaultTransportLimits,
  type TransportLimits,
} from "./limits.js";
export { LogLimiter, REPEAT_LOG_EVERY_MS } from "./log-limit.js";
export {
  type PeerAddress,
  type PeerStats,
  parsePeerUrl,
  parsePeerUrls,
  type TransportLogger,
  type TransportOptions,
  type TransportStats,
} from "./options.js";
export { TcpTransport } from "./tcp.js";
export type { PeerTls } from "./tls.js";
