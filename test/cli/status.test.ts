// `raftstack status` against nodes whose /v1/cluster refuses the request: the table says why (a token
// is missing) instead of "did not answer", since /health (a probe) stays open with tokens on. Against
// HTTPS nodes without --cacert, status and the other commands say TLS is why no node answered.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { makeDevCerts } from "../../src/cli/certs.js";
import { probeStatus, statusTable } from "../../src/cli/status.js";
import { cli } from "./run-cli.js";

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

/** A node answering /health and /v1/cluster with `cluster(itsUrl)`. */
async function viewNode(health: object, cluster: (url: string) => object): Promise<string> {
  let url = "";
  const server = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(req.url === "/health" ? health : cluster(url)));
  });
  servers.push(server);
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return url;
}

/** Client URLs of members that are down: this file's fixed ports (25300-25399), never bound. */
const DOWN_URLS = ["http://127.0.0.1:25301", "http://127.0.0.1:25302"];

/** An HTTPS node (the dev CA's node certificate) answering any request; its port. */
async function tlsNode(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-status-tls-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  makeDevCerts({ dir, nodes: 1 });
  const server = createTlsServer(
    { cert: readFileSync(join(dir, "node-1.pem")), key: readFileSync(join(dir, "node-1-key.pem")) },
    (_req, res) => res.end(JSON.stringify({ ok: true, leader: 1, role: "leader", term: 3 })),
  );
  servers.push(server);
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  return (server.address() as AddressInfo).port;
}

describe("status", { timeout: TEST_TIMEOUT_MS }, () => {
  test("HTTPS nodes without --cacert: the error says TLS, not only that no node answered", async () => {
    const port = await tlsNode();
    const verify = await cli(["status", "--endpoints", `https://127.0.0.1:${port}`]);
    assert.equal(verify.code, 1);
    assert.match(
      verify.err,
      /^raftstack: unavailable: no node answered \(.*\): TLS verification failed \(\w+\): .*--cacert\n$/,
    );
    const plain = await cli(["status", "--endpoints", String(port)]);
    assert.equal(plain.code, 1);
    assert.match(
      plain.err,
      /closed the connection without an answer: if the nodes serve HTTPS, give --cacert/,
    );
    const size = await cli([
      "size",
      "1",
      "--deadline-ms",
      "2000",
      "--endpoints",
      `https://127.0.0.1:${port}`,
    ]);
    assert.equal(size.code, 1);
    assert.match(size.err, /; TLS verification failed \(\w+\): give the CA .* --cacert\n$/);
  });

  test("a /v1/cluster refused for want of a token is named, with the flag that gives one", async () => {
    const url = await tokenNode(401, "unauthorized");
    const rows = await probeStatus([url]);
    assert.equal(rows[0]?.up, true);
    const table = statusTable(rows);
    assert.match(table, /match \?: its \/v1\/cluster answered 401 unauthorized \(id unknown\)/);
    assert.match(table, /--token or RAFTSTACK_TOKEN/);
  });

  test("a member down is behind by the committed entries it lacks, not the leader's whole log; exit 4", async () => {
    // The leader has 20 entries, 15 committed: node 2 (match 10) lacks 5 committed ones, node 3 (match 15)
    // none. Both were counted from the last index (10 and 5 behind).
    const member = (id: number, clientUrl: string, match: number) => ({ id, peerUrl: "", clientUrl, match });
    const leader = await viewNode({ ok: true, leader: 1, role: "leader", term: 3 }, (url) => ({
      ...{ id: 1, leader: 1, term: 3, commit: 15, applied: 15, viewFrom: 1 },
      members: [
        { ...member(1, url, 20), state: "replicate", lastIndex: 20 },
        { ...member(2, DOWN_URLS[0] ?? "", 10), state: "probe" },
        { ...member(3, DOWN_URLS[1] ?? "", 15), state: "replicate" },
      ],
    }));
    const json = await cli(["status", "--json", "--endpoints", leader]);
    assert.equal(json.code, 4, json.err);
    const rows = JSON.parse(json.out) as { id: number; behind?: number }[];
    assert.deepEqual(
      rows.map((r) => [r.id, r.behind]),
      [
        [1, undefined],
        [2, 5],
        [3, 0],
      ],
    );
    const text = await cli(["status", "--endpoints", leader]);
    assert.match(
      text.out,
      /^node 2 down: the leader \(node 1\) has it at match 10 \(probe\), 5 committed entries behind$/m,
    );
    assert.equal(
      text.err,
      `raftstack: degraded: node 2 down (${DOWN_URLS[0]}); node 3 down (${DOWN_URLS[1]})\n`,
      "stderr says which member is down",
    );
  });

  test("no leader known: exit 4, and stderr says so", async () => {
    const alone = await viewNode({ ok: false, leader: 0, role: "follower", term: 3 }, (url) => ({
      ...{ id: 1, leader: 0, term: 3, commit: 4, applied: 4, viewFrom: 1, viewReason: "no leader known" },
      members: [{ id: 1, peerUrl: "", clientUrl: url, match: null, state: null }],
    }));
    const r = await cli(["status", "--endpoints", alone]);
    assert.equal(r.code, 4, r.err);
    assert.equal(r.err, "raftstack: degraded: no leader known\n");
  });

  test("another error answer is named without the token hint", async () => {
    const url = await tokenNode(500, "internal");
    const table = statusTable(await probeStatus([url]));
    assert.match(table, /its \/v1\/cluster answered 500 internal \(id unknown\)$/);
  });
});

describe("status: a member up but cut off from the leader", { timeout: TEST_TIMEOUT_MS }, () => {
  test("shows `cut off` with how long the leader has not heard from it, and exits 4 as for a member down", async () => {
    let followerUrl = "";
    const member = (id: number, clientUrl: string, lastHeardMs: number | null, cutOff: boolean) => ({
      ...{ id, peerUrl: "", clientUrl, match: 9, state: "replicate" },
      ...{ lastHeardMs, cutOff },
    });
    const leaderView = (url: string) => ({
      ...{ id: 1, leader: 1, term: 3, commit: 9, applied: 9, viewFrom: 1 },
      members: [
        member(1, url, 0, false),
        member(2, followerUrl, 4200, true),
        member(3, DOWN_URLS[0] ?? "", 9000, true),
      ],
    });
    const leader = await viewNode({ ok: true, leader: 1, role: "leader", term: 3 }, leaderView);
    // Cut off, it knows no leader: its own /v1/cluster is its local view.
    followerUrl = await viewNode({ ok: false, leader: 0, role: "follower", term: 3 }, (url) => ({
      ...{ id: 2, leader: 0, term: 3, commit: 9, applied: 9, viewFrom: 2, viewReason: "no leader known" },
      members: [
        {
          id: 2,
          peerUrl: "",
          clientUrl: url,
          match: null,
          state: null,
          progress: "known only on the leader",
        },
      ],
    }));
    const text = await cli(["status", "--endpoints", leader]);
    assert.equal(text.code, 4, text.err);
    assert.match(text.out, new RegExp(`^${followerUrl}\\s+2\\s+cut off\\s+3\\s+-\\s+9\\s+9\\s+9$`, "m"));
    assert.match(text.out, new RegExp(`^${leader}\\s+1\\s+leader\\s`, "m"));
    assert.match(
      text.out,
      /^node 2 cut off: the leader \(node 1\) last heard from it 4200 ms ago \(follower here\)$/m,
    );
    // A member down says when the leader last heard from it too; its row stays `down`.
    assert.match(
      text.out,
      /^node 3 down: the leader \(node 1\) has it at match 9 \(replicate\), 0 committed entries behind, last heard from it 9000 ms ago$/m,
    );
    assert.equal(
      text.err,
      `raftstack: degraded: node 2 cut off (${followerUrl}); node 3 down (${DOWN_URLS[0]})\n`,
    );
    const json = await cli(["status", "--json", "--endpoints", leader]);
    assert.equal(json.code, 4, json.err);
    const rows = JSON.parse(json.out) as { id: number; role: string; cutOff: boolean; lastHeardMs: number }[];
    assert.deepEqual(
      rows.map((r) => [r.id, r.role, r.cutOff, r.lastHeardMs]),
      [
        [1, "leader", false, 0],
        [2, "follower", true, 4200],
        [3, undefined, true, 9000],
      ],
    );
  });

  test("a member the leader has heard within the bound is not cut off; nor one an older leader says nothing of", async () => {
    const leader = await viewNode({ ok: true, leader: 1, role: "leader", term: 3 }, (url) => ({
      ...{ id: 1, leader: 1, term: 3, commit: 9, applied: 9, viewFrom: 1 },
      members: [
        { id: 1, peerUrl: "", clientUrl: url, match: 9, state: "replicate", lastHeardMs: 0, cutOff: false },
      ],
    }));
    const r = await cli(["status", "--endpoints", leader]);
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.out, /cut off/);
  });
});

describe("status: rows in member id order", { timeout: TEST_TIMEOUT_MS }, () => {
  test("whatever order the endpoints are given in; members found through them in place; unknown ids last", async () => {
    const urls: string[] = [];
    const member = (id: number) => ({
      id,
      peerUrl: "",
      clientUrl: urls[id - 1] ?? "",
      match: 5,
      state: "replicate",
    });
    const node = (id: number) =>
      viewNode({ ok: true, leader: 1, role: id === 1 ? "leader" : "follower", term: 2 }, () => ({
        ...{ id, leader: 1, term: 2, commit: 5, applied: 5, viewFrom: 1 },
        // Member 4 is down: the leader lists it at a port nothing listens on.
        members: [1, 2, 3, 4].map(member),
      }));
    urls.push(await node(1), await node(2), await node(3), DOWN_URLS[0] ?? "");
    const stranger = DOWN_URLS[1] ?? "";
    const r = await cli(["status", "--json", "--endpoints", [urls[2], stranger, urls[0], urls[1]].join(",")]);
    assert.equal(r.code, 4, r.err);
    const rows = JSON.parse(r.out) as { endpoint: string; id: number | null }[];
    assert.deepEqual(
      rows.map((row) => [row.id, row.endpoint]),
      [
        [1, urls[0]],
        [2, urls[1]],
        [3, urls[2]],
        [4, urls[3]],
        [null, stranger],
      ],
    );
    const table = await cli(["status", "--endpoints", [urls[2], urls[0], urls[1]].join(",")]);
    const ids = table.out
      .split("\n")
      .slice(1, 5)
      .map((line) => line.split(/\s+/)[1]);
    assert.deepEqual(ids, ["1", "2", "3", "4"]);
  });
});
