import { runNode } from "../node/index.js";
import { run } from "./program.js";

const color = process.stdout.isTTY === true && process.env["NO_COLOR"] === undefined;
// Exit explicitly: the cluster console keeps stdin open, and a closed node may leave idle handles.
process.exit(
  await run(
    process.argv.slice(2),
    { out: process.stdout, err: process.stderr, input: process.stdin, color, env: process.env },
    { runNode },
  ),
);
