// Backup and restore with real processes: save from a 3-node cluster, restore into a fresh 3-node
// cluster (three data dirs), start it and compare every stack exactly; damaged backups are refused.
// Ports: this file's range is 30400-30499 (source cluster 30410..30431, restored 30460..30481).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { Cluster, track } from "./harness.js";

const BIN = resolve("bin/raftstack.js");
const json = { "content-type": "application/json" };
/** Stacks written before the backup: sizes vary, one is emptied, one deleted, so ids have a gap. */
const STACKS = 8;

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      done({ code, stdout, stderr });
    });
  });
}

/** Every stack as (id, label, items bottom first), read by popping it empty: the exact content. */
async function drainAll(c: Cluster): Promise<{ id: number; label: string; items: string[] }[]> {
  const list = JSON.parse((await c.retry(c.ids(), "GET", "/v1/stacks")).body).stacks as {
    id: number;
    label: string;
    size: number;
  }[];
  // Stacks are drained in parallel, each one pop at a time (the order within a stack is the content).
  return Promise.all(
    list.map(async (s) => {
      const items: string[] = [];
      for (let k = 0; ; k++) {
        const a = await c.retry(c.ids(), "POST", `/v1/stacks/${s.id}/pop`, undefined, {
          "idempotency-key": `drain-${s.id}-${k}`,
        });
        if (a.status === 409) break;
        assert.equal(a.status, 200, a.body);
        items.unshift(JSON.parse(a.body).item);
      }
      assert.equal(items.length, s.size, `stack ${s.id}: popped ${items.length} of ${s.size}`);
      return { id: s.id, label: s.label, items };
    }),
  );
}

describe("e2e: snapshot save and restore", { timeout: 150_000 }, () => {
  const source = track(new Cluster(3, 30400, ["--snapshot-entries", "20"]));
  const restored = track(new Cluster(3, 30450));
  after(async () => {
    await source.destroy();
    await restored.destroy();
  });
  const backup = join(source.dir, "cluster.backup");

  test("a backup restored into a fresh 3-node cluster holds every stack exactly", async () => {
    source.startAll();
    await source.waitLeader();
    for (let s = 1; s <= STACKS; s++) {
      const a = await source.retry(
        source.ids(),
        "POST",
        "/v1/stacks",
        JSON.stringify({ label: `s${s}` }),
        json,
      );
      assert.equal(a.status, 200, a.body);
      const id = JSON.parse(a.body).id as number;
      // Enough writes in all to pass several local snapshots (every 20 entries), so the backup is not
      // simply a node's snapshot file.
      for (let b = 0; b < s; b++) {
        const items = Array.from({ length: 4 }, (_, k) => `s${s}-${b}-${k} ${"é".repeat(k)}`);
        const p = await source.retry(
          source.ids(),
          "POST",
          `/v1/stacks/${id}/push`,
          JSON.stringify({ items }),
          {
            ...json,
            "idempotency-key": `push-${s}-${b}`,
          },
        );
        assert.equal(p.status, 200, p.body);
      }
    }
    await source.retry(source.ids(), "POST", "/v1/stacks/3/pop", undefined, { "idempotency-key": "pop-3" });
    assert.equal((await source.retry(source.ids(), "DELETE", "/v1/stacks/5")).status, 200);

    // Endpoints list a follower first: save must find the leader itself.
    const leader = await source.waitLeader();
    const follower = source.ids().find((i) => i !== leader) ?? 1;
    const endpoints = [follower, leader].map((i) => source.url(i)).join(",");
    const save = await cli(["snapshot", "save", backup, "--endpoints", endpoints]);
    assert.equal(save.code, 0, save.stderr);
    assert.match(
      save.stdout,
      new RegExp(
        `saved .*cluster\\.backup: snapshot at index \\d+ from node ${leader}, \\d+ bytes, sha256 [0-9a-f]{64}`,
      ),
    );
    assert.match(save.stderr, /snapshot save: .* (B|KiB|MiB) \(100%\)/, "a final progress line");
    assert.ok(!existsSync(`${backup}.part`));

    const cluster = restored
      .ids()
      .map((i) => restored.peerUrl(i))
      .join(",");
    for (const i of restored.ids()) {
      const r = await cli([
        "snapshot",
        "restore",
        backup,
        "--data-dir",
        restored.dataDir(i),
        "--id",
        String(i),
        "--cluster",
        cluster,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        new RegExp(`member ${i} of voters \\[1, 2, 3\\], snapshot at index \\d+, term 1`),
      );
    }
    const expected = await drainAll(source);
    assert.equal(expected.length, STACKS - 1);
    assert.ok(expected.some((s) => s.items.length > 10));

    restored.startAll();
    await restored.waitLeader();
    const actual = await drainAll(restored);
    assert.deepEqual(actual, expected);

    // The restored cluster is a working cluster: it takes new writes.
    const a = await restored.retry(
      restored.ids(),
      "POST",
      "/v1/stacks",
      JSON.stringify({ label: "after" }),
      json,
    );
    assert.equal(a.status, 200, a.body);
    assert.equal(JSON.parse(a.body).id, STACKS + 1, "ids continue after the restored ones");

    // A member repaired to an empty log catches up by snapshot and logs how far the transfer got.
    await restored.kill(3);
    // Its data dir is intact: repair needs --force to empty it.
    const repair = await cli(["repair", "--data-dir", restored.dataDir(3), "--force"]);
    assert.equal(repair.code, 0, repair.stderr);
    assert.match(repair.stderr, /repair: WAL: \d+ \/ \d+ segments \(100%\)/);
    restored.start(3);
    const leaderNow = await restored.waitLeader();
    await restored.waitApplied(3, (await restored.status(leaderNow)).applied);
    const log = readFileSync(join(restored.dir, "node-3.log"), "utf8");
    assert.match(log, /"bytesDone":(\d+),"bytesTotal":\1,"percent":100,.*"msg":"snapshot received"/);
  });

  test("a damaged backup, a non-empty data dir and a bad --id are refused with their exit codes", async () => {
    const bytes = readFileSync(backup);
    const args = (file: string, dir: string) => [
      "snapshot",
      "restore",
      file,
      "--data-dir",
      dir,
      "--id",
      "1",
      "--cluster",
      "http://127.0.0.1:30460",
    ];

    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 100] = (flipped[flipped.length - 100] ?? 0) ^ 0x01;
    const bad = join(source.dir, "flipped.backup");
    writeFileSync(bad, flipped);
    const dir1 = join(source.dir, "restore-flipped");
    const r1 = await cli(args(bad, dir1));
    assert.equal(r1.code, 3, r1.stderr);
    assert.match(r1.stderr, /checksum_mismatch/);
    assert.ok(!existsSync(dir1) || readdirSync(dir1).length === 0, "nothing written");

    const cut = join(source.dir, "cut.backup");
    writeFileSync(cut, bytes.subarray(0, bytes.length - 10));
    const r2 = await cli(args(cut, join(source.dir, "restore-cut")));
    assert.equal(r2.code, 3, r2.stderr);
    assert.match(r2.stderr, /truncated/);

    const full = join(source.dir, "full");
    mkdirSync(full);
    writeFileSync(join(full, "keep-me"), "x");
    const r3 = await cli(args(backup, full));
    assert.equal(r3.code, 1, r3.stderr);
    assert.match(r3.stderr, /data_dir_not_empty/);
    assert.deepEqual(readdirSync(full), ["keep-me"]);

    const r4 = await cli([
      ...args(backup, join(source.dir, "restore-id")).slice(0, -4),
      "--id",
      "2",
      "--cluster",
      "http://127.0.0.1:30460",
    ]);
    assert.equal(r4.code, 2, r4.stderr);
    assert.match(r4.stderr, /--id 2 is not in --cluster/);
  });
});
