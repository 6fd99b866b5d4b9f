import { decodeUtf8, type Writer } from "../codec/index.js";
import { commandVersion, opCodes } from "./codec.js";
import type { Command } from "./types.js";

/**
 * Keyless LPUSH commands whose labels and items are ASCII bytes of `src` (a client's requests, read in
 * place): the RESP listener's fast lane hands a pipeline's LPUSH to the leader's batch this way, without a
 * string, Command or encoding pass per write. Encoded, each is exactly the command `commandAt` gives
 * (ASCII: the bytes are the strings' UTF-8 and a UTF-16 unit per byte), so followers, snapshots and the
 * log see nothing new.
 */
export interface AsciiPushes {
  readonly src: Uint8Array;
  /** Commands. */
  readonly count: number;
  /**
   * Per command, in order: label from, label to, item count, then each item's from and to (offsets in
   * `src`); nothing else.
   */
  readonly spans: Uint32Array;
  /** Idempotency keys, one per command (a run a follower forwarded); none on the fast lane itself. */
  readonly keys?: RunKeys;
}

/**
 * The keys of a run's commands: command i's is `runKey(keys, i)`, the i-th of a node's numbered keys
 * from `first` on. A follower forwarding a run names its keys with two fields instead of a string per
 * command, and the leader writes each into its command's encoding.
 */
export interface RunKeys {
  readonly prefix: string;
  readonly first: number;
}

/** The key of command `index` of a run keyed `keys`: `prefix`, then `first + index` in base 36. */
export function runKey(keys: RunKeys, index: number): string {
  return `${keys.prefix}${(keys.first + index).toString(36)}`;
}

/**
 * Writes command `index`, whose spans start at `spans[at]`, stamped `atMs`, as writeCommand writes its
 * Command; returns where the next command's spans start.
 */
export function writeAsciiPush(w: Writer, run: AsciiPushes, index: number, at: number, atMs: number): number {
  const { src, spans, keys } = run;
  w.u8(commandVersion);
  w.u8(opCodes.lpush);
  w.f64(atMs);
  if (keys === undefined) w.u8(0);
  else {
    w.u8(1);
    w.str(runKey(keys, index));
  }
  const labelFrom = spans[at] as number;
  const labelTo = spans[at + 1] as number;
  w.varint(labelTo - labelFrom);
  w.copy(src, labelFrom, labelTo);
  const count = spans[at + 2] as number;
  w.varint(count);
  let i = at + 3;
  for (const end = i + 2 * count; i < end; i += 2) {
    const from = spans[i] as number;
    const to = spans[i + 1] as number;
    w.varint(to - from);
    w.copy(src, from, to);
  }
  return i;
}

/**
 * Command `index` of `run` as a Command (stamped `atMs`): for the rare paths that need one (a write
 * forwarded to another leader), never on the fast lane itself.
 */
export function asciiPushCommand(run: AsciiPushes, index: number, atMs: number): Command {
  const { src, spans } = run;
  let at = 0;
  for (let j = 0; j < index; j++) at += 3 + 2 * (spans[at + 2] as number);
  const count = spans[at + 2] as number;
  const items = new Array<string>(count);
  for (let k = 0; k < count; k++) {
    items[k] = decodeUtf8(src, spans[at + 3 + 2 * k] as number, spans[at + 4 + 2 * k] as number);
  }
  const label = decodeUtf8(src, spans[at] as number, spans[at + 1] as number);
  const keys = run.keys;
  return keys === undefined
    ? { type: "lpush", label, items, atMs }
    : { type: "lpush", label, items, key: runKey(keys, index), atMs };
}
