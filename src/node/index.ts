// The node: Raft driver loop, storage, transport and the HTTP API wired together.
export { NodeError, type NodeErrorCode } from "./errors.js";
export { main, runNodeCommand, runRepairCommand } from "./main.js";
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
  type LogLevel,
  type NodeOptions,
  nodeDefaults,
  parseNodeArgs,
  UsageError,
} from "./options.js";
export { type RunningNode, type StartExtras, startNode } from "./start.js";
