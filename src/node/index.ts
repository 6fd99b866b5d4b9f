// The node: the Raft driver loop (shared with the simulator), storage, transport and the HTTP API wired together.
export {
  Driver,
  type DriverConfig,
  type DriverLimits,
  type DriverMutations,
  defaultDriverLimits,
} from "./driver.js";
export { MembershipMismatchError, NodeError, type NodeErrorCode } from "./errors.js";
export { main, runNodeCommand, runRepairCommand } from "./main.js";
export { NodeMetrics } from "./metrics.js";
export { type DriverOptions, type MemberStatus, type NodeStatus, RaftNode } from "./node.js";
export {
  defaultClientUrl,
  type LogLevel,
  type NodeOptions,
  nodeDefaults,
  parseNodeArgs,
  UsageError,
} from "./options.js";
export type { Clock, DriverStorage, Reply } from "./ports.js";
export { type RunningNode, type StartExtras, startNode } from "./start.js";
