// Time to decide the hot histories of issue 16 (not a test: run `node dist/test/check/bench-hot.js`
// after `npm run build`, under the shared heavy lock). Each is decided `repeats` times; prints the
// verdict and the median and fastest times.
import { checkHistory, stackModel } from "../../src/check/index.js";
import type { StackOp } from "./fixtures.js";
import { duplicatePop, legal, lostPush, reappearing, staleRead, withSizes } from "./hot.js";

const repeats = Number(process.argv[2] ?? 3);
const base = legal();
const cases: [string, StackOp[]][] = [
  ["legal", base],
  ["stale read", staleRead(base).history],
  ["duplicate pop", duplicatePop(base)],
  ["lost push", lostPush()],
  ["reappearing value", reappearing(base)],
  ["legal + 8% size reads, 1 stack", withSizes(1)],
  ["legal + 8% size reads, 4 stacks x 4 clients", withSizes(4)],
];
for (const [label, history] of cases) {
  const times: number[] = [];
  let verdict = "";
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    const r = checkHistory(stackModel, history);
    times.push(performance.now() - start);
    verdict = r.result === "unknown" ? `unknown (${r.reason.slice(0, 120)})` : r.result;
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  console.log(
    `${label.padEnd(44)} ${verdict.padEnd(10)} median ${median.toFixed(0)} ms, best ${times[0]!.toFixed(0)} ms`,
  );
}
