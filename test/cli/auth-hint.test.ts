// A node that refuses a command for want of a token (401) or of a role (403): every CLI command exits 1
// with one line that says how to give a token, status too (after its table).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { errorAnswer, FakeNode } from "../client/fake-server.js";
import { cli } from "./run-cli.js";

const TEST_TIMEOUT_MS = 10_000;
const nodes: FakeNode[] = [];
after(() => Promise.all(nodes.map((n) => n.stop())));

async function fake(handle: FakeNode["handle"]): Promise<FakeNode> {
  const node = await new FakeNode(1, handle).start();
  nodes.push(node);
  return node;
}

const TOKEN_HINT = /; pass a token with --token or set RAFTSTACK_TOKEN/;

describe("a 401/403 answer to a CLI command", { timeout: TEST_TIMEOUT_MS }, () => {
  test("exit 1 with one line naming --token and RAFTSTACK_TOKEN, for reads, writes and admin commands", async () => {
    const node = await fake(() => errorAnswer(401, "unauthorized"));
    for (const argv of [
      ["size", "1"],
      ["push", "1", "x"],
      ["list"],
      ["member", "list"],
      ["leader", "transfer"],
    ]) {
      const r = await cli([...argv, "--endpoints", node.url]);
      assert.equal(r.code, 1, `${argv.join(" ")}: ${r.err}`);
      assert.match(r.err, /^raftstack: unauthorized: /, argv.join(" "));
      assert.match(r.err, TOKEN_HINT, argv.join(" "));
      assert.equal(r.err.split("\n").length, 2, `one line: ${r.err}`);
    }
    // A proxy's 401 without the API's error body is the same want of a token.
    const proxy = await fake(() => ({ status: 401, json: "Unauthorized" }));
    const viaProxy = await cli(["size", "1", "--endpoints", proxy.url]);
    assert.equal(viaProxy.code, 1);
    assert.match(viaProxy.err, /^raftstack: http_401: Unauthorized; pass a token/);
  });

  test("403: the token's role is too low; the hint says a token with the role the command needs", async () => {
    const node = await fake(() => errorAnswer(403, "forbidden"));
    const r = await cli(["pop", "1", "--endpoints", node.url, "--token", "t"]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /^raftstack: forbidden: .*; pass a token with the role this command needs/);
    assert.match(r.err, /with --token or set RAFTSTACK_TOKEN\n$/);
    const dir = mkdtempSync(join(tmpdir(), "raftstack-auth-hint-"));
    try {
      const save = await cli(["snapshot", "save", join(dir, "x.rsb"), "--endpoints", node.url]);
      assert.equal(save.code, 1, save.err);
      assert.match(save.err, /; pass a token with the role this command needs/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("status prints its table, then exits 1 with the hint when a node's /v1/cluster wants a token", async () => {
    const node = await fake((req) =>
      req.url === "/health"
        ? { status: 200, json: { ok: true, leader: 1, role: "leader", term: 3 } }
        : errorAnswer(401, "unauthorized"),
    );
    const r = await cli(["status", "--endpoints", node.url]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /answered 401 unauthorized/);
    assert.match(r.err, /^raftstack: unauthorized: .*\/v1\/cluster answered 401/);
    assert.match(r.err, TOKEN_HINT);
    assert.equal(r.err.split("\n").length, 2, `one line: ${r.err}`);
  });
});
