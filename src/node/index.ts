// The node: Raft driver loop, storage, transport and the HTTP API wired together.

export { NodeError, type NodeErrorCode } from "./errors.js";
export { parseNodeArgs } from "./flags.js";
export {
  addNodeCommands,
  EXIT_CORRUPT,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  main,
  type NodeCommandContext,
  runNode,
  runRepairCommand,
  usageExitCode,
} from "./main.js";
export { NodeMetrics } from "./metrics.js";
export {
  type DriverLimits,
  type DriverOptions,
  defaultDriverLimits,
  type MemberStatus,
  type NodeStatus,
  RaftNode,
} from "./node.js";
export {
  defaultClientUrl,
  envNameOf,
  type LogLevel,
  NODE_FLAGS,
  type NodeFlag,
  type NodeInput,
  type NodeOptions,
  nodeDefaults,
  UsageError,
  type UsageErrorCode,
  validateNodeOptions,
} from "./options.js";
export { type RunningNode, type StartExtras, startNode } from "./start.js";
