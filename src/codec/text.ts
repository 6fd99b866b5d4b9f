/** Strings up to this many UTF-16 units are coded by hand: cheaper than a TextEncoder call when ASCII. */
export const SHORT_CHARS_MAX = 64;

export const utf8Encoder = new TextEncoder();
// fatal: a string decodes only from well-formed UTF-8, so replicas agree. decode(encode(s)) === s except
// for a leading U+FEFF, which the decoder drops (ignoreBOM unset): changing that changes how committed
// entries decode (a format change), and the leader must not apply such text as proposed (encodesExactly).
export const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** `bytes` as a plain Uint8Array (a view of the same memory if it is a Buffer or another subclass). */
export function plain(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
