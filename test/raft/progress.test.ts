import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvariantError } from "../../src/raft/index.js";
import { Progress } from "../../src/raft/progress.js";
import fc from "../fast-check.js";

const progress = (next = 1, inflightMax = 3) => new Progress(next, inflightMax, 1 << 20);

describe("Progress owns its transitions", () => {
  test("replicate: each append advances next and takes a window slot; acknowledgements free them", () => {
    const pr = progress(6);
    pr.maybeUpdate(5);
    pr.becomeReplicate();
    assert.deepEqual([pr.match, pr.next, pr.state], [5, 6, "replicate"]);
    pr.sentAppend(7, 10);
    pr.sentAppend(9, 10);
    assert.equal(pr.isPaused(), false);
    pr.sentAppend(undefined, 0); // an empty append takes no slot
    pr.sentAppend(12, 10);
    assert.deepEqual([pr.next, pr.isPaused()], [13, true]);
    assert.equal(pr.maybeUpdate(9), true);
    pr.freeInflightsTo(9);
    assert.deepEqual([pr.match, pr.next, pr.isPaused()], [9, 13, false]);
    assert.equal(pr.maybeUpdate(8), false, "an older acknowledgement is stale");
  });

  test("replicate: a heartbeat answer frees the oldest slot of a full window (lost appends are found)", () => {
    const pr = progress(1, 2);
    pr.becomeReplicate();
    pr.sentAppend(1, 1);
    pr.sentAppend(2, 1);
    assert.equal(pr.isPaused(), true);
    pr.heartbeatAnswered();
    assert.equal(pr.isPaused(), false);
  });

  test("replicate: a fresh rejection halves the window, each acknowledgement grows it back by one", () => {
    const pr = progress(1, 8);
    pr.becomeReplicate();
    for (let i = 1; i <= 8; i++) pr.sentAppend(i, 1);
    assert.equal(pr.inflightLimit, 8);
    assert.equal(pr.maybeDecrTo(5, 1), true, "append 6 overtook appends 1-5");
    assert.deepEqual([pr.state, pr.inflightLimit], ["probe", 4]);
    assert.equal(pr.maybeUpdate(1), true);
    pr.becomeReplicate();
    for (let i = 2; i <= 5; i++) pr.sentAppend(i, 1);
    assert.equal(pr.isPaused(), true, "four appends fill the halved window");
    assert.equal(pr.maybeUpdate(2), true);
    pr.freeInflightsTo(2);
    assert.equal(pr.inflightLimit, 5);
    pr.becomeProbe();
    assert.equal(pr.inflightLimit, 5, "the learned window survives state changes");
  });

  test("probe: one append outstanding until a reply or a heartbeat answer", () => {
    const pr = progress(4);
    pr.sentAppend(undefined, 0);
    assert.equal(pr.isPaused(), true);
    pr.heartbeatAnswered();
    assert.equal(pr.isPaused(), false);
    pr.sentAppend(5, 1);
    assert.equal(pr.next, 4, "probing does not move next");
    assert.equal(pr.maybeUpdate(5), true);
    assert.equal(pr.isPaused(), false);
  });

  test("rejections: stale ones are ignored; a fresh one probes from the hint, never at or below match", () => {
    const pr = progress(1);
    pr.maybeUpdate(4);
    pr.becomeReplicate();
    pr.sentAppend(10, 1);
    assert.equal(pr.maybeDecrTo(3, 1), false, "a rejection at or below match is stale in replicate");
    assert.equal(pr.maybeDecrTo(10, 2), true);
    assert.deepEqual([pr.state, pr.next], ["probe", 5]);
    assert.equal(pr.maybeDecrTo(9, 5), false, "in probe only the last probe's rejection counts");
    assert.equal(pr.maybeDecrTo(4, 5), true);
    assert.equal(pr.next, 5);
  });

  test("snapshot: paused while in flight; success waits for the reply after it, failure probes after match", () => {
    const pr = progress(1);
    pr.maybeUpdate(2);
    pr.becomeSnapshot(50);
    assert.equal(pr.isPaused(), true);
    assert.equal(pr.tickSnapshot(3), false);
    assert.equal(pr.tickSnapshot(3), false);
    assert.equal(pr.tickSnapshot(3), true, "the snapshot timed out");
    pr.snapshotReported(true);
    assert.deepEqual([pr.state, pr.next, pr.isPaused()], ["probe", 51, true]);
    pr.becomeSnapshot(50);
    pr.snapshotReported(false);
    assert.deepEqual([pr.state, pr.next, pr.isPaused()], ["probe", 3, false]);
    assert.throws(() => pr.snapshotReported(true), InvariantError, "no snapshot is in flight");
  });

  test("lost entries: match drops to 0, the claim (acknowledged) stays, probing waits for a heartbeat answer", () => {
    const pr = progress(1);
    pr.maybeUpdate(6);
    pr.becomeReplicate();
    pr.lostEntries(2);
    assert.deepEqual([pr.match, pr.acknowledged, pr.next, pr.state, pr.isPaused()], [0, 6, 3, "probe", true]);
    pr.heartbeatAnswered();
    assert.equal(pr.isPaused(), false);
    assert.throws(() => pr.lostEntries(0), InvariantError, "nothing acknowledged is left to lose");
  });

  test("check-quorum activity is read once per round", () => {
    const pr = progress();
    pr.markActive();
    assert.equal(pr.takeActive(), true);
    assert.equal(pr.takeActive(), false);
  });

  test("invariant 0 <= match < next holds under any sequence of leader-side events", () => {
    type Op =
      | { op: "ack"; index: number }
      | { op: "reject"; rejected: number; hint: number }
      | { op: "send"; count: number }
      | { op: "probe" | "replicate" | "heartbeat" | "tick" }
      | { op: "snapshot"; index: number }
      | { op: "reported"; ok: boolean }
      | { op: "lost"; lastIndex: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant("ack" as const), index: fc.nat(40) }),
      fc.record({
        op: fc.constant("reject" as const),
        rejected: fc.nat(40),
        hint: fc.integer({ min: 1, max: 40 }),
      }),
      fc.record({ op: fc.constant("send" as const), count: fc.nat(4) }),
      fc.record({
        op: fc.constantFrom("probe" as const, "replicate" as const, "heartbeat" as const, "tick" as const),
      }),
      fc.record({ op: fc.constant("snapshot" as const), index: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ op: fc.constant("reported" as const), ok: fc.boolean() }),
      fc.record({ op: fc.constant("lost" as const), lastIndex: fc.nat(40) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(op, { maxLength: 60, size: "max" }),
        (next, ops) => {
          const pr = progress(next);
          for (const o of ops) {
            switch (o.op) {
              case "ack":
                if (pr.maybeUpdate(o.index) && pr.state === "replicate") pr.freeInflightsTo(o.index);
                break;
              case "reject":
                pr.maybeDecrTo(o.rejected, o.hint);
                break;
              case "send":
                if (!pr.isPaused()) pr.sentAppend(o.count === 0 ? undefined : pr.next + o.count - 1, o.count);
                break;
              case "probe":
                pr.becomeProbe();
                break;
              case "replicate":
                pr.becomeReplicate();
                break;
              case "heartbeat":
                pr.heartbeatAnswered();
                break;
              case "tick":
                pr.tickSnapshot(2);
                break;
              case "snapshot":
                pr.becomeSnapshot(o.index);
                break;
              case "reported":
                if (pr.state === "snapshot") pr.snapshotReported(o.ok);
                break;
              case "lost":
                if (o.lastIndex < pr.match) pr.lostEntries(o.lastIndex);
                break;
            }
            assert.ok(0 <= pr.match && pr.match < pr.next, `match ${pr.match} next ${pr.next}`);
            assert.ok(pr.match <= pr.acknowledged);
            if (pr.state === "snapshot") assert.ok(pr.pendingSnapshot > 0);
          }
        },
      ),
      { numRuns: 500, seed: 4242 },
    );
  });

  test("a progress cannot start at next 0", () => {
    assert.throws(() => progress(0), InvariantError);
  });
});
