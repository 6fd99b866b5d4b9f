/**
 * One client operation as observed from outside. Times are caller-supplied numbers (virtual time in the
 * simulator), never read from a clock here. An operation whose outcome is unknown (timeout, lost
 * connection) has `output === undefined` and `ret === Infinity`: it may take effect after its call, or never.
 */
export interface Operation<I, O> {
  readonly clientId: number;
  readonly input: I;
  readonly call: number;
  readonly ret: number;
  readonly output: O | undefined;
}

/** Formats one operation's input and output; models provide this so failures read naturally. */
export type DescribeOperation<I, O> = (input: I, output: O | undefined) => string;

export function isUnknown<I, O>(op: Operation<I, O>): boolean {
  return op.output === undefined;
}

/** Rejects histories that would make the search meaningless (return before call, outcome without return). */
export function validateHistory<I, O>(history: readonly Operation<I, O>[]): void {
  history.forEach((op, i) => {
    if (!Number.isFinite(op.call))
      throw new RangeError(`operation #${i}: call time ${op.call} is not finite`);
    if (op.output === undefined) return;
    if (!Number.isFinite(op.ret)) throw new RangeError(`operation #${i}: has an output but no return time`);
    if (op.ret < op.call)
      throw new RangeError(`operation #${i}: returns at ${op.ret} before its call ${op.call}`);
  });
}

interface PendingOperation<I, O> {
  clientId: number;
  input: I;
  call: number;
  ret: number;
  output: O | undefined;
  closed: boolean;
}

/**
 * Records a history as clients run. Timestamps come from the caller so the simulator's virtual clock
 * and real clocks both work. Operations still open when `history()` is read count as unknown outcome.
 */
export class HistoryRecorder<I, O> {
  readonly #ops: PendingOperation<I, O>[] = [];

  constructor(private readonly opsMax = 1_000_000) {}

  /** Starts an operation and returns its id for `ret`/`unknown`. */
  call(clientId: number, input: I, time: number): number {
    if (this.#ops.length >= this.opsMax) throw new RangeError(`history is full (opsMax ${this.opsMax})`);
    this.#ops.push({ clientId, input, call: time, ret: Infinity, output: undefined, closed: false });
    return this.#ops.length - 1;
  }

  /** Completes an operation with the output the client saw. */
  ret(opId: number, output: O, time: number): void {
    const op = this.#open(opId);
    if (time < op.call) throw new RangeError(`operation ${opId}: return time ${time} before call ${op.call}`);
    op.ret = time;
    op.output = output;
    op.closed = true;
  }

  /** Closes an operation whose effect is unknown: it may have happened at any time after its call, or never. */
  unknown(opId: number): void {
    this.#open(opId).closed = true;
  }

  /** Snapshot of all operations so far, in call order of recording. */
  history(): Operation<I, O>[] {
    return this.#ops.map(({ clientId, input, call, ret, output }) => ({
      clientId,
      input,
      call,
      ret,
      output,
    }));
  }

  get size(): number {
    return this.#ops.length;
  }

  #open(opId: number): PendingOperation<I, O> {
    const op = this.#ops[opId];
    if (op === undefined) throw new RangeError(`unknown operation id ${opId}`);
    if (op.closed) throw new Error(`operation ${opId} already completed`);
    return op;
  }
}

export interface DescribeOptions<I, O> {
  readonly describe?: DescribeOperation<I, O>;
  /** Ids to print for each operation (defaults to its index in `history`). */
  readonly ids?: ReadonlyMap<Operation<I, O>, number>;
  /** Longer histories are cut so a failure report stays readable. */
  readonly linesMax?: number;
}

const defaultDescribe = (input: unknown, output: unknown): string =>
  `${JSON.stringify(input)} -> ${output === undefined ? "?" : JSON.stringify(output)}`;

/** One line per operation: id, client, [call, return] times, input and output. */
export function describeOperation<I, O>(
  op: Operation<I, O>,
  id: number,
  describe: DescribeOperation<I, O> = defaultDescribe,
): string {
  const ret = op.output === undefined ? "?" : String(op.ret);
  return `#${id} c${op.clientId} [${op.call}, ${ret}] ${describe(op.input, op.output)}`;
}

/** Prints a history sorted by call time, one operation a line. */
export function describeHistory<I, O>(
  history: readonly Operation<I, O>[],
  options: DescribeOptions<I, O> = {},
): string {
  const linesMax = options.linesMax ?? 1000;
  const ids = options.ids ?? new Map(history.map((op, i) => [op, i]));
  const sorted = [...history].sort((a, b) => a.call - b.call || (ids.get(a) ?? 0) - (ids.get(b) ?? 0));
  const lines = sorted
    .slice(0, linesMax)
    .map((op) => describeOperation(op, ids.get(op) ?? -1, options.describe));
  if (sorted.length > linesMax) lines.push(`... ${sorted.length - linesMax} more operations`);
  return lines.join("\n");
}
