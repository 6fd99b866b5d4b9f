import type { ErrorCode } from "./errors.js";
import type { Command } from "./types.js";

/**
 * Limits of the state machine. They decide outcomes on apply, so every node of a cluster must use the
 * same values.
 */
export interface StackLimits {
  /** UTF-8 bytes of one item. */
  readonly itemBytesMax: number;
  /** UTF-8 bytes of one stack label. */
  readonly labelBytesMax: number;
  /** UTF-8 bytes of one idempotency key. */
  readonly keyBytesMax: number;
  /** Items in one push command. */
  readonly pushItemsMax: number;
  /** Items one counted pop (LPOP key count) takes at most. */
  readonly popItemsMax: number;
  /** Labels one command names (DEL, BLPOP). */
  readonly labelsPerCommandMax: number;
  /** Stacks alive at once. */
  readonly stacksMax: number;
  /** Items over all stacks. */
  readonly itemsMax: number;
  /**
   * UTF-16 code units over all items, bounding memory independently of item count. Items are held as
   * UTF-8 (stack/items.ts): 1 to 3 bytes a unit, in arrays up to twice that (they grow by doubling), so
   * the default 512 Mi units may take 0.5 to 3 GiB outside the JS heap, and a snapshot copies it once more.
   */
  readonly itemCharsMax: number;
  /**
   * Remembered idempotency keys. A key is never forgotten before its retention: when the table is
   * full, new keyed writes are refused (idempotency_keys_full, 503) until old keys age out. Measured
   * (bench/sessions.ts): 200 bytes of heap per key of 36 chars, so the default 1,000,000 keys take
   * about 200 MB, and allow 1,666 keyed writes/s sustained over any 10 minutes.
   */
  readonly sessionsMax: number;
  /**
   * UTF-16 code units of the keys and popped items held by remembered outcomes (full: as
   * sessionsMax). The default 64 Mi chars bounds that text to 128 MiB, beyond the per-key overhead.
   */
  readonly sessionCharsMax: number;
  /**
   * How long a key is remembered, on the machine's replicated clock. Longer than any client's retry
   * deadline (the client's default is 10 s), so a retry always finds its key.
   */
  readonly sessionRetentionMs: number;
  /**
   * Most the replicated clock advances on one entry. The clock follows the leaders' timestamps, but a
   * timestamp jumping ahead of all before it (a leader whose clock runs fast, or the first entry after
   * an idle spell) moves it by at most this much: one leader's clock cannot expire every key at once.
   */
  readonly clockStepMaxMs: number;
}

export const defaultStackLimits: StackLimits = {
  itemBytesMax: 64 * 1024,
  labelBytesMax: 256,
  keyBytesMax: 128,
  pushItemsMax: 10_000,
  popItemsMax: 10_000,
  labelsPerCommandMax: 1024,
  stacksMax: 100_000,
  itemsMax: 10_000_000,
  itemCharsMax: 512 * 1024 * 1024,
  sessionsMax: 1_000_000,
  sessionCharsMax: 64 * 1024 * 1024,
  sessionRetentionMs: 10 * 60 * 1000,
  clockStepMaxMs: 1000,
};

/** UTF-8 length of `s`, or -1 if it holds a lone surrogate (which UTF-8 cannot carry unchanged). */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c < 0xd800 || c > 0xdfff) bytes += 3;
    else if (c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d < 0xdc00 || d > 0xdfff) return -1;
      bytes += 4;
      i++;
    } else return -1;
  }
  return bytes;
}

/**
 * UTF-8 bytes of `s` if it may exceed `bytesMax`, else 0 (then its byte count is at most bytesMax): -1
 * if it holds a lone surrogate. `wellFormed`: `s` holds none (a decoded string), so a string of at most
 * bytesMax / 3 units, whose UTF-8 is at most 3 bytes per unit, needs no scan.
 */
function bytesBeyond(s: string, bytesMax: number, wellFormed: boolean): number {
  return wellFormed && s.length * 3 <= bytesMax ? 0 : utf8Length(s);
}

export function validateItem(
  item: string,
  limits: StackLimits = defaultStackLimits,
  wellFormed = false,
): ErrorCode | undefined {
  // Cheap reject before the scan: a UTF-16 unit is at least one UTF-8 byte.
  if (item.length > limits.itemBytesMax) return "item_too_large";
  const bytes = bytesBeyond(item, limits.itemBytesMax, wellFormed);
  if (bytes < 0) return "item_invalid";
  return bytes > limits.itemBytesMax ? "item_too_large" : undefined;
}

export function validateItems(
  items: readonly string[],
  limits: StackLimits = defaultStackLimits,
  wellFormed = false,
): ErrorCode | undefined {
  if (items.length === 0) return "bad_command";
  if (items.length > limits.pushItemsMax) return "too_many_items";
  for (const item of items) {
    const code = validateItem(item, limits, wellFormed);
    if (code !== undefined) return code;
  }
  return undefined;
}

export function validateLabel(
  label: string,
  limits: StackLimits = defaultStackLimits,
  wellFormed = false,
): ErrorCode | undefined {
  if (label.length > limits.labelBytesMax) return "label_too_large";
  if (label.length === 0) return "label_invalid";
  const bytes = bytesBeyond(label, limits.labelBytesMax, wellFormed);
  if (bytes < 0) return "label_invalid";
  return bytes > limits.labelBytesMax ? "label_too_large" : undefined;
}

export function validateKey(
  key: string,
  limits: StackLimits = defaultStackLimits,
  wellFormed = false,
): ErrorCode | undefined {
  if (key.length > limits.keyBytesMax || key.length === 0) return "key_invalid";
  const bytes = bytesBeyond(key, limits.keyBytesMax, wellFormed);
  return bytes < 0 || bytes > limits.keyBytesMax ? "key_invalid" : undefined;
}

function validateLabels(
  labels: readonly string[],
  limits: StackLimits,
  wellFormed: boolean,
): ErrorCode | undefined {
  if (labels.length === 0) return "bad_command";
  if (labels.length > limits.labelsPerCommandMax) return "too_many_items";
  for (const label of labels) {
    const code = validateLabel(label, limits, wellFormed);
    if (code !== undefined) return code;
  }
  return undefined;
}

export function isStackId(id: number): boolean {
  return Number.isSafeInteger(id) && id > 0;
}

/**
 * Checks a command without looking at state. The HTTP layer calls it before proposing so bad input never
 * reaches the log; the machine calls it again on apply so every replica decides the same. `wellFormed`:
 * the command's strings hold no lone surrogate (decodeCommand's are), which spares most UTF-8 scans
 * and decides the same.
 */
export function validateCommand(
  cmd: Command,
  limits: StackLimits = defaultStackLimits,
  wellFormed = false,
): ErrorCode | undefined {
  if (!Number.isFinite(cmd.atMs) || cmd.atMs < 0) return "bad_command";
  if (cmd.key !== undefined) {
    const code = validateKey(cmd.key, limits, wellFormed);
    if (code !== undefined) return code;
  }
  switch (cmd.type) {
    case "create":
      return validateLabel(cmd.label, limits, wellFormed);
    case "push":
      return isStackId(cmd.id) ? validateItems(cmd.items, limits, wellFormed) : "bad_command";
    case "delete":
    case "pop":
    case "bpopId":
      return isStackId(cmd.id) ? undefined : "bad_command";
    case "lpush":
      return validateLabel(cmd.label, limits, wellFormed) ?? validateItems(cmd.items, limits, wellFormed);
    case "lpop":
      if (cmd.count !== undefined && !(Number.isSafeInteger(cmd.count) && cmd.count >= 1))
        return "bad_command";
      if (cmd.count !== undefined && cmd.count > limits.popItemsMax) return "too_many_items";
      return validateLabel(cmd.label, limits, wellFormed);
    case "del":
    case "bpop":
      return validateLabels(cmd.labels, limits, wellFormed);
  }
}
