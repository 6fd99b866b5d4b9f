// Client HTTP API: seed text endpoints, JSON API, health, readiness and metrics (contract in docs/api.md).

export {
  type AccessControl,
  bearerToken,
  TOKEN_CHARS_MIN,
  TokenAuth,
  TokenFileError,
  type TokenFileErrorCode,
} from "./auth.js";
export {
  BLOCKING_WAITERS_MAX_DEFAULT,
  type BlockingPop,
  BlockingPopError,
  type BlockingPopOptions,
  BlockingPops,
} from "./blocking.js";
export type { RequestContext } from "./context.js";
export { ApiError, isServiceError, stackError } from "./errors.js";
export { ClientGuard, type ClientLimits, defaultClientLimits, type RefusalReason } from "./guard.js";
export { HttpApi, type HttpServerOptions } from "./http.js";
export { assertBodyFits, BODY_BYTES_MAX_DEFAULT, proposalBytesMax } from "./limits.js";
export { listenOn } from "./listen.js";
export type { Method, RouteSpec } from "./routes.js";
export type {
  ClusterMember,
  ClusterView,
  MemberInfo,
  MemberRole,
  MembershipService,
  NodeService,
  OutcomeReply,
  RunReply,
  ServiceError,
  ServiceErrorCode,
  StackService,
} from "./service.js";
export { isServiceErrorCode } from "./service.js";
