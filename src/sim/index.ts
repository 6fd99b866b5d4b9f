export {
  type DiskMode,
  defaultDiskMode,
  describeParams,
  diskModes,
  type FaultKind,
  faultKinds,
  isDiskMode,
  isFaultKind,
  isMutationName,
  type MutationName,
  mutationNames,
  type SimParams,
} from "./params.js";
export type { SimOptions, SimResult, SimStats } from "./run-types.js";
export { runSimulation } from "./simulation.js";
export { traceHtml } from "./trace-html.js";
export {
  defaultRecorderLimits,
  type RecorderLimits,
  type Recording,
  TraceRecorder,
} from "./trace-recorder.js";
