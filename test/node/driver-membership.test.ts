import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type ConfChangeError,
  Driver,
  type DriverConfig,
  decodeAppSnapshot,
  type ReplicatedMembers,
} from "../../src/node/index.js";
import type { ConfChange, ConfigState } from "../../src/raft/index.js";
import { DiskStorage, MemDisk } from "../../src/storage/index.js";
import { HeldStorage, ManualClock, SentMessages } from "./helpers.js";

const text = (s: string) => new TextEncoder().encode(s);

/** A member table that records what the driver hands it. */
class Members implements ReplicatedMembers {
  table = "t0";
  restored: (string | undefined)[] = [];
  encode(): Uint8Array {
    return text(this.table);
  }
  restore(data: Uint8Array | undefined): void {
    this.restored.push(data === undefined ? undefined : new TextDecoder().decode(data));
  }
}

async function startLeader(disk = new MemDisk(), snapshotEntries = 10_000) {
  const inner = await DiskStorage.open(disk, "/n1", { bootstrapConfig: { voters: [1], learners: [] } });
  const storage = new HeldStorage(inner);
  const clock = new ManualClock();
  const applied: { cc: ConfChange; config: ConfigState; index: number }[] = [];
  const members = new Members();
  const config: DriverConfig = {
    raft: { id: 1, electionTicks: 10, heartbeatTicks: 3, seed: 7 },
    voters: [1],
    tickMs: 10,
    snapshotEntries,
    requestTimeoutMs: 500,
  };
  const driver = new Driver(config, {
    clock,
    storage,
    network: new SentMessages(),
    members,
    hooks: { configApplied: (cc, cfg, index) => applied.push({ cc, config: cfg, index }) },
  });
  driver.start();
  await clock.advance(400);
  assert.equal(driver.raft.role, "leader");
  return { driver, clock, applied, members, inner };
}

const add = (id: number, context = ""): ConfChange => ({ op: "addLearner", id, context: text(context) });

describe("the driver: membership", () => {
  test("proposeConfChange resolves with the new configuration once applied; configApplied gets the context", async () => {
    const { driver, clock, applied } = await startLeader();
    const done = driver.proposeConfChange(add(2, "http://b:7002"));
    await clock.settle();
    assert.deepEqual(await done, { voters: [1], learners: [2], removed: [] });
    assert.equal(applied.length, 1);
    assert.equal(new TextDecoder().decode(applied[0]?.cc.context), "http://b:7002");
    assert.deepEqual(driver.membership.learners, [2]);
  });

  test("refusals reject with ConfChangeError: one change at a time, invalid changes", async () => {
    const { driver, clock } = await startLeader();
    const first = driver.proposeConfChange(add(2));
    await assert.rejects(driver.proposeConfChange(add(3)), (err: ConfChangeError) => {
      assert.equal(err.name, "ConfChangeError");
      assert.equal(err.code, "config_change_pending");
      assert.equal(err.leader, 1);
      return true;
    });
    await clock.settle();
    await first;
    await assert.rejects(driver.proposeConfChange({ op: "remove", id: 1, context: text("") }), {
      code: "config_invalid",
    });
  });

  test("snapshots carry the member table next to the stacks; a restart restores it and replays later changes", async () => {
    const disk = new MemDisk();
    const first = await startLeader(disk, 4);
    const { driver, clock, members } = first;
    members.table = "with 2";
    const added = driver.proposeConfChange(add(2));
    await clock.settle();
    await added;
    for (let i = 0; i < 6; i++) {
      driver.propose({ type: "create", label: `s${i}`, atMs: 0 }, { resolve: () => {}, reject: () => {} });
      await clock.settle();
    }
    await clock.advance(100);
    const snap = first.inner.snapshot();
    assert.ok(snap.meta.index > 0, "no snapshot was taken");
    assert.deepEqual(snap.meta.config.learners, [2], "snapshot metadata lacks the configuration");
    assert.equal(new TextDecoder().decode(decodeAppSnapshot(snap.data).members), "with 2");
    const later = driver.proposeConfChange(add(3));
    await clock.settle();
    await later;
    driver.stop();
    await driver.idle();
    await first.inner.close();
    const second = await startLeader(disk, 4);
    assert.deepEqual(second.members.restored, ["with 2"]);
    assert.deepEqual(
      second.applied.map((a) => a.cc.id),
      [3],
      "the change after the snapshot is replayed from the log",
    );
    assert.deepEqual(second.driver.membership.learners, [2, 3]);
  });
});
