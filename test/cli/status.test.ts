// `raftstack status` against nodes whose /v1/cluster refuses the request: the table says why (a token
// is missing) instead of "did not answer", since /health (a probe) stays open with tokens on.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import { probeStatus, statusTable } from "../../src/cli/status.js";

const TEST_TIMEOUT_MS = 10_000;
const servers: Server[] = [];
after(() => Promise.all(servers.map((s) => new Promise((res) => s.close(res)))));

/** A node as a token-protected one answers without a token: /health open, /v1/cluster 401. */
async function tokenNode(status: number, code: string): Promise<string> {
  const server = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    if (req.url === "/health") {
      res.end(JSON.stringify({ ok: true, leader: 1, role: "leader", term: 3 }));
      return;
    }
    res.statusCode = status;
    res.end(JSON.stringify({ error: { code, message: "a valid Authorization: Bearer token is required" } }));
  });
  servers.push(server);
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("status", { timeout: TEST_TIMEOUT_MS }, () => {
  test("a /v1/cluster refused for want of a token is named, with the flag that gives one", async () => {
    const url = await tokenNode(401, "unauthorized");
    const rows = await probeStatus([url]);
    assert.equal(rows[0]?.up, true);
    const table = statusTable(rows);
    assert.match(table, /match \?: its \/v1\/cluster answered 401 unauthorized \(id unknown\)/);
    assert.match(table, /--token or RAFTSTACK_TOKEN/);
  });

  test("another error answer is named without the token hint", async () => {
    const url = await tokenNode(500, "internal");
    const table = statusTable(await probeStatus([url]));
    assert.match(table, /its \/v1\/cluster answered 500 internal \(id unknown\)$/);
  });
});
