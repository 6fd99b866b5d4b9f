import type { Reader } from "../codec/index.js";
import type { NodeId } from "../raft/index.js";
import { FRAME_FORWARD, FRAME_FORWARD_RESULT, FrameError, finishFrame, frameWriter } from "./frame.js";

/**
 * A follower's request for the leader (a client write, a membership change), carried on the follower's
 * connection to the leader; the answer comes back on the same connection. `kind` and `payload` are the
 * node's business: the transport only moves them.
 */
export interface ForwardRequest {
  /** Unique among the sender's requests in flight; a resend keeps it, so the leader can match it. */
  readonly requestId: number;
  readonly kind: number;
  readonly payload: Uint8Array;
}

export type ForwardResult =
  | { readonly requestId: number; readonly ok: true; readonly payload: Uint8Array }
  | {
      readonly requestId: number;
      readonly ok: false;
      readonly code: string;
      /** The leader the answering node knows of (0 = none). */
      readonly leader: NodeId;
      readonly message: string;
    };

export const forwardCodeBytesMax = 64;
export const forwardMessageBytesMax = 1024;
/** Bytes of a forward frame besides its payload: length, type, request id, kind, payload length. */
export const FORWARD_OVERHEAD_BYTES_MAX = 4 + 1 + 8 + 1 + 5;

const utf8 = new TextEncoder();

export function encodeForwardFrame(req: ForwardRequest): Uint8Array {
  const w = frameWriter(FORWARD_OVERHEAD_BYTES_MAX + req.payload.length);
  w.u8(FRAME_FORWARD);
  w.varint(req.requestId);
  w.u8(req.kind);
  w.bytes(req.payload);
  return finishFrame(w);
}

export function encodeForwardResultFrame(result: ForwardResult): Uint8Array {
  if (result.ok) {
    const w = frameWriter(16 + result.payload.length);
    w.u8(FRAME_FORWARD_RESULT);
    w.varint(result.requestId);
    w.u8(0);
    w.bytes(result.payload);
    return finishFrame(w);
  }
  const code = utf8.encode(result.code);
  if (code.length > forwardCodeBytesMax)
    throw new RangeError(`forward error code over ${forwardCodeBytesMax} bytes`);
  const message = truncateUtf8(result.message, forwardMessageBytesMax);
  const w = frameWriter(32 + code.length + message.length);
  w.u8(FRAME_FORWARD_RESULT);
  w.varint(result.requestId);
  w.u8(1);
  w.bytes(code);
  w.varint(result.leader);
  w.bytes(message);
  return finishFrame(w);
}

/** At most `bytesMax` bytes of `s`'s UTF-8, cut at a character boundary. */
function truncateUtf8(s: string, bytesMax: number): Uint8Array {
  const bytes = utf8.encode(s);
  if (bytes.length <= bytesMax) return bytes;
  let end = bytesMax;
  // Continuation bytes are 0b10xxxxxx: back up to the start of the character cut in two.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

export function decodeForwardRequest(r: Reader): ForwardRequest {
  return { requestId: r.varint(), kind: r.u8(), payload: r.bytes() };
}

export function decodeForwardResult(r: Reader): ForwardResult {
  const requestId = r.varint();
  const status = r.u8();
  if (status === 0) return { requestId, ok: true, payload: r.bytes() };
  if (status !== 1) throw new FrameError("bad_value", `forward result status ${status}`);
  return {
    requestId,
    ok: false,
    code: r.str(forwardCodeBytesMax),
    leader: r.varint(),
    message: r.str(forwardMessageBytesMax),
  };
}
