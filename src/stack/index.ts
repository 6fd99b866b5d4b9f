export { type AsciiPushes, asciiPushCommand, type RunKeys, runKey } from "./ascii-pushes.js";
export {
  BatchEncoder,
  type BatchLimits,
  batchEntryBytesMax,
  decodeBatch,
  defaultBatchLimits,
  encodeBatch,
  isBatch,
} from "./batch.js";
export {
  decodeCommand,
  decodeOutcome,
  encodeCommand,
  encodeCommandAt,
  encodeOutcome,
  encodesExactly,
  readOutcome,
  writeOutcome,
} from "./codec.js";
export { commandOf } from "./command.js";
export { type ErrorCode, errorCodes, httpStatusByCode, httpStatusOf } from "./errors.js";
export {
  defaultStackLimits,
  isStackId,
  type StackLimits,
  utf8Length,
  validateCommand,
  validateItem,
  validateItems,
  validateKey,
  validateLabel,
} from "./limits.js";
export { StackMachine } from "./machine.js";
export type { ProposedCommands, StackMachineOptions } from "./machine-options.js";
export type {
  Command,
  Failure,
  GetResult,
  InfoResult,
  Operation,
  Outcome,
  SizeResult,
  StackInfo,
  TopResult,
} from "./types.js";
