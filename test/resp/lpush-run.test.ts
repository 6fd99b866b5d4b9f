// The fast lane's reader against the parser: every request it takes must be one the parser reads as a
// valid keyless LPUSH of the same label and items, it must stop where the parser's requests end, and
// it must not stop before a request it could take.
import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultDriverLimits } from "../../src/node/driver-config.js";
import { defaultLeaderRequestLimits } from "../../src/node/leader-requests.js";
import { RUN_KEY_BYTES_MAX } from "../../src/node/run-forward.js";
import { defaultRespLimits, type RespLimits } from "../../src/resp/limits.js";
import { assertRunFits, RUN_COMMANDS_MAX, readLpushRun } from "../../src/resp/lpush-run.js";
import { RespParser } from "../../src/resp/parser.js";
import { asciiPushCommand, defaultStackLimits, type StackLimits } from "../../src/stack/index.js";
import fc from "../fast-check.js";
import { frame } from "./helpers.js";

// Small limits, so requests at and past them are common.
const stack: StackLimits = { ...defaultStackLimits, labelBytesMax: 4, itemBytesMax: 6, pushItemsMax: 3 };
const limits: RespLimits = { ...defaultRespLimits, argsMax: 6, bulkBytesMax: 5, requestBytesMax: 70 };

const word = fc.constantFrom("", "a", "k", "abcd", "abcde", "xxxxxx", "é", "a\u0080b", "1 2", "\r\n", "$3");
const request = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(fc.constantFrom("LPUSH", "lpush", "LPush", "LPUSHX", "LPOP"), fc.array(word, { maxLength: 5 }))
      .map(([name, args]) => frame(name, ...args)),
  },
  { weight: 1, arbitrary: fc.constantFrom(frame("PING"), frame("LLEN", "k"), "PING\r\n") },
  {
    weight: 1,
    // Headers the parser reads leniently or refuses: the reader takes none of them.
    arbitrary: fc.constantFrom(
      "*3\r\n$5\r\nLPUSH\r\n$01\r\nk\r\n$1\r\nx\r\n",
      "*+3\r\n$5\r\nLPUSH\r\n$1\r\nk\r\n$1\r\nx\r\n",
      "*3\r\n$5\r\nLPUSH\r\n$1\r\nk\r\n$1\r\nxy\r\n",
      "*3\r\n$5\r\nLPUSH\r\n$1\r\nk\r\n$-1\r\n",
      "*2\r\n$5\r\nLPUSH\r\n$1\r\nk\r\n",
    ),
  },
);

/** Whether the parser's request is one the fast lane may take (what the normal path runs as a valid LPUSH). */
function eligible(args: readonly string[]): boolean {
  const ascii = (s: string) => [...s].every((c) => c.charCodeAt(0) < 0x80);
  return (
    args.length >= 3 &&
    args[0]?.toUpperCase() === "LPUSH" &&
    args.every(ascii) &&
    (args[1] as string).length >= 1 &&
    (args[1] as string).length <= stack.labelBytesMax &&
    args.length - 2 <= stack.pushItemsMax &&
    args.slice(2).every((item) => item.length <= stack.itemBytesMax)
  );
}

test("a run is the longest prefix of eligible requests, read as the parser reads them", () => {
  fc.assert(
    fc.property(
      fc.array(request, { maxLength: 12 }),
      fc.integer({ min: 1, max: RUN_COMMANDS_MAX }),
      fc.nat({ max: 20 }),
      (requests, commandsMax, cut) => {
        const whole = Buffer.from(requests.join(""));
        // Sometimes the chunk ends inside a request.
        const chunk = whole.subarray(0, Math.max(0, whole.length - cut));
        const run = readLpushRun(chunk, 0, commandsMax, limits, stack);
        const parser = new RespParser(limits);
        parser.push(chunk);
        const parsed: (readonly string[])[] = [];
        let bytesAfter: number[] = [];
        for (;;) {
          let r: ReturnType<RespParser["next"]>;
          try {
            r = parser.next();
          } catch {
            break;
          }
          if (r === undefined || r.invalid !== undefined) break;
          parsed.push(r.args);
          bytesAfter = [...bytesAfter, chunk.length - parser.buffered];
        }
        let n = 0;
        while (n < parsed.length && n < commandsMax && eligible(parsed[n] as string[])) n++;
        // Runs end at 64 KiB too; these chunks are far smaller.
        assert.equal(run?.count ?? 0, n, JSON.stringify(chunk.toString("latin1")));
        if (run === undefined) return;
        assert.equal(run.end, bytesAfter[n - 1]);
        for (let i = 0; i < n; i++) {
          const args = parsed[i] as string[];
          assert.deepEqual(asciiPushCommand(run, i, 0), {
            type: "lpush",
            label: args[1],
            items: args.slice(2),
            atMs: 0,
          });
        }
      },
    ),
    { numRuns: 2000 },
  );
});

test("a run must fit what the driver takes whole: the shipped limits do, smaller ones are refused at start", () => {
  const shipped = {
    ...defaultDriverLimits,
    ...defaultLeaderRequestLimits,
    runKeyBytesMax: RUN_KEY_BYTES_MAX,
  };
  assertRunFits(shipped);
  const small = [
    { ...shipped, commandsPerBatchMax: RUN_COMMANDS_MAX - 1 },
    { ...shipped, proposalsPendingMax: RUN_COMMANDS_MAX - 1 },
    { ...shipped, forwardsPendingMax: RUN_COMMANDS_MAX - 1 },
    { ...shipped, batchBytesMax: 32 * 1024 },
    // A forwarded run's keys: 64 KiB of requests and 64 keys of 4,000 bytes pass a batch of 256 KiB.
    { ...shipped, runKeyBytesMax: 4000 },
  ];
  for (const limits of small) assert.throws(() => assertRunFits(limits), RangeError);
});
