export {
  decodeMessage,
  encodeMessage,
  encodeMessageFrame,
  FrameDecoder,
  FrameError,
  type FrameErrorCode,
  MESSAGE_CODES,
} from "./codec.js";
export {
  defaultTransportLimits,
  type PeerAddress,
  type PeerStats,
  parsePeerUrl,
  parsePeerUrls,
  TcpTransport,
  type TransportLimits,
  type TransportLogger,
  type TransportOptions,
  type TransportStats,
} from "./tcp.js";
