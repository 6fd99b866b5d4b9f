/** Strings up to this many UTF-16 units are coded by hand: cheaper than a TextEncoder call when ASCII. */
export const SHORT_CHARS_MAX = 64;

export const utf8Encoder = new TextEncoder();
// fatal: a string decodes only from well-formed UTF-8, so replicas agree. ignoreBOM: a leading U+FEFF is
// text like any other (unset, the decoder dropped it: an item "\ufeffx" popped back as "x", and the
// leader, applying what it proposed, disagreed with its followers), so decode(encode(s)) === s.
export const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** `bytes` as a plain Uint8Array (a view of the same memory if it is a Buffer or another subclass). */
export function plain(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
