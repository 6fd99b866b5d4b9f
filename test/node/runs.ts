// Fast-lane runs for the node tests: keyless LPUSH commands as the RESP listener hands them over, and a
// RunReply that records each command's answer.
import assert from "node:assert/strict";
import type { NodeError } from "../../src/node/index.js";
import type { AsciiPushes, Outcome } from "../../src/stack/index.js";

/**
 * Keyless LPUSH commands (label, then items) as the RESP fast lane hands them over: label and items as
 * ASCII bytes of one buffer, after `padding` (a run read from the middle of a larger buffer).
 */
export function asciiRun(commands: readonly (readonly string[])[], padding = ""): AsciiPushes {
  const text = `${padding}${commands.flat().join("")}${padding}`;
  const spans: number[] = [];
  let at = padding.length;
  for (const [label, ...items] of commands) {
    spans.push(at, at + (label as string).length, items.length);
    at += (label as string).length;
    for (const item of items) {
      spans.push(at, at + item.length);
      at += item.length;
    }
  }
  return { src: Buffer.from(text, "latin1"), count: commands.length, spans: Uint32Array.from(spans) };
}

/** LPUSH s a, then LPUSH s b: the run of the keyless tests whose answer is lost. */
export const pushAThenB = (): AsciiPushes =>
  asciiRun([
    ["s", "a"],
    ["s", "b"],
  ]);

/**
 * A RunReply keeping each command's outcome or error code by index; an index answered twice throws.
 * `sizes(count)`: each answer as the pushed size, else the error code or the outcome.
 */
export function runAnswers() {
  const answers = new Map<number, Outcome | string>();
  const put = (i: number, a: Outcome | string) => {
    assert.ok(!answers.has(i), `command ${i} answered twice`);
    answers.set(i, a);
  };
  return {
    answers,
    sizes: (count: number) =>
      Array.from({ length: count }, (_, i) => {
        const o = answers.get(i);
        return typeof o === "object" && o.ok && o.kind === "pushed" ? o.size : o;
      }),
    reply: {
      resolveAt: (i: number, o: Outcome) => put(i, o),
      rejectAt: (i: number, err: Error) => put(i, (err as NodeError).code),
    },
  };
}
