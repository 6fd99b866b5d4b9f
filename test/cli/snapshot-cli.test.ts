// `raftstack snapshot save` and `restore` as the CLI runs them: refusals print as every other command's
// errors do (`raftstack: <code>: <message>`, README "Exit codes"), with their own exit codes.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { encodeBackup } from "../../src/storage/index.js";
import { FakeNode } from "../client/fake-server.js";
import { cli } from "./run-cli.js";

const TEST_TIMEOUT_MS = 10_000;
const CLUSTER = "http://127.0.0.1:12379,http://127.0.0.1:22379";

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "raftstack-snapshot-cli-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The error line: progress lines (on stderr too) come before it. */
function errorLine(err: string): string {
  const lines = err.trimEnd().split("\n");
  assert.equal(lines.filter((l) => l.startsWith("raftstack")).length, 1, err);
  return lines.at(-1) ?? "";
}

/** A node that names itself leader and answers GET /v1/snapshot with `body`. */
async function leaderServing(body: string): Promise<FakeNode> {
  const node = new FakeNode(1, (req) =>
    req.url.startsWith("/v1/snapshot")
      ? { status: 200, json: body }
      : {
          status: 200,
          json: {
            ...{ id: 1, leader: 1, term: 2, commit: 5, applied: 5, viewFrom: 1 },
            members: [{ id: 1, peerUrl: "", clientUrl: node.url, match: 5, state: "replicate" }],
          },
        },
  );
  return node.start();
}

describe("snapshot save", { timeout: TEST_TIMEOUT_MS }, () => {
  test("into a folder that does not exist: one line naming the file, exit 2, no node asked", async () => {
    // Before the fix the failed open counted as a lost connection and was retried until the deadline.
    const node = await new FakeNode(1, () => ({
      status: 200,
      json: { id: 1, leader: 1, members: [{ id: 1, clientUrl: "http://127.0.0.1:1" }] },
    })).start();
    try {
      const file = join(dir, "missing", "backup.rsb");
      const r = await cli(["snapshot", "save", file, "--endpoints", node.url, "--deadline-ms", "3000"]);
      assert.equal(r.code, 2, r.err);
      assert.equal(
        r.err,
        `raftstack: snapshot save: cannot write ${file}: ENOENT: no such file or directory, open '${file}.part'\n`,
      );
      assert.equal(r.out, "");
      assert.equal(node.requests.length, 0, "the destination is checked before any node is asked");
    } finally {
      await node.stop();
    }
  });

  test("a download that is not a backup: `raftstack: <code>: <message>`, exit 3", async () => {
    // Printed `raftstack snapshot save: bad_magic: ...` before the one error printer.
    const node = await leaderServing("not a backup at all, but long enough for a header........");
    try {
      const file = join(dir, "backup.rsb");
      const r = await cli(["snapshot", "save", file, "--endpoints", node.url, "--deadline-ms", "3000"]);
      assert.equal(r.code, 3, r.err);
      assert.match(errorLine(r.err), /^raftstack: bad_magic: ./);
    } finally {
      await node.stop();
    }
  });
});

describe("snapshot restore", { timeout: TEST_TIMEOUT_MS }, () => {
  const restore = (file: string, dataDir: string) =>
    cli(["snapshot", "restore", file, "--data-dir", dataDir, "--id", "1", "--cluster", CLUSTER]);

  test("a file that is not a backup: `raftstack: bad_magic: <message>`, exit 3", async () => {
    // Printed `raftstack snapshot restore: bad_magic: ...` before the one error printer.
    const file = join(dir, "junk.rsb");
    writeFileSync(file, "x".repeat(100));
    const r = await restore(file, join(dir, "data"));
    assert.equal(r.code, 3, r.err);
    assert.match(errorLine(r.err), /^raftstack: bad_magic: ./);
    assert.equal(r.out, "");
  });

  test("a small backup: one progress line, in bytes", async () => {
    // Printed `snapshot restore: 0.0 MiB / 0.0 MiB (100%)` twice (the one update, then finish).
    const file = join(dir, "small.rsb");
    const backup = await encodeBackup({
      meta: { index: 7, term: 2, config: { voters: [1], learners: [] } },
      data: new Uint8Array(16),
    });
    const bytes = Buffer.concat(backup.parts);
    writeFileSync(file, bytes);
    const r = await restore(file, join(dir, "data"));
    assert.equal(r.code, 0, r.err);
    const progress = r.err.split("\n").filter((l) => l.startsWith("snapshot restore:"));
    assert.deepEqual(progress, [`snapshot restore: ${bytes.length} B / ${bytes.length} B (100%)`], r.err);
  });

  test("a data dir that is not empty: `raftstack: data_dir_not_empty: <message>`, exit 1", async () => {
    const file = join(dir, "ok.rsb");
    const data = new Uint8Array(16);
    const backup = await encodeBackup({
      meta: { index: 7, term: 2, config: { voters: [1], learners: [] } },
      data,
    });
    writeFileSync(file, Buffer.concat(backup.parts));
    const dataDir = join(dir, "data");
    assert.equal((await restore(file, dataDir)).code, 0, "an empty data dir is seeded");
    const again = await restore(file, dataDir);
    assert.equal(again.code, 1, again.err);
    assert.match(errorLine(again.err), /^raftstack: data_dir_not_empty: ./);
  });
});
