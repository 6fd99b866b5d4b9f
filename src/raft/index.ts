export {
  type ConfChange,
  type ConfChangeOp,
  decodeConfChange,
  decodeConfigEntry,
  encodeConfChange,
  invalidReason as confChangeInvalidReason,
  isMember,
  wasRemoved,
} from "./confchange.js";
export type { ConfigAppliedEvent, RaftEvent, RaftEventType, VoteRefusal } from "./events.js";
export { RaftLog } from "./log.js";
export { limitBytes, MemoryStorage } from "./memory-storage.js";
export { defaultRaftLimits, type RaftConfig, type RaftLimits, type RaftMutations } from "./options.js";
export { Prng } from "./prng.js";
export { Raft } from "./raft.js";
export * from "./types.js";
