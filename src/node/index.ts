// The node: the Raft driver loop (shared with the simulator), storage, transport and the HTTP API wired together.
export {
  Driver,
  type DriverConfig,
  type DriverLimits,
  type DriverMutations,
  defaultDriverLimits,
} from "./driver.js";
export { MembershipMismatchError, NodeError, type NodeErrorCode } from "./errors.js";
export { parseNodeArgs } from "./flags.js";
export {
  addNodeCommands,
  EXIT_CORRUPT,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  main,
  type NodeCommandContext,
  type ProgressFactory,
  type ProgressSink,
  runNode,
  runRepair,
  usageExitCode,
} from "./main.js";
export { NodeMetrics } from "./metrics.js";
export { type DriverOptions, type MemberStatus, type NodeStatus, RaftNode } from "./node.js";
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
export type { Clock, DriverStorage, Reply } from "./ports.js";
export { type RunningNode, type StartExtras, startNode } from "./start.js";
