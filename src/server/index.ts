// Client HTTP API: seed text endpoints, JSON API, health and metrics (contract in docs/api.md).
export { BODY_BYTES_MAX_DEFAULT, HttpApi, type HttpServerOptions } from "./http.js";
export type { ClusterView, ServiceErrorCode, StackService } from "./service.js";
