// The node: the Raft driver loop (shared with the simulator), storage, transport and the HTTP API wired together.

export { decodeAppSnapshot, encodeAppSnapshot, type ReplicatedMembers } from "./app-snapshot.js";
export {
  Driver,
  type DriverConfig,
  type DriverLimits,
  type DriverMutations,
  defaultDriverLimits,
} from "./driver.js";
export { ConfChangeError, NodeError, type NodeErrorCode } from "./errors.js";
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
export { clusterIdOf, type DriverOptions, type MemberStatus, type NodeStatus, RaftNode } from "./node.js";
export {
  envNameOf,
  type InitialMember,
  type LogLevel,
  NODE_FLAGS,
  type NodeFlag,
  type NodeInput,
  type NodeOptions,
  nodeDefaults,
  selfMember,
  UsageError,
  type UsageErrorCode,
  validateNodeOptions,
} from "./options.js";
export type { Clock, DriverHooks, DriverStorage, Reply } from "./ports.js";
export { type RunningNode, type StartExtras, startNode } from "./start.js";
