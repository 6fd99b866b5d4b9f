export {
  decodeMessage,
  encodeMessage,
  encodeMessageFrame,
  FrameDecoder,
  FrameError,
  type FrameErrorCode,
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
