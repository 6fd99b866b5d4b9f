// A member added on a peer URL another member uses (a newcomer's `curl .../11 -XPOST -d <node 1's peer
// URL>` was accepted): the leader's links to it reached node 1, which refused every handshake addressed
// to node 11, 27 times a second until it was removed. Refused now with config_invalid, nothing proposed.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { MemberChange } from "../../src/node/member-requests.js";
import { electedThree } from "./three-drivers.js";

/** The member table of three-drivers.ts: member v at http://127.0.0.1:700v. */
const add = (peerUrl: string, id = 0): MemberChange => ({ op: "addLearner", id, peerUrl, clientUrl: "" });

describe("an add on a member's peer URL", () => {
  test("is refused config_invalid on the leader and through a follower, with nothing proposed", async () => {
    const { clock, drivers, requests, leader, followers } = await electedThree();
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
    // As typed (a trailing slash, the host's letter case) and by id as the seed's POST /{id} names one.
    const same = ["http://127.0.0.1:7001", "http://127.0.0.1:7002/", "HTTP://127.0.0.1:7003"];
    for (const [i, url] of same.entries()) {
      assert.equal(await answer(leader.id, add(url)), "config_invalid", `${url} on the leader`);
      assert.equal(await answer(followers[0], add(url, 11 + i)), "config_invalid", `${url} forwarded`);
    }
    assert.equal(leader.raft.status().lastIndex, lastIndex, "nothing was proposed");
    for (const d of drivers.values()) assert.deepEqual(d.membership.learners, []);
    // Another port of the same host is another member.
    assert.equal(await answer(followers[0], add("http://127.0.0.1:7004")), "ok");
    for (const d of drivers.values()) assert.deepEqual(d.membership.learners, [4]);
  });
});
