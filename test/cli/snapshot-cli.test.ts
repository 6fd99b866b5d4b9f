// `raftstack snapshot save` as the CLI runs it.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { FakeNode } from "../client/fake-server.js";
import { cli } from "./run-cli.js";

const TEST_TIMEOUT_MS = 10_000;

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "raftstack-snapshot-cli-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

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
});
