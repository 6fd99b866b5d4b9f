import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import { RaftstackClient } from "../../src/client/index.js";
import { alive, killPids } from "../e2e/harness.js";

const BIN = resolve("bin/raftstack.js");
const TEST_TIMEOUT_MS = 90_000;
const WAIT_MS = 20_000;
const PORT_STEP = 2;
const NODES = 3;

const dir = mkdtempSync(join(tmpdir(), "raftstack-cli-"));
const pids = new Set<number>();
let supervisor: ChildProcess | undefined;

after(() => {
  supervisor?.kill("SIGKILL");
  killPids(pids);
  rmSync(dir, { recursive: true, force: true });
});

/** A base client port whose node ports (base + i*step) and peer ports (one less) are all free now. */
async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 27_000 + 2 * Math.floor(Math.random() * 2_500); // below the ephemeral range, apart from test/e2e
    const ports = Array.from({ length: NODES }, (_, i) => [
      base + i * PORT_STEP,
      base + i * PORT_STEP - 1,
    ]).flat();
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return base;
  }
  throw new Error("no free port block");
}

function isFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = createServer();
    s.once("error", () => done(false));
    s.listen(port, "127.0.0.1", () => s.close(() => done(true)));
  });
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { timeout: WAIT_MS }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr });
    });
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("raftstack cluster: CLI writes, stop/start a node from the console, clean quit", {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const base = await freeBasePort();
  const endpoints = Array.from({ length: NODES }, (_, i) => `http://127.0.0.1:${base + i * PORT_STEP}`);
  const flags = ["--endpoints", endpoints.join(",")];
  const proc = spawn(
    process.execPath,
    [
      BIN,
      "cluster",
      "--nodes",
      String(NODES),
      "--base-dir",
      dir,
      "--base-port",
      String(base),
      "--port-step",
      "2",
      // No Redis listeners: their fixed default ports (16379...) are not this test's random block.
      "--resp-base-port",
      "0",
    ],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  supervisor = proc;
  let output = "";
  proc.stdout!.setEncoding("utf8").on("data", (s: string) => {
    output += s;
    for (const m of s.matchAll(/started \(pid (\d+)/g)) pids.add(Number(m[1]));
  });
  const exited = new Promise<number | null>((done) => proc.on("exit", (code) => done(code)));
  const seen = (text: string) => () => (output.includes(text) ? true : undefined);

  await until("3 nodes started", () => (pids.size === NODES ? true : undefined));
  assert.match(output, /curl -L http:\/\/127\.0\.0\.1:\d+\/sPush -XPOST -d 1,10/);

  // The client retries until a leader is elected.
  const client = new RaftstackClient({ endpoints, deadlineMs: WAIT_MS });
  try {
    await client.createStack("warmup");

    const created = await cli(["create", "jobs", ...flags]);
    assert.equal(created.code, 0, created.stderr);
    const id = created.stdout.trim();
    assert.match(id, /^\d+$/);
    assert.equal((await cli(["push", id, "a", "b", ...flags])).stdout, "2\n");
    assert.equal((await cli(["pop", id, ...flags])).stdout, "b\n");

    proc.stdin!.write("stop 2\n");
    await until("node 2 exit", seen("raftstack2 exited (code 0)"));
    assert.equal((await cli(["push", id, "c", ...flags])).stdout, "2\n");
    const status = await cli(["status", ...flags]);
    // The stopped node: its id from the member list, the leader's match of it, and exit 4 (not whole).
    assert.match(status.stdout, new RegExp(`${endpoints[1]}\\s+2\\s+down(\\s+-){4}\\s+\\d+\\n`));
    assert.equal(status.code, 4, status.stderr);

    proc.stdin!.write("start 2\n");
    await until("node 2 restart", () =>
      output.match(/raftstack2 started/g)?.length === 2 ? true : undefined,
    );
    // Node 2 catches up: it applies everything the others committed while it was down.
    const target = (await client.cluster({ endpoint: endpoints[0]! })).commit;
    await until("node 2 catch-up", async () => {
      const view = await client.cluster({ endpoint: endpoints[1]! }).catch(() => undefined);
      return view !== undefined && view.applied >= target ? true : undefined;
    });
    assert.equal((await cli(["top", id, ...flags])).stdout, "c\n");
    assert.equal((await cli(["pop", id, ...flags])).stdout, "c\n");
    assert.equal((await cli(["pop", id, ...flags])).stdout, "a\n");
    const empty = await cli(["pop", id, ...flags]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /stack_empty/);
    // Node 2 answers the stack's state itself.
    const node2 = new RaftstackClient({ endpoints: [endpoints[1]!], deadlineMs: WAIT_MS });
    assert.equal(await node2.size(Number(id)).finally(() => node2.close()), 0);
  } finally {
    await client.close();
  }

  proc.stdin!.write("quit\n");
  assert.equal(await exited, 0);
  assert.match(output, /stopping all nodes/);
  for (const pid of pids) assert.equal(alive(pid), false, `node pid ${pid} outlived the cluster`);
});
