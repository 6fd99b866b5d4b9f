// The node: the Raft driver loop (shared with the simulator), storage, transport and the HTTP API wired together.
export { systemClock } from "./clock.js";
export {
  Driver,
  type DriverConfig,
  type DriverDeps,
  type DriverLimits,
  type DriverMutations,
  defaultDriverLimits,
} from "./driver.js";
export { MembershipMismatchError, NodeError, type NodeErrorCode } from "./errors.js";
export { main, runNodeCommand, runRepairCommand } from "./main.js";
export { startingVoters } from "./membership.js";
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
export type { Clock, DriverHooks, DriverLogger, DriverStorage, PeerNetwork, Reply } from "./ports.js";
export { type RepairOutcome, repairDataDir } from "./repair.js";
export { type RunningNode, type StartExtras, startNode } from "./start.js";
