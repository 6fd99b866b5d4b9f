import { defaultStackLimits, type StackLimits } from "../stack/index.js";

/** A push of many items fits; anything larger is refused while reading, before it is buffered. */
export const BODY_BYTES_MAX_DEFAULT = 1024 * 1024 + defaultStackLimits.itemBytesMax;

/** Body bytes around one item or label: `<16-digit id>,` (seed) or `{"items":["` … `"]}` (JSON). */
const BODY_FRAMING_BYTES_MAX = 64;

/**
 * A command's log entry never outgrows the body it came from by more than this: its strings take no
 * more bytes binary-coded than in JSON or text, plus the command header (11 bytes), an
 * Idempotency-Key (≤ 129 bytes) and a few varints.
 */
const PROPOSAL_OVERHEAD_BYTES_MAX = 256;

/**
 * Throws RangeError if a body of `bodyBytesMax` cannot carry the largest item or label the stack layer
 * accepts: such requests would be refused as body_too_large although the item is within its limit.
 */
export function assertBodyFits(bodyBytesMax: number, limits: StackLimits = defaultStackLimits): void {
  const needed = Math.max(limits.itemBytesMax, limits.labelBytesMax) + BODY_FRAMING_BYTES_MAX;
  if (!(bodyBytesMax >= needed)) {
    throw new RangeError(`bodyBytesMax ${bodyBytesMax} cannot carry one item or label (${needed} bytes)`);
  }
}

/**
 * The largest log entry a request body of `bodyBytesMax` can become: what the node passes as
 * `entryBytesMax` to the transport's assertFrameFits, so every accepted write can be replicated.
 */
export function proposalBytesMax(bodyBytesMax: number = BODY_BYTES_MAX_DEFAULT): number {
  return bodyBytesMax + PROPOSAL_OVERHEAD_BYTES_MAX;
}

// The defaults must fit each other; checked when the module loads.
assertBodyFits(BODY_BYTES_MAX_DEFAULT);
