// Review of the forwarded run (node/run-forward.ts): a run sent once may have been applied, so no later
// answer may tell the client "nothing was applied, retry" (BUSY, NOLEADER): a keyless RESP client that
// retries then pushes twice. Only the first outcome, or "outcome unknown" (timeout), is a true answer.
import assert from "node:assert/strict";
import { test } from "node:test";
import { asciiRun } from "./runs.js";
import { electedThree, leaderOf, runAnswerLost } from "./three-drivers.js";

const run3 = () =>
  asciiRun([
    ["s", "a", "b"],
    ["t", "c"],
    ["s", "d"],
  ]);

for (const refusal of ["busy", "bad_request"] as const) {
  test(`a run applied by a leader whose answer was lost, then refused (${refusal}) by the next, is "outcome unknown", never ${refusal}`, {
    timeout: 30_000,
  }, async () => {
    const nodes = await electedThree();
    const { clock, drivers, requests, net, leader } = nodes;
    const [follower, next] = nodes.followers;
    const answers = await runAnswerLost(nodes, follower, run3());
    assert.deepEqual(leader.machine.range("s", 0, -1), ["d", "b", "a"], "applied on the first leader");
    // The next leader refuses what it is sent: its forwarded-request table is full (busy), or it is a
    // build of protocol 4 whose HELLO this follower had not read yet (unknown kind: bad_request).
    const nextRequests = requests.get(next);
    assert.ok(nextRequests !== undefined);
    nextRequests.receive = (_from, request, respond) =>
      respond({
        requestId: request.requestId,
        ok: false,
        code: refusal,
        leader: next,
        message: "refused by the review",
      });
    assert.ok(leader.transferLeadership(next));
    net.dropResultsFrom = 0;
    await clock.advance(3000);
    assert.equal(leaderOf(drivers).id, next);
    const got = answers.sizes(3);
    for (const a of got) {
      assert.ok(
        a === "timeout" || typeof a === "number",
        `answers ${JSON.stringify(got)}: the pushes were applied, yet the client is told ${refusal}`,
      );
    }
  });
}
