import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { NodeError } from "../../src/node/errors.js";
import { PendingProposals } from "../../src/node/proposals.js";
import type { Entry } from "../../src/raft/index.js";
import type { Outcome } from "../../src/stack/index.js";

type Answer = { ok: true; value: Outcome } | { ok: false; code: string } | undefined;

function replies(n: number) {
  const answers: Answer[] = new Array(n).fill(undefined);
  const list = answers.map((_, i) => ({
    resolve: (value: Outcome) => {
      answers[i] = { ok: true, value };
    },
    reject: (error: NodeError) => {
      answers[i] = { ok: false, code: error.code };
    },
  }));
  return { answers, list };
}

const entry = (index: number, term: number): Entry => ({
  kind: "normal",
  index,
  term,
  data: new Uint8Array(),
});
const pushed = (size: number): Outcome => ({ ok: true, kind: "pushed", size });

// Review of batch entries: the commands of one entry wait under one index; another leader's entry at
// that index (another term) must never answer them with its own outcomes.
describe("pending proposals of batch entries", () => {
  test("a batch is answered position by position when its own entry (same index and term) applies", () => {
    const p = new PendingProposals(undefined);
    const { answers, list } = replies(3);
    p.add(7, 2, 0, 1000, list);
    assert.equal(p.size, 3);
    p.applied(entry(7, 2), [pushed(1), pushed(2), pushed(3)], 10, 1);
    assert.deepEqual(
      answers,
      [1, 2, 3].map((size) => ({ ok: true, value: pushed(size) })),
    );
    assert.equal(p.size, 0);
  });

  test("another term's entry at the batch's index fails every command (lost), never with its outcomes", () => {
    const p = new PendingProposals(undefined);
    const { answers, list } = replies(3);
    p.add(7, 2, 0, 1000, list);
    p.applied(entry(7, 3), [pushed(9), pushed(9), pushed(9)], 10, 2);
    assert.deepEqual(answers, new Array(3).fill({ ok: false, code: "timeout" }));
    assert.equal(p.size, 0);
  });

  test("an unreadable batch (one outcome) answers the rest bad_command; a snapshot over the index fails all", () => {
    const p = new PendingProposals(undefined);
    const a = replies(2);
    const b = replies(2);
    p.add(7, 2, 0, 1000, a.list);
    p.add(8, 2, 0, 1000, b.list);
    p.applied(entry(7, 2), [{ ok: false, code: "bad_command" }], 10, 1);
    assert.deepEqual(a.answers, new Array(2).fill({ ok: true, value: { ok: false, code: "bad_command" } }));
    p.superseded(8, 1);
    assert.deepEqual(b.answers, new Array(2).fill({ ok: false, code: "timeout" }));
    assert.equal(p.size, 0);
  });

  test("the commands as proposed are given for the same index and term only, and never once the waiter is gone", () => {
    const p = new PendingProposals(undefined);
    const proposed = { commands: [], stampMs: 0 };
    p.add(7, 2, 0, 1000, replies(1).list, proposed);
    p.add(8, 2, 0, 20, replies(1).list, proposed);
    p.add(9, 2, 0, 1000, replies(1).list, proposed);
    // Another leader's entry at our index (a later term, or an earlier one kept by a new leader).
    assert.equal(p.proposed(entry(7, 3)), undefined);
    assert.equal(p.proposed(entry(7, 1)), undefined);
    assert.equal(p.proposed({ kind: "normal", index: 10, term: 2, data: new Uint8Array() }), undefined);
    assert.equal(p.proposed(entry(7, 2)), proposed);
    p.applied(entry(7, 2), [pushed(1)], 10, 1);
    assert.equal(p.proposed(entry(7, 2)), undefined, "answered");
    p.expire(30, 1);
    assert.equal(p.proposed(entry(8, 2)), undefined, "expired: its entry may still commit, decoded");
    p.superseded(9, 1);
    assert.equal(p.proposed(entry(9, 2)), undefined, "covered by a snapshot");
    p.add(11, 4, 0, 1000, replies(1).list, proposed);
    p.failAll("timeout", "leadership lost", 2);
    assert.equal(p.proposed(entry(11, 4)), undefined, "leadership lost");
  });
});
