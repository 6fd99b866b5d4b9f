// The node: the Raft driver loop (shared with the simulator), storage, transport and the HTTP API wired together.

export { appSnapshotHead, decodeAppSnapshot, type ReplicatedMembers } from "./app-snapshot.js";
export {
  clusterViewBytesMax,
  clusterViewTimeoutMs,
  type MemberStatus,
  type NodeStatus,
  PROGRESS_LEADER_ONLY,
} from "./cluster-view.js";
export { Driver } from "./driver.js";
export {
  type DriverConfig,
  type DriverLimits,
  type DriverMutations,
  defaultDriverLimits,
} from "./driver-config.js";
export { ConfChangeError, NodeError, type NodeErrorCode } from "./errors.js";
export {
  describeEvent,
  type EventCategory,
  eventCategory,
  type NodeEvent,
  type TimelineEvent,
} from "./event-text.js";
export { parseNodeArgs } from "./flags.js";
export {
  addNodeCommands,
  EXIT_CORRUPT,
  EXIT_DEGRADED,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  main,
  type NodeCommandContext,
  type ProgressFactory,
  type ProgressSink,
  runNode,
  runRepair,
  usageErrorText,
  usageExitCode,
} from "./main.js";
export { type MetricsSample, type MetricsSource, NodeMetrics, type RouteLabel } from "./metrics.js";
export { type DriverOptions, RaftNode } from "./node.js";
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
export { clusterIdOf } from "./peer-links.js";
export type { Clock, DriverHooks, DriverStorage, Reply } from "./ports.js";
export { PublishSchedule, type PublishState } from "./publish-schedule.js";
export { RECENT_EVENTS_MAX_DEFAULT, type RecentEvent, RecentEvents } from "./recent-events.js";
export { type RunningNode, type Shutdown, type StartExtras, startNode } from "./start.js";
export { nodeMutationNames } from "./test-hooks.js";
