// Binary encoding shared by the wire, log entry and on-disk formats: one Writer/Reader pair with the
// safe-integer checks, so every format encodes numbers and strings the same way.
export { DecodeError, type DecodeErrorCode } from "./errors.js";
export { checkSafeUint, getU32, getU64, putU32, putU64 } from "./fixed.js";
export { Reader } from "./reader.js";
export { decodeUtf8, encodeUtf8Into } from "./text.js";
export { VARINT_BYTES_MAX, Writer } from "./writer.js";
