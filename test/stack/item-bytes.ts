// Helpers of the ItemStack tests: pushAscii's arguments, and reading items back as text.

/** pushAscii's arguments for `items`: their bytes one after another, and each one's bounds. */
export function asciiRun(items: readonly string[]): [Uint8Array, Uint32Array, number, number] {
  const src = new TextEncoder().encode(items.join(""));
  const bounds = new Uint32Array(2 * items.length);
  let at = 0;
  for (const [i, s] of items.entries()) {
    bounds[2 * i] = at;
    at += s.length;
    bounds[2 * i + 1] = at;
  }
  return [src, bounds, items.length, src.length];
}

/** A BOM is an item's first character like any other. */
export const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
