// Two `raftstack cluster` consoles in one base dir fought over the same data dirs (a user started a second
// one in another terminal): its nodes failed on locked data dirs or taken ports while it kept running. A
// console now holds <base-dir>/raftstack-console.lock/; a second one exits 1 naming the first one's pid,
// and a lock left by a console that died (SIGKILL) is taken over.
// Ports 27900-27949 (this file's range): single-node consoles on clients 27910, 27920, 27930 (peers one
// less), no Redis listener.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { killPids, sleep } from "../e2e/harness.js";

const CLI = resolve("bin/raftstack.js");
const WAIT_MS = 30_000;

interface Console {
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
}

describe("the cluster console's base-dir lock", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-console-lock-"));
  const consoles: ChildProcess[] = [];
  const nodePids = new Set<number>();
  after(() => {
    for (const c of consoles) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    killPids(nodePids);
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (basePort: number): Console => {
    const args = ["cluster", "--nodes", "1", "--base-dir", dir, "--base-port", String(basePort)];
    const proc = spawn(process.execPath, [CLI, ...args, "--resp-base-port", "0"], {
      cwd: dir,
      stdio: ["pipe", "pipe", "pipe"],
    });
    consoles.push(proc);
    let output = "";
    for (const stream of [proc.stdout, proc.stderr]) {
      stream?.on("data", (d: Buffer) => {
        output += d.toString();
        for (const m of d.toString().matchAll(/raftstack\d+ started \(pid (\d+)/g))
          nodePids.add(Number(m[1]));
      });
    }
    const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
    return { proc, exited, output: () => output };
  };
  const until = async (what: string, c: Console, done: () => boolean) => {
    for (const deadline = Date.now() + WAIT_MS; !done(); await sleep(50))
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}:\n${c.output().slice(-2000)}`);
  };
  /** The console's exit code, or "still running" if it has not exited within `ms`. */
  const exitWithin = async (c: Console, ms: number): Promise<number | null | "still running"> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"still running">((r) => {
      timer = setTimeout(() => r("still running"), ms);
    });
    const code = await Promise.race([c.exited, late]);
    clearTimeout(timer);
    return code;
  };

  test("a second console in the same base dir exits 1 naming the first one's pid", async () => {
    const first = start(27910);
    await until("the first console's node", first, () => /raftstack1 started/.test(first.output()));
    assert.ok(existsSync(join(dir, "raftstack-console.lock")), "the lock directory");

    // Other ports: the base dir alone is what they share.
    const second = start(27920);
    const code = await exitWithin(second, 15_000);
    assert.equal(code, 1, second.output().slice(-2000));
    assert.match(
      second.output(),
      new RegExp(
        `raftstack: console_locked: .*pid ${first.proc.pid}\\b.*${dir.replaceAll(/[.*+?^${}()|[\]\\]/g, "\\$&")}`,
      ),
    );
    assert.doesNotMatch(second.output(), /started \(pid/, "it started no node");

    first.proc.stdin?.write("quit\n");
    assert.equal(await exitWithin(first, WAIT_MS), 0, first.output().slice(-2000));
  });

  test("the lock of a console that died (SIGKILL) is taken over", async () => {
    const dead = start(27910);
    await until("the console's node", dead, () => /raftstack1 started/.test(dead.output()));
    dead.proc.kill("SIGKILL");
    await dead.exited;
    // Its node, in its own process group, outlives it: what a user would stop too.
    killPids(nodePids);

    const next = start(27930);
    await until("the next console's node", next, () => /raftstack1 started/.test(next.output()));
    next.proc.stdin?.write("quit\n");
    assert.equal(await exitWithin(next, WAIT_MS), 0, next.output().slice(-2000));
  });
});
