import { DecodeError, type DecodeErrorCode, Writer } from "../codec/index.js";

export type FrameErrorCode = DecodeErrorCode | "bad_type";

/** The only error decoding untrusted bytes may raise; the connection that sent them is closed. */
export class FrameError extends Error {
  override readonly name = "FrameError";
  readonly code: FrameErrorCode;
  constructor(code: FrameErrorCode, message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Runs a decoder, turning the Reader's DecodeError into a FrameError with the same code. */
export function decoding<T>(decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof DecodeError) throw new FrameError(err.code, err.message, { cause: err });
    throw err;
  }
}

/** HTTP as the first four bytes of a stream: an answer, or the methods a client sends first. */
const HTTP_ANSWER = "HTTP";
const HTTP_REQUESTS = ["GET ", "HEAD", "POST", "PUT ", "DELE", "OPTI", "PATC"];

/**
 * The error for a frame length above `max`. Read as a length, HTTP text is over a gigabyte: a peer URL that
 * names a node's client (HTTP) port gets "HTTP/1.1 400" back for its HELLO (`member add` took one, and
 * the member could never catch up with nothing said but "frame of 1213486160 bytes"); a client URL aimed
 * at a peer port sends a request. Said as such, where the dialler's and the receiver's warnings show it.
 */
export function oversizeFrame(header: Uint8Array, len: number, max: number): FrameError {
  const start = String.fromCharCode(...header);
  if (start === HTTP_ANSWER)
    return new FrameError(
      "too_large",
      "the peer answered in HTTP, not the peer protocol: a client (HTTP) port as its peer URL?",
    );
  if (HTTP_REQUESTS.includes(start))
    return new FrameError(
      "too_large",
      "an HTTP request on the peer port: a client URL that names a peer port?",
    );
  return new FrameError("too_large", `frame of ${len} bytes exceeds ${max}`);
}

/** Control frames use codes 0x40 and up, message types below, so one byte tells every frame apart. */
export const FRAME_HELLO = 0x40;
export const FRAME_SNAP_BEGIN = 0x41;
export const FRAME_SNAP_CHUNK = 0x42;
export const FRAME_REFUSE = 0x43;
export const FRAME_SNAP_DONE = 0x44;
/** A follower's request for the leader (a client write), and the leader's answer on the same connection. */
export const FRAME_FORWARD = 0x45;
export const FRAME_FORWARD_RESULT = 0x46;
/**
 * Liveness (protocol 4, see link-liveness.ts): the receiver's LINK_ACK carries the bytes it has read on
 * the connection; the sender's LINK_PROBE, sent on an idle link, asks for one.
 */
export const FRAME_LINK_ACK = 0x47;
export const FRAME_LINK_PROBE = 0x48;

/** Bytes of the u32 big-endian length that precedes every frame payload on a stream. */
export const FRAME_HEADER_BYTES = 4;

/** A writer for one stream frame, starting with room for the length that `finishFrame` fills in. */
export function frameWriter(payloadBytes: number): Writer {
  const w = new Writer(FRAME_HEADER_BYTES + payloadBytes);
  w.u32(0);
  return w;
}

/** The frame: a u32 big-endian payload length, then the payload. */
export function finishFrame(w: Writer): Uint8Array {
  const out = w.finishView();
  new DataView(out.buffer, out.byteOffset, FRAME_HEADER_BYTES).setUint32(0, out.length - FRAME_HEADER_BYTES);
  return out;
}
