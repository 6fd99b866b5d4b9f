import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { DataDirLockedError, DiskStorage, MemDisk, NodeDisk } from "../../src/storage/index.js";
import { DATA, ents, restart } from "./helpers.js";

const HOLDER = new URL("./fixtures/lock-holder.js", import.meta.url).pathname;
const MAIN = new URL("../../src/node/main.js", import.meta.url).pathname;
/** Bound on any one child process of these tests. */
const CHILD_MS_MAX = 20_000;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "raftstack-lock-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Holder {
  readonly child: ChildProcess;
  /** "locked <pid>" or "refused <code> <message>". */
  readonly line: string;
}

/** Starts the lock-holder fixture on `dir` and waits for its first line. */
function startHolder(dir: string): Promise<Holder> {
  const child = spawn(process.execPath, [HOLDER, dir], { stdio: ["pipe", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("lock holder said nothing"));
    }, CHILD_MS_MAX);
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const nl = out.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      resolve({ child, line: out.slice(0, nl) });
    });
    child.on("error", reject);
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

async function kill(child: ChildProcess): Promise<void> {
  child.kill("SIGKILL");
  await exited(child);
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await exited(child);
  return child.pid!;
}

async function lockFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith("LOCK")).sort();
}

describe("data-dir lock", { timeout: 120_000 }, () => {
  test("MemDisk: a second open is refused until the first closes or its process dies", async () => {
    const disk = new MemDisk();
    const first = await DiskStorage.open(disk, DATA, { lockReason: "node 1" });
    const err = await DiskStorage.open(disk, DATA).then(
      () => assert.fail("opened a data dir twice"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DataDirLockedError);
    assert.equal(err.code, "data_dir_locked");
    assert.equal(err.dataDir, DATA);
    assert.equal(err.holderReason, "node 1");
    assert.match(
      err.message,
      new RegExp(`^data dir /data is in use by process ${err.holderPid} \\(node 1\\)`),
    );
    await first.close();
    const second = await DiskStorage.open(disk, DATA);
    await second.save({ entries: ents(1, 1, 1) });
    disk.killProcesses(); // the process died without closing: the lock goes with it
    const third = await DiskStorage.open(disk, DATA);
    disk.crash(); // so does a power cut
    await DiskStorage.open(disk, DATA);
    assert.equal(third.lastIndex(), 1);
  });

  test("MemDisk: a failed open releases the lock", async () => {
    const disk = new MemDisk();
    const s = await DiskStorage.open(disk, DATA);
    await s.save({ entries: ents(1, 3, 1) });
    const segment = `${DATA}/wal/${s.walSegments()[0]}`;
    const bytes = (await disk.readFile(segment)).slice();
    bytes[30]! ^= 1;
    disk.setFile(segment, bytes);
    await assert.rejects(restart(disk), { code: "wal_corrupt" });
    await assert.rejects(DiskStorage.open(disk, DATA), { code: "wal_corrupt" }, "not data_dir_locked");
  });

  test("NodeDisk: one process cannot open a data dir twice; close releases it", async () => {
    await withDir(async (dir) => {
      const disk = new NodeDisk();
      const first = await DiskStorage.open(disk, dir, { lockReason: "first" });
      const [a, b] = await Promise.allSettled([DiskStorage.open(disk, dir), DiskStorage.open(disk, dir)]);
      for (const r of [a, b]) {
        assert.equal(r.status, "rejected");
        assert.ok(r.reason instanceof DataDirLockedError);
        assert.equal(r.reason.holderPid, process.pid);
        assert.equal(r.reason.holderReason, "first");
      }
      const lock = JSON.parse(await readFile(join(dir, "LOCK.1"), "utf8"));
      assert.equal(lock.pid, process.pid);
      assert.equal(lock.reason, "first");
      await first.close();
      assert.deepEqual(await lockFiles(dir), [], "close removes the lock file");
      const second = await DiskStorage.open(disk, dir);
      await second.close();
    });
  });

  test("NodeDisk: a stale lock (dead pid, our own pid, a reused pid, garbage) is taken over", async () => {
    await withDir(async (dir) => {
      const disk = new NodeDisk();
      const since = new Date().toISOString();
      const stale = [
        { pid: await deadPid(), since, reason: "dead" },
        // Our own pid, but not held by this process: left by an earlier process with the same pid.
        { pid: process.pid, since, reason: "earlier incarnation" },
        // A live pid whose start time differs: the holder died and its pid was given to another process.
        { pid: process.ppid, startTicks: 1, since, reason: "reused pid" },
      ];
      for (const [k, record] of stale.entries()) {
        await writeFile(join(dir, `LOCK.${k + 1}`), JSON.stringify(record));
        const s = await DiskStorage.open(disk, dir);
        assert.deepEqual(await lockFiles(dir), [`LOCK.${k + 2}`], record.reason);
        await s.close();
      }
      await writeFile(join(dir, "LOCK.7"), ""); // emptied by a power cut
      const s = await DiskStorage.open(disk, dir);
      assert.deepEqual(await lockFiles(dir), ["LOCK.8"]);
      await s.close();
    });
  });

  test("NodeDisk: a live holder with a matching start time is respected", {
    skip: !existsSync("/proc/self/stat"),
  }, async () => {
    await withDir(async (dir) => {
      const stat = await readFile(`/proc/${process.ppid}/stat`, "utf8");
      const startTicks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
      const record = { pid: process.ppid, startTicks, since: new Date().toISOString(), reason: "parent" };
      await writeFile(join(dir, "LOCK.4"), JSON.stringify(record));
      await assert.rejects(DiskStorage.open(new NodeDisk(), dir), (e: unknown) => {
        return e instanceof DataDirLockedError && e.holderPid === process.ppid && e.holderReason === "parent";
      });
      assert.deepEqual(await lockFiles(dir), ["LOCK.4"], "a refused process leaves the lock alone");
    });
  });

  test("two processes: the second is refused naming the first; a killed holder's lock is taken over", async () => {
    await withDir(async (dir) => {
      const first = await startHolder(dir);
      const children = [first.child];
      try {
        assert.equal(first.line, `locked ${first.child.pid}`);
        const second = await startHolder(dir);
        children.push(second.child);
        assert.match(
          second.line,
          new RegExp(
            `^refused data_dir_locked data dir ${dir} is in use by process ${first.child.pid} \\(lock-holder fixture\\)`,
          ),
        );
        assert.equal(await exited(second.child), 3);

        // A stopped holder still holds the dir: it may resume and write at any moment.
        first.child.kill("SIGSTOP");
        const whileStopped = await startHolder(dir);
        children.push(whileStopped.child);
        assert.match(whileStopped.line, /^refused data_dir_locked/);
        first.child.kill("SIGCONT");

        // repair refuses too, through the command.
        const repairOut = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
          execFile(
            process.execPath,
            [MAIN, "repair", "--data-dir", dir],
            { timeout: CHILD_MS_MAX },
            (err, _o, stderr) =>
              resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? null), stderr }),
          ),
        );
        assert.equal(repairOut.code, 1, repairOut.stderr);
        assert.match(repairOut.stderr, new RegExp(`in use by process ${first.child.pid}`));

        await kill(first.child);
        const third = await startHolder(dir);
        children.push(third.child);
        assert.equal(third.line, `locked ${third.child.pid}`, "the dead holder's lock was taken over");
        const lock = JSON.parse(await readFile(join(dir, (await lockFiles(dir))[0]!), "utf8"));
        assert.equal(lock.pid, third.child.pid);
        third.child.stdin!.end();
        assert.equal(await exited(third.child), 0);
        assert.deepEqual(await lockFiles(dir), []);
      } finally {
        for (const child of children) await kill(child);
      }
    });
  });

  test("processes racing for a stale lock: exactly one wins", async () => {
    await withDir(async (dir) => {
      for (let round = 0; round < 3; round++) {
        const dead = await deadPid();
        // Above the lock the previous round's (killed) winner left behind.
        const top = 100 * (round + 1);
        await writeFile(join(dir, `LOCK.${top}`), JSON.stringify({ pid: dead, since: "", reason: "dead" }));
        const racers = await Promise.all(Array.from({ length: 4 }, () => startHolder(dir)));
        try {
          const won = racers.filter((r) => r.line.startsWith("locked"));
          assert.equal(won.length, 1, racers.map((r) => r.line).join("\n"));
          for (const r of racers.filter((x) => x !== won[0])) {
            assert.match(r.line, new RegExp(`^refused data_dir_locked .*process ${won[0]!.child.pid}`));
          }
        } finally {
          for (const r of racers) await kill(r.child);
        }
      }
    });
  });
});
