import { type ApiErrorCode, apiErrorStatusByCode, type TransferFailureReason } from "../api/index.js";
import { defaultStackLimits, type ErrorCode as StackErrorCode } from "../stack/index.js";
import { isServiceErrorCode, type ServiceError, type ServiceErrorCode } from "./service.js";

/**
 * An error answer: a stable code, its one status (from the API's table), a message for people and, for
 * `transfer_failed`, a stable `reason`.
 */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly code: ApiErrorCode;
  readonly status: number;
  readonly reason: TransferFailureReason | undefined;

  constructor(
    code: ApiErrorCode,
    message: string,
    options?: { readonly cause?: unknown; readonly reason?: TransferFailureReason | undefined },
  ) {
    super(message, options);
    this.code = code;
    this.status = apiErrorStatusByCode[code];
    this.reason = options?.reason;
  }
}

export const badRequest = (message: string): ApiError => new ApiError("bad_request", message);

/** The stack layer's codes are the API's, except its generic bad_command, which is bad_request. */
function apiCodeOf(code: StackErrorCode): ApiErrorCode {
  return code === "bad_command" ? "bad_request" : code;
}

/** Every code has its own message (a Record, not Partial): a new code cannot fall back to a vague one. */
const stackMessages: Readonly<Record<StackErrorCode, string>> = {
  bad_command: "malformed request",
  stack_not_found: "no such stack",
  stack_empty: "stack is empty",
  item_too_large: `item exceeds ${defaultStackLimits.itemBytesMax} bytes`,
  label_too_large: `label exceeds ${defaultStackLimits.labelBytesMax} bytes`,
  label_invalid: "label must be non-empty valid UTF-8",
  item_invalid: "item must be valid UTF-8",
  key_invalid: `Idempotency-Key must be 1..${defaultStackLimits.keyBytesMax} bytes`,
  // One code covers pushed items, a counted pop (LPOP key count) and the stacks one DEL/BLPOP names.
  too_many_items: `too many in one command: at most ${defaultStackLimits.pushItemsMax} items per push, ${defaultStackLimits.popItemsMax} per counted pop, ${defaultStackLimits.labelsPerCommandMax} stacks per command`,
  capacity_exceeded: "cluster capacity exceeded",
  idempotency_key_reused:
    "this idempotency key was first used for a different request; nothing was applied (use a new key for a new request)",
  idempotency_keys_full:
    "too many idempotency keys held until older ones expire; nothing was applied, retry later",
};

export function stackError(code: StackErrorCode): ApiError {
  return new ApiError(apiCodeOf(code), stackMessages[code]);
}

/** A rejection of the StackService (see ServiceErrorCode). */
export function isServiceError(err: unknown): err is ServiceError {
  if (!(err instanceof Error)) return false;
  const code: unknown = (err as { code?: unknown }).code;
  return typeof code === "string" && isServiceErrorCode(code);
}

/** The API code of a service rejection: not_leader (nothing was proposed) is no_leader, too_large a timeout. */
const apiCodeOfService: Readonly<Record<ServiceErrorCode, ApiErrorCode>> = {
  no_leader: "no_leader",
  not_leader: "no_leader",
  timeout: "timeout",
  stopped: "stopped",
  busy: "busy",
  too_large: "timeout",
  bad_request: "bad_request",
  internal: "internal",
  config_change_pending: "config_change_pending",
  config_invalid: "config_invalid",
  transfer_failed: "transfer_failed",
};

function serviceError(err: ServiceError): ApiError {
  return new ApiError(apiCodeOfService[err.code], err.message, { cause: err, reason: err.reason });
}

/** The answer for any error a handler raised; undefined for an unexpected fault (a 500 to log). */
export function apiErrorOf(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (isServiceError(err)) return serviceError(err);
  return undefined;
}
