import { CommanderError } from "commander";
import { RaftstackError } from "../client/index.js";
import { runNodeCommand, runRepairCommand } from "../node/index.js";
import { buildProgram, type Io, route } from "./program.js";

/** Exit codes: 0 ok, 1 the cluster answered an error or could not be reached, 2 bad usage. */
async function main(argv: readonly string[], io: Io): Promise<number> {
  try {
    const r = route(argv);
    if (r.kind === "node") return await runNodeCommand(r.argv);
    if (r.kind === "repair") return await runRepairCommand(r.argv);
    await buildProgram(io).parseAsync([...argv], { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof RaftstackError) {
      io.err.write(`raftstack: ${err.code}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

const color = process.stdout.isTTY === true && process.env["NO_COLOR"] === undefined;
// Exit explicitly: the cluster console keeps stdin open, and a closed node may leave idle handles.
process.exit(
  await main(process.argv.slice(2), {
    out: process.stdout,
    err: process.stderr,
    input: process.stdin,
    color,
  }),
);
