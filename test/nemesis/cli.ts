// `npm run nemesis -- [--seed S] [--nodes 3|5] [--duration 60] [--out DIR] [--faults all|kind,group,...]`
import { join } from "node:path";
import { type NemesisCommand, parseNemesisArgs, USAGE, UsageError } from "./options.js";
import { EXIT_CODES, recheckRun } from "./result.js";
import { runNemesis } from "./run.js";

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let command: NemesisCommand;
  try {
    command = parseNemesisArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`nemesis: ${err.message}\n${USAGE}\n`);
    return EXIT_CODES.error;
  }
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const outDir = command.kind === "run" ? command.options.outDir : command.dir;
  const result =
    command.kind === "run"
      ? await runNemesis(command.options, say)
      : recheckRun(command.dir, command.checkMs);
  const lin = result.linearizability;
  const e = result.explicit.counts;
  say(
    `nemesis: ${result.verdict} — ${result.ops.total} ops, linearizable ${lin.result} (${(lin.ms / 1000).toFixed(1)} s), ` +
      `lost ${e.lostWrites}, popped twice ${e.duplicatePops}, phantom ${e.phantomValues}, ` +
      `applied twice ${e.duplicateApplies}, unexpected ${e.unexpectedAnswers}, crashes ${result.nodeCrashes.length}`,
  );
  for (const w of result.why) say(`  ${w}`);
  say(`nemesis: report ${join(outDir, "report.md")}`);
  return result.exitCode;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`nemesis: ${(err as Error).stack ?? err}\n`);
    process.exit(EXIT_CODES.error);
  },
);
