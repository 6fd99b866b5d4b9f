import assert from "node:assert/strict";
import { test } from "node:test";
import { Driver, type DriverConfig, NodeError } from "../../src/node/index.js";
import { AcknowledgedEntriesLostError } from "../../src/raft/index.js";
import { DiskStorage, MemDisk } from "../../src/storage/index.js";
import { HeldStorage, ManualClock, SentMessages } from "./helpers.js";

/**
 * Review of the driver's `safely` (a core failure in step/tick goes to `fail`): once a receive failed, the
 * driver must be fully stopped — the failure reaches onFatal once, not the caller; a waiting read is answered;
 * later proposals, reads and inputs are refused or ignored; the tick timer no longer sends anything.
 */
test("a core failure in receive stops the driver: onFatal once, waiters answered, nothing more done", async () => {
  const inner = await DiskStorage.open(new MemDisk(), "/n1", {
    bootstrapConfig: { voters: [1, 2, 3], learners: [] },
  });
  const clock = new ManualClock();
  const network = new SentMessages();
  const fatal: unknown[] = [];
  const config: DriverConfig = {
    raft: { id: 1, electionTicks: 10, heartbeatTicks: 3, seed: 7 },
    voters: [1, 2, 3],
    tickMs: 10,
    snapshotEntries: 10_000,
    requestTimeoutMs: 500,
  };
  const driver = new Driver(config, {
    clock,
    storage: new HeldStorage(inner),
    network,
    onFatal: (err) => fatal.push(err),
  });
  driver.start();
  driver.receive({ type: "heartbeat", from: 2, to: 1, term: 1, commit: 0, readSeq: 0 });
  await clock.settle();
  let readError: unknown;
  driver.read({ resolve: () => assert.fail("read served"), reject: (e) => (readError = e) });
  await clock.settle();

  // Leader 2 commits what this node never had: its data dir lost acknowledged entries.
  assert.doesNotThrow(() =>
    driver.receive({ type: "heartbeat", from: 2, to: 1, term: 1, commit: 50, readSeq: 0 }),
  );
  await clock.settle();
  assert.equal(fatal.length, 1);
  assert.ok(fatal[0] instanceof AcknowledgedEntriesLostError);
  assert.equal((fatal[0] as AcknowledgedEntriesLostError).code, "acknowledged_entries_lost");
  assert.ok(readError instanceof NodeError && readError.code === "stopped");

  // Nothing more: inputs ignored (no second onFatal), proposals and reads refused, no tick sends.
  driver.receive({ type: "heartbeat", from: 2, to: 1, term: 1, commit: 60, readSeq: 0 });
  let proposeError: unknown;
  driver.propose(
    { type: "create", label: "x", atMs: 0 },
    { resolve: () => assert.fail("proposal taken"), reject: (e) => (proposeError = e) },
  );
  let read2: unknown;
  driver.read({ resolve: () => assert.fail("read served"), reject: (e) => (read2 = e) });
  const sentBefore = network.sent.length;
  await clock.advance(5_000);
  assert.equal(fatal.length, 1);
  assert.ok(proposeError instanceof NodeError && proposeError.code === "stopped");
  assert.ok(read2 instanceof NodeError && read2.code === "stopped");
  assert.equal(network.sent.length, sentBefore, "a stopped driver still sends on its ticks");
  assert.equal(driver.proposalsPending, 0);
});
