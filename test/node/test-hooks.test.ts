// The test-only hooks of a node process (src/node/test-hooks.ts): off by default, refused without the
// consent variable, and each hook does what the nemesis relies on.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { systemClock } from "../../src/node/clock.js";
import { UsageError } from "../../src/node/index.js";
import {
  TEST_HOOKS_CONSENT,
  TEST_HOOKS_CONSENT_ENV,
  TEST_HOOKS_ENV,
  TestHooks,
  type TestHooksFile,
} from "../../src/node/test-hooks.js";
import { MemDisk } from "../../src/storage/index.js";

function hooksFile(dir: string, content: TestHooksFile): string {
  const path = join(dir, "hooks.json");
  writeFileSync(path, JSON.stringify(content));
  return path;
}

describe("node test hooks", () => {
  test("none without the variable; refused without consent, by the hooks and by the node command", () => {
    assert.equal(TestHooks.fromEnv({}), undefined);
    const dir = mkdtempSync(join(tmpdir(), "raftstack-hooks-"));
    try {
      const path = hooksFile(dir, { mutations: ["ackBeforeFsync"] });
      assert.throws(() => TestHooks.fromEnv({ [TEST_HOOKS_ENV]: path }), UsageError);
      assert.throws(
        () => TestHooks.fromEnv({ [TEST_HOOKS_ENV]: path, [TEST_HOOKS_CONSENT_ENV]: "yes" }),
        UsageError,
      );
      const node = spawnSync(
        process.execPath,
        [resolve("dist/src/node/main.js"), "--id", "1", "--cluster", "http://127.0.0.1:1", "--data-dir", dir],
        { env: { ...process.env, [TEST_HOOKS_ENV]: path }, encoding: "utf8", timeout: 20_000 },
      );
      assert.equal(node.status, 2, node.stderr);
      assert.match(node.stderr, /refusing to start without RAFTSTACK_TEST_HOOKS_UNSAFE/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("mutations map to the core's, the driver's and the machine's switches", () => {
    const dir = mkdtempSync(join(tmpdir(), "raftstack-hooks-"));
    const path = hooksFile(dir, {
      mutations: ["grantTwoVotesPerTerm", "ackBeforeFsync", "applyRetriesTwice"],
    });
    const hooks = TestHooks.fromEnv({
      [TEST_HOOKS_ENV]: path,
      [TEST_HOOKS_CONSENT_ENV]: TEST_HOOKS_CONSENT,
    })!;
    try {
      assert.deepEqual(hooks.raftMutations(), { grantTwoVotesPerTerm: true });
      assert.deepEqual(hooks.driverMutations(), { ackBeforeFsync: true });
      assert.deepEqual(hooks.machineOptions(), { mutations: { applyRetriesTwice: true } });
      assert.equal(hooks.has("readWithoutReadIndex"), false);
      writeFileSync(path, JSON.stringify({ mutations: ["nope"] }));
      assert.throws(
        () => TestHooks.fromEnv({ [TEST_HOOKS_ENV]: path, [TEST_HOOKS_CONSENT_ENV]: TEST_HOOKS_CONSENT }),
        UsageError,
      );
    } finally {
      hooks.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("writes stay in the process until sync, a disk delay holds syncs until the file lifts it; the clock follows offset and rate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "raftstack-hooks-"));
    const path = hooksFile(dir, { diskDelayMs: 3_600_000, clockOffsetMs: 60_000, clockRate: 2 });
    const hooks = TestHooks.fromEnv({
      [TEST_HOOKS_ENV]: path,
      [TEST_HOOKS_CONSENT_ENV]: TEST_HOOKS_CONSENT,
    })!;
    try {
      const clock = hooks.clock(systemClock);
      assert.ok(Math.abs(clock.wallMs() - Date.now() - 60_000) < 1000);
      // Each reading of the hooked clock is bracketed by real time, so a stall of this process between
      // two readings (a busy CI machine) widens the bracket instead of failing the rate.
      const before0 = performance.now();
      const t0 = clock.now();
      const after0 = performance.now();
      await sleep(200);
      const before1 = performance.now();
      const t1 = clock.now();
      const after1 = performance.now();
      const rateMin = (t1 - t0) / (after1 - before0);
      const rateMax = (t1 - t0) / (before1 - after0);
      assert.ok(rateMin < 2.1 && rateMax > 1.9, `clock rate between ${rateMin} and ${rateMax}`);

      const mem = new MemDisk();
      const disk = hooks.disk(mem);
      await disk.mkdirp("/d");
      const file = await disk.openWrite("/d/f");
      const buffer = new Uint8Array([1]);
      await file.write(buffer, 0);
      buffer[0] = 9; // the caller may reuse its buffer once write returns
      assert.deepEqual([...(await mem.readFile("/d/f"))], [], "a write stays in the process until sync");
      let synced = false;
      const sync = file.sync().then(() => {
        synced = true;
      });
      await sleep(300);
      assert.equal(synced, false, "a stalled sync must not complete");
      assert.deepEqual([...(await mem.readFile("/d/f"))], [], "a stalled sync's writes stay in the process");
      writeFileSync(path, JSON.stringify({}));
      await sync;
      assert.deepEqual([...(await mem.readFile("/d/f"))], [1]);
      await file.write(new Uint8Array([2, 3]), 1);
      await file.truncate(2);
      assert.deepEqual([...(await mem.readFile("/d/f"))], [1, 2], "held writes land before a truncate");
      await file.write(new Uint8Array([4]), 2);
      await file.close();
      assert.deepEqual([...(await mem.readFile("/d/f"))], [1, 2, 4], "and before a close");
      assert.ok(Math.abs(clock.wallMs() - Date.now()) < 1000, "offset lifted");
    } finally {
      hooks.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
