import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Driver, type DriverConfig, type NodeError } from "../../src/node/index.js";
import type { Message } from "../../src/raft/index.js";
import { decodeCommand, type Outcome } from "../../src/stack/index.js";
import { DiskStorage, MemDisk } from "../../src/storage/index.js";
import { HeldStorage, ManualClock, SentMessages } from "./helpers.js";

const requestTimeoutMs = 500;

async function startDriver(voters: readonly number[]) {
  const inner = await DiskStorage.open(new MemDisk(), "/n1", { bootstrapConfig: { voters, learners: [] } });
  const storage = new HeldStorage(inner);
  const clock = new ManualClock();
  const network = new SentMessages();
  const config: DriverConfig = {
    raft: { id: 1, electionTicks: 10, heartbeatTicks: 3, seed: 7 },
    voters,
    tickMs: 10,
    snapshotEntries: 10_000,
    requestTimeoutMs,
  };
  const driver = new Driver(config, { clock, storage, network });
  driver.start();
  return { driver, storage, clock, network };
}

/** A single-voter node elects itself within two election timeouts. */
async function leader() {
  const started = await startDriver([1]);
  await started.clock.advance(400);
  assert.equal(started.driver.raft.role, "leader");
  return started;
}

type Settled = { ok: true; value: Outcome } | { ok: false; error: NodeError } | undefined;

function propose(driver: Driver, label: string): () => Settled {
  let settled: Settled;
  driver.propose(
    { type: "create", label, atMs: 0 },
    {
      resolve: (value) => {
        settled = { ok: true, value };
      },
      reject: (error) => {
        settled = { ok: false, error };
      },
    },
  );
  return () => settled;
}

describe("the driver", () => {
  test("group commit: proposals of one turn go to disk in one save and are answered", async () => {
    const { driver, storage, clock } = await leader();
    const before = storage.saves.length;
    const answers = ["a", "b", "c", "d", "e"].map((label) => propose(driver, label));
    await clock.settle();
    const withEntries = storage.saves.slice(before).filter((s) => s.entries.length > 0);
    assert.equal(withEntries.length, 1, "one save for the whole turn");
    assert.equal(withEntries[0]?.entries.length, 5);
    assert.deepEqual(
      answers.map((a) => a()),
      [1, 2, 3, 4, 5].map((id) => ({ ok: true, value: { ok: true, kind: "created", id } })),
    );
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

  test("stop() fails every waiting proposal and read with stopped", async () => {
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
    assert.equal(settled.error.code, "stopped");
    assert.equal(readError?.code, "stopped");
    storage.release();
    await driver.idle();
  });
});
