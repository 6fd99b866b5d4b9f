export type { RaftEvent, RaftEventType, VoteRefusal } from "./events.js";
export { RaftLog } from "./log.js";
export { limitBytes, MemoryStorage } from "./memory-storage.js";
export { defaultRaftLimits, type RaftConfig, type RaftLimits, type RaftMutations } from "./options.js";
export { Prng } from "./prng.js";
export { Raft } from "./raft.js";
export * from "./types.js";
