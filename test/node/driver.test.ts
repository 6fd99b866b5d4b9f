import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Driver, type DriverConfig, type NodeError } from "../../src/node/index.js";
import type { Entry, Message } from "../../src/raft/index.js";
import {
  type AsciiPushes,
  type Command,
  decodeBatch,
  decodeCommand,
  encodeCommandAt,
  isBatch,
  type Outcome,
  StackMachine,
} from "../../src/stack/index.js";
import { DiskStorage, MemDisk } from "../../src/storage/index.js";
import { HeldStorage, ManualClock, SentMessages } from "./helpers.js";

const requestTimeoutMs = 500;

async function startDriver(
  voters: readonly number[],
  limits?: DriverConfig["limits"],
  raftLimits?: DriverConfig["raft"]["limits"],
  disk = new MemDisk(),
) {
  const inner = await DiskStorage.open(disk, "/n1", { bootstrapConfig: { voters, learners: [] } });
  const storage = new HeldStorage(inner);
  const clock = new ManualClock();
  const network = new SentMessages();
  const config: DriverConfig = {
    raft: {
      id: 1,
      electionTicks: 10,
      heartbeatTicks: 3,
      seed: 7,
      ...(raftLimits === undefined ? {} : { limits: raftLimits }),
    },
    voters,
    tickMs: 10,
    snapshotEntries: 10_000,
    requestTimeoutMs,
    ...(limits === undefined ? {} : { limits }),
  };
  const driver = new Driver(config, { clock, storage, network });
  driver.start();
  return { driver, storage, clock, network, inner };
}

/** A single-voter node elects itself within two election timeouts. */
async function leader(limits?: DriverConfig["limits"], raftLimits?: DriverConfig["raft"]["limits"]) {
  const started = await startDriver([1], limits, raftLimits);
  await started.clock.advance(400);
  assert.equal(started.driver.raft.role, "leader");
  return started;
}

/** Makes node 1 of a 3-voter cluster leader: its peers grant every vote it asks for. */
async function elect(driver: Driver, clock: ManualClock, network: SentMessages) {
  for (let round = 0; round < 50 && driver.raft.role !== "leader"; round++) {
    await clock.advance(10);
    for (const m of network.sent.splice(0)) {
      if (m.type !== "vote") continue;
      driver.receive({
        type: "voteResp",
        from: m.to,
        to: 1,
        term: m.term,
        preVote: m.preVote,
        reject: false,
      });
    }
    await clock.settle();
  }
  assert.equal(driver.raft.role, "leader");
}

type Settled = { ok: true; value: Outcome } | { ok: false; error: NodeError } | undefined;

function propose(driver: Driver, label: string): () => Settled {
  return proposeCommand(driver, { type: "create", label, atMs: 0 });
}

function proposeCommand(driver: Driver, cmd: Command): () => Settled {
  let settled: Settled;
  driver.propose(cmd, {
    resolve: (value) => {
      settled = { ok: true, value };
    },
    reject: (error) => {
      settled = { ok: false, error };
    },
  });
  return () => settled;
}

/** The normal entries the storage was asked to save since save number `from`. */
function savedEntries(storage: HeldStorage, from = 0): Entry[] {
  return storage.saves.slice(from).flatMap((s) => s.entries.filter((e) => e.kind === "normal"));
}

/** A run of `count` keyless LPUSH of one item each onto label "s" (items "0", "1", ...), as the RESP fast lane makes. */
function run(count: number): AsciiPushes {
  const spans: number[] = [];
  let text = "s";
  for (let i = 0; i < count; i++) {
    spans.push(0, 1, 1, text.length, text.length + String(i).length);
    text += String(i);
  }
  return { src: Buffer.from(text), count, spans: Uint32Array.from(spans) };
}

/** Proposes `r`; each command's answer as "size N" or its error code, by arrival. */
function proposeRun(driver: Driver, r: AsciiPushes): string[] {
  const answers: string[] = [];
  driver.proposeRun(r, {
    resolve: (o) => answers.push(o.ok && o.kind === "pushed" ? `size ${o.size}` : JSON.stringify(o)),
    reject: (err) => answers.push(err.code),
  });
  return answers;
}

describe("the driver", () => {
  test("a run of fast-lane LPUSH goes into one entry (never split), within the batch and pending limits", async () => {
    const { driver, storage, clock } = await leader({ commandsPerBatchMax: 4, proposalsPendingMax: 6 });
    const before = storage.saves.length;
    const first = proposeRun(driver, run(3));
    const second = proposeRun(driver, run(2)); // does not fit with the first: the first is proposed alone
    const tooMany = proposeRun(driver, run(2)); // 5 pending + 2 > 6: all refused, none taken
    const tooLarge = proposeRun(driver, run(5)); // more than any batch takes
    assert.deepEqual(tooMany, ["busy", "busy"]);
    assert.deepEqual(tooLarge, new Array(5).fill("busy"), "refused while the pending ones fill the limit");
    await clock.settle();
    assert.deepEqual(
      savedEntries(storage, before).map((e) => (isBatch(e.data) ? decodeBatch(e.data)?.length : 1)),
      [3, 2],
    );
    assert.deepEqual(first, ["size 1", "size 2", "size 3"]);
    assert.deepEqual(second, ["size 4", "size 5"]);
    assert.deepEqual(proposeRun(driver, run(5)), new Array(5).fill("bad_request"));
    assert.deepEqual(driver.machine.range("s", 0, -1), ["1", "0", "2", "1", "0"]);
  });

  test("group commit: proposals of one turn become one batch entry in one save, each answered", async () => {
    const { driver, storage, clock } = await leader();
    const before = storage.saves.length;
    const answers = ["a", "b", "c", "d", "e"].map((label) => propose(driver, label));
    await clock.settle();
    const withEntries = storage.saves.slice(before).filter((s) => s.entries.length > 0);
    assert.equal(withEntries.length, 1, "one save for the whole turn");
    assert.equal(withEntries[0]?.entries.length, 1, "one entry for the whole turn");
    const commands = decodeBatch(withEntries[0]?.entries[0]?.data ?? new Uint8Array());
    assert.deepEqual(
      commands?.map(
        (c) => decodeCommand(c)?.type === "create" && (decodeCommand(c) as { label: string }).label,
      ),
      ["a", "b", "c", "d", "e"],
    );
    assert.deepEqual(
      answers.map((a) => a()),
      [1, 2, 3, 4, 5].map((id) => ({ ok: true, value: { ok: true, kind: "created", id } })),
    );
  });

  test("a batch answers each command with its own outcome: a failing pop in the middle, a keyed copy", async () => {
    const { driver, storage, clock } = await leader();
    const before = storage.saves.length;
    const answers = [
      proposeCommand(driver, { type: "lpush", label: "s", items: ["x"], key: "k", atMs: 0 }),
      proposeCommand(driver, { type: "lpop", label: "empty", atMs: 0 }),
      proposeCommand(driver, { type: "lpush", label: "s", items: ["x"], key: "k", atMs: 0 }),
      proposeCommand(driver, { type: "lpop", label: "s", atMs: 0 }),
      proposeCommand(driver, { type: "lpop", label: "s", atMs: 0 }),
    ];
    await clock.settle();
    assert.equal(savedEntries(storage, before).length, 1);
    assert.deepEqual(
      answers.map((a) => a()),
      [
        { ok: true, kind: "pushed", size: 1 },
        { ok: false, code: "stack_not_found" },
        { ok: true, kind: "pushed", size: 1 },
        { ok: true, kind: "popped", item: "x" },
        { ok: false, code: "stack_empty" },
      ].map((value) => ({ ok: true, value })),
    );
    assert.equal(driver.proposalsPending, 0);
  });

  test("batch limits: a full batch is proposed and the next one begins; a command larger than a batch goes alone", async () => {
    const { driver, storage, clock } = await leader({ commandsPerBatchMax: 2, batchBytesMax: 200 });
    const before = storage.saves.length;
    const answers = ["a", "b", "c", "d", "e"].map((label) => propose(driver, label));
    answers.push(propose(driver, "L".repeat(250)), propose(driver, "f"));
    await clock.settle();
    const entries = savedEntries(storage, before);
    assert.deepEqual(
      entries.map((e) => (isBatch(e.data) ? decodeBatch(e.data)?.length : 1)),
      [2, 2, 1, 1, 1],
      "a, b | c, d | e (the next does not fit) | the large one alone | f",
    );
    assert.deepEqual(
      answers.map((a) => a()),
      [1, 2, 3, 4, 5, 6, 7].map((id) => ({ ok: true, value: { ok: true, kind: "created", id } })),
    );
  });

  test("a batch the core refuses (uncommitted bytes full) refuses each of its commands with busy", async () => {
    const { driver, storage, clock } = await leader(
      { commandsPerBatchMax: 4, batchBytesMax: 100 },
      { uncommittedBytesMax: 150 },
    );
    // Nothing commits while the write is held: the uncommitted bytes only grow.
    storage.hold = true;
    const turns: (() => Settled)[][] = [];
    for (let turn = 0; turn < 3; turn++) {
      turns.push(["a", "b", "c", "d"].map((label) => propose(driver, `${label}${turn}`)));
      await clock.settle();
    }
    const codes = (answers: (() => Settled)[]) =>
      answers.map((a) => {
        const s = a();
        return s === undefined ? "waiting" : s.ok ? "ok" : s.error.code;
      });
    assert.deepEqual(codes(turns[0]!), ["waiting", "waiting", "waiting", "waiting"]);
    assert.deepEqual(codes(turns[1]!), ["waiting", "waiting", "waiting", "waiting"]);
    assert.deepEqual(codes(turns[2]!), ["busy", "busy", "busy", "busy"]);
    assert.equal(driver.proposalsPending, 8);
    storage.release();
    await clock.settle();
    storage.release();
    await clock.settle();
    assert.deepEqual([...codes(turns[0]!), ...codes(turns[1]!)], new Array(8).fill("ok"));
  });

  test("batch limits that do not fit the core's append are refused at construction", async () => {
    await assert.rejects(() => startDriver([1], { batchBytesMax: 2 << 20 }), RangeError);
    await assert.rejects(() => startDriver([1], { commandsPerBatchMax: 0 }), RangeError);
  });

  test("early apply: a committed entry is answered while the next batch's fsync is in flight", async () => {
    const { driver, storage, clock } = await leader();
    storage.hold = true;
    const first = propose(driver, "first");
    await clock.settle();
    // While the first entry's fsync is in flight, the second joins the next batch.
    const second = propose(driver, "second");
    await clock.settle();
    assert.equal(first(), undefined);
    storage.release();
    await clock.settle();
    // The next Ready carries the first entry's commit and the second entry, whose fsync is now held.
    assert.deepEqual(first(), { ok: true, value: { ok: true, kind: "created", id: 1 } });
    assert.equal(second(), undefined, "the second waits for its own fsync");
    storage.hold = false;
    storage.release();
    await clock.settle();
    assert.deepEqual(second(), { ok: true, value: { ok: true, kind: "created", id: 2 } });
  });

  test("a proposal that cannot commit fails with timeout once the tick sweep passes its deadline", async () => {
    const { driver, storage, clock } = await leader();
    storage.hold = true;
    const answer = propose(driver, "stuck");
    await clock.advance(requestTimeoutMs - 20);
    assert.equal(answer(), undefined);
    await clock.advance(40);
    const settled = answer();
    assert.ok(settled !== undefined && !settled.ok);
    assert.equal(settled.error.code, "timeout");
    storage.release();
  });

  test("a command gathered while a write hangs is answered once its deadline passes, not left waiting", async () => {
    // Review of batch entries: commands gathered while a save is in flight wait in the batch for the
    // loop; a save that never finishes must not leave them without an answer (before batches they
    // were in the core at once and the tick sweep timed them out).
    const { driver, storage, clock } = await leader();
    storage.hold = true;
    const first = propose(driver, "first");
    await clock.settle();
    const gathered = propose(driver, "gathered");
    await clock.settle();
    await clock.advance(requestTimeoutMs + 20);
    assert.equal((first() as { ok: boolean } | undefined)?.ok, false, "the proposed one timed out");
    const settled = gathered();
    assert.ok(settled !== undefined && !settled.ok, "the gathered one is answered too");
    assert.equal(settled.error.code, "busy", "a refusal: it was never proposed, a retry is safe");
    assert.equal(driver.proposalsPending, 0);
    storage.release();
    await clock.settle();
    assert.equal(driver.machine.stackCount, 1, "only the proposed one may apply");
  });

  test("commands carry this leader's wall clock, whatever the caller stamped", async () => {
    const { driver, storage, clock } = await leader();
    const at = clock.wallMs();
    propose(driver, "stamped");
    await clock.settle();
    const entry = storage.saves.flatMap((s) => s.entries).find((e) => e.kind === "normal");
    assert.equal(entry === undefined ? undefined : decodeCommand(entry.data)?.atMs, at);
  });

  test("a linearizable read is served once this node applied the commit index it was issued at", async () => {
    const { driver, clock } = await leader();
    propose(driver, "s");
    await clock.settle();
    const commitAtRead = driver.raft.status().commit;
    let served = -1;
    driver.read({
      resolve: () => {
        served = driver.machine.appliedIndex;
      },
      reject: (e) => assert.fail(e),
    });
    await clock.settle();
    await clock.advance(10);
    assert.ok(commitAtRead >= 2 && served >= commitAtRead, `read at ${commitAtRead} served at ${served}`);
  });

  test("a read with no leader known is refused no_leader in a read's words (HTTP passes the message on)", async () => {
    const { driver } = await startDriver([1, 2, 3]);
    let refused: NodeError | undefined;
    driver.read({
      resolve: () => assert.fail("served without a leader"),
      reject: (e) => (refused = e as NodeError),
    });
    assert.equal(refused?.code, "no_leader");
    // Nothing about a write ("nothing was proposed/applied"): a read has nothing to apply.
    assert.equal(refused?.message, "no leader known; retry");
  });

  test("a follower refuses proposals, naming the leader once it knows one", async () => {
    const { driver, clock } = await startDriver([1, 2, 3]);
    const noLeader = propose(driver, "x")();
    assert.ok(noLeader !== undefined && !noLeader.ok);
    assert.equal(noLeader.error.code, "no_leader");
    const heartbeat: Message = { type: "heartbeat", from: 2, to: 1, term: 1, commit: 0, readSeq: 0 };
    driver.receive(heartbeat);
    await clock.settle();
    const notLeader = propose(driver, "x")();
    assert.ok(notLeader !== undefined && !notLeader.ok);
    assert.equal(notLeader.error.code, "not_leader");
    assert.equal(notLeader.error.leader, 2);
  });

  test("a read the leader never confirms fails with timeout on the tick sweep past its deadline", async () => {
    const { driver, clock, network } = await startDriver([1, 2, 3]);
    // Leader 2 keeps heartbeating (so this follower never campaigns) but never answers the read.
    const heartbeat = () =>
      driver.receive({ type: "heartbeat", from: 2, to: 1, term: 1, commit: 0, readSeq: 0 });
    heartbeat();
    clock.every(30, heartbeat);
    let error: NodeError | undefined;
    const errorOf = () => error;
    driver.read({
      resolve: () => assert.fail("read served without the leader's confirmation"),
      reject: (e) => {
        error = e;
      },
    });
    await clock.settle();
    assert.ok(
      network.sent.some((m) => m.type === "readIndex" && m.to === 2),
      "forwarded to the leader",
    );
    await clock.advance(requestTimeoutMs - 20);
    assert.equal(errorOf(), undefined, "still waiting before the deadline");
    await clock.advance(40);
    assert.equal(errorOf()?.code, "timeout");
    assert.equal(errorOf()?.leader, 2);
  });

  test("leadership lost between gathering and proposing: the batch is refused with not_leader, naming the new leader", async () => {
    // Review of batch entries: the commands of a turn are proposed when the Ready loop runs, so a
    // higher-term message in the same turn reaches the core first. Nothing was proposed: the refusal
    // must say not_leader with the new leader's id (LeaderRequests then forwards the write there), as
    // it did when each proposal went to the core at once.
    const { driver, clock, network } = await startDriver([1, 2, 3]);
    await elect(driver, clock, network);
    const term = driver.raft.term;
    const gathered = ["a", "b"].map((label) => propose(driver, label));
    driver.receive({ type: "heartbeat", from: 2, to: 1, term: term + 1, commit: 0, readSeq: 0 });
    await clock.settle();
    assert.equal(driver.raft.role, "follower");
    assert.deepEqual(
      gathered.map((a) => {
        const s = a();
        return s !== undefined && !s.ok ? [s.error.code, s.error.leader] : s;
      }),
      [
        ["not_leader", 2],
        ["not_leader", 2],
      ],
    );
    assert.equal(driver.proposalsPending, 0);
  });

  test("a restart replays single-command and batch entries from the log: same stacks, same exactly-once keys", async () => {
    const disk = new MemDisk();
    const first = await startDriver([1], undefined, undefined, disk);
    await first.clock.advance(400);
    const single = proposeCommand(first.driver, {
      type: "lpush",
      label: "s",
      items: ["a"],
      key: "k1",
      atMs: 0,
    });
    await first.clock.settle();
    const batch = [
      proposeCommand(first.driver, { type: "lpush", label: "s", items: ["b"], key: "k2", atMs: 0 }),
      proposeCommand(first.driver, { type: "lpush", label: "s", items: ["a"], key: "k1", atMs: 0 }),
      proposeCommand(first.driver, { type: "lpop", label: "s", key: "k3", atMs: 0 }),
    ];
    await first.clock.settle();
    const kinds = savedEntries(first.storage).map((e) => (isBatch(e.data) ? "batch" : "single"));
    assert.deepEqual(kinds, ["single", "batch"]);
    const answers = [single, ...batch].map((a) => a());
    assert.deepEqual(answers, [
      { ok: true, value: { ok: true, kind: "pushed", size: 1 } },
      { ok: true, value: { ok: true, kind: "pushed", size: 2 } },
      { ok: true, value: { ok: true, kind: "pushed", size: 1 } },
      { ok: true, value: { ok: true, kind: "popped", item: "b" } },
    ]);
    first.driver.stop();
    await first.driver.idle();
    await first.inner.close();

    const second = await startDriver([1], undefined, undefined, disk);
    await second.clock.advance(400);
    assert.equal(second.driver.raft.role, "leader");
    assert.deepEqual(second.driver.machine.range("s", 0, -1), ["a"], "the log replayed in order");
    // Retries after the restart get the first outcomes: the keys were replayed with their commands.
    const retries = [
      proposeCommand(second.driver, { type: "lpop", label: "s", key: "k3", atMs: 0 }),
      proposeCommand(second.driver, { type: "lpush", label: "s", items: ["b"], key: "k2", atMs: 0 }),
    ];
    await second.clock.settle();
    assert.deepEqual(
      retries.map((a) => a()),
      [
        { ok: true, value: { ok: true, kind: "popped", item: "b" } },
        { ok: true, value: { ok: true, kind: "pushed", size: 2 } },
      ],
    );
    assert.deepEqual(second.driver.machine.range("s", 0, -1), ["a"], "no retry ran again");
    second.driver.stop();
    await second.driver.idle();
  });

  test("the leader answers and holds what its log replays to, also for text the decoder changes (U+FEFF first)", async () => {
    const { driver, storage, clock } = await leader();
    // A follower, or this node after a restart, decodes the entry: a leading U+FEFF is dropped there.
    const answers = [
      proposeCommand(driver, { type: "lpush", label: "\ufeff", items: ["x"], atMs: 0 }),
      proposeCommand(driver, { type: "lpush", label: "s", items: ["\ufeffy"], key: "\ufeffk", atMs: 0 }),
    ];
    await clock.settle();
    const replayed = new StackMachine();
    const outcomes: Outcome[] = [];
    for (const e of storage.saves.flatMap((s) => s.entries)) {
      if (e.kind === "normal") replayed.applyEntry(e.index, e.data, (o) => outcomes.push(o));
      else replayed.applyNoop(e.index);
    }
    assert.deepEqual(
      answers.map((a) => a()),
      outcomes.map((value) => ({ ok: true, value })),
    );
    assert.deepEqual(driver.machine.snapshot(), replayed.snapshot());
  });

  test("our uncommitted entry overwritten by a later leader's at the same index: the node applies that leader's bytes, then leads again", async () => {
    // Review of d6f8e18 (the leader applies the commands it proposed): the commands kept for index i in
    // term t must never stand in for another leader's entry at i, nor survive into a later term.
    const { driver, clock, network } = await startDriver([1, 2, 3]);
    await elect(driver, clock, network);
    const term = driver.raft.term;
    const index = driver.raft.log.lastIndex() + 1;
    const ours = proposeCommand(driver, { type: "lpush", label: "s", items: ["ours"], atMs: 0 });
    await clock.settle();
    assert.equal(driver.raft.log.lastIndex(), index, "appended, never acknowledged by a peer");
    const theirs: Command = { type: "lpush", label: "s", items: ["theirs"], atMs: 5 };
    driver.receive({
      type: "app",
      from: 2,
      to: 1,
      term: term + 1,
      prevIndex: index - 1,
      prevTerm: term,
      entries: [{ kind: "normal", index, term: term + 1, data: encodeCommandAt(theirs, 5) }],
      commit: index,
    });
    await clock.settle();
    assert.equal(driver.machine.appliedIndex, index);
    assert.deepEqual(driver.machine.range("s", 0, -1), ["theirs"]);
    assert.equal(ours()?.ok, false, "our proposal was lost, never answered with their outcome");
    network.sent.splice(0);
    await elect(driver, clock, network);
    const again = proposeCommand(driver, { type: "lpush", label: "s", items: ["again"], atMs: 0 });
    await clock.settle();
    const last = driver.raft.log.lastIndex();
    driver.receive({
      type: "appResp",
      from: 2,
      to: 1,
      term: driver.raft.term,
      reject: false,
      index: last,
      hintIndex: 0,
      hintTerm: 0,
    });
    await clock.settle();
    assert.equal(driver.machine.appliedIndex, last);
    assert.deepEqual(again(), { ok: true, value: { ok: true, kind: "pushed", size: 2 } });
    assert.deepEqual(driver.machine.range("s", 0, -1), ["again", "theirs"]);
    driver.stop();
    await driver.idle();
  });

  test("stop() fails the proposals gathered for the next batch with stopped", async () => {
    const { driver, storage, clock } = await leader();
    storage.hold = true;
    propose(driver, "first");
    await clock.settle();
    // The first save is held: these wait in the batch for the loop.
    const gathered = ["b", "c"].map((label) => propose(driver, label));
    await clock.settle();
    assert.equal(driver.proposalsPending, 3);
    driver.stop();
    assert.deepEqual(
      gathered.map((a) => {
        const s = a();
        return s !== undefined && !s.ok ? s.error.code : s;
      }),
      ["stopped", "stopped"],
    );
    storage.release();
    await driver.idle();
  });

  test("stop() fails every waiting read with stopped, and proposals in the log with outcome unknown", async () => {
    const { driver, storage, clock } = await leader();
    storage.hold = true;
    const answer = propose(driver, "pending");
    let readError: NodeError | undefined;
    driver.read({
      resolve: () => assert.fail("read served after stop"),
      reject: (e) => {
        readError = e;
      },
    });
    await clock.settle();
    driver.stop();
    const settled = answer();
    assert.ok(settled !== undefined && !settled.ok);
    assert.equal(settled.error.code, "timeout", "the next leader may still commit it");
    assert.equal(readError?.code, "stopped");
    storage.release();
    await driver.idle();
  });
});
