// Test-only: the driver's deliberate bugs in the RESP fast lane's runs (DriverMutations), which the
// simulator's fast-lane clients must catch. Never on unless a mutation switch is set.
import type { AsciiPushes, Outcome } from "../stack/index.js";
import type { DriverMutations } from "./driver-config.js";
import type { Reply } from "./ports.js";

/** What a broken run's commands are told instead of their outcome. */
const pushed: Outcome = { ok: true, kind: "pushed", size: 0 };
const ignored: Reply<Outcome> = { resolve: () => {}, reject: () => {} };

/**
 * `run` and `reply` as a run mutation breaks them, or undefined if none is on. ackRunBeforeCommit: every
 * command is answered "pushed" before it is even proposed, and the real answers are dropped.
 * dropRunLastPush: the entry leaves the last command out, which is answered "pushed" after the others.
 * duplicateRunLastPush: the entry holds the last command twice; the second copy's answer is dropped.
 */
export function mutateRun(
  m: DriverMutations,
  run: AsciiPushes,
  reply: Reply<Outcome>,
): { readonly run: AsciiPushes; readonly reply: Reply<Outcome> } | undefined {
  if (m.ackRunBeforeCommit === true) {
    for (let i = 0; i < run.count; i++) reply.resolve(pushed);
    return { run, reply: ignored };
  }
  if (m.duplicateRunLastPush === true)
    return { run: withLastTwice(run), reply: answeredUpTo(run.count, reply) };
  if (m.dropRunLastPush !== true || run.count < 2) return undefined;
  // Spans are read command by command up to `count`: the shorter run is the same run without its last.
  let left = run.count - 1;
  const answered = () => {
    if (--left === 0) reply.resolve(pushed);
  };
  return {
    run: { src: run.src, spans: run.spans, count: run.count - 1 },
    reply: {
      resolve: (outcome) => {
        reply.resolve(outcome);
        answered();
      },
      reject: (err) => {
        reply.reject(err);
        answered();
      },
    },
  };
}

/** `run` with its last command once more at its end. */
function withLastTwice(run: AsciiPushes): AsciiPushes {
  const { spans, count } = run;
  let last = 0;
  let end = 0;
  for (let i = 0; i < count; i++) {
    last = end;
    end += 3 + 2 * (spans[end + 2] as number);
  }
  const twice = new Uint32Array(end + (end - last));
  twice.set(spans.subarray(0, end));
  twice.set(spans.subarray(last, end), end);
  return { src: run.src, spans: twice, count: count + 1 };
}

/** `reply` for the first `count` answers; later ones are dropped. */
function answeredUpTo(count: number, reply: Reply<Outcome>): Reply<Outcome> {
  let seen = 0;
  return {
    resolve: (outcome) => {
      if (seen++ < count) reply.resolve(outcome);
    },
    reject: (err) => {
      if (seen++ < count) reply.reject(err);
    },
  };
}
