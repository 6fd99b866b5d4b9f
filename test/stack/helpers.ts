import {
  type Command,
  encodeCommand,
  type Operation,
  type Outcome,
  StackMachine,
} from "../../src/stack/index.js";

/** Feeds commands to a machine at consecutive log indexes, the way the node's apply loop does. */
export class Driver {
  readonly machine: StackMachine;
  atMs = 1_000;

  constructor(machine: StackMachine = new StackMachine()) {
    this.machine = machine;
  }

  run(op: Operation, opts: { key?: string; atMs?: number } = {}): Outcome {
    if (opts.atMs !== undefined) this.atMs = opts.atMs;
    const cmd: Command =
      opts.key === undefined ? { ...op, atMs: this.atMs } : { ...op, key: opts.key, atMs: this.atMs };
    return this.machine.apply(this.machine.appliedIndex + 1, encodeCommand(cmd));
  }
}
