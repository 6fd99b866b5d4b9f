// A node started on a port another process holds exits 1 naming the port and the setting it came from,
// and leaves no data dir behind: a newcomer's failed start left ./raftstack-1 with a fresh WAL, which the
// next start (on a free port) took as an existing node's data.
// Ports 25200-25299 (this file's range).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { MAIN } from "./harness.js";

const WAIT_MS = 20_000;
const PEER = 25210;
const CLIENT = 25211;
const RESP = 25212;

function startNode(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: WAIT_MS }, (err, _stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === "number" ? err.code : null, stderr });
    });
  });
}

function hold(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

describe("e2e: a node on a port in use", { timeout: 90_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-busy-port-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [string, number, string[], RegExp][] = [
    ["client port", CLIENT, ["--port", String(CLIENT)], /port 25211 \(--port, on 127\.0\.0\.1\) is in use/],
    ["peer port", PEER, [], /port 25210 \(--cluster, node 1's URL, on 127\.0\.0\.1\) is in use/],
    [
      "RESP port",
      RESP,
      ["--resp-port", String(RESP)],
      /port 25212 \(--resp-port, on 127\.0\.0\.1\) is in use/,
    ],
  ];
  for (const [what, port, flags, message] of cases) {
    test(`${what}: exit 1, the port and its flag named, no data dir`, async () => {
      const dataDir = join(dir, what.replace(" ", "-"));
      const held = await hold(port);
      try {
        const args = ["--id", "1", "--cluster", `http://127.0.0.1:${PEER}`, "--data-dir", dataDir, ...flags];
        const { code, stderr } = await startNode(args);
        assert.equal(code, 1, stderr);
        assert.equal(existsSync(dataDir), false, `${dataDir} was created`);
        assert.match(stderr, /^raftstack: cannot start node 1: /m);
        assert.match(stderr, message);
      } finally {
        await new Promise((resolve) => held.close(resolve));
      }
    });
  }

  test("two of the node's own settings on one port: both named", async () => {
    const dataDir = join(dir, "twice");
    const args = [
      "--cluster",
      `http://127.0.0.1:${PEER}`,
      "--data-dir",
      dataDir,
      "--resp-port",
      String(CLIENT),
    ];
    const { code, stderr } = await startNode(args);
    assert.equal(code, 1, stderr);
    assert.match(stderr, /port 25211 is set twice: --port default, the peer port \+ 1 and --resp-port/);
    assert.equal(existsSync(dataDir), false);
  });
});
