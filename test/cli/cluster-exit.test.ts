// The cluster console tells a node that died from outside (kill -9 <pid>) apart from one its operator
// stopped: a newcomer saw both as `stopped` in `status` and looked for who had stopped the node.
// Ports 25100-25199 (this file's range): clients 25110/25120 (peers one less), no Redis listener.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import { killPids, sleep } from "../e2e/harness.js";

const CLI = resolve("bin/raftstack.js");
const WAIT_MS = 30_000;

const dir = mkdtempSync(join(tmpdir(), "raftstack-cluster-exit-"));
const nodePids = new Map<string, number>();
let output = "";
const proc = spawn(
  process.execPath,
  [CLI, "cluster", "--nodes", "2", "--base-dir", dir, "--base-port", "25110", "--port-step", "10"].concat([
    "--resp-base-port",
    "0",
  ]),
  { cwd: dir, stdio: ["pipe", "pipe", "pipe"] },
);
const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
for (const stream of [proc.stdout, proc.stderr]) {
  stream.on("data", (d: Buffer) => {
    output += d.toString();
    for (const m of d.toString().matchAll(/(raftstack\d+) started \(pid (\d+)/g))
      nodePids.set(m[1] ?? "", Number(m[2]));
  });
}
after(() => {
  if (proc.exitCode === null) proc.kill("SIGKILL");
  killPids(nodePids.values());
  rmSync(dir, { recursive: true, force: true });
});

async function until(what: string, done: () => boolean): Promise<void> {
  for (const deadline = Date.now() + WAIT_MS; !done(); await sleep(50))
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output.slice(-2000)}`);
}

/** The console's `status` table: `help` runs after it (commands run in turn), so its text ends the table. */
async function status(): Promise<string> {
  const from = output.length;
  proc.stdin.write("status\nhelp\n");
  await until("status", () => output.indexOf("commands:", from) >= 0);
  return output.slice(from, output.indexOf("commands:", from));
}

test("status: `exited (SIGKILL)` for a node killed from outside, `stopped` for one the console stopped", {
  timeout: 90_000,
}, async () => {
  await until("both nodes started", () => nodePids.size === 2);
  // Answering HTTP: past startup, with the SIGTERM handler that makes a stop exit 0 installed.
  const answers = async (port: number) =>
    (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined)) !== undefined;
  for (const port of [25110, 25120]) {
    const deadline = Date.now() + WAIT_MS;
    while (!(await answers(port))) {
      if (Date.now() > deadline) throw new Error(`node on ${port} never answered:\n${output.slice(-2000)}`);
      await sleep(100);
    }
  }
  process.kill(nodePids.get("raftstack1") ?? 0, "SIGKILL");
  await until("node 1 exit", () => output.includes("raftstack1 exited (SIGKILL)"));
  proc.stdin.write("stop 2\n");
  await until("node 2 exit", () => output.includes("raftstack2 exited (code 0)"));
  const table = await status();
  assert.match(table, /^raftstack1\s+exited \(SIGKILL\)\s+-\s/m, table);
  assert.match(table, /^raftstack2\s+stopped\s+-\s/m, table);

  // The console's own kill is the operator's too: `stopped`, and a start clears the earlier exit.
  proc.stdin.write("start 1\nkill 1\n");
  await until("node 1 killed from the console", () => output.match(/raftstack1 exited/g)?.length === 2);
  assert.match(await status(), /^raftstack1\s+stopped\s+-\s/m);

  proc.stdin.write("quit\n");
  assert.equal(await exited, 0);
});
