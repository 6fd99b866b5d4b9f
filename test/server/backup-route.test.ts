// GET /v1/snapshot against a fake node: the leader streams a backup of its machine, a follower refuses.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { StackMachine } from "../../src/stack/index.js";
import { decodeBackup } from "../../src/storage/index.js";
import { closeApis, FakeService, listenApi } from "./fake-service.js";

describe("GET /v1/snapshot", { timeout: 30_000 }, () => {
  after(closeApis);

  test("the leader answers a backup file of its state, with its length, index and checksum", async () => {
    const leader = new FakeService(1);
    const { url } = await listenApi(leader);
    for (const label of ["a", "b"]) {
      const res = await fetch(`${url}/v1/stacks`, { method: "POST", body: JSON.stringify({ label }) });
      assert.equal(res.status, 200);
    }
    await fetch(`${url}/v1/stacks/1/push`, { method: "POST", body: JSON.stringify({ items: ["x", "y"] }) });
    const res = await fetch(`${url}/v1/snapshot`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/octet-stream");
    const bytes = new Uint8Array(await res.arrayBuffer());
    assert.equal(Number(res.headers.get("content-length")), bytes.length);
    assert.equal(Number(res.headers.get("x-raft-snapshot-index")), leader.machine.appliedIndex);
    assert.match(res.headers.get("x-backup-sha256") ?? "", /^[0-9a-f]{64}$/);
    const snapshot = decodeBackup(bytes);
    assert.equal(snapshot.meta.index, leader.machine.appliedIndex);
    assert.deepEqual(StackMachine.restore(snapshot.data).list(), leader.machine.list());
  });

  test("a follower answers 503 no_leader naming the leader (a backup is never proxied)", async () => {
    const { url } = await listenApi(new FakeService(2, 1));
    const res = await fetch(`${url}/v1/snapshot`);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("x-raft-leader"), "1");
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "no_leader");
  });
});
