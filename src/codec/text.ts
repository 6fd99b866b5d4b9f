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

/** Reused per-length code arrays: decoding a short ASCII string then allocates only the string itself. */
const scratchCodes: number[][] = Array.from({ length: SHORT_CHARS_MAX + 1 }, (_, len) =>
  new Array<number>(len).fill(0),
);

/** The text of well-formed UTF-8 `buf[start, end)`; throws TypeError (the fatal decoder's) on malformed bytes. */
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  const len = end - start;
  if (len <= SHORT_CHARS_MAX) {
    const codes = scratchCodes[len]!;
    let i = 0;
    for (; i < len; i++) {
      const b = buf[start + i]!;
      if (b >= 0x80) break;
      codes[i] = b;
    }
    if (i === len) return String.fromCharCode.apply(null, codes);
  }
  return utf8Decoder.decode(buf.subarray(start, end));
}

/**
 * Writes the UTF-8 of `s` at `buf[pos]` and returns the offset after it. `buf` must hold 3 bytes per
 * UTF-16 unit of `s` from `pos` on (the most UTF-8 takes). A lone surrogate becomes U+FFFD.
 */
export function encodeUtf8Into(s: string, buf: Uint8Array, pos: number): number {
  const n = s.length;
  // The hand loop only for short strings (as Writer.str): it costs ~4 ns a unit, encodeInto ~110 ns a
  // call plus ~0.2 ns a unit, so unbounded it made a 64 KiB ASCII item's push ~50x slower (10 -> 500 us).
  if (n > SHORT_CHARS_MAX) return pos + utf8Encoder.encodeInto(s, buf.subarray(pos)).written;
  let p = pos;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    buf[p++] = c;
  }
  if (i === n) return p;
  return p + utf8Encoder.encodeInto(s.slice(i), buf.subarray(p)).written;
}
