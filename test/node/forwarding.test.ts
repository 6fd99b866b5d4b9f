// Forwarding writes to the leader (issue 11, item 1): the follower's queue with its retries, the
// leader's table of forwarded requests, and three real drivers where an answer is lost in a leader
// change and the retry still applies the write exactly once.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeLeaderView } from "../../src/node/cluster-view.js";
import { ForwardedRequests } from "../../src/node/forwarded.js";
import { Forwarder } from "../../src/node/forwarding.js";
import { type Driver, NodeError, type Reply } from "../../src/node/index.js";
import { LeaderRequests } from "../../src/node/leader-requests.js";
import { MemberTable } from "../../src/node/members.js";
import { decodeBatch, decodeCommand, isBatch, type Outcome } from "../../src/stack/index.js";
import { type ForwardRequest, type ForwardResult, PROTOCOL_VERSION } from "../../src/transport/index.js";
import { ManualClock } from "./helpers.js";
import { asciiRun, runAnswers } from "./runs.js";
import { leaderOf, threeNodes } from "./three-drivers.js";

type Settled<T> = { ok: true; value: T } | { ok: false; error: NodeError } | undefined;

function capture<T>(): { reply: Reply<T>; settled: () => Settled<T>; count: () => number } {
  let settled: Settled<T>;
  let count = 0;
  return {
    reply: {
      resolve: (value) => {
        count++;
        settled = { ok: true, value };
      },
      reject: (error) => {
        count++;
        settled = { ok: false, error };
      },
    },
    settled: () => settled,
    count: () => count,
  };
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A follower (id 1) whose sends are recorded; `leader` and the local handler are set by the test. */
function follower(opts: { requestsPendingMax?: number } = {}) {
  const sent: { to: number; request: ForwardRequest }[] = [];
  const local: { kind: number; reply: Reply<Uint8Array> }[] = [];
  const state = { leader: 0, accept: true, version: PROTOCOL_VERSION };
  const f = new Forwarder({
    self: 1,
    leader: () => state.leader,
    network: {
      forward: (to, request) => {
        if (state.accept) sent.push({ to, request });
        return state.accept;
      },
      peerVersion: () => state.version,
    },
    local: (kind, _payload, reply) => local.push({ kind, reply }),
    firstRequestId: 1000,
    requestsPendingMax: opts.requestsPendingMax ?? 100,
  });
  return { f, sent, local, state };
}

const ok = (requestId: number, answer: string): ForwardResult => ({
  requestId,
  ok: true,
  payload: bytes(answer),
});
const refused = (requestId: number, code: string, leader: number): ForwardResult => ({
  requestId,
  ok: false,
  code,
  leader,
  message: code,
});

describe("forwarder (the follower's side)", () => {
  test("waits for a leader, sends on its connection, resolves once with the answer", () => {
    const { f, sent, state } = follower();
    const a = capture<Uint8Array>();
    f.submit(1, bytes("cmd"), 1000, a.reply);
    assert.equal(sent.length, 0, "no leader known: nothing sent");
    state.leader = 2;
    f.leaderChanged(2);
    assert.deepEqual(
      sent.map((s) => [s.to, s.request.requestId]),
      [[2, 1000]],
    );
    f.result(3, ok(1000, "from the wrong node")); // only the node it was sent to answers it
    assert.equal(a.count(), 0);
    f.result(2, ok(1000, "done"));
    f.result(2, ok(1000, "again"));
    assert.equal(a.count(), 1);
    assert.equal(text((a.settled() as { value: Uint8Array }).value), "done");
    assert.equal(f.size, 0);
  });

  test("a lost connection, a refusal or an unknown outcome sends it again, same id, to the leader", () => {
    const { f, sent, state } = follower();
    const a = capture<Uint8Array>();
    state.leader = 2;
    f.submit(1, bytes("cmd"), 1000, a.reply);
    f.peerLost(2);
    f.tick(10);
    f.result(2, refused(1000, "not_leader", 3)); // refused, naming the new leader: sent there at once
    f.result(3, refused(1000, "timeout", 3)); // outcome unknown: wait, then try again
    f.tick(20);
    f.result(2, refused(1000, "stopped", 0));
    state.leader = 3;
    f.leaderChanged(3);
    assert.deepEqual(
      sent.map((s) => [s.to, s.request.requestId]),
      [
        [2, 1000],
        [2, 1000],
        [3, 1000],
        [2, 1000],
        [3, 1000],
      ],
    );
    f.result(3, ok(1000, "applied once"));
    assert.equal(a.count(), 1);
  });

  test("a request that must not run twice is resent after a refusal only; an unknown outcome is its answer", () => {
    const { f, sent, state } = follower();
    state.leader = 2;
    const lost = capture<Uint8Array>();
    f.submit(2, bytes("add"), 1000, lost.reply, false);
    f.result(2, refused(1000, "not_leader", 3)); // refused: nothing ran, sent to node 3
    f.leaderChanged(2); // sent to 3 and unanswered: not sent again on a leader change
    f.peerLost(3);
    f.tick(10);
    assert.deepEqual(
      sent.map((s) => [s.to, s.request.requestId]),
      [
        [2, 1000],
        [3, 1000],
      ],
    );
    assert.equal((lost.settled() as { error: NodeError }).error.code, "timeout");
    const unknown = capture<Uint8Array>();
    f.submit(2, bytes("remove"), 1000, unknown.reply, false);
    f.result(2, refused(1001, "timeout", 2));
    f.tick(20);
    assert.equal(sent.length, 3, "not sent again after an unknown outcome");
    assert.equal((unknown.settled() as { error: NodeError }).error.code, "timeout");
  });

  test("other errors are the answer; deadlines answer no_leader (never sent) or timeout (sent)", () => {
    const { f, state } = follower();
    const busy = capture<Uint8Array>();
    state.leader = 2;
    f.submit(1, bytes("a"), 1000, busy.reply);
    f.result(2, refused(1000, "busy", 2));
    assert.equal((busy.settled() as { error: NodeError }).error.code, "busy");
    const strange = capture<Uint8Array>();
    f.submit(1, bytes("b"), 1000, strange.reply);
    f.result(2, refused(1001, "from_a_newer_version", 2));
    assert.equal((strange.settled() as { error: NodeError }).error.code, "internal");
    const sent = capture<Uint8Array>();
    f.submit(1, bytes("c"), 100, sent.reply);
    const once = capture<Uint8Array>(); // a membership change, a transfer: no key to retry with
    f.submit(1, bytes("e"), 100, once.reply, false);
    state.leader = 0;
    const never = capture<Uint8Array>();
    f.submit(1, bytes("d"), 100, never.reply);
    f.tick(99);
    assert.equal(f.size, 3);
    f.tick(100);
    assert.equal((sent.settled() as { error: NodeError }).error.code, "timeout");
    assert.match((sent.settled() as { error: NodeError }).error.message, /retry with the same key/);
    const unkeyed = (once.settled() as { error: NodeError }).error;
    assert.deepEqual(
      [unkeyed.code, unkeyed.message],
      ["timeout", "the leader did not answer in time; outcome unknown"],
    );
    assert.equal((never.settled() as { error: NodeError }).error.code, "no_leader");
  });

  test("bounded: past requestsPendingMax a request is refused busy; a full link retries on the tick", () => {
    const { f, sent, state } = follower({ requestsPendingMax: 1 });
    state.leader = 2;
    state.accept = false;
    const first = capture<Uint8Array>();
    f.submit(1, bytes("a"), 1000, first.reply);
    const second = capture<Uint8Array>();
    f.submit(1, bytes("b"), 1000, second.reply);
    assert.equal((second.settled() as { error: NodeError }).error.code, "busy");
    state.accept = true;
    f.tick(1);
    assert.equal(sent.length, 1);
  });

  test("once this node leads, waiting requests run here; a refusal here waits for the next tick", () => {
    const { f, local, state } = follower();
    const a = capture<Uint8Array>();
    f.submit(7, bytes("x"), 1000, a.reply);
    state.leader = 1;
    f.leaderChanged(1);
    assert.equal(local.length, 1);
    local[0]?.reply.reject(new NodeError("not_leader", "transfer in progress", 1));
    f.tick(5);
    assert.equal(local.length, 2, "tried here again on the tick");
    local[1]?.reply.resolve(bytes("ran here"));
    assert.equal(text((a.settled() as { value: Uint8Array }).value), "ran here");
  });
});

describe("forwarded requests (the leader's side)", () => {
  test("a copy resent while the first runs is not run twice: the answer goes to the newest connection", () => {
    const runs: Reply<Uint8Array>[] = [];
    const table = new ForwardedRequests((_kind, _payload, reply) => runs.push(reply), 2, 100);
    const oldConn: ForwardResult[] = [];
    const newConn: ForwardResult[] = [];
    const request = { requestId: 5, kind: 1, payload: bytes("p") };
    table.receive(2, request, 0, (r) => oldConn.push(r));
    table.receive(2, request, 1, (r) => newConn.push(r));
    assert.equal(runs.length, 1);
    runs[0]?.resolve(bytes("out"));
    assert.deepEqual([oldConn.length, newConn.length], [0, 1]);
    assert.equal(table.size, 0);
    // Another sender's request with the same id is another request.
    table.receive(3, request, 2, () => {});
    assert.equal(runs.length, 2);
  });

  test("bounded, with a deadline sweep", () => {
    const table = new ForwardedRequests(() => {}, 1, 100);
    const answers: ForwardResult[] = [];
    table.receive(2, { requestId: 1, kind: 1, payload: bytes("a") }, 0, (r) => answers.push(r));
    table.receive(2, { requestId: 2, kind: 1, payload: bytes("b") }, 0, (r) => answers.push(r));
    assert.equal(answers.length, 1);
    assert.equal(answers[0]?.requestId, 2);
    assert.equal(answers[0]?.ok === false && answers[0].code, "busy");
    table.expire(199);
    assert.equal(table.size, 1);
    table.expire(200);
    assert.equal(table.size, 0);
    assert.equal(answers[1]?.ok === false && answers[1].code, "timeout");
  });
});

describe("forwarding between real drivers", () => {
  test("an unkeyed write whose answer is lost in a leader change is applied exactly once", async () => {
    const { clock, drivers, requests, net } = await threeNodes();
    await clock.advance(1000);
    const leader = leaderOf(drivers);
    assert.ok(leader !== undefined);
    const [from, next] = [1, 2, 3].filter((id) => id !== leader.id) as [number, number];
    let created: Outcome | undefined;
    const creating = requests
      .get(from)
      ?.propose({ type: "create", label: "s", atMs: 0 })
      .then((o) => {
        created = o;
      });
    await clock.advance(100);
    await creating;
    assert.deepEqual(created, { ok: true, kind: "created", id: 1 });

    // The leader applies the push, but its answer never reaches the follower...
    net.dropResultsFrom = leader.id;
    let pushed: Outcome | undefined;
    const answer = requests
      .get(from)
      ?.propose({ type: "push", id: 1, items: ["once"], atMs: 0 })
      .then((o) => {
        pushed = o;
      });
    await clock.advance(50);
    assert.deepEqual(leader.machine.size(1), { ok: true, kind: "size", size: 1 });
    assert.equal(pushed, undefined);
    // ...and leadership moves: the follower sends the write again, with the key it gave it, to the new leader.
    assert.ok(leader.transferLeadership(next));
    net.dropResultsFrom = 0;
    await clock.advance(500);
    await answer;
    assert.deepEqual(pushed, { ok: true, kind: "pushed", size: 1 });
    for (const d of drivers.values())
      assert.deepEqual(d.machine.size(1), { ok: true, kind: "size", size: 1 });
    // The logged command carries a key this node made up.
    const log = drivers.get(next)?.raft.log;
    const entries = log?.slice(log.firstIndex(), log.lastIndex() + 1, 1e9) ?? [];
    const keys = entries.filter((e) => e.kind === "normal").map((e) => decodeCommand(e.data)?.key);
    assert.ok(keys.length >= 2 && keys.every((k) => k?.startsWith(`~${from}.`)), String(keys));
  });
});

describe("runs of fast-lane LPUSH between real drivers", () => {
  test("on the leader, on a follower, and refused by a leader handing over: each command applied once", async () => {
    const { clock, drivers, requests } = await threeNodes();
    await clock.advance(1000);
    const leader = leaderOf(drivers);
    const [follower, next] = [1, 2, 3].filter((id) => id !== leader.id) as [number, number];
    const run = asciiRun([
      ["s", "a", "b"],
      ["t", "c"],
      ["s", "d"],
    ]);
    const onLeader = runAnswers();
    requests.get(leader.id)?.submitRun(run, onLeader.reply);
    await clock.advance(100);
    assert.deepEqual(onLeader.sizes(3), [2, 1, 3]);

    const onFollower = runAnswers();
    requests.get(follower)?.submitRun(run, onFollower.reply);
    await clock.advance(200);
    assert.deepEqual(onFollower.sizes(3), [5, 2, 6]);

    // Gathered, then refused by the core (a transfer is in progress): nothing was proposed, so each
    // command goes to the next leader, as a Command made from its bytes.
    const handingOver = runAnswers();
    requests.get(leader.id)?.submitRun(run, handingOver.reply);
    assert.ok(leader.transferLeadership(next));
    await clock.advance(1000);
    assert.deepEqual(handingOver.sizes(3), [8, 3, 9]);
    for (const d of drivers.values()) {
      assert.deepEqual(d.machine.range("s", 0, -1), ["d", "b", "a", "d", "b", "a", "d", "b", "a"]);
      assert.deepEqual(d.machine.range("t", 0, -1), ["c", "c", "c"]);
    }
    // The refused run went to the next leader with keys the first one made up (the forward path).
    const log = drivers.get(next)?.raft.log;
    const entries = log?.slice(log.firstIndex(), log.lastIndex() + 1, 1e9) ?? [];
    const keyed = entries
      .filter((e) => e.kind === "normal")
      .flatMap((e) => (isBatch(e.data) ? (decodeBatch(e.data) ?? []) : [e.data]))
      .map((data) => decodeCommand(data)?.key)
      .filter((k) => k?.startsWith(`~${leader.id}.`));
    assert.equal(keyed.length, 3);
  });
  test("a run whose entry commits under the next leader after its own leader fell is not proposed again", async () => {
    const { clock, drivers, requests, net } = await threeNodes();
    await clock.advance(1000);
    const leader = leaderOf(drivers);
    const run = asciiRun([
      ["u", "a"],
      ["u", "b"],
    ]);
    const answers = runAnswers();
    const before = leader.raft.log.lastIndex();
    // The entry reaches both followers, but no answer the leader: then it is cut off, never learning the commit.
    net.deaf = leader.id;
    requests.get(leader.id)?.submitRun(run, answers.reply);
    const appended = () => [...drivers.values()].every((d) => d.raft.log.lastIndex() === before + 1);
    for (let ms = 0; ms < 20 && !appended(); ms++) await clock.advance(1);
    assert.ok(appended() && leader.machine.appliedIndex === before, "appended everywhere, not applied");
    net.isolated = leader.id;
    await clock.advance(1000);
    const next = [...drivers.values()].find((d) => d.id !== leader.id && d.raft.role === "leader");
    assert.ok(next !== undefined, "the others elected a leader");
    assert.deepEqual(next.machine.range("u", 0, -1), ["b", "a"], "committed by the next leader");
    net.isolated = 0;
    net.deaf = 0;
    await clock.advance(1000);
    // The outcome was unknown to the old leader: keyless, so answered so, never sent again.
    assert.deepEqual([...answers.answers.entries()].sort(), [
      [0, "timeout"],
      [1, "timeout"],
    ]);
    for (const d of drivers.values()) assert.deepEqual(d.machine.range("u", 0, -1), ["b", "a"]);
  });
});

describe("membership requests between real drivers", () => {
  test("a follower adds (id assigned by the leader), removes and transfers through the leader", async () => {
    const { clock, drivers, requests } = await threeNodes();
    await clock.advance(1000);
    const leader = leaderOf(drivers);
    const [from, next] = [1, 2, 3].filter((id) => id !== leader.id) as [number, number];
    const follower = requests.get(from) as LeaderRequests;
    const run = async <T>(p: Promise<T>): Promise<T> => {
      let settled: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
      p.then(
        (value) => {
          settled = { ok: true, value };
        },
        (error: unknown) => {
          settled = { ok: false, error };
        },
      );
      for (let i = 0; i < 100 && settled === undefined; i++) await clock.advance(20);
      assert.ok(settled !== undefined, "no answer");
      if (!settled.ok) throw settled.error;
      return settled.value;
    };
    const id = await run(
      follower.changeMember({ op: "addLearner", id: 0, peerUrl: "http://h:1", clientUrl: "" }),
    );
    assert.equal(id, 4, "the leader's next member id");
    for (const d of drivers.values()) assert.deepEqual(d.membership.learners, [4]);
    // One change at a time; an existing id can never be added again.
    await assert.rejects(
      run(follower.changeMember({ op: "addLearner", id: 4, peerUrl: "http://h:1", clientUrl: "" })),
      (err: NodeError) => err.code === "config_invalid",
    );
    assert.equal(await run(follower.changeMember({ op: "remove", id: 4, peerUrl: "", clientUrl: "" })), 4);
    for (const d of drivers.values()) assert.deepEqual(d.membership.learners, []);
    assert.equal(await run(follower.transfer(next)), next);
    assert.equal(drivers.get(next)?.raft.role, "leader");
    await assert.rejects(run(follower.transfer(9)), (err: NodeError) => err.code === "config_invalid");
  });

  test("a stopping leader whose first target dies while it is caught up hands over to the next one", async () => {
    const { clock, drivers, requests } = await threeNodes();
    await clock.advance(1000);
    const leader = leaderOf(drivers);
    const [first, second] = [1, 2, 3].filter((id) => id !== leader.id) as [number, number];
    const secondDriver = drivers.get(second) as Driver;
    // Both followers miss a write, then the second comes back: they tie, and the lower id goes first.
    drivers.delete(first);
    drivers.delete(second);
    void (requests.get(leader.id) as LeaderRequests).propose({ type: "create", label: "s", atMs: 0 });
    await clock.settle();
    drivers.set(second, secondDriver);
    assert.equal(leader.raft.handOffTarget(), first);
    let handedOver: boolean | undefined;
    void leader.handOver(1000).then((ok) => {
      handedOver = ok;
    });
    await clock.settle();
    assert.equal(leader.raft.transfer?.to, first);
    leader.peerUnreachable(first);
    for (let i = 0; i < 100 && handedOver === undefined; i++) await clock.advance(10);
    assert.equal(handedOver, true);
    assert.equal(secondDriver.raft.role, "leader");
  });
});

describe("a write proposed on this leader", () => {
  /** LeaderRequests over a stand-in driver that keeps each proposal's reply for the test to answer. */
  function onLeader() {
    const clock = new ManualClock();
    const raft = { role: "leader", leader: 1 };
    const proposed: Reply<Outcome>[] = [];
    const driver = {
      id: 1,
      raft,
      machine: { sessionCount: 0, limits: { sessionsMax: 1_000_000 } },
      propose: (_cmd: unknown, reply: Reply<Outcome>) => proposed.push(reply),
    };
    const requests = new LeaderRequests({
      driver: driver as unknown as Driver,
      clock,
      requestTimeoutMs: 2000,
      members: MemberTable.initial([{ id: 1, peerUrl: "http://127.0.0.1:7001" }]),
      tickMs: 10,
      limits: { forwardsPendingMax: 100, forwardedMax: 100 },
      leaderView: () => new Uint8Array(0),
      network: { forward: () => true, peerVersion: () => PROTOCOL_VERSION },
    });
    return { clock, raft, proposed, requests };
  }

  test("keyed, outcome unknown, no leader until the deadline: answered timeout once, never 'nothing was proposed'", () => {
    // Leadership lost with the write in the log: it may still commit under the next leader. The retry
    // waits for a leader that never comes; its own "never sent" must not become the write's answer.
    const { clock, raft, proposed, requests } = onLeader();
    const answer = capture<Outcome>();
    requests.submit({ type: "lpush", label: "s", items: ["a"], key: "k1", atMs: 0 }, answer.reply);
    assert.equal(proposed.length, 1);
    raft.role = "follower";
    raft.leader = 0;
    proposed[0]?.reject(new NodeError("timeout", "leadership lost; outcome unknown", 0));
    assert.equal(answer.count(), 0, "retried within the deadline");
    clock.nowMs = 2000;
    requests.tick();
    assert.equal(answer.count(), 1);
    const s = answer.settled();
    assert.equal(s?.ok === false && s.error.code, "timeout");
  });

  test("refused (nothing proposed), no leader until the deadline: answered no_leader once", () => {
    const { clock, raft, proposed, requests } = onLeader();
    const answer = capture<Outcome>();
    requests.submit({ type: "lpush", label: "s", items: ["a"], atMs: 0 }, answer.reply);
    raft.role = "follower";
    raft.leader = 0;
    proposed[0]?.reject(new NodeError("not_leader", "leadership lost before proposing", 0));
    clock.nowMs = 2000;
    requests.tick();
    assert.equal(answer.count(), 1);
    const s = answer.settled();
    assert.equal(s?.ok === false && s.error.code, "no_leader");
  });
});

describe("the leader's cluster view, asked by a follower", () => {
  test("answers the leader's match indexes; a leader that does not answer is a timeout at the deadline", async () => {
    const { clock, drivers, requests, net } = await threeNodes();
    await clock.advance(1000);
    const leader = leaderOf(drivers);
    const follower = [1, 2, 3].find((id) => id !== leader.id) as number;
    const follow = requests.get(follower) as LeaderRequests;
    await Promise.all([follow.propose({ type: "create", label: "s", atMs: 0 }), clock.advance(200)]);

    const [bytes] = await Promise.all([follow.fetchLeaderView(300), clock.advance(50)]);
    const view = decodeLeaderView(bytes);
    assert.equal(view?.viewFrom, leader.id);
    const progress = leader.raft.status().progress;
    assert.deepEqual(
      view?.members.map((m) => [m.id, m.match]),
      [1, 2, 3].map((id) => [id, progress.get(id)?.match]),
    );
    assert.ok(view?.members.every((m) => m.match !== null && m.match > 0));

    net.dropResultsFrom = leader.id;
    let failed: NodeError | undefined;
    const asking = follow.fetchLeaderView(300).catch((err: NodeError) => {
      failed = err;
    });
    await clock.advance(290);
    assert.equal(failed, undefined);
    await clock.advance(20);
    await asking;
    assert.equal((failed as NodeError | undefined)?.code, "timeout");
  });

  test("a node that no longer leads refuses, naming the leader; so the follower's request goes there", async () => {
    const { clock, drivers, requests } = await threeNodes();
    await clock.advance(1000);
    const leader = leaderOf(drivers);
    const [a, b] = [1, 2, 3].filter((id) => id !== leader.id) as [number, number];
    // Asked directly (as if it were the leader), a follower refuses with not_leader and the leader's id.
    const answers: ForwardResult[] = [];
    requests
      .get(a)
      ?.receive(b, { requestId: 1, kind: 4, payload: new Uint8Array(0) }, (r) => answers.push(r));
    assert.deepEqual(answers[0]?.ok === false && [answers[0].code, answers[0].leader], [
      "not_leader",
      leader.id,
    ]);
  });
});
