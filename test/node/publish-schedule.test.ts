// When a node publishes its addresses (an `update` change). bench:membership --trace showed a joining
// node publish from its bootstrap table before it applied its own add, and again while it was still
// catching up to its first update: two or three updates per join, and the promotion waited behind them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PublishSchedule, type PublishState } from "../../src/node/index.js";

const own = { peerUrl: "http://h:1", clientUrl: "http://h:2" };
const blank = { peerUrl: "http://h:1", clientUrl: "" };
const state = (over: Partial<PublishState> = {}): PublishState => ({
  leaderKnown: true,
  member: true,
  known: blank,
  own,
  ...over,
});

describe("publishing a node's addresses", () => {
  test("due once a leader is known and the applied table differs", () => {
    const p = new PublishSchedule(150, 3000);
    assert.equal(p.due(0, state({ leaderKnown: false })), false);
    assert.equal(p.due(0, state({ known: own })), false, "nothing to change");
    assert.equal(p.due(0, state({ known: undefined })), false, "not in the table");
    assert.equal(p.due(0, state()), true);
  });

  test("not before this node applied the entry that made it a member", () => {
    const p = new PublishSchedule(150, 3000);
    assert.equal(p.due(0, state({ member: false })), false);
  });

  test("one attempt at a time; a failure retries after retryMs", () => {
    const p = new PublishSchedule(150, 3000);
    p.started(0);
    assert.equal(p.due(1000, state()), false, "in flight");
    p.failed();
    p.started(1000);
    p.failed();
    assert.equal(p.due(1100, state()), false);
    assert.equal(p.due(1150, state()), true);
  });

  test("after a success, not again while this node's table catches up to its own update", () => {
    const p = new PublishSchedule(150, 3000);
    p.started(0);
    p.succeeded(100, own);
    assert.equal(p.due(400, state()), false);
    assert.equal(p.due(3099, state()), false);
    assert.equal(p.due(3100, state()), true, "the table still differs long after: publish again");
  });

  test("new addresses (the port a listener on port 0 got) do not wait for the hold-off", () => {
    const p = new PublishSchedule(150, 3000);
    const early = { peerUrl: "http://h:1", clientUrl: "http://h:0" };
    p.started(0);
    p.succeeded(100, early);
    assert.equal(p.due(149, state({ known: early })), false, "one attempt per retryMs");
    assert.equal(p.due(150, state({ known: early })), true);
  });
});
