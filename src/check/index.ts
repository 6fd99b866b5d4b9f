// Linearizability checker: generic search over a sequential model, plus the stack model and history tools.
export {
  type CheckOptions,
  type CheckResult,
  checkHistory,
  type FastDecision,
  type Model,
} from "./checker.js";
export {
  type DescribeOperation,
  type DescribeOptions,
  describeHistory,
  describeOperation,
  HistoryRecorder,
  isUnknown,
  type Operation,
  validateHistory,
} from "./history.js";
export {
  type StackCell,
  type StackInput,
  type StackOutput,
  type StackState,
  stackModel,
} from "./stack-model.js";
