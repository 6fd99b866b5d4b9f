// Checks of a finished history besides linearizability, each with its own count and a few examples, so a
// report says what kind of wrong happened and where.
import type { Answer, OpRecord } from "./record.js";

export interface ExplicitCounts {
  /** Acknowledged pushes whose value no pop ever returned, once every stack was drained. */
  readonly lostWrites: number;
  /** Values returned by more than one pop. */
  readonly duplicatePops: number;
  /** Values a pop or top returned that no push could have written. */
  readonly phantomValues: number;
  /** Keys whose definite answers disagree between attempts: applied more than once. */
  readonly duplicateApplies: number;
  /** Answers the API never gives to these requests (404, 500, ...). */
  readonly unexpectedAnswers: number;
}

export interface ExplicitFindings {
  readonly counts: ExplicitCounts;
  /** Acknowledged pushes never popped that unknown pops on the same stack could account for. */
  readonly lostExcusedByUnknownPops: number;
  /** Writes retried with their key (more than one attempt) and echoes answered: what exactly-once covered. */
  readonly retriedKeys: number;
  readonly echoesAnswered: number;
  /** First few examples per check, one line each. */
  readonly examples: Record<keyof ExplicitCounts, string[]>;
}

const examplesMax = 5;

function sameAnswer(a: Answer, b: Answer): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function describe(op: OpRecord): string {
  const what = op.f === "push" ? `push(${op.stack}, ${JSON.stringify(op.value)})` : `${op.f}(${op.stack})`;
  const answer = op.answer === undefined ? "?" : JSON.stringify(op.answer);
  return `#${op.id} p${op.process} [${op.call.toFixed(1)}, ${op.ret?.toFixed(1) ?? "?"}] ${what} -> ${answer}`;
}

/**
 * Runs every explicit check. `drained` says the drain emptied every stack; without it lost writes cannot
 * be told from values still in a stack and count as 0.
 */
export function explicitChecks(ops: readonly OpRecord[], drained: boolean): ExplicitFindings {
  const examples: Record<keyof ExplicitCounts, string[]> = {
    lostWrites: [],
    duplicatePops: [],
    phantomValues: [],
    duplicateApplies: [],
    unexpectedAnswers: [],
  };
  const note = (check: keyof ExplicitCounts, line: string) => {
    if (examples[check].length < examplesMax) examples[check].push(line);
  };

  // Every push that may have happened, by value (values are unique per run).
  const pushes = new Map<string, OpRecord>();
  for (const op of ops)
    if (op.f === "push" && !op.notApplied && op.value !== undefined) pushes.set(op.value, op);

  const poppedBy = new Map<string, OpRecord[]>();
  const unknownPopsByStack = new Map<string, number>();
  let phantomValues = 0;
  let duplicateApplies = 0;
  let unexpectedAnswers = 0;
  let retriedKeys = 0;
  let echoesAnswered = 0;

  for (const op of ops) {
    const answer = op.answer;
    if (op.f === "pop" && answer === undefined && !op.notApplied)
      unknownPopsByStack.set(op.stack, (unknownPopsByStack.get(op.stack) ?? 0) + 1);
    if (answer?.kind === "error") {
      unexpectedAnswers++;
      note("unexpectedAnswers", describe(op));
    }
    if (answer?.kind === "value") {
      const push = pushes.get(answer.value);
      if (push === undefined || push.stack !== op.stack) {
        phantomValues++;
        note("phantomValues", `${describe(op)}: no push of this value on this stack`);
      }
      if (op.f === "pop") {
        const list = poppedBy.get(answer.value) ?? [];
        list.push(op);
        poppedBy.set(answer.value, list);
      }
    }
    if (op.key !== undefined) {
      if (op.attempts.filter((a) => !a.echo).length > 1) retriedKeys++;
      const definite = op.attempts.filter((a) => a.answer !== undefined && a.answer.kind !== "error");
      echoesAnswered += definite.filter((a) => a.echo).length;
      const first = definite[0]?.answer;
      const odd = definite.find((a) => first !== undefined && !sameAnswer(a.answer!, first));
      if (odd !== undefined && first !== undefined) {
        duplicateApplies++;
        note(
          "duplicateApplies",
          `${describe(op)}: key ${op.key} answered ${JSON.stringify(first)} then ${JSON.stringify(odd.answer)} (node ${odd.node} at ${odd.start.toFixed(1)})`,
        );
      }
    }
  }

  let duplicatePops = 0;
  for (const [value, list] of poppedBy) {
    if (list.length < 2) continue;
    duplicatePops++;
    note("duplicatePops", `value ${JSON.stringify(value)} popped by ${list.map(describe).join(" and ")}`);
  }

  // An acknowledged push whose value never came back is lost, unless an unknown pop on its stack took it.
  const lostByStack = new Map<string, OpRecord[]>();
  if (drained) {
    for (const push of pushes.values()) {
      if (push.answer?.kind !== "ok" || poppedBy.has(push.value ?? "")) continue;
      const list = lostByStack.get(push.stack) ?? [];
      list.push(push);
      lostByStack.set(push.stack, list);
    }
  }
  let lostWrites = 0;
  let lostExcusedByUnknownPops = 0;
  for (const [stack, list] of lostByStack) {
    const excused = Math.min(list.length, unknownPopsByStack.get(stack) ?? 0);
    lostExcusedByUnknownPops += excused;
    lostWrites += list.length - excused;
    if (list.length > excused) for (const push of list) note("lostWrites", `${describe(push)}: never popped`);
  }

  return {
    counts: { lostWrites, duplicatePops, phantomValues, duplicateApplies, unexpectedAnswers },
    lostExcusedByUnknownPops,
    retriedKeys,
    echoesAnswered,
    examples,
  };
}
