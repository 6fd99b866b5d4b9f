export { RaftLog } from "./log.js";
export { limitBytes, MemoryStorage } from "./memory-storage.js";
export { Prng } from "./prng.js";
export { defaultRaftLimits, Raft, type RaftConfig, type RaftLimits, type RaftMutations } from "./raft.js";
export * from "./types.js";
