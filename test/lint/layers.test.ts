// The layer rule (DEVELOPERS.md: a layer imports another only through its index.ts) is a biome rule
// in biome.json, so `npm run lint` fails on a deep import. This proves the rule bites: it lints
// fixture files with the repository's own biome.json and expects each deep import to be reported.
// biome.json's second override exempts the eight storage/transport files whose deep imports of
// ../raft/types.js predate the rule; it goes once their owners import from ../raft/index.js.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";

const TEST_TIMEOUT_MS = 30_000;
const BIOME = resolve("node_modules/.bin/biome");
const dir = mkdtempSync(join(tmpdir(), "raftstack-layers-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const FIXTURES: Record<string, { readonly text: string; readonly deep: boolean }> = {
  "src/storage/deep-import.ts": {
    text: 'import type { Entry } from "../raft/types.js";\nexport type E = Entry;\n',
    deep: true,
  },
  "src/transport/deep-export.ts": { text: 'export { RaftCore } from "../raft/raft.js";\n', deep: true },
  "src/raft/deep-upward.ts": {
    text: 'import type { Command } from "../stack/types.js";\nexport type C = Command;\n',
    deep: true,
  },
  "src/stack/through-index.ts": {
    text: 'import type { Entry } from "../raft/index.js";\nimport { encode } from "./codec.js";\nexport type E = Entry | typeof encode;\n',
    deep: false,
  },
};

function lint(cwd: string): Promise<string> {
  return new Promise((done) => {
    execFile(
      BIOME,
      ["lint", "--vcs-enabled=false", "--max-diagnostics=100", "."],
      { cwd, timeout: TEST_TIMEOUT_MS },
      (_err, stdout, stderr) => done(stdout + stderr),
    );
  });
}

test("biome fails on an import of another layer's file other than its index.ts", {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  cpSync("biome.json", join(dir, "biome.json"));
  for (const [path, { text }] of Object.entries(FIXTURES)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const report = await lint(dir);
  for (const [path, { deep }] of Object.entries(FIXTURES)) {
    const flagged = new RegExp(
      `${path.replaceAll(".", "\\.")}:\\d+:\\d+ lint/style/noRestrictedImports`,
    ).test(report);
    assert.equal(flagged, deep, `${path} ${deep ? "not reported" : "reported"}:\n${report}`);
  }
  assert.match(report, /a layer imports another only through its index\.ts/);
});
