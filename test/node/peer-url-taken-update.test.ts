// A member publishing its addresses (an `update` change, node.ts maybePublish) on another member's peer
// URL was applied: two members on one URL, whose links reach the wrong node (see peer-url-taken.test.ts for
// the same on add). Refused now with config_invalid and nothing proposed; its own current URL is fine.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { MemberChange } from "../../src/node/member-requests.js";
import { electedThree } from "./three-drivers.js";

/** The member table of three-drivers.ts: member v at http://127.0.0.1:700v. */
const update = (id: number, peerUrl: string, clientUrl = ""): MemberChange => ({
  op: "update",
  id,
  peerUrl,
  clientUrl,
});

test("an update to another member's peer URL is refused config_invalid, on the leader and forwarded", {
  timeout: 60_000,
}, async () => {
  const { clock, drivers, requests, leader, followers } = await electedThree();
  const follower = followers[0] as number;
  const answer = async (from: number, change: MemberChange) => {
    let code: string | undefined;
    requests
      .get(from)
      ?.changeMember(change)
      .then(
        () => {
          code = "ok";
        },
        (e: { code: string }) => {
          code = e.code;
        },
      );
    for (let i = 0; i < 100 && code === undefined; i++) await clock.advance(20);
    return code;
  };
  const lastIndex = leader.raft.status().lastIndex;
  const other = `http://127.0.0.1:700${leader.id}/`;
  assert.equal(await answer(follower, update(follower, other)), "config_invalid", "forwarded");
  assert.equal(
    await answer(leader.id, update(follower, other.toUpperCase())),
    "config_invalid",
    "on the leader",
  );
  const own = `http://127.0.0.1:700${leader.id}`;
  assert.equal(
    await answer(leader.id, update(leader.id, `http://127.0.0.1:700${follower}`)),
    "config_invalid",
  );
  assert.equal(leader.raft.status().lastIndex, lastIndex, "nothing was proposed");
  // Its own current URL (a new client URL published) and a free one are fine.
  assert.equal(await answer(leader.id, update(leader.id, own, "http://127.0.0.1:8001")), "ok");
  assert.equal(await answer(follower, update(follower, "http://127.0.0.1:7009")), "ok");
  assert.equal(
    await answer(follower, update(follower, "", "http://127.0.0.1:8002")),
    "ok",
    "a blank URL keeps it",
  );
  for (const d of drivers.values()) assert.deepEqual(d.membership.learners, []);
});
