import type { ErrorCode } from "./errors.js";

/** A write operation on the stacks. Ids are positive integers assigned 1, 2, 3... by `create`. */
export type Operation =
  | { readonly type: "create"; readonly label: string }
  | { readonly type: "delete"; readonly id: number }
  | { readonly type: "push"; readonly id: number; readonly items: readonly string[] }
  | { readonly type: "pop"; readonly id: number }
  // Commands addressed by label (the RESP listener's keys). Appended: the ones above keep their encodings.
  /** Push onto the stack labelled `label`, creating it first if there is none (as LPUSH creates a list). */
  | { readonly type: "lpush"; readonly label: string; readonly items: readonly string[] }
  /** Pop up to `count` items from the top (outcome "poppedItems"), or one item if `count` is absent. */
  | { readonly type: "lpop"; readonly label: string; readonly count?: number }
  /** Delete every listed stack that exists; the outcome counts them. */
  | { readonly type: "del"; readonly labels: readonly string[] }
  /**
   * Blocking pops: pop the top of the first non-empty listed stack (by label) or of stack `id`. A
   * stack_empty outcome is never remembered under the idempotency key, so a waiter can retry its key.
   */
  | { readonly type: "bpop"; readonly labels: readonly string[] }
  | { readonly type: "bpopId"; readonly id: number };

/**
 * A write as it is logged: the operation, an optional idempotency key (a retry with the same key gets the
 * first outcome) and the leader's wall-clock time in ms, the only clock the machine ever sees.
 */
export type Command = Operation & { readonly key?: string; readonly atMs: number };

export type Failure = { readonly ok: false; readonly code: ErrorCode };

/** The result of applying one log entry. */
export type Outcome =
  | { readonly ok: true; readonly kind: "created"; readonly id: number }
  | { readonly ok: true; readonly kind: "deleted"; readonly id: number }
  | { readonly ok: true; readonly kind: "pushed"; readonly size: number }
  | { readonly ok: true; readonly kind: "popped"; readonly item: string }
  /** Top first (the pop order). */
  | { readonly ok: true; readonly kind: "poppedItems"; readonly items: readonly string[] }
  | { readonly ok: true; readonly kind: "poppedFrom"; readonly label: string; readonly item: string }
  | { readonly ok: true; readonly kind: "deletedCount"; readonly count: number }
  | Failure;

export type TopResult = { readonly ok: true; readonly kind: "top"; readonly item: string } | Failure;
export type SizeResult = { readonly ok: true; readonly kind: "size"; readonly size: number } | Failure;
export type GetResult =
  | {
      readonly ok: true;
      readonly kind: "stack";
      readonly id: number;
      readonly label: string;
      /** Bottom first; a copy, so callers may keep it. */
      readonly items: string[];
    }
  | Failure;

export interface StackInfo {
  readonly id: number;
  readonly label: string;
  readonly size: number;
}

export type InfoResult = ({ readonly ok: true; readonly kind: "info" } & StackInfo) | Failure;
