// The console's saved state (src/cli/console-state.ts): what a console started again in the same folder
// takes up; a file it cannot read stops it with a usage error naming the file.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CONSOLE_STATE_FILE, readConsoleState, writeConsoleState } from "../../src/cli/console-state.js";
import { UsageError } from "../../src/node/index.js";

test("console state: none, saved and read back, unreadable", () => {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-console-state-"));
  try {
    assert.deepEqual(readConsoleState(dir), { added: [], removed: [] });
    const state = {
      added: [
        {
          id: 4,
          clientPort: 42380,
          peerPort: 42379,
          respPort: 46379,
          cluster: "1=http://a,4=http://d",
          joining: false,
        },
        { id: 6, clientPort: 6000, peerPort: 5999, cluster: "6=http://f", joining: true },
      ],
      removed: [2, 5],
    };
    writeConsoleState(dir, state);
    assert.deepEqual(readConsoleState(dir), state);
    const path = join(dir, CONSOLE_STATE_FILE);
    for (const bad of ["{", '{"added":[{"id":0}],"removed":[]}', '{"added":[],"removed":["2"]}', "[]"]) {
      writeFileSync(path, bad);
      assert.throws(
        () => readConsoleState(dir),
        (e) => e instanceof UsageError && e.message.includes(path),
        bad,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
