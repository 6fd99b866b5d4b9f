// A node started with --join before anyone added it waited in silence (a user started it first, then
// wondered why nothing happened): it now warns every 10 s, naming the `raftstack member add` command that
// adds it, and stops once a leader has added it. Here the command it prints is run as printed.
// Ports 27950-27969 (this file's range): node 1 peer 27951 / client 27952, node 4 peer 27954 / client 27955.
// Node 4's clock runs 10 times fast (test hooks), so its 10 s come every second.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { TEST_HOOKS_CONSENT, TEST_HOOKS_CONSENT_ENV, TEST_HOOKS_ENV } from "../../src/node/test-hooks.js";
import { sleep } from "./harness.js";

const CLI = resolve("bin/raftstack.js");
const WAIT_MS = 20_000;
const peer = (id: number) => `http://127.0.0.1:${27950 + id}`;
const client = (id: number) => `http://127.0.0.1:${27951 + id}`;

describe("e2e: a node started with --join before it was added", { timeout: 90_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-join-wait-"));
  const procs: ChildProcess[] = [];
  after(() => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts a node; returns its parsed log records as they come. */
  const start = (id: number, args: string[], env: NodeJS.ProcessEnv = {}) => {
    const proc = spawn(
      process.execPath,
      [CLI, "--id", String(id), ...args, "--data-dir", join(dir, `n${id}`)],
      {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    procs.push(proc);
    const records: { msg?: string; command?: string; waitedMs?: number }[] = [];
    let rest = "";
    let text = "";
    for (const stream of [proc.stdout, proc.stderr])
      stream.on("data", (d: Buffer) => {
        text += d.toString();
        const lines = (rest + d.toString()).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) if (line.startsWith("{")) records.push(JSON.parse(line));
      });
    return { proc, records, text: () => text };
  };
  const until = async (what: string, done: () => boolean, log: () => string) => {
    for (const deadline = Date.now() + WAIT_MS; !done(); await sleep(50))
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${log().slice(-3000)}`);
  };

  test("warns every 10 s with the command that adds it, runs it as printed, then goes quiet", async () => {
    const one = start(1, ["--cluster", `1=${peer(1)}`, "--port", "27952"]);
    const hooks = join(dir, "hooks-4.json");
    writeFileSync(hooks, JSON.stringify({ clockRate: 10 }));
    const four = start(
      4,
      ["--cluster", `1=${peer(1)},4=${peer(4)}`, "--client-urls", `${client(1)},${client(4)}`, "--join"],
      { [TEST_HOOKS_ENV]: hooks, [TEST_HOOKS_CONSENT_ENV]: TEST_HOOKS_CONSENT },
    );
    const warnings = () => four.records.filter((r) => r.command !== undefined);
    await until("two warnings", () => warnings().length >= 2, four.text);
    const command = `raftstack member add ${peer(4)} --id 4 --client-url ${client(4)} --endpoints ${client(1)}`;
    assert.equal(warnings()[0]?.command, command);
    assert.match(
      warnings()[0]?.msg ?? "",
      /--join.*not added.*raftstack member add http:\/\/127\.0\.0\.1:27954 --id 4/,
    );
    const waited = warnings().map((w) => Math.round((w.waitedMs ?? 0) / 1000));
    assert.deepEqual(waited.slice(0, 2), [10, 20], "every 10 s (on its clock)");

    await until(
      "node 1 serving",
      () => one.records.some((r) => r.msg?.startsWith("node 1 is leader")),
      one.text,
    );
    const args = command.split(" ").slice(1); // as printed, `raftstack` being bin/raftstack.js here
    const added = await new Promise<{ code: number; out: string }>((done) =>
      execFile(process.execPath, [CLI, ...args], { timeout: WAIT_MS }, (err, out, errText) =>
        done({ code: err === null ? 0 : Number(err.code), out: out + errText }),
      ),
    );
    assert.equal(added.code, 0, added.out);
    assert.match(added.out, /^4$/m);

    // Added: it hears from the leader, and says nothing more (30 s on its clock).
    const knowsLeader = async () =>
      (await fetch(`${client(4)}/health`).catch(() => undefined))?.status === 200;
    for (const deadline = Date.now() + WAIT_MS; !(await knowsLeader()); await sleep(50))
      if (Date.now() > deadline)
        throw new Error(`node 4 never heard the leader:\n${four.text().slice(-3000)}`);
    const before = warnings().length;
    await sleep(3000);
    assert.equal(warnings().length, before, "no warning once added");
  });
});
