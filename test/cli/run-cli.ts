// Runs one `raftstack` command line in this process, as bin/raftstack.js would, and collects its output.
import { PassThrough } from "node:stream";
import { run } from "../../src/cli/program.js";
import type { NodeOptions } from "../../src/node/index.js";

export interface Outcome {
  readonly code: number;
  readonly out: string;
  readonly err: string;
  /** Options of every node the command started (runNode is a stand-in that returns 0 at once). */
  readonly started: NodeOptions[];
}

export async function cli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  const out = new PassThrough();
  const err = new PassThrough();
  const text = (s: PassThrough) => {
    const chunks: Buffer[] = [];
    s.on("data", (c: Buffer) => chunks.push(c));
    return () => Buffer.concat(chunks).toString("utf8");
  };
  const [outText, errText] = [text(out), text(err)];
  const started: NodeOptions[] = [];
  const io = { out, err, input: new PassThrough(), color: false, env };
  const code = await run(argv, io, {
    runNode: async (o) => {
      started.push(o);
      return 0;
    },
  });
  return { code, out: outText(), err: errText(), started };
}
