import { ITEM_BYTES_MAX, STACK_BYTES_MAX, UTF8_BYTES_PER_UNIT_MAX } from "./items.js";
import type { StackLimits } from "./limits.js";
import type { Command } from "./types.js";

export interface StackMachineOptions {
  readonly limits?: Partial<StackLimits>;
  /** Deliberate bugs, for proving that tests and the simulator catch them. Never set in production. */
  readonly mutations?: {
    /** A retry with a known idempotency key applies the command again (breaks exactly-once). */
    readonly applyRetriesTwice?: boolean;
  };
}

/**
 * The commands of an entry as the leader that proposed it holds them, before encoding, all encoded with
 * timestamp `stampMs`. The leader applies them instead of decoding its own bytes again
 * (decode was ~3 % of its CPU under pipelined writes, plus the garbage); each is used only when it
 * encodes exactly (`encodesExactly`), so the outcome is the one every replica computes from the bytes.
 */
export interface ProposedCommands {
  /** Undefined where the leader holds no Command (the RESP fast lane's LPUSH): applied from the bytes. */
  readonly commands: readonly (Command | undefined)[];
  /** The leader's timestamp of every command of the entry (it stamps a batch once: node/batch.ts). */
  readonly stampMs: number;
  /**
   * Every string of the commands is well-formed (no lone surrogate; BatchEncoder.wellFormed), so their
   * validation skips the UTF-8 scan. Absent: not known, every string is scanned.
   */
  readonly wellFormed?: boolean;
}

/** Throws unless `limits` can hold together in one machine (asserted where it is built). */
export function assertMachineLimits(limits: StackLimits): void {
  const { clockStepMaxMs, sessionRetentionMs, itemCharsMax, itemBytesMax } = limits;
  if (!(clockStepMaxMs > 0 && clockStepMaxMs < sessionRetentionMs)) {
    throw new Error(
      `clockStepMaxMs ${clockStepMaxMs} must be in (0, sessionRetentionMs ${sessionRetentionMs})`,
    );
  }
  // One stack may hold every item's text; its UTF-8 and its segments' gaps must fit the item store's u32
  // offsets. A gap is shorter than the item that starts the next segment, so the offsets are at most
  // twice the bytes, and at most size / (size - itemBytesMax + 1) times them (a gap per segment).
  const size = ITEM_BYTES_MAX;
  const spread = Math.min(2, size / (size - Math.min(itemBytesMax, size) + 1));
  if (itemCharsMax * UTF8_BYTES_PER_UNIT_MAX * spread > STACK_BYTES_MAX) {
    throw new Error(
      `itemCharsMax ${itemCharsMax}: its UTF-8 and segment gaps may exceed ${STACK_BYTES_MAX} bytes of offsets`,
    );
  }
  // An item never spans two of the item store's segments.
  if (itemBytesMax > ITEM_BYTES_MAX) {
    throw new Error(`itemBytesMax ${itemBytesMax} exceeds ${ITEM_BYTES_MAX}`);
  }
}
