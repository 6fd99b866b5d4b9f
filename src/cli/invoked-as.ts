import { basename, relative } from "node:path";

/** How the user ran raftstack, for the banner's hints: `raftstack` once installed, else `node bin/raftstack.js`. */
export function invokedAs(script: string, npmCommand = process.env.npm_command): string {
  if (basename(script) !== "raftstack") return `node ${relative(process.cwd(), script) || script}`;
  // Under npx (npm exec) the command is on the PATH only inside npx: a newcomer's shell needs npx too.
  return npmCommand === "exec" ? "npx raftstack" : "raftstack";
}
