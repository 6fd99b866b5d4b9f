// `raftstack repair` as an operator meets it: real node processes, real data dirs, the command's exit
// codes and messages. It refuses an intact data dir and the only voter's log unless --force.
// Ports: this file's range is 31600-31699 (single node 31610/31611, three nodes 31650..31681).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Cluster, MAIN, track } from "./harness.js";

const json = { "content-type": "application/json" };
/** One repair run reads a small data dir; far below this even on a loaded machine. */
const REPAIR_MS_MAX = 20_000;

interface Run {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

function repair(...args: string[]): Promise<Run> {
  return new Promise((resolve) =>
    execFile(process.execPath, [MAIN, "repair", ...args], { timeout: REPAIR_MS_MAX }, (err, out, errText) =>
      resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? null), out, err: errText }),
    ),
  );
}

/** Names and sizes under `dir`, one level down: a refused repair must leave exactly this. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((p) => !p.startsWith("LOCK"))
    .map((p) => `${p} ${statSync(join(dir, p)).size}`)
    .sort();
}

/** Flips a byte in the middle of the node's largest WAL segment (only the checksum can tell). */
function damageWal(dataDir: string): void {
  const walDir = join(dataDir, "wal");
  const segments = readdirSync(walDir).map((name) => join(walDir, name));
  const segment = segments.sort((a, b) => statSync(b).size - statSync(a).size)[0] ?? "";
  const bytes = readFileSync(segment);
  assert.ok(bytes.length > 1000, `segment too small to damage in the middle (${bytes.length})`);
  const offset = Math.floor(bytes.length / 2);
  bytes[offset] = (bytes[offset] ?? 0) ^ 0xff;
  writeFileSync(segment, bytes);
}

async function pushes(c: Cluster, n: number): Promise<void> {
  const created = await c.retry(c.ids(), "POST", "/v1/stacks", JSON.stringify({ label: "r" }), json);
  assert.equal(created.status, 200, created.body);
  const id = JSON.parse(created.body).id as number;
  for (let k = 0; k < n; k++) {
    const item = `item-${k}-${"x".repeat(40)}`;
    const a = await c.retry(c.ids(), "POST", `/v1/stacks/${id}/push`, JSON.stringify({ item }), {
      ...json,
      "idempotency-key": item,
    });
    assert.equal(a.status, 200, a.body);
  }
}

describe("e2e: repair refuses unless forced", { timeout: 120_000 }, () => {
  const clusters: Cluster[] = [];
  after(async () => {
    for (const c of clusters) await c.destroy();
  });

  test("a data dir that does not exist is a usage error (exit 2)", async () => {
    const r = await repair("--data-dir", "/nonexistent/raftstack-repair-e2e");
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /\/nonexistent\/raftstack-repair-e2e/);
    assert.match(r.err, /does not exist/);
    assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
  });

  test("three voters: an intact data dir is refused (exit 2); a damaged one is repaired without --force", async () => {
    const c = track(new Cluster(3, 31640));
    clusters.push(c);
    c.startAll();
    await c.waitLeader();
    await pushes(c, 40);
    const leader = await c.waitLeader();
    const victim = c.ids().find((i) => i !== leader) ?? 1;
    await c.waitApplied(victim, (await c.status(leader)).commit);
    await c.kill(victim);

    const before = listing(c.dataDir(victim));
    const intact = await repair("--data-dir", c.dataDir(victim));
    assert.equal(intact.code, 2, intact.err);
    assert.match(intact.err, /^raftstack repair: repair_not_needed: nothing is damaged/);
    assert.match(intact.err, /--force/);
    assert.equal(intact.out, "");
    assert.deepEqual(listing(c.dataDir(victim)), before, "a refused repair changes nothing");

    damageWal(c.dataDir(victim));
    c.start(victim);
    const exit = await c.exited(victim);
    assert.equal(exit.code, 3, exit.stderr);
    assert.match(exit.stderr, /raftstack repair --data-dir/);
    assert.doesNotMatch(exit.stderr, /--force/, "other voters hold its writes: no --force needed");

    const repaired = await repair("--data-dir", c.dataDir(victim));
    assert.equal(repaired.code, 0, repaired.err);
    assert.match(repaired.out, /moved aside/);
    c.start(victim);
    await c.waitApplied(victim, (await c.status(await c.waitLeader())).commit);
  });

  test("the only voter: start refusal and repair name --force and what it loses; --force repairs", async () => {
    // A snapshot every 10 entries: its membership (one voter) survives any damage to the WAL.
    const c = track(new Cluster(1, 31600, ["--snapshot-entries", "10"]));
    clusters.push(c);
    c.start(1);
    await c.waitLeader();
    await pushes(c, 40);
    await c.kill(1);
    const dir = c.dataDir(1);
    damageWal(dir);

    c.start(1);
    const exit = await c.exited(1);
    assert.equal(exit.code, 3, exit.stderr);
    assert.match(exit.stderr, /only voter/);
    assert.match(exit.stderr, new RegExp(`raftstack repair --force --data-dir ${dir}`));

    const before = listing(dir);
    const refused = await repair("--data-dir", dir);
    assert.equal(refused.code, 2, refused.err);
    assert.match(refused.err, /^raftstack repair: repair_sole_voter: /);
    assert.match(refused.err, /only voter/);
    assert.match(refused.err, /--force/);
    assert.deepEqual(listing(dir), before, "a refused repair changes nothing");

    const forced = await repair("--data-dir", dir, "--force");
    assert.equal(forced.code, 0, forced.err);
    assert.match(forced.out, /moved aside/);
    assert.match(forced.err, /--force: .*only voter/);
    assert.ok(existsSync(join(dir, "wal.corrupt-1")));
  });
});
