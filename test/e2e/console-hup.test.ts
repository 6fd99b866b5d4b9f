// A closed terminal (SIGHUP to the console) stops the nodes the console started: they run in their own
// process groups, so before the console handled SIGHUP they outlived it and held their data dirs (a newcomer
// found three orphaned nodes, and the next console in that folder could not start any).
// Ports 18300-18399 (this file's range): clients 18310/18320 (peers one less), no Redis listener.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { alive, killPids, sleep } from "./harness.js";

const CLI = resolve("bin/raftstack.js");
const WAIT_MS = 30_000;

describe("e2e: the cluster console on SIGHUP", { timeout: 90_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-console-hup-"));
  const nodePids = new Set<number>();
  let output = "";
  const proc = spawn(
    process.execPath,
    [CLI, "cluster", "--nodes", "2", "--base-dir", dir, "--base-port", "18310", "--port-step", "10"].concat([
      "--resp-base-port",
      "0",
    ]),
    { cwd: dir, stdio: ["pipe", "pipe", "pipe"] },
  );
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  for (const stream of [proc.stdout, proc.stderr]) {
    stream.on("data", (d: Buffer) => {
      output += d.toString();
      for (const m of d.toString().matchAll(/raftstack\d+ started \(pid (\d+)/g)) nodePids.add(Number(m[1]));
    });
  }
  after(() => {
    if (proc.exitCode === null) proc.kill("SIGKILL");
    killPids(nodePids);
    rmSync(dir, { recursive: true, force: true });
  });

  test("stops every node gracefully and exits", async () => {
    // Up and serving (their own signal handlers installed): the leader known on both.
    const serving = async (port: number) =>
      (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.status === 200;
    for (const deadline = Date.now() + WAIT_MS; !((await serving(18310)) && (await serving(18320))); ) {
      if (Date.now() > deadline) throw new Error(`nodes never served:\n${output.slice(-2000)}`);
      await sleep(100);
    }
    proc.kill("SIGHUP");
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((r) => {
      timer = setTimeout(() => r("console did not exit"), WAIT_MS);
    });
    assert.equal(await Promise.race([exited, late]), 0, output.slice(-2000));
    clearTimeout(timer);
    assert.match(output, /raftstack1 exited \(code 0\)/);
    assert.match(output, /raftstack2 exited \(code 0\)/);
    assert.deepEqual([...nodePids].filter(alive), [], "no node outlives the console");
  });
});
