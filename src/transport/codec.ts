import { Reader, Writer } from "../codec/index.js";
import type {
  ConfigState,
  Entry,
  EntryKind,
  Message,
  MessageType,
  NodeId,
  SnapshotMeta,
  SnapshotMsg,
} from "../raft/index.js";
import {
  decodeForwardRequest,
  decodeForwardResult,
  type ForwardRequest,
  type ForwardResult,
} from "./forward-codec.js";
import {
  decoding,
  FRAME_FORWARD,
  FRAME_FORWARD_RESULT,
  FRAME_HEADER_BYTES,
  FRAME_HELLO,
  FRAME_LINK_ACK,
  FRAME_LINK_PROBE,
  FRAME_REFUSE,
  FRAME_SNAP_BEGIN,
  FRAME_SNAP_CHUNK,
  FRAME_SNAP_DONE,
  FrameError,
  finishFrame,
  frameWriter,
  oversizeFrame,
} from "./frame.js";

/** Wire codes of message types; control frames use 0x40 and up so one byte tells every frame apart. */
export const MESSAGE_CODES = {
  vote: 1,
  voteResp: 2,
  app: 3,
  appResp: 4,
  heartbeat: 5,
  heartbeatResp: 6,
  snap: 7,
  timeoutNow: 8,
  prop: 9,
  readIndex: 10,
  readIndexResp: 11,
} as const satisfies Record<MessageType, number>;

/**
 * Versions. 2: forward frames; the cluster id comes from --cluster-token. 3: snapshot headers carry the
 * removed ids. 4: liveness frames (LINK_ACK, LINK_PROBE): a receiver acknowledges only a sender that said
 * 4 or more (a 3 sender closes the connection on a frame it does not know). 5: the forward kind of a
 * follower's whole RESP run (node/leader-requests.ts REQUEST_RUN), with 4's frames: a leader whose HELLO
 * said less gets the run's commands one by one. A sender whose HELLO goes unanswered (an older receiver
 * closes it) says one version less on its next connection, down to 3 (peer-link.ts).
 */
export const PROTOCOL_VERSION = 5;
export const PROTOCOL_VERSION_MIN = 3;
export const clusterIdBytesMax = 255;
const refuseReasonBytesMax = 1024;

/**
 * What a REFUSE frame's reason means, for the dialler to act on ("removed": the receiver applied the
 * dialler's removal, so it committed, and ids are never reused). Carried as one byte after the reason,
 * within protocol 4: a receiver sends it only to a removed id, and an older dialler (without codes)
 * reads the byte as trailing garbage, closes the connection and redials with backoff, as it did on
 * the plain refusal it got before. A REFUSE without the byte (an older receiver's), or with a code
 * this build does not know, is a plain refusal: the dialler redials.
 */
export type RefuseCode = "removed";
const REFUSE_CODES: Record<RefuseCode, number> = { removed: 1 };
const REFUSE_CODE_OF: ReadonlyMap<number, RefuseCode> = new Map(
  Object.entries(REFUSE_CODES).map(([code, byte]) => [byte, code as RefuseCode]),
);

const ENTRY_KINDS: readonly EntryKind[] = ["normal", "noop", "config"];
const ENTRY_KIND_CODES: Record<EntryKind, number> = { normal: 0, noop: 1, config: 2 };
/** Most bytes of an app message entry besides its data: term, index (8-byte varints), kind, length (5). */
export const APPEND_ENTRY_OVERHEAD_BYTES_MAX = 8 + 8 + 1 + 5;
/** Most bytes of an app message besides its entries: type, 7 varints (from, to, term, prev x2, commit, count). */
export const APPEND_MESSAGE_OVERHEAD_BYTES_MAX = 1 + 7 * 8;

const utf8 = new TextEncoder();

function writeEnvelope(w: Writer, msg: Message): void {
  w.u8(MESSAGE_CODES[msg.type]);
  w.varint(msg.from);
  w.varint(msg.to);
  w.varint(msg.term);
}

function writeIds(w: Writer, ids: readonly NodeId[]): void {
  w.varint(ids.length);
  for (const id of ids) w.varint(id);
}

function readIds(r: Reader): NodeId[] {
  const n = r.varint();
  const ids: NodeId[] = [];
  // Each id takes at least one byte, so a lying count fails on truncation before memory grows.
  for (let i = 0; i < n; i++) ids.push(r.varint());
  return ids;
}

function configIdCount(config: ConfigState): number {
  return config.voters.length + config.learners.length + (config.removed?.length ?? 0);
}

/** Envelope, snapshot metadata and the data length: the prefix of a snap message and a SNAP_BEGIN frame. */
function writeSnapHeader(w: Writer, msg: SnapshotMsg): void {
  writeEnvelope(w, msg);
  const meta = msg.snapshot.meta;
  w.varint(meta.index);
  w.varint(meta.term);
  writeIds(w, meta.config.voters);
  writeIds(w, meta.config.learners);
  // Removed ids travel too: a follower that installs this snapshot and leads later must still refuse
  // their votes and never reuse their ids.
  writeIds(w, meta.config.removed ?? []);
  w.varint(msg.snapshot.data.length);
}

function sizeHint(msg: Message): number {
  switch (msg.type) {
    case "app": {
      let n = APPEND_MESSAGE_OVERHEAD_BYTES_MAX;
      for (const e of msg.entries) n += e.data.length + APPEND_ENTRY_OVERHEAD_BYTES_MAX;
      return n;
    }
    case "prop": {
      let n = 64;
      for (const d of msg.entries) n += d.length + 5;
      return n;
    }
    case "snap":
      return 64 + msg.snapshot.data.length + 9 * (configIdCount(msg.snapshot.meta.config) + 8);
    default:
      return 64;
  }
}

function writeMessage(w: Writer, msg: Message): void {
  if (msg.type === "snap") {
    writeSnapHeader(w, msg);
    w.raw(msg.snapshot.data);
    return;
  }
  writeEnvelope(w, msg);
  switch (msg.type) {
    case "vote":
      w.u8((msg.preVote ? 1 : 0) | (msg.transfer ? 2 : 0));
      w.varint(msg.lastIndex);
      w.varint(msg.lastTerm);
      return;
    case "voteResp":
      w.u8((msg.preVote ? 1 : 0) | (msg.reject ? 2 : 0));
      return;
    case "app":
      w.varint(msg.prevIndex);
      w.varint(msg.prevTerm);
      w.varint(msg.commit);
      w.varint(msg.entries.length);
      for (const e of msg.entries) {
        w.varint(e.term);
        w.varint(e.index);
        w.u8(ENTRY_KIND_CODES[e.kind]);
        w.bytes(e.data);
      }
      return;
    case "appResp":
      w.u8(msg.reject ? 1 : 0);
      w.varint(msg.index);
      w.varint(msg.hintIndex);
      w.varint(msg.hintTerm);
      return;
    case "heartbeat":
      w.varint(msg.commit);
      w.varint(msg.readSeq);
      return;
    case "heartbeatResp":
      w.varint(msg.readSeq);
      return;
    case "timeoutNow":
      return;
    case "prop":
      w.varint(msg.entries.length);
      for (const d of msg.entries) w.bytes(d);
      return;
    case "readIndex":
      w.varint(msg.context);
      return;
    case "readIndexResp":
      w.varint(msg.context);
      w.varint(msg.index);
      return;
  }
}

/** Encodes one message (no length prefix). Throws RangeError on a number that is not a safe non-negative integer. */
export function encodeMessage(msg: Message): Uint8Array {
  const w = new Writer(sizeHint(msg));
  writeMessage(w, msg);
  return w.finishView();
}

/** Encodes one message as a stream frame: u32 big-endian payload length, then the payload. */
export function encodeMessageFrame(msg: Message): Uint8Array {
  const w = frameWriter(sizeHint(msg));
  writeMessage(w, msg);
  return finishFrame(w);
}

function readFlags(r: Reader, mask: number): number {
  const f = r.u8();
  if ((f & ~mask) !== 0) throw new FrameError("bad_value", `unknown flags ${f}`);
  return f;
}

function readEntries(r: Reader): Entry[] {
  const n = r.varint();
  const entries: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const term = r.varint();
    const index = r.varint();
    const kind = ENTRY_KINDS[r.u8()];
    if (kind === undefined) throw new FrameError("bad_value", "unknown entry kind");
    entries.push({ term, index, kind, data: r.bytes() });
  }
  return entries;
}

export interface SnapHeader {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly meta: SnapshotMeta;
  readonly dataBytes: number;
}

function readSnapHeaderBody(r: Reader, from: NodeId, to: NodeId, term: number): SnapHeader {
  const index = r.varint();
  const metaTerm = r.varint();
  const voters = readIds(r);
  const learners = readIds(r);
  const removed = readIds(r);
  const config: ConfigState = removed.length === 0 ? { voters, learners } : { voters, learners, removed };
  return { from, to, term, meta: { index, term: metaTerm, config }, dataBytes: r.varint() };
}

function readSnapHeader(r: Reader): SnapHeader {
  if (r.u8() !== MESSAGE_CODES.snap) throw new FrameError("bad_type", "SNAP_BEGIN without a snap header");
  return readSnapHeaderBody(r, r.varint(), r.varint(), r.varint());
}

/** Builds the snap message once its data has been received. */
export function snapMessage(h: SnapHeader, data: Uint8Array): SnapshotMsg {
  return { type: "snap", from: h.from, to: h.to, term: h.term, snapshot: { meta: h.meta, data } };
}

function readMessage(r: Reader, code: number): Message {
  const from = r.varint();
  const to = r.varint();
  const term = r.varint();
  switch (code) {
    case MESSAGE_CODES.vote: {
      const f = readFlags(r, 3);
      return {
        type: "vote",
        from,
        to,
        term,
        preVote: (f & 1) !== 0,
        transfer: (f & 2) !== 0,
        lastIndex: r.varint(),
        lastTerm: r.varint(),
      };
    }
    case MESSAGE_CODES.voteResp: {
      const f = readFlags(r, 3);
      return { type: "voteResp", from, to, term, preVote: (f & 1) !== 0, reject: (f & 2) !== 0 };
    }
    case MESSAGE_CODES.app:
      return {
        type: "app",
        from,
        to,
        term,
        prevIndex: r.varint(),
        prevTerm: r.varint(),
        commit: r.varint(),
        entries: readEntries(r),
      };
    case MESSAGE_CODES.appResp:
      return {
        type: "appResp",
        from,
        to,
        term,
        reject: r.bool(),
        index: r.varint(),
        hintIndex: r.varint(),
        hintTerm: r.varint(),
      };
    case MESSAGE_CODES.heartbeat:
      return { type: "heartbeat", from, to, term, commit: r.varint(), readSeq: r.varint() };
    case MESSAGE_CODES.heartbeatResp:
      return { type: "heartbeatResp", from, to, term, readSeq: r.varint() };
    case MESSAGE_CODES.snap: {
      const h = readSnapHeaderBody(r, from, to, term);
      return snapMessage(h, r.raw(h.dataBytes));
    }
    case MESSAGE_CODES.timeoutNow:
      return { type: "timeoutNow", from, to, term };
    case MESSAGE_CODES.prop: {
      const n = r.varint();
      const entries: Uint8Array[] = [];
      for (let i = 0; i < n; i++) entries.push(r.bytes());
      return { type: "prop", from, to, term, entries };
    }
    case MESSAGE_CODES.readIndex:
      return { type: "readIndex", from, to, term, context: r.varint() };
    case MESSAGE_CODES.readIndexResp:
      return { type: "readIndexResp", from, to, term, context: r.varint(), index: r.varint() };
    default:
      throw new FrameError("bad_type", `unknown message type ${code}`);
  }
}

/**
 * Decodes one message (no length prefix). Byte fields (entry data, snapshot data) are views into
 * `bytes`, so callers hand in a buffer they own. Throws only FrameError.
 */
export function decodeMessage(bytes: Uint8Array): Message {
  return decoding(() => {
    const r = new Reader(bytes);
    const msg = readMessage(r, r.u8());
    r.expectEnd();
    return msg;
  });
}

export interface Hello {
  readonly clusterId: string;
  readonly from: NodeId;
  readonly to: NodeId;
  /** PROTOCOL_VERSION_MIN..PROTOCOL_VERSION; from 4 the sender reads LINK_ACK frames. */
  readonly version: number;
}

/** Any frame a peer stream carries, decoded. */
export type Frame =
  | { readonly kind: "message"; readonly msg: Message }
  | { readonly kind: "hello"; readonly hello: Hello }
  | { readonly kind: "snapBegin"; readonly header: SnapHeader }
  | { readonly kind: "snapChunk"; readonly data: Uint8Array }
  | { readonly kind: "refuse"; readonly reason: string; readonly code: RefuseCode | undefined }
  | { readonly kind: "snapDone" }
  | { readonly kind: "forward"; readonly request: ForwardRequest }
  | { readonly kind: "forwardResult"; readonly result: ForwardResult }
  | { readonly kind: "linkAck"; readonly bytesRead: number }
  | { readonly kind: "linkProbe" };

/** Decodes one frame payload (without its length prefix). Throws only FrameError. */
export function decodeFrame(payload: Uint8Array): Frame {
  return decoding(() => {
    const r = new Reader(payload);
    const frame = readFrame(r, r.u8());
    r.expectEnd();
    return frame;
  });
}

function readFrame(r: Reader, code: number): Frame {
  switch (code) {
    case FRAME_HELLO: {
      const version = r.u8();
      if (version < PROTOCOL_VERSION_MIN || version > PROTOCOL_VERSION) {
        throw new FrameError("bad_value", `protocol version ${version}`);
      }
      return {
        kind: "hello",
        hello: { clusterId: r.str(clusterIdBytesMax), from: r.varint(), to: r.varint(), version },
      };
    }
    case FRAME_SNAP_BEGIN:
      return { kind: "snapBegin", header: readSnapHeader(r) };
    case FRAME_SNAP_CHUNK:
      return { kind: "snapChunk", data: r.rest() };
    case FRAME_REFUSE: {
      const reason = r.str(refuseReasonBytesMax);
      return { kind: "refuse", reason, code: r.done ? undefined : REFUSE_CODE_OF.get(r.u8()) };
    }
    case FRAME_SNAP_DONE:
      return { kind: "snapDone" };
    case FRAME_FORWARD:
      return { kind: "forward", request: decodeForwardRequest(r) };
    case FRAME_FORWARD_RESULT:
      return { kind: "forwardResult", result: decodeForwardResult(r) };
    case FRAME_LINK_ACK:
      return { kind: "linkAck", bytesRead: r.varint() };
    case FRAME_LINK_PROBE:
      return { kind: "linkProbe" };
    default:
      return { kind: "message", msg: readMessage(r, code) };
  }
}

/** A HELLO of `hello.version`, by default this build's PROTOCOL_VERSION. */
export function encodeHelloFrame(hello: Omit<Hello, "version"> & { readonly version?: number }): Uint8Array {
  const id = utf8.encode(hello.clusterId);
  if (id.length > clusterIdBytesMax)
    throw new RangeError(`cluster id longer than ${clusterIdBytesMax} bytes`);
  const w = frameWriter(32 + id.length);
  w.u8(FRAME_HELLO);
  w.u8(hello.version ?? PROTOCOL_VERSION);
  w.bytes(id);
  w.varint(hello.from);
  w.varint(hello.to);
  return finishFrame(w);
}

/** A REFUSE frame: the reason, for the dialler's log, then its code if it has one (see RefuseCode). */
export function encodeRefuseFrame(reason: string, code?: RefuseCode): Uint8Array {
  const w = frameWriter(16 + reason.length * 3);
  w.u8(FRAME_REFUSE);
  w.bytes(utf8.encode(reason).subarray(0, refuseReasonBytesMax));
  if (code !== undefined) w.u8(REFUSE_CODES[code]);
  return finishFrame(w);
}

/** Receiver to sender: the streamed snapshot was reassembled and delivered. */
export const snapDoneFrame: Uint8Array = Uint8Array.from([0, 0, 0, 1, FRAME_SNAP_DONE]);

/** First frame of a streamed snapshot: the snap message without its data, which follows in chunks. */
export function encodeSnapBeginFrame(msg: SnapshotMsg): Uint8Array {
  const w = frameWriter(64 + 9 * (configIdCount(msg.snapshot.meta.config) + 8));
  w.u8(FRAME_SNAP_BEGIN);
  writeSnapHeader(w, msg);
  return finishFrame(w);
}

/** Frame header for a chunk whose data is written right after it (no copy of snapshot data). */
export function encodeSnapChunkHeader(dataBytes: number): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + 1);
  new DataView(out.buffer).setUint32(0, dataBytes + 1);
  out[FRAME_HEADER_BYTES] = FRAME_SNAP_CHUNK;
  return out;
}

/**
 * Splits a byte stream into frame payloads ([u32 length][payload]). Each payload is copied into its own
 * buffer so decoded entries never pin socket chunks. Throws FrameError on a length of 0 or above the cap.
 */
export class FrameDecoder {
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFill = 0;
  private frame: Uint8Array | undefined;
  private frameFill = 0;

  constructor(private readonly frameBytesMax: number) {}

  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      let frame = this.frame;
      if (frame === undefined) {
        const n = Math.min(FRAME_HEADER_BYTES - this.headerFill, chunk.length - pos);
        this.header.set(chunk.subarray(pos, pos + n), this.headerFill);
        this.headerFill += n;
        pos += n;
        if (this.headerFill < FRAME_HEADER_BYTES) break;
        this.headerFill = 0;
        const h = this.header;
        const len = ((h[0]! << 24) >>> 0) + (h[1]! << 16) + (h[2]! << 8) + h[3]!;
        if (len === 0) throw new FrameError("bad_value", "empty frame");
        if (len > this.frameBytesMax) throw oversizeFrame(h, len, this.frameBytesMax);
        // A plain Uint8Array view over unpooled, unzeroed memory: decoded fields are never Buffers.
        frame = new Uint8Array(Buffer.allocUnsafeSlow(len).buffer, 0, len);
        this.frame = frame;
        this.frameFill = 0;
      }
      const n = Math.min(frame.length - this.frameFill, chunk.length - pos);
      frame.set(chunk.subarray(pos, pos + n), this.frameFill);
      this.frameFill += n;
      pos += n;
      if (this.frameFill === frame.length) {
        out.push(frame);
        this.frame = undefined;
      }
    }
    return out;
  }
}
