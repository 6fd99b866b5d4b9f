// The Redis protocol (RESP2/RESP3) listener: stacks as lists keyed by label (docs/resp.md).

export type { Authenticator } from "./command-types.js";
export { assertRespLimits, defaultRespLimits, type RespLimits } from "./limits.js";
export { assertRunFits, RUN_BYTES_MAX, type RunTaker } from "./lpush-run.js";
export { type Request, RespParser, RespProtocolError } from "./parser.js";
export { RespServer, type RespServerOptions } from "./server.js";
