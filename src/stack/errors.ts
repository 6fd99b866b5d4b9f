/**
 * Stable error codes of the stack service. The array order is the wire encoding of a code (in outcomes
 * and snapshots): append new codes at the end, never reorder or remove.
 */
export const errorCodes = [
  "bad_command",
  "stack_not_found",
  "stack_empty",
  "item_too_large",
  "item_invalid",
  "label_too_large",
  "label_invalid",
  "key_invalid",
  "too_many_items",
  "capacity_exceeded",
  "idempotency_key_reused",
  "idempotency_keys_full",
] as const;

export type ErrorCode = (typeof errorCodes)[number];

/** Each code maps to exactly one HTTP status so every layer answers the same error the same way. */
export const httpStatusByCode: Readonly<Record<ErrorCode, number>> = {
  bad_command: 400,
  stack_not_found: 404,
  stack_empty: 409,
  item_too_large: 413,
  item_invalid: 400,
  label_too_large: 413,
  label_invalid: 400,
  key_invalid: 400,
  too_many_items: 413,
  capacity_exceeded: 507,
  /** The key was first used for a different command: answering that command's outcome would lie. */
  idempotency_key_reused: 422,
  /** The exactly-once table is at its memory limit until keys age out: retry later (Retry-After). */
  idempotency_keys_full: 503,
};

export function httpStatusOf(code: ErrorCode): number {
  return httpStatusByCode[code];
}
