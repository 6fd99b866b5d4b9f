// Review of member add's peer-URL check (node/member-requests.ts): concurrent adds, learners, removed members.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { MemberChange } from "../../src/node/member-requests.js";
import { electedThree } from "./three-drivers.js";

const add = (peerUrl: string, id = 0): MemberChange => ({ op: "addLearner", id, peerUrl, clientUrl: "" });

test("two adds of one peer URL at once (leader and forwarded) add one learner; a removed member's URL is free", {
  timeout: 60_000,
}, async () => {
  const { clock, drivers, requests, leader, followers } = await electedThree();
  const start = (from: number, change: MemberChange) => {
    const result: { code?: string } = {};
    requests
      .get(from)
      ?.changeMember(change)
      .then(
        () => {
          result.code = "ok";
        },
        (e: { code: string }) => {
          result.code = e.code;
        },
      );
    return result;
  };
  const settle = async (...rs: { code?: string }[]) => {
    for (let i = 0; i < 200 && rs.some((r) => r.code === undefined); i++) await clock.advance(20);
    return rs.map((r) => r.code);
  };
  const url = "http://127.0.0.1:7009";
  const codes = await settle(start(leader.id, add(url)), start(followers[0] as number, add(`${url}/`)));
  assert.deepEqual([...codes].sort(), ["config_invalid", "ok"]);
  for (const d of drivers.values()) assert.equal(d.membership.learners.length, 1);
  const learner = leader.membership.learners[0] as number;
  // A learner's URL is taken too.
  assert.deepEqual(await settle(start(followers[1] as number, add(url))), ["config_invalid"]);
  // Once removed, its URL may be given to a new member (a node replaced on the same address).
  assert.deepEqual(
    await settle(start(leader.id, { op: "remove", id: learner, peerUrl: "", clientUrl: "" })),
    ["ok"],
  );
  assert.deepEqual(await settle(start(leader.id, add(url))), ["ok"]);
});
