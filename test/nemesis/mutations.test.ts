// Deliberate bugs in real node processes must be caught by short nemesis runs (the whole table is
// `npm run nemesis:mutations`; docs/nemesis.md). Ports 32000-32099 belong to this file (29200-29299 is e2e/addressing's).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { runMutations } from "./mutations.js";

const BASE_PORT = 32000;
const DURATION_S = 20;

describe("nemesis catches deliberate bugs", { timeout: 3 * (DURATION_S + 240) * 1000 }, () => {
  test("applyRetriesTwice, readWithoutReadIndex and ackBeforeFsync each end in a violation", async () => {
    const out = mkdtempSync(join(tmpdir(), "raftstack-nemesis-mutations-"));
    const rows = await runMutations(
      {
        mutations: ["applyRetriesTwice", "readWithoutReadIndex", "ackBeforeFsync"],
        seed: 3,
        durationS: DURATION_S,
        nodes: 3,
        outDir: out,
        basePort: BASE_PORT,
      },
      (line) => process.stderr.write(`${line}\n`),
    );
    for (const r of rows)
      assert.ok(r.caught, `${r.mutation} not caught: ${r.verdict} (${r.why.join("; ")}), ${r.out}`);
    rmSync(out, { recursive: true, force: true });
  });
});
