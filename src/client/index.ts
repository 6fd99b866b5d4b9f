// Typed client of the raftstack JSON API: leader preference, per-attempt timeout, overall deadline,
// retries on another node with one Idempotency-Key per write.

export type { ApiErrorCode, TransferFailureReason } from "../api/index.js";
export { RaftstackClient } from "./client.js";
export type { ClientErrorCode, RaftstackErrorCode, WriteOutcome } from "./errors.js";
export { RaftstackError } from "./errors.js";
export type { CallOptions, ClientOptions, ClientTls, ReadOptions, WriteOptions } from "./options.js";
export {
  BACKOFF_BASE_MS_DEFAULT,
  BACKOFF_MAX_MS_DEFAULT,
  CONNECTIONS_MAX_DEFAULT,
  DEADLINE_MS_DEFAULT,
  RESPONSE_BYTES_MAX_DEFAULT,
  RETRIES_DEFAULT,
  TIMEOUT_MS_DEFAULT,
} from "./options.js";
export type { ClusterInfo, HealthInfo, Member, MemberInfo, MemberList, StackInfo } from "./types.js";
