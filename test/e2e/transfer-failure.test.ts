// A leadership transfer to a dead voter through three real nodes in one process: POST /v1/leader on the
// leader and on a follower (forwarded over the peer connection), the typed client and `raftstack leader
// transfer` all answer transfer_failed with the reason, and the leader leads on.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, describe, test } from "node:test";
import { run } from "../../src/cli/program.js";
import { RaftstackClient, RaftstackError } from "../../src/client/index.js";
import { type NodeOptions, parseNodeArgs, type RunningNode, startNode } from "../../src/node/index.js";
import { Contract } from "../api/contract.js";

const base = 24300; // apart from in-process.test.ts (24000+)
const ids = [1, 2, 3];
const peerUrls = ids.map((i) => `http://127.0.0.1:${base + 10 * i}`);
const REQUEST_TIMEOUT_MS = 1000;

const contract = new Contract();

/** POST /v1/leader on `n`, its answer checked against docs/openapi.json. */
async function transfer(n: RunningNode, id: number) {
  const res = await fetch(`${n.clientUrl}/v1/leader`, { method: "POST", body: JSON.stringify({ id }) });
  const answer = { status: res.status, headers: res.headers, text: await res.text() };
  contract.checkAnswer("POST", "/v1/leader", answer);
  const body = JSON.parse(answer.text) as { error?: { code: string; reason?: string; message: string } };
  return { status: res.status, retryAfter: res.headers.get("retry-after"), error: body.error };
}

/** `raftstack ...` in this process: its exit code and stderr. */
async function cli(argv: string[]): Promise<{ code: number; err: string }> {
  const err = new PassThrough();
  const chunks: Buffer[] = [];
  err.on("data", (c: Buffer) => chunks.push(c));
  const io = { out: new PassThrough(), err, input: new PassThrough(), color: false, env: {} };
  const code = await run(argv, io, { runNode: async () => 0 });
  return { code, err: Buffer.concat(chunks).toString("utf8") };
}

describe("a transfer to a dead voter through real nodes", { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-xferfail-"));
  const nodes = new Map<number, RunningNode>();
  after(async () => {
    await Promise.all([...nodes.values()].map((n) => n.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  const options = (id: number): NodeOptions => ({
    ...parseNodeArgs([
      "--id",
      String(id),
      "--cluster",
      peerUrls.join(","),
      "--log-level",
      "silent",
      "--request-timeout-ms",
      String(REQUEST_TIMEOUT_MS),
    ]),
    dataDir: join(dir, `n${id}`),
  });

  async function leaderOf(among: readonly RunningNode[]): Promise<RunningNode> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const leader = among.find((n) => n.status().role === "leader");
      if (leader && among.every((n) => n.status().leader === leader.id)) return leader;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error("no leader");
  }

  test("answers 503 transfer_failed target_unreachable at once, wherever it is asked, and the leader leads on", async () => {
    for (const id of ids) nodes.set(id, await startNode(options(id)));
    const leader = await leaderOf([...nodes.values()]);
    const [dead, live] = [...nodes.values()].filter((n) => n !== leader) as [RunningNode, RunningNode];
    await dead.close();
    nodes.delete(dead.id);

    // A write the dead voter misses: the leader must catch it up before TimeoutNow, and gives up once it
    // was unreachable and silent for three heartbeat intervals, long before the request's deadline. (A
    // caught-up dead target gets TimeoutNow at once and the answer waits for the deadline, reason
    // outcome_unknown: test/node/transfer-failure.test.ts.)
    const created = await fetch(`${leader.clientUrl}/v1/stacks`, {
      method: "POST",
      body: JSON.stringify({ label: "s" }),
    });
    assert.equal(created.status, 200);
    for (const via of [leader, live]) {
      const t0 = Date.now();
      const lagging = await transfer(via, dead.id);
      assert.equal(lagging.status, 503, JSON.stringify(lagging));
      assert.deepEqual(
        [lagging.error?.code, lagging.error?.reason, lagging.retryAfter],
        ["transfer_failed", "target_unreachable", "1"],
      );
      assert.match(lagging.error?.message ?? "", new RegExp(`node ${leader.id} still leads`));
      assert.ok(
        Date.now() - t0 < REQUEST_TIMEOUT_MS,
        `answered after ${Date.now() - t0} ms, at the deadline`,
      );
    }

    // The typed client and the CLI name the code and the reason.
    const client = new RaftstackClient({ endpoints: [live.clientUrl] });
    try {
      await assert.rejects(
        client.transferLeader(dead.id),
        (err: unknown) =>
          err instanceof RaftstackError &&
          err.code === "transfer_failed" &&
          err.status === 503 &&
          err.reason === "target_unreachable",
      );
    } finally {
      await client.close();
    }
    const printed = await cli(["leader", "transfer", "--endpoints", leader.clientUrl, String(dead.id)]);
    assert.equal(printed.code, 1);
    assert.match(
      printed.err,
      /^raftstack: transfer_failed \(target_unreachable\): the transfer to node \d+ was given up/,
    );
    assert.equal(leader.status().role, "leader");
  });
});
