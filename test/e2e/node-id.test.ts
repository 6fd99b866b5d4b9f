// A data dir remembers its node (`<data-dir>/node-id`): node 2 started on node 1's data dir (a slip of
// `--id N --data-dir D`) exits 2 naming both ids and the dir, and leaves node 1's state as it was.
// Ports 26700-26799 (this file's range).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Cluster, MAIN, track } from "./harness.js";

const CHILD_MS_MAX = 20_000;

function run(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: CHILD_MS_MAX }, (err, _stdout, stderr) => {
      // Killed at the time bound: still running, so no exit code of its own.
      done({ code: err === null ? 0 : err.killed || typeof err.code !== "number" ? null : err.code, stderr });
    });
  });
}

describe("e2e: a data dir belongs to one node id", { timeout: 120_000 }, () => {
  const c = track(new Cluster(2, 26700));
  after(() => c.destroy());

  /** Stops node i with SIGTERM (graceful) and checks it exited 0. */
  async function stop(i: number): Promise<void> {
    c.signal(i, "SIGTERM");
    const exit = await c.exited(i);
    assert.equal(exit.code, 0, exit.stderr);
  }

  test("node 2 on node 1's data dir exits 2 naming both; node 1 starts on it again", async () => {
    c.startAll();
    await c.waitLeader();
    const made = await c.retry(c.ids(), "POST", "/v1/stacks", JSON.stringify({ label: "kept" }), {
      "content-type": "application/json",
    });
    assert.equal(made.status, 200, made.body);
    await stop(1);
    await stop(2);
    const dir1 = c.dataDir(1);
    assert.match(readFileSync(join(dir1, "node-id"), "utf8"), /^raftstack node-id 1 crc32c [0-9a-f]{8}\n$/);
    const before = readFileSync(join(dir1, "node-id"));

    const wrong = c.args(2).map((a) => (a === c.dataDir(2) ? dir1 : a));
    assert.ok(wrong.includes(dir1));
    const refused = await run(wrong);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(`^raftstack: refusing to start: data dir ${dir1} belongs to node 1, not node 2`, "m"),
    );
    assert.deepEqual(readFileSync(join(dir1, "node-id")), before);

    // A damaged claim: exit 1, the file named; the operator's way out (remove it) lets node 1 claim it again.
    const good = readFileSync(join(dir1, "node-id"), "utf8");
    writeFileSync(join(dir1, "node-id"), good.replace("node-id 1", "node-id 7"));
    const damaged = await run(c.args(1));
    assert.equal(damaged.code, 1, damaged.stderr);
    assert.match(
      damaged.stderr,
      /^raftstack: cannot start node 1: .*node-id, which names the node .* is damaged/m,
    );
    rmSync(join(dir1, "node-id"));

    // Both start again on their own dirs with their state: node 1 adopts its dir, logging it.
    c.startAll();
    await c.waitLeader();
    const list = await c.retry(c.ids(), "GET", "/v1/stacks");
    assert.equal(list.status, 200, list.body);
    assert.match(list.body, /"kept"/);
    assert.ok(existsSync(join(dir1, "node-id")));
    assert.match(readFileSync(join(c.dir, "node-1.log"), "utf8"), /no node-id file .*claimed for node 1/);
  });
});
